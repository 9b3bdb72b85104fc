// What the daemons serve to browsers (docs/web.md): the page files and their policy headers, a
// keeper's origin allowed by cors_origins, the Queen's replay of recent events and the paged
// worker list its page uses. Real daemons on loopback; the pages themselves are driven by a
// real browser in tests/browser.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <fstream>

#include <string>

#include "checks.h"
#include "harness.h"
#include "raw_http.h"

using namespace rbee;
using namespace rbee::test;

namespace {

const std::string kJson = "Content-Type: application/json\r\n";

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// A push-only Hive's snapshot with `workers` workers of service s, instances 1..N, all ready.
std::string snapshot(const std::string& hive_id, int seq, int workers) {
  std::string list;
  for (int i = 1; i <= workers; ++i) {
    if (i > 1) list += ',';
    list += R"({"service":"s","instance":")" + std::to_string(i) + R"(","state":"ready"})";
  }
  return R"({"schema_version":1,"hive_id":")" + hive_id + R"(","instance_id":"web","seq":)" +
         std::to_string(seq) + R"(,"interval_ms":1000,"workers":[)" + list + "]}";
}

Answer push(uint16_t port, const std::string& body) {
  return call(port, request("POST", "/v1/hive-telemetry", host_header(port) + kJson, body));
}

}  // namespace

TEST_CASE("both daemons serve their page with a policy that allows nothing but themselves",
          "[web]") {
  Hive hive({.tag = "web-page",
             .extra_hive = "frame_ancestors = [\"'self'\", "
                           "\"http://keeper.lan:3000\"]\n"});
  Queen queen({.tag = "web-page"});
  for (auto [port, script] :
       {std::pair{port_of(hive.url()), "hive.js"}, std::pair{port_of(queen.url()), "queen.js"}}) {
    INFO(script);
    auto page = call(port, request("GET", "/", host_header(port)));
    REQUIRE(page.status == 200);
    CHECK(page.header("Content-Type") == "text/html; charset=utf-8");
    const std::string csp = page.header("Content-Security-Policy");
    CHECK(has(csp, "default-src 'self'"));
    CHECK(has(csp, "script-src 'self';"));
    CHECK_FALSE(has(csp, "unsafe-inline"));
    CHECK(page.header("X-Content-Type-Options") == "nosniff");
    CHECK(has(page.text, std::string("/ui/") + script));
    // No script in the page itself: everything comes from /ui/.
    CHECK_FALSE(has(page.text, "<script>"));

    auto js = call(port, request("GET", std::string("/ui/") + script, host_header(port)));
    CHECK(js.status == 200);
    CHECK(js.header("Content-Type") == "text/javascript; charset=utf-8");
    CHECK(call(port, request("GET", "/ui/common.js", host_header(port))).status == 200);
    CHECK(call(port, request("GET", "/ui/nothing.js", host_header(port))).status == 404);
    CHECK(call(port, request("GET", "/ui/..%2Fhive.toml", host_header(port))).status == 404);
  }
  auto hive_page = call(port_of(hive.url()), request("GET", "/", host_header(port_of(hive.url()))));
  CHECK(has(hive_page.header("Content-Security-Policy"),
            "frame-ancestors 'self' http://keeper.lan:3000"));
  auto queen_page =
      call(port_of(queen.url()), request("GET", "/", host_header(port_of(queen.url()))));
  CHECK(has(queen_page.header("Content-Security-Policy"), "frame-ancestors 'self'"));
}

