// A Queen holds as many Hives as it is configured for: past 1,024 push connections none is
// dropped, the limit follows the open-file limit (and says so when it must be lowered), and
// snapshots decoded on threads land as they do on the loop. Real Queen, real sockets.
#include <unistd.h>

#include <csignal>

#include <catch2/catch.hpp>

#include <fstream>

#include <string>
#include <vector>

#include "checks.h"
#include "common/sys/fd_limit.h"
#include "harness.h"
#include "raw_http.h"

using namespace rbee;
using namespace rbee::test;

namespace {

std::string snapshot(const std::string& hive_id, int seq) {
  return R"({"schema_version":1,"hive_id":")" + hive_id + R"(","instance_id":"scale","seq":)" +
         std::to_string(seq) +
         R"(,"interval_ms":1000,"workers":[{"service":"s","instance":"1","state":"ready"}]})";
}

std::string push_request(uint16_t port, const std::string& body) {
  return "POST /v1/hive-telemetry HTTP/1.1\r\n" + host_header(port) +
         "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("a Queen keeps 1,500 Hives' push connections and each one's next push lands",
          "[queen][scale]") {
  REQUIRE(sys::raise_fd_limit());
  constexpr int kHives = 1500;
  Queen queen({.tag = "scale", .extra_config = "max_push_hives_per_address = 10000\n"});
  const uint16_t port = port_of(queen.url());
  std::vector<int> fds;
  struct Close {
    std::vector<int>& fds;
    ~Close() {
      for (int fd : fds) ::close(fd);
    }
  } close_all{fds};
  // Every Hive pushes once and keeps its connection, as a real Hive does between ticks.
  for (int i = 0; i < kHives; ++i) {
    int fd = connect_from("127.0.0.1", port);
    REQUIRE(fd >= 0);
    fds.push_back(fd);
    const std::string req = push_request(port, snapshot("scale-" + std::to_string(i), 1));
    REQUIRE(send_all(fd, req.data(), req.size()));
    Answer a = read_answer(fd, 10s);
    INFO("hive " << i << ": " << a.text);
    REQUIRE(a.status == 204);
  }
  // The second round on the same connections: with a 1,024 cap the oldest were closed.
  int failed = 0;
  for (int i = 0; i < kHives; ++i) {
    const std::string req = push_request(port, snapshot("scale-" + std::to_string(i), 2));
    if (!send_all(fds[i], req.data(), req.size()) || read_answer(fds[i], 10s).status != 204)
      ++failed;
  }
  CHECK(failed == 0);
  CHECK(queen.hives().size() == kHives);
}

TEST_CASE("a Queen lowers max_connections to its open-file limit and says so", "[queen][scale]") {
  TempDir dir;
  const auto config = dir.path() / "queen.toml";
  {
    std::ofstream out(config);
    out << "[queen]\nlisten = \"127.0.0.1:0\"\nssh_config = \"/dev/null\"\n"
        << "max_connections = 5000\ndecode_threads = 2\n";
  }
  const auto log = dir.path() / "queen.log";
  Process p({"/usr/bin/prlimit", "--nofile=600:600", RBEE_QUEEN_BIN, "serve", "--config",
             config.string()},
            log);
  const std::string url = wait_listening(p, log, "queen");
  const std::string text = read_file(log);
  INFO(text);
  CHECK(text.find("max_connections 5000 lowered to 344: the open-file limit is 600") !=
        std::string::npos);
  CHECK(text.find("344 connections, 2 decode threads") != std::string::npos);
  // Two decode threads: pushes land as they do when decoded on the loop.
  const uint16_t port = port_of(url);
  for (int seq = 1; seq <= 20; ++seq) {
    Answer a = call(port, push_request(port, snapshot("threads-" + std::to_string(seq % 4), seq)));
    REQUIRE(a.status == 204);
  }
  Answer bad = call(port, push_request(port, "{\"schema_version\":1,"));
  CHECK(bad.status == 400);
  Answer list = call(port, request("GET", "/v1/hives", host_header(port)));
  CHECK(list.text.find("threads-3") != std::string::npos);
  p.kill(SIGTERM);
  CHECK(p.wait(10s));
}
