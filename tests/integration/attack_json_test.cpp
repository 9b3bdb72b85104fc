// Attacks on the JSON and logging edges of real daemons, as they were found: a repeated member
// that adds up past the count limits, and ids from the network written raw into the logs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>

#include "checks.h"
#include "fault_util.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;

namespace {

// "workers":[...] with n minimal workers.
std::string workers_member(std::size_t n) {
  std::string s = R"("workers":[)";
  for (std::size_t i = 0; i < n; ++i) {
    if (i) s += ',';
    s += R"({"service":"e","instance":")" + std::to_string(i) + R"(","state":"ready"})";
  }
  return s + "]";
}

std::string snapshot(const std::string& hive_id, const std::string& members) {
  return R"({"schema_version":1,"hive_id":")" + hive_id +
         R"(","instance_id":"attack","seq":1,"interval_ms":200,)" + members + "}";
}

bool holds(const Queen& queen, const std::string& hive_id) {
  auto hives = queen.hives();
  return std::any_of(hives.begin(), hives.end(), [&](const auto& h) { return h.id == hive_id; });
}

}  // namespace

TEST_CASE("a push with the workers member repeated is refused, and the Queen holds nothing of it",
          "[attack][json]") {
  Queen queen({.tag = "json-dupes"});
  const long rss0 = vm_rss_kb(queen.process()->pid());
  // Three lists at the limit of 10,000 each: 30,000 workers in one document.
  const auto list = workers_member(10000);
  const auto three = snapshot("dupes", list + "," + list + "," + list);
  auto r = queen.post("/v1/hive-telemetry", three, "");
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == 400);
  CHECK(r->body.find("workers: is repeated") != std::string::npos);
  // Nested too: a worker's pids given twice.
  const auto pids = snapshot(
      "dupes",
      R"("workers":[{"service":"e","instance":"1","state":"ready","pids":[1],"pids":[2]}])");
  r = queen.post("/v1/hive-telemetry", pids, "");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("workers[0].pids: is repeated") != std::string::npos);
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(holds(queen, "dupes"));
  CHECK(queen.workers().empty());
  std::fprintf(stderr, "repeated workers (%zu bytes): queen VmRSS %ld -> %ld kB\n", three.size(),
               rss0, vm_rss_kb(queen.process()->pid()));
  // The same document with the list once is an ordinary push, held.
  r = queen.post("/v1/hive-telemetry", snapshot("dupes", list), "");
  REQUIRE(r);
  CHECK(r->status == 204);
  auto h = queen.wait_hive(
      "dupes", [](const auto& s) { return s.worker_count == 10000; }, 5s);
  CHECK(h);
}

TEST_CASE("a spawn request with env or args repeated is a 400 and starts nothing",
          "[attack][json]") {
  Hive hive({.tag = "json-dupes"});
  for (const std::string body : {R"({"service":"tw","env":{"A":"1"},"env":{"B":"2"}})",
                                 R"({"service":"tw","env":{"A":"1","A":"2"}})",
                                 R"({"service":"tw","args":["a"],"args":["b"]})",
                                 R"({"service":"tw","gpus":[],"gpus":[]})"}) {
    INFO(body);
    auto r = hive.post("/v1/workers", body, "");
    REQUIRE(r);
    INFO(r->body);
    CHECK(r->status == 400);
    CHECK(r->body.find("is repeated") != std::string::npos);
  }
  std::this_thread::sleep_for(700ms);  // a tick
  auto t = hive.telemetry();
  REQUIRE(t);
  CHECK(t->workers.empty());
}

TEST_CASE("ids and keys with newlines and terminal escapes reach the Queen's log escaped",
          "[attack][json][log]") {
  Queen queen({.tag = "json-log"});
  // A hive id that would write a second, forged line and clear the screen; a worker whose
  // service sets the terminal title. JSON escapes, so the bytes themselves arrive.
  const std::string id = R"(forge\n2099-01-01T00:00:00.000 info hive admin is up\u001b[2J)";
  auto r =
      queen.post("/v1/hive-telemetry",
                 snapshot(id, R"("workers":[{"service":"s\u001b]0;owned\u0007","instance":"1",)"
                              R"("state":"ready"}])"),
                 "");
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 204);
  // A refused push whose error quotes a key from the network (logged at debug).
  r = queen.post("/v1/hive-telemetry", R"({"\r\u001b[1A":1,"\r\u001b[1A":2})", "");
  REQUIRE(r);
  CHECK(r->status == 400);
  std::this_thread::sleep_for(500ms);
  const auto log = queen.daemon_log();
  INFO(log);
  CHECK(log.find('\x1b') == std::string::npos);
  CHECK(log.find('\x07') == std::string::npos);
  CHECK(log.find('\r') == std::string::npos);
  CHECK(log.find("\n2099-01-01") == std::string::npos);
  CHECK(log.find(R"(forge\x0a2099-01-01T00:00:00.000 info hive admin is up\x1b[2J)") !=
        std::string::npos);
  CHECK(log.find(R"(s\x1b]0;owned\x07)") != std::string::npos);
  CHECK(log.find(R"(\x0d\x1b[1A: is repeated)") != std::string::npos);
}
