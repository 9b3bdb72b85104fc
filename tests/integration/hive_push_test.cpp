// The Hive's push side against a real HTTP receiver in the test process.
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "common/http/router.h"
#include "common/http/server.h"
#include "common/json/decode.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;

namespace {

// A stand-in Queen: records every snapshot POSTed to /v1/hive-telemetry.
class Receiver {
 public:
  explicit Receiver(std::string token) : token_(std::move(token)) {
    router_.add(boost::beast::http::verb::post, "/q/v1/hive-telemetry",
                [this](const http::Request& req, http::Reply reply) {
                  std::lock_guard lock(mu_);
                  auths_.push_back(req.authorization);
                  auto s = json::decode_snapshot(req.body);
                  if (s) snaps_.push_back(std::move(*s));
                  reply(http::json_response(204, ""));
                });
    REQUIRE(server_.listen({boost::asio::ip::make_address("127.0.0.1"), 0}));
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Receiver() {
    boost::asio::post(io_, [this] { server_.stop(); });
    io_.stop();
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_.local_endpoint().port()) + "/q";
  }
  std::vector<telemetry::Snapshot> snapshots() {
    std::lock_guard lock(mu_);
    return snaps_;
  }
  std::vector<std::string> auths() {
    std::lock_guard lock(mu_);
    return auths_;
  }

 private:
  std::string token_;
  boost::asio::io_context io_;
  http::Router router_;
  http::Server server_{io_, router_};
  std::thread thread_;
  std::mutex mu_;
  std::vector<telemetry::Snapshot> snaps_;
  std::vector<std::string> auths_;
};

std::string encode_query(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_')
      out.push_back(static_cast<char>(c));
    else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("hive pushes its snapshot to a subscribed queen each tick and at once on a birth",
          "[hive][push]") {
  Hive hive({.tag = "push", .interval_ms = 3000, .token = "push-token"});
  Receiver queen("push-token");

  auto denied =
      http::fetch(boost::beast::http::verb::get,
                  hive.url() + "/capabilities?queen_url=" + encode_query(queen.url()), {}, "wrong");
  REQUIRE(denied);
  CHECK(denied->status == 401);
  auto bad = http::fetch(boost::beast::http::verb::get,
                         hive.url() + "/capabilities?queen_url=ftp%3A%2F%2Fx", {}, "push-token");
  REQUIRE(bad);
  CHECK(bad->status == 400);

  auto sub = http::fetch(boost::beast::http::verb::get,
                         hive.url() + "/capabilities?queen_url=" + encode_query(queen.url()), {},
                         "push-token");
  REQUIRE(sub);
  REQUIRE(sub->status == 200);
  CHECK(sub->body.find("\"subscription\"") != std::string::npos);

  // The first snapshot arrives right away, not a tick later.
  auto wait_for = [&](auto pred, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  REQUIRE(wait_for([&] { return !queen.snapshots().empty(); }, std::chrono::milliseconds(1500)));
  CHECK(queen.auths().front() == "Bearer push-token");

  const auto t0 = std::chrono::steady_clock::now();
  auto r = hive.post("/v1/workers", spawn_body("tw", std::nullopt), "push-token");
  REQUIRE(r);
  REQUIRE(r->status == 201);
  REQUIRE(wait_for(
      [&] {
        for (const auto& s : queen.snapshots())
          if (!s.workers.empty()) return true;
        return false;
      },
      std::chrono::milliseconds(1500)));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));

  // Sequence numbers only grow, and every snapshot carries the same instance id.
  auto snaps = queen.snapshots();
  for (std::size_t i = 1; i < snaps.size(); ++i) {
    CHECK(snaps[i].seq > snaps[i - 1].seq);
    CHECK(snaps[i].instance_id == snaps[0].instance_id);
  }
}
