// Attacks on the daemons' HTTP edge, as they were found: another local user or a web page driving
// a no-token Hive, a rebound DNS name reading logs, a body read before its 401, idle event streams
// and connections locking operators and Hives out of a Queen. Real daemons on loopback.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "checks.h"
#include "harness.h"
#include "raw_http.h"

using namespace rbee;
using namespace rbee::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uid_t kNobody = 65534;

// The same from a child process that has become `uid` (groups and gid too) before it connects:
// another local user, as the kernel sees it.
Answer call_as(uid_t uid, uint16_t port, const std::string& req) {
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 ||
        ::setresuid(uid, uid, uid) != 0)
      ::_exit(3);
    int fd = connect_from("127.0.0.1", port);
    if (fd < 0 || !send_all(fd, req.data(), req.size())) ::_exit(4);
    static char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      if (::write(out[1], buf, static_cast<std::size_t>(n)) != n) ::_exit(5);
    }
    ::_exit(0);
  }
  ::close(out[1]);
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  Answer a;
  a.text = text;
  if (text.size() > 12) a.status = std::atoi(text.c_str() + 9);
  return a;
}

const std::string kJson = "Content-Type: application/json\r\n";
// A Queen with a token must name the Hives it sends it to; these tests need none.
const std::string kNamesNoHive = "include = [\"no-such-hive\"]\n";

std::string tiny_snapshot(const std::string& hive_id, int seq) {
  return R"({"schema_version":1,"hive_id":")" + hive_id + R"(","instance_id":"atk","seq":)" +
         std::to_string(seq) + R"(,"interval_ms":1000,"workers":[]})";
}

}  // namespace

TEST_CASE("no-token Hive: another local uid can neither spawn, stop, subscribe nor read logs",
          "[attack][http]") {
  Hive hive({.tag = "atk-uid"});
  const uint16_t port = port_of(hive.url());
  const std::string h = host_header(port);

  auto spawn =
      call_as(kNobody, port, request("POST", "/v1/workers", h + kJson, spawn_body("tw", {})));
  INFO(spawn.text);
  CHECK(spawn.status == 403);
  CHECK(spawn.text.find("uid 65534") != std::string::npos);
  CHECK(hive.telemetry()->workers.empty());

  // Root (the CLI's case) still may; the worker it started is safe from the other user.
  const std::string inst = spawn_ok(hive, {});
  auto stop = call_as(kNobody, port, request("DELETE", "/v1/workers/tw/" + inst, h));
  INFO(stop.text);
  CHECK(stop.status == 403);
  CHECK(hive.worker("tw", inst));

  auto sub =
      call_as(kNobody, port, request("GET", "/capabilities?queen_url=http://127.0.0.1:1/", h));
  INFO(sub.text);
  CHECK(sub.status == 403);
  // A worker is such a user: it may not read another worker's logs either.
  const std::string logs = "/v1/workers/tw/" + inst + "/logs";
  auto read = call_as(kNobody, port, request("GET", logs, h));
  INFO(read.text);
  CHECK(read.status == 403);
  CHECK(read.text.find("uid 65534") != std::string::npos);
  CHECK(call(port, request("GET", logs, h)).status == 200);
  // Other reads stay open to everyone.
  CHECK(call_as(kNobody, port, request("GET", "/v1/workers", h)).status == 200);
  CHECK(call_as(kNobody, port, request("GET", "/capabilities", h)).status == 200);
}