TEST_CASE(
    "a keeper's origin in cors_origins calls the API with the token, and no other origin does",
    "[web][attack]") {
  const std::string token = "web-cors-token-0123";
  const std::string keeper = "http://keeper.lan:3000";
  Hive hive(
      {.tag = "web-cors", .token = token, .extra_hive = "cors_origins = [\"" + keeper + "\"]\n"});
  const uint16_t port = port_of(hive.url());
  const std::string h = host_header(port);
  const std::string from_keeper = "Origin: " + keeper + "\r\nSec-Fetch-Site: cross-site\r\n";
  const std::string from_evil = "Origin: http://evil.example\r\nSec-Fetch-Site: cross-site\r\n";
  const std::string preflight_of =
      "Access-Control-Request-Method: POST\r\n"
      "Access-Control-Request-Headers: authorization,content-type\r\n";

  auto pre = call(port, request("OPTIONS", "/v1/workers", h + from_keeper + preflight_of));
  REQUIRE(pre.status == 204);
  CHECK(pre.header("Access-Control-Allow-Origin") == keeper);
  // Once: a browser refuses a preflight whose Allow-Origin comes twice.
  CHECK(count(pre.text, "Access-Control-Allow-Origin:") == 1);
  CHECK(has(pre.header("Access-Control-Allow-Methods"), "POST"));
  CHECK(has(pre.header("Access-Control-Allow-Headers"), "Authorization"));
  auto evil_pre = call(port, request("OPTIONS", "/v1/workers", h + from_evil + preflight_of));
  CHECK(evil_pre.status == 403);
  CHECK(evil_pre.header("Access-Control-Allow-Origin").empty());

  // The keeper's request still needs the token, and it can read why it was refused.
  const std::string body = spawn_body("tw", {});
  auto no_token = call(port, request("POST", "/v1/workers", h + from_keeper + kJson, body));
  CHECK(no_token.status == 401);
  CHECK(no_token.header("Access-Control-Allow-Origin") == keeper);
  const std::string bearer = "Authorization: Bearer " + token + "\r\n";
  auto spawned = call(port, request("POST", "/v1/workers", h + from_keeper + kJson + bearer, body));
  INFO(spawned.text);
  REQUIRE(spawned.status == 201);
  CHECK(spawned.header("Access-Control-Allow-Origin") == keeper);
  CHECK(count(spawned.text, "Access-Control-Allow-Origin:") == 1);
  CHECK(has(spawned.header("Access-Control-Expose-Headers"), "Location"));
  auto evil = call(port, request("POST", "/v1/workers", h + from_evil + kJson + bearer, body));
  CHECK(evil.status == 403);
  CHECK(evil.header("Access-Control-Allow-Origin").empty());
  // Reads answer the keeper with its origin, and nobody else.
  auto read = call(port, request("GET", "/v1/workers", h + from_keeper));
  CHECK(read.status == 200);
  CHECK(read.header("Access-Control-Allow-Origin") == keeper);
  auto evil_read = call(port, request("GET", "/v1/workers", h + from_evil));
  CHECK(evil_read.header("Access-Control-Allow-Origin").empty());
  CHECK(hive.telemetry()->workers.size() == 1);
}

TEST_CASE("a Hive refuses a cors_origins or frame_ancestors entry that is not an origin", "[web]") {
  for (std::string bad : {"cors_origins = [\"*\"]", "cors_origins = [\"http://a.lan/path\"]",
                          "cors_origins = [\"null\"]", "frame_ancestors = [\"'none'\", \"'self'\"]",
                          "frame_ancestors = [\"https://a.lan; script-src *\"]",
                          "frame_ancestors = [\"http://[::1%; worker-src *]\"]"}) {
    INFO(bad);
    TempDir dir;
    const auto config = dir.path() / "hive.toml";
    {
      std::ofstream out(config);
      out << "[hive]\nlisten = \"127.0.0.1:0\"\n" << bad << "\n";
    }
    const auto log = dir.path() / "hive.log";
    Process p({RBEE_HIVE_BIN, "serve", "--config", config.string()}, log);
    auto status = p.wait(10s);
    REQUIRE(status);
    CHECK(*status != 0);
    CHECK(has(read_file(log), bad.substr(0, bad.find(' '))));
  }
}

