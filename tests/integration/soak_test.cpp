// Soak: many spawn/stop cycles against one real Hive; its descriptors, memory, the cgroups under
// the test's root and the processes there must come back to where they started.
#include <catch2/catch.hpp>

#include <cstdio>
#include <thread>

#include "checks.h"
#include "common/json/decode.h"
#include "fault_util.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;

namespace {

// Processes anywhere under the subtree.
std::size_t processes_under(const std::filesystem::path& root) {
  std::size_t n = 0;
  std::error_code ec;
  n += cgroup_pids(root).size();
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) n += cgroup_pids(it->path()).size();
  }
  return n;
}

bool wait_tree_empty(Hive& hive, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    auto snap = hive.telemetry();
    if (worker_dirs(hive.cgroups().path(), "tw").empty() && snap && snap->workers.empty())
      return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

}  // namespace

TEST_CASE("1000 spawn/stop cycles return fds, memory, cgroups and processes to baseline",
          "[soak]") {
  Hive hive({.tag = "soak", .interval_ms = 500, .stop_timeout_ms = 2000, .retention_s = 1});
  const pid_t hp = hive.process()->pid();
  // Every other cycle waits until the worker is ready (listening, its child forked), the others
  // stop it while it is still starting.
  int n = 0;
  auto cycle = [&hive, &n] {
    const auto inst = spawn_ok(hive, {"--children", "1"});
    if (n++ % 2 == 0) {
      REQUIRE(hive.wait_worker("tw", inst, [](const telemetry::Worker& w) {
        return w.state == telemetry::WorkerState::ready && w.pid_count == 2;
      }));
    }
    auto stop = hive.del("/v1/workers/tw/" + inst, "");
    REQUIRE(stop);
    INFO(stop->body);
    REQUIRE(stop->status == 200);
  };
  // Warm up (allocator pools, the first log files, lazily made buffers), then the baseline.
  for (int i = 0; i < 20; ++i) cycle();
  REQUIRE(wait_tree_empty(hive, 10s));
  const long rss0 = vm_rss_kb(hp);
  const int fds0 = fd_count(hp);

  const int max_cycles = 1000;
  const auto budget = 110s;
  const auto t0 = std::chrono::steady_clock::now();
  int cycles = 0;
  long rss_peak = rss0;
  int fds_peak = fds0;
  while (cycles < max_cycles && std::chrono::steady_clock::now() - t0 < budget) {
    cycle();
    ++cycles;
    if (cycles % 50 == 0) {
      rss_peak = std::max(rss_peak, vm_rss_kb(hp));
      fds_peak = std::max(fds_peak, fd_count(hp));
    }
  }
  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(wait_tree_empty(hive, 10s));
  std::this_thread::sleep_for(1s);
  const long rss1 = vm_rss_kb(hp);
  const int fds1 = fd_count(hp);
  std::fprintf(stderr,
               "soak: %d spawn/stop cycles in %.1f s; hive fds %d -> %d (peak %d), VmRSS %ld -> "
               "%ld kB (peak %ld)\n",
               cycles, secs, fds0, fds1, fds_peak, rss0, rss1, rss_peak);
  CHECK(cycles >= 200);
  CHECK(fds1 <= fds0 + 2);
  CHECK(rss1 <= rss0 + 4096 * kSanitizerRssFactor);
  CHECK(worker_dirs(hive.cgroups().path(), "tw").empty());
  CHECK(processes_under(hive.cgroups().path()) == 0);
  CHECK(hive.process()->running());
}
