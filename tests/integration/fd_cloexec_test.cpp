// Every fd a daemon holds is close-on-exec: none can leak into a program it starts, whatever
// opened it (our sys layer, Asio's sockets, sd-bus, inotify, pidfds, the log files).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "checks.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;

namespace {

// "fd -> target" for each fd of pid above 2 whose fdinfo flags lack O_CLOEXEC. An fd closed
// between the listing and the read (a finished request's socket) has no flags line: not counted.
std::vector<std::string> inheritable_fds(pid_t pid) {
  std::vector<std::string> out;
  const std::filesystem::path proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(proc / "fdinfo", ec)) {
    const auto name = e.path().filename().string();
    if (std::stoi(name) <= 2) continue;
    std::ifstream in(e.path());
    std::string key;
    unsigned long flags = 0;
    bool read_flags = false;
    while (in >> key) {
      if (key == "flags:") {
        read_flags = static_cast<bool>(in >> std::oct >> flags);
        break;
      }
    }
    if (read_flags && !(flags & O_CLOEXEC)) {
      std::error_code lec;
      out.push_back(name + " -> " +
                    std::filesystem::read_symlink(proc / "fd" / name, lec).string());
    }
  }
  return out;
}

}  // namespace

TEST_CASE("every fd of a running Hive and Queen is close-on-exec", "[fd][lifecycle]") {
  const uint16_t hive_port = free_port();
  Hive hive({.tag = "cloexec", .interval_ms = 300, .listen_port = hive_port});
  Queen queen({.tag = "cloexec", .hives = {{"cx", "127.0.0.1", hive_port}}});
  auto inst = spawn_ok(hive, {});
  REQUIRE(queen.wait_worker("test-cloexec", "tw", inst, [](const auto& w) {
    return w.worker.state == telemetry::WorkerState::ready;
  }));
  // An API client connected to each, and a stop in progress (its kill timer holds a dup).
  auto stop = hive.del("/v1/workers/tw/" + inst, "");
  REQUIRE(stop);
  CHECK(stop->status == 200);
  auto second = spawn_ok(hive, {});
  REQUIRE(hive.wait_worker("tw", second,
                           [](const auto& w) { return w.state == telemetry::WorkerState::ready; }));
  // The check looks at something: both hold sockets, pidfds, inotify and cgroup fds beyond 0-2.
  auto fd_count = [](pid_t pid) {
    auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fdinfo");
    return std::distance(it, std::filesystem::directory_iterator{});
  };
  CHECK(fd_count(hive.process()->pid()) > 8);
  CHECK(fd_count(queen.process()->pid()) > 5);
  const auto hive_fds = inheritable_fds(hive.process()->pid());
  const auto queen_fds = inheritable_fds(queen.process()->pid());
  INFO("hive: " << Catch::Detail::stringify(hive_fds));
  INFO("queen: " << Catch::Detail::stringify(queen_fds));
  CHECK(hive_fds.empty());
  CHECK(queen_fds.empty());
}