TEST_CASE("the Queen replays its recent events, and what a reconnecting page missed", "[web]") {
  Queen queen({.tag = "web-events", .extra_config = "events_kept = 5\n"});
  const uint16_t port = port_of(queen.url());
  REQUIRE(push(port, snapshot("web-a", 1, 3)).status == 204);  // hive_joined + 3 worker_added
  REQUIRE(push(port, snapshot("web-a", 2, 1)).status == 204);  // 2 worker_removed

  // Read the stream's head and the replay in its first write, then hang up.
  auto replay = [&](const std::string& target, const std::string& extra = "") {
    int fd = connect_from("127.0.0.1", port);
    REQUIRE(fd >= 0);
    const std::string req = "GET " + target + " HTTP/1.1\r\n" + host_header(port) + extra + "\r\n";
    REQUIRE(send_all(fd, req.data(), req.size()));
    Answer a = read_answer(fd, 2s, true);
    ::close(fd);
    return a.text;
  };
  const std::string all = replay("/v1/events?recent=100");
  INFO(all);
  // Ids are EPOCH-SEQ: the epoch tells this Queen's ids from an earlier start's.
  const auto at = all.find("id: ");
  REQUIRE(at != std::string::npos);
  const std::string epoch = all.substr(at + 4, all.find('-', at) - at - 4);
  const auto id = [&](int seq) { return "id: " + epoch + "-" + std::to_string(seq) + "\n"; };
  // 6 events happened; the ring keeps the last 5 (ids 2-6), oldest first.
  CHECK_FALSE(has(all, id(1)));
  CHECK(has(all, id(2) + "event: worker_added\n"));
  CHECK(has(all, id(6) + "event: worker_removed\n"));
  CHECK(all.find(id(2)) < all.find(id(6)));
  CHECK(has(all, R"("seq":6,"time_ms":)"));

  const std::string last2 = replay("/v1/events?recent=2");
  CHECK_FALSE(has(last2, id(4)));
  CHECK(has(last2, id(5)));
  CHECK(has(last2, id(6)));
  CHECK_FALSE(has(replay("/v1/events"), "id: "));  // no replay unless asked

  const std::string missed = replay("/v1/events", "Last-Event-ID: " + epoch + "-4\r\n");
  CHECK_FALSE(has(missed, id(4)));
  CHECK(has(missed, id(5)));
  CHECK(has(missed, id(6)));
  // An id from a Queen before a restart (another epoch), even one with a seq this Queen has
  // reached: the recent ones, not a silent skip.
  const std::string stale = replay("/v1/events?recent=1", "Last-Event-ID: 1-4\r\n");
  CHECK(has(stale, id(6)));
  CHECK_FALSE(has(stale, id(5)));
  CHECK(call(port, request("GET", "/v1/events?recent=-1", host_header(port))).status == 400);
}

TEST_CASE("the Queen pages its worker list and sums each Hive up", "[web]") {
  Queen queen({.tag = "web-paging"});
  const uint16_t port = port_of(queen.url());
  REQUIRE(push(port, snapshot("web-p1", 1, 7)).status == 204);
  REQUIRE(push(port, snapshot("web-p2", 1, 5)).status == 204);
  auto page = queen.get("/v1/workers?limit=4&offset=5");
  REQUIRE(page);
  INFO(page->body);
  CHECK(has(page->body, R"("total":12)"));
  auto listed = json::decode_hosted_workers(page->body);
  REQUIRE(listed);
  REQUIRE(listed->size() == 4);
  CHECK((*listed)[0].hive_id == "web-p1");
  CHECK((*listed)[0].worker.instance == "6");
  CHECK((*listed)[2].hive_id == "web-p2");
  CHECK((*listed)[2].worker.instance == "1");
  auto tail = queen.get("/v1/workers?limit=100&offset=10");
  REQUIRE(tail);
  CHECK(json::decode_hosted_workers(tail->body)->size() == 2);
  CHECK(queen.get("/v1/workers?limit=x")->status == 400);

  auto hives = queen.get("/v1/hives");
  REQUIRE(hives);
  CHECK(has(hives->body, R"("workers_by_state":{"ready":7})"));
  CHECK(has(hives->body, R"("gpu_count":0)"));
}

TEST_CASE("rbee-queen workers --watch appends one table per read when piped", "[web][cli]") {
  Queen queen({.tag = "web-watch"});
  const uint16_t port = port_of(queen.url());
  REQUIRE(push(port, snapshot("web-w1", 1, 2)).status == 204);
  TempDir dir;
  const auto out = dir.path() / "watch.out";
  Process cli({RBEE_QUEEN_BIN, "workers", "--queen", queen.url(), "--watch", "--interval", "0.2",
               "--count", "3"},
              out);
  auto status = cli.wait(10s);
  REQUIRE(status);
  CHECK(*status == 0);
  const std::string text = read_file(out);
  INFO(text);
  // In a file: no screen clearing, each read under its own time line.
  CHECK_FALSE(has(text, "\x1b[2J"));
  std::size_t reads = 0, tables = 0;
  for (auto at = text.find("queen " + queen.url()); at != std::string::npos;
       at = text.find("queen " + queen.url(), at + 1))
    ++reads;
  for (auto at = text.find("web-w1"); at != std::string::npos; at = text.find("web-w1", at + 1))
    ++tables;
  CHECK(reads == 3);
  CHECK(tables == 6);  // two workers in each of the three tables
}