TEST_CASE("no-token Hive: a web page's simple request and a rebound DNS name are refused",
          "[attack][http]") {
  Hive hive({.tag = "atk-web"});
  const uint16_t port = port_of(hive.url());
  const std::string h = host_header(port);
  const std::string body = spawn_body("tw", {});

  // What a page can POST without a preflight: text/plain.
  auto plain = call(
      port, request("POST", "/v1/workers", h + "Content-Type: text/plain;charset=UTF-8\r\n", body));
  INFO(plain.text);
  CHECK(plain.status == 415);
  auto form = call(port, request("POST", "/v1/workers",
                                 h + "Content-Type: application/x-www-form-urlencoded\r\n", body));
  CHECK(form.status == 415);

  auto origin = call(
      port, request("POST", "/v1/workers", h + kJson + "Origin: http://evil.example\r\n", body));
  INFO(origin.text);
  CHECK(origin.status == 403);
  CHECK(origin.text.find("cross-origin") != std::string::npos);
  auto fetch_site = call(
      port, request("POST", "/v1/workers", h + kJson + "Sec-Fetch-Site: cross-site\r\n", body));
  CHECK(fetch_site.status == 403);

  // DNS rebinding: the page's own name now points at 127.0.0.1; its Host says so.
  const std::string rebound = "Host: rebound.evil.example:" + std::to_string(port) + "\r\n";
  auto spawn = call(port, request("POST", "/v1/workers", rebound + kJson, body));
  INFO(spawn.text);
  CHECK(spawn.status == 403);
  CHECK(hive.telemetry()->workers.empty());

  const std::string inst = spawn_ok(hive, {});
  const std::string logs = "/v1/workers/tw/" + inst + "/logs";
  auto stolen = call(port, request("GET", logs, rebound));
  INFO(stolen.text);
  CHECK(stolen.status == 403);
  CHECK(stolen.text.find("allowed_hosts") != std::string::npos);
  // The same page from its own origin, same-origin as the Hive, and a local Host: served.
  CHECK(call(port, request("GET", logs, h)).status == 200);
  CHECK(
      call(port, request("GET", logs, "Host: localhost:" + std::to_string(port) + "\r\n")).status ==
      200);
  auto same = call(
      port, request("POST", "/v1/workers",
                    h + kJson + "Origin: http://127.0.0.1:" + std::to_string(port) + "\r\n", body));
  INFO(same.text);
  CHECK(same.status == 201);
}

TEST_CASE("a Hive with allowed_hosts serves that name without a token", "[attack][http]") {
  Hive hive({.tag = "atk-allow", .extra_hive = "allowed_hosts = [\"gpu-box.lan\"]\n"});
  const uint16_t port = port_of(hive.url());
  auto r = call(
      port, request("POST", "/v1/workers", "Host: GPU-box.lan\r\n" + kJson, spawn_body("tw", {})));
  INFO(r.text);
  CHECK(r.status == 201);
  CHECK(call(port,
             request("POST", "/v1/workers", "Host: other.lan\r\n" + kJson, spawn_body("tw", {})))
            .status == 403);
}

TEST_CASE("the Queen's ingest takes application/json only, not application/jsonx",
          "[attack][http]") {
  Queen queen({.tag = "atk-ct"});
  const uint16_t port = port_of(queen.url());
  const std::string h = host_header(port);
  auto jsonx =
      call(port, request("POST", "/v1/hive-telemetry", h + "Content-Type: application/jsonx\r\n",
                         tiny_snapshot("ct-x", 1)));
  INFO(jsonx.text);
  CHECK(jsonx.status == 415);
  auto charset = call(port, request("POST", "/v1/hive-telemetry",
                                    h + "Content-Type: Application/JSON; charset=utf-8\r\n",
                                    tiny_snapshot("ct-ok", 1)));
  INFO(charset.text);
  CHECK(charset.status == 204);
  auto metrics = queen.get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("rbee_queen_snapshots_rejected_total{reason=\"content_type\"} 1") !=
        std::string::npos);
}

TEST_CASE("a request without the token gets its 401 before it sends its body", "[attack][http]") {
  const std::string token = "atk-token-0123456789";
  Queen queen({.tag = "atk-401", .token = token, .extra_config = kNamesNoHive});
  Hive hive({.tag = "atk-401h", .token = token});
  for (auto [port, target] : {std::pair{port_of(queen.url()), "/v1/hive-telemetry"},
                              std::pair{port_of(hive.url()), "/v1/workers"}}) {
    // A head announcing a near-limit body, and no body.
    int fd = connect_from("127.0.0.1", port);
    REQUIRE(fd >= 0);
    std::string head = std::string("POST ") + target + " HTTP/1.1\r\n" + host_header(port) + kJson +
                       "Content-Length: 1000000\r\n\r\n";
    REQUIRE(send_all(fd, head.data(), head.size()));
    auto a = read_answer(fd, std::chrono::seconds(3));
    ::close(fd);
    INFO(target << ": " << a.text);
    CHECK(a.status == 401);
    CHECK(a.ms < 1000);
    CHECK(a.text.find("WWW-Authenticate: Bearer") != std::string::npos);
  }
}

