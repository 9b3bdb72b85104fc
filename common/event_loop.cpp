#include "common/event_loop.h"

#include <exception>

#include <spdlog/spdlog.h>

namespace rbee {

std::size_t run_event_loop(boost::asio::io_context& io) {
  std::size_t thrown = 0;
  for (;;) {
    try {
      io.run();
      return thrown;
    } catch (const std::exception& e) {
      ++thrown;
      spdlog::error("an event handler threw, the loop goes on: {}", e.what());
    } catch (...) {
      ++thrown;
      spdlog::error("an event handler threw something that is not an exception; the loop goes on");
    }
  }
}

}  // namespace rbee
