// The Hive's push side against a real HTTP receiver in the test process.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "checks.h"
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

// Every snapshot out of a Hive, on the stream, on GET /v1/telemetry and in a push, has a greater
// seq than the one before it, whatever happens in between: a stop's reply, sent as the sample
// that saw the exit was still running, once made the stream go 12 14 13 15.
TEST_CASE("snapshot seq only goes forward on the stream, the API and pushes, over stop cycles",
          "[hive][push][lifecycle]") {
  const std::string token = "seq-token";
  Hive hive({.tag = "seq", .interval_ms = 300, .token = token});
  Receiver queen(token);
  auto sub =
      http::fetch(boost::beast::http::verb::get,
                  hive.url() + "/capabilities?queen_url=" + encode_query(queen.url()), {}, token);
  REQUIRE(sub);
  REQUIRE(sub->status == 200);

  std::vector<uint64_t> streamed;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    (void)http::read_event_stream(hive.url() + "/v1/telemetry/stream", token, 30s,
                                  [&](std::string_view name, std::string_view data) {
                                    if (name == "snapshot") {
                                      if (auto s = json::decode_snapshot(data))
                                        streamed.push_back(s->seq);
                                    }
                                    return !done.load();
                                  });
  });
  std::vector<uint64_t> polled;
  auto poll = [&] {
    if (auto s = hive.telemetry()) polled.push_back(s->seq);
  };
  for (int cycle = 0; cycle < 3; ++cycle) {
    auto inst = spawn_ok(hive, {}, token);
    poll();
    REQUIRE(hive.wait_worker(
        "tw", inst, [](const auto& w) { return w.state == telemetry::WorkerState::ready; }));
    poll();
    auto stop = hive.del("/v1/workers/tw/" + inst, token);
    REQUIRE(stop);
    CHECK(stop->status == 200);
    poll();
  }
  std::this_thread::sleep_for(700ms);  // a tick or two after the last stop
  poll();
  done = true;
  reader.join();

  auto strictly_increasing = [](const std::vector<uint64_t>& seqs) {
    for (std::size_t i = 1; i < seqs.size(); ++i) {
      if (seqs[i] <= seqs[i - 1]) {
        UNSCOPED_INFO("seq " << seqs[i] << " after " << seqs[i - 1] << " at " << i);
        return false;
      }
    }
    return true;
  };
  REQUIRE(streamed.size() >= 6);
  CHECK(strictly_increasing(streamed));
  // Polls may see the same snapshot twice, never an older one.
  CHECK(std::is_sorted(polled.begin(), polled.end()));
  std::vector<uint64_t> pushed;
  for (const auto& s : queen.snapshots()) pushed.push_back(s.seq);
  REQUIRE(pushed.size() >= 3);
  CHECK(strictly_increasing(pushed));
}

// retention_s = 0 keeps an exited worker for no time at all: the stop still answers with how it
// ended, and the Hive lives on (it once freed the record its sample loop was still using).
TEST_CASE("retention_s = 0: stop answers with the final state, cycle after cycle",
          "[hive][lifecycle]") {
  Hive hive({.tag = "ret0", .interval_ms = 300, .retention_s = 0});
  for (int cycle = 0; cycle < 3; ++cycle) {
    auto inst = spawn_ok(hive, {});
    REQUIRE(hive.wait_worker(
        "tw", inst, [](const auto& w) { return w.state == telemetry::WorkerState::ready; }));
    auto stop = hive.del("/v1/workers/tw/" + inst, "");
    REQUIRE(stop);
    INFO(stop->body);
    CHECK(stop->status == 200);
    CHECK(stop->body.find("\"state\":\"exited\"") != std::string::npos);
    std::this_thread::sleep_for(400ms);
    REQUIRE(hive.process()->running());
    auto health = hive.get("/health");
    REQUIRE(health);
    CHECK(health->status == 200);
    CHECK_FALSE(hive.worker("tw", inst));  // gone after the next sample
  }
}

// A Queen renews its subscription every 30 s; that renewal pushes nothing, to it or to any other
// subscriber (each renewal once re-pushed the snapshot to every subscriber).
TEST_CASE("a renewed subscription pushes nothing extra to anyone", "[hive][push][lifecycle]") {
  const std::string token = "renew-token";
  Hive hive({.tag = "renew", .interval_ms = 20000, .token = token});
  Receiver a(token), b(token);
  auto subscribe = [&](const Receiver& q) {
    auto r =
        http::fetch(boost::beast::http::verb::get,
                    hive.url() + "/capabilities?queen_url=" + encode_query(q.url()), {}, token);
    REQUIRE(r);
    REQUIRE(r->status == 200);
  };
  subscribe(a);
  subscribe(b);
  auto settle = [] { std::this_thread::sleep_for(500ms); };
  settle();
  const auto a0 = a.snapshots().size(), b0 = b.snapshots().size();
  CHECK(a0 >= 1);  // each new one got the snapshot at once
  CHECK(b0 >= 1);
  for (int i = 0; i < 5; ++i) subscribe(a);
  settle();
  CHECK(a.snapshots().size() == a0);
  CHECK(b.snapshots().size() == b0);
}
