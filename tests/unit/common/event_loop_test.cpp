#include "common/event_loop.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <stdexcept>

TEST_CASE("a handler or timer that throws is logged and the loop goes on", "[event_loop]") {
  boost::asio::io_context io;
  int ran = 0;
  boost::asio::post(io, [] { throw std::runtime_error("a deferred reply's bug"); });
  boost::asio::post(io, [&] { ++ran; });
  boost::asio::steady_timer timer(io, std::chrono::milliseconds(1));
  timer.async_wait([&](boost::system::error_code) {
    ++ran;
    throw 42;  // not even a std::exception
  });
  boost::asio::steady_timer later(io, std::chrono::milliseconds(5));
  later.async_wait([&](boost::system::error_code) { ++ran; });
  CHECK(rbee::run_event_loop(io) == 2);
  CHECK(ran == 3);
}