TEST_CASE("idle event streams and connections do not lock operators and Hives out of a Queen",
          "[attack][http]") {
  const std::string token = "atk-token-streams-0123";
  Queen queen({.tag = "atk-streams", .token = token, .extra_config = kNamesNoHive});
  const uint16_t port = port_of(queen.url());
  const std::string h = host_header(port);
  const std::string events = request("GET", "/v1/events", h);
  std::vector<int> held;
  auto open_stream = [&](const std::string& from, const std::string& req) {
    int fd = connect_from(from.c_str(), port);
    REQUIRE(fd >= 0);
    held.push_back(fd);
    REQUIRE(send_all(fd, req.data(), req.size()));
    return read_answer(fd, std::chrono::seconds(5), true).status;
  };

  // Per address: 8 streams, the 9th is refused.
  for (int i = 0; i < 8; ++i) CHECK(open_stream("127.0.0.10", events) == 200);
  CHECK(open_stream("127.0.0.10", events) == 429);
  // In all: 64 streams, then refused.
  for (int a = 11; a < 18; ++a)
    for (int i = 0; i < 8; ++i) CHECK(open_stream("127.0.0." + std::to_string(a), events) == 200);
  CHECK(open_stream("127.0.0.18", events) == 503);
  // An operator with the token still gets a stream (it ends the oldest without one).
  CHECK(open_stream("127.0.0.19", request("GET", "/v1/events",
                                          h + "Authorization: Bearer " + token + "\r\n")) == 200);

  // More idle connections than the Queen's 1024, from many addresses, none sending a byte.
  int opened = 0;
  for (int i = 0; i < 1100; ++i) {
    int fd = connect_from(("127.0.1." + std::to_string(1 + i % 200)).c_str(), port);
    if (fd < 0) continue;
    held.push_back(fd);
    ++opened;
  }
  CHECK(opened == 1100);

  // A Hive's push and an operator's request are served at once.
  const std::string auth = "Authorization: Bearer " + token + "\r\n";
  auto push = call(port, request("POST", "/v1/hive-telemetry", h + kJson + auth,
                                 tiny_snapshot("atk-pusher", 1)));
  INFO(push.text);
  CHECK(push.status == 204);
  CHECK(push.ms < 1000);
  auto refresh = call(port, request("POST", "/v1/hives/refresh", h + auth));
  INFO(refresh.text);
  CHECK(refresh.status == 202);
  CHECK(refresh.ms < 1000);
  auto health = call(port, request("GET", "/health", h));
  CHECK(health.status == 200);
  for (int fd : held) ::close(fd);
}

TEST_CASE("a Hive's own stream caps hold per address and in all", "[attack][http]") {
  Hive hive(
      {.tag = "atk-hstreams", .extra_hive = "max_streams = 2\nmax_streams_per_address = 1\n"});
  const uint16_t port = port_of(hive.url());
  const std::string stream = request("GET", "/v1/telemetry/stream", host_header(port));
  std::vector<int> held;
  auto open_stream = [&](const char* from) {
    int fd = connect_from(from, port);
    REQUIRE(fd >= 0);
    held.push_back(fd);
    REQUIRE(send_all(fd, stream.data(), stream.size()));
    return read_answer(fd, std::chrono::seconds(5), true);
  };
  CHECK(open_stream("127.0.0.10").status == 200);
  auto again = open_stream("127.0.0.10");
  INFO(again.text);
  CHECK(again.status == 429);
  CHECK(again.text.find("max_streams_per_address") != std::string::npos);
  CHECK(open_stream("127.0.0.11").status == 200);
  auto full = open_stream("127.0.0.12");
  INFO(full.text);
  CHECK(full.status == 503);
  CHECK(full.text.find("max_streams") != std::string::npos);
  for (int fd : held) ::close(fd);
  CHECK(call(port, request("GET", "/health", host_header(port))).status == 200);
}

TEST_CASE("a Hive with a token still refuses a foreign Origin that carries it", "[attack][http]") {
  const std::string token = "atk-token-origin-0123";
  Hive hive({.tag = "atk-torigin", .token = token});
  const uint16_t port = port_of(hive.url());
  const std::string h = host_header(port) + kJson + "Authorization: Bearer " + token + "\r\n";
  const std::string body = spawn_body("tw", {});
  auto origin =
      call(port, request("POST", "/v1/workers", h + "Origin: http://evil.example\r\n", body));
  INFO(origin.text);
  CHECK(origin.status == 403);
  CHECK(origin.text.find("cross-origin") != std::string::npos);
  auto plain = call(port, request("POST", "/v1/workers",
                                  host_header(port) + "Content-Type: text/plain\r\n" +
                                      "Authorization: Bearer " + token + "\r\n",
                                  body));
  CHECK(plain.status == 415);
  CHECK(hive.telemetry()->workers.empty());
}
