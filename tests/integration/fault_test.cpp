// Faults: the Hive or the Queen killed, stopped or hostile at awkward moments. Real daemons, real
// workers in real cgroups; each test has its own subtree (see harness.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "checks.h"
#include "common/http/client.h"
#include "common/json/decode.h"
#include "common/json/telemetry_json.h"
#include "fault_util.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;
using telemetry::WorkerState;
namespace fs = std::filesystem;

namespace {

bool is_ready(const telemetry::Worker& w) {
  return w.state == WorkerState::ready;
}

// Every worker cgroup holds processes and is listed live with its main pid among them, every
// listed worker has its cgroup, no empty cgroup is left behind and no process sits in an inner
// cgroup. Returns what disagrees (empty when the Hive's list and the tree agree).
std::string tree_mismatch(Hive& hive) {
  auto snap = hive.telemetry();
  if (!snap) return "no telemetry: " + snap.error().message;
  std::string out;
  const auto slice = hive.cgroups().path() / "rbee.slice";
  for (const auto& inner : {hive.cgroups().path(), slice, slice / "tw"}) {
    if (fs::exists(inner) && !cgroup_pids(inner).empty())
      out += "processes in inner cgroup " + inner.string() + "; ";
  }
  std::set<std::string> dirs;
  for (const auto& d : worker_dirs(hive.cgroups().path(), "tw")) {
    dirs.insert(d.instance);
    const telemetry::Worker* w = nullptr;
    for (const auto& x : snap->workers)
      if (x.service == "tw" && x.instance == d.instance) w = &x;
    const std::string state = w ? std::string(telemetry::to_string(w->state)) : "unlisted";
    if (d.pids.empty()) {
      out += "empty cgroup " + d.instance + " (" + state + "); ";
    } else if (!w) {
      out += "unlisted cgroup " + d.instance + " with " + std::to_string(d.pids.size()) +
             " processes; ";
    } else if (telemetry::is_terminal(w->state)) {
      out += "cgroup " + d.instance + " listed " + state + " holds processes; ";
    } else if (!w->main_pid ||
               std::find(d.pids.begin(), d.pids.end(), *w->main_pid) == d.pids.end()) {
      out += "main pid of " + d.instance + " not in its cgroup; ";
    }
  }
  for (const auto& w : snap->workers) {
    if (!dirs.count(w.instance))
      out += "listed worker " + w.instance + " (" + std::string(telemetry::to_string(w.state)) +
             ") has no cgroup; ";
  }
  return out;
}

std::string wait_consistent(Hive& hive, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::string last;
  while (std::chrono::steady_clock::now() < end) {
    last = tree_mismatch(hive);
    if (last.empty()) return last;
    std::this_thread::sleep_for(100ms);
  }
  return last;
}

// Stops every listed live worker through the API, then waits for the tree to empty.
bool stop_all_and_wait_empty(Hive& hive, std::chrono::milliseconds timeout) {
  auto snap = hive.telemetry();
  if (!snap) return false;
  for (const auto& w : snap->workers) {
    if (telemetry::is_terminal(w.state)) continue;
    auto r = hive.del("/v1/workers/tw/" + w.instance, "");
    if (!r || r->status != 200) return false;
  }
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (worker_dirs(hive.cgroups().path(), "tw").empty()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

struct Continue {
  Process* p;
  ~Continue() {
    if (p) p->kill(SIGCONT);
  }
};

}  // namespace

TEST_CASE("hive killed with SIGKILL while spawning leaves no orphan cgroup and loses no worker",
          "[fault]") {
  Hive hive({.tag = "killspawn", .interval_ms = 200, .retention_s = 1});
  std::vector<std::string> created;  // answered 201 before the kill
  int unanswered = 0;
  // Two spawns in flight, the kill at increasing delays: some land before, some in the middle
  // of, some after the spawn.
  for (int delay_us : {0, 300, 1000, 2000, 4000, 8000, 15000, 30000}) {
    std::vector<std::optional<Result<http::ClientResponse>>> answers(2);
    std::vector<std::thread> threads;
    for (auto& a : answers)
      threads.emplace_back([&hive, &a] {
        a = hive.post("/v1/workers", spawn_body("tw", std::nullopt, {"--children", "1"}), "");
      });
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    hive.kill(SIGKILL);
    for (auto& t : threads) t.join();
    for (auto& a : answers) {
      if (*a && (*a)->status == 201)
        created.push_back(instance_of((*a)->body));
      else
        ++unanswered;
    }
    hive.start();
  }
  std::fprintf(stderr, "kill while spawning: %zu spawns answered 201, %d cut off\n", created.size(),
               unanswered);

  auto mismatch = wait_consistent(hive, 10s);
  INFO(mismatch);
  REQUIRE(mismatch.empty());
  // A spawn the client saw succeed is never lost: its worker runs and is listed.
  for (const auto& inst : created) {
    INFO("worker " << inst);
    auto w = hive.wait_worker("tw", inst, is_ready, 5s);
    CHECK(w);
  }
  // Every adopted worker can be stopped, and then the tree empties.
  CHECK(stop_all_and_wait_empty(hive, 10s));
  CHECK(tree_mismatch(hive).empty());
}

TEST_CASE("hive killed with SIGKILL while stopping: workers are still listed or properly gone",
          "[fault]") {
  Hive hive({.tag = "killstop", .interval_ms = 200, .stop_timeout_ms = 1500, .retention_s = 1});
  std::vector<std::string> stubborn, polite;
  for (int i = 0; i < 2; ++i) stubborn.push_back(spawn_ok(hive, {"--ignore-sigterm"}));
  for (int i = 0; i < 3; ++i) polite.push_back(spawn_ok(hive, {"--children", "1"}));
  std::map<std::string, int32_t> main_pid;
  for (const auto& v : {stubborn, polite})
    for (const auto& inst : v) {
      auto w = hive.wait_worker("tw", inst, is_ready);
      REQUIRE(w);
      REQUIRE(w->main_pid);
      main_pid[inst] = *w->main_pid;
    }

  // Stops in flight; the Hive dies a few ms later (the stubborn ones are in their grace period,
  // the polite ones anywhere between SIGTERM and the removal of their cgroup).
  std::vector<std::thread> threads;
  for (const auto& v : {stubborn, polite})
    for (const auto& inst : v)
      threads.emplace_back([&hive, inst] { (void)hive.del("/v1/workers/tw/" + inst, ""); });
  std::this_thread::sleep_for(5ms);
  hive.kill(SIGKILL);
  for (auto& t : threads) t.join();
  hive.start();

  auto mismatch = wait_consistent(hive, 10s);
  INFO(mismatch);
  REQUIRE(mismatch.empty());
  // SIGTERM was ignored and the grace had not run out when the Hive died. A stop the old Hive
  // took is marked on the cgroup: the restarted one carries it on and the worker ends after its
  // grace. One whose request never reached the old Hive runs on, re-adopted as it was.
  std::vector<std::string> left;
  for (const auto& inst : stubborn) {
    auto w = hive.worker("tw", inst);
    REQUIRE(w);
    INFO(inst << " " << to_string(w->state));
    CHECK(w->main_pid.value_or(main_pid[inst]) == main_pid[inst]);
    if (w->state == telemetry::WorkerState::ready) {
      left.push_back(inst);
      continue;
    }
    auto ended = hive.wait_worker(
        "tw", inst, [](const telemetry::Worker& x) { return telemetry::is_terminal(x.state); }, 5s);
    REQUIRE(ended);
    CHECK(ended->state == telemetry::WorkerState::exited);
    CHECK(ended->pid_count == 0);
  }
  int gone = 0;
  for (const auto& inst : polite) {
    auto w = hive.worker("tw", inst);
    if (!w || telemetry::is_terminal(w->state)) {
      ++gone;
    } else {
      CHECK(w->main_pid == main_pid[inst]);
    }
  }
  std::fprintf(stderr,
               "kill while stopping: %d of %zu polite workers had gone, %zu of %zu "
               "stubborn ones had not been asked to stop\n",
               gone, polite.size(), left.size(), stubborn.size());
  // Stopping again works for what is left: the stubborn ones are killed after the grace.
  for (const auto& inst : left) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = hive.del("/v1/workers/tw/" + inst, "");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(std::chrono::steady_clock::now() - t0 >= 1400ms);
    auto w = json::decode_worker(r->body);
    REQUIRE(w);
    CHECK(w->pid_count == 0);
  }
  CHECK(stop_all_and_wait_empty(hive, 10s));
  CHECK(tree_mismatch(hive).empty());
}

TEST_CASE("hive keeps monitoring with bounded memory and backs off while its Queen is away",
          "[fault][queen]") {
  Hive hive({.tag = "qaway", .interval_ms = 200});
  auto a = spawn_ok(hive, {});
  REQUIRE(hive.wait_worker("tw", a, is_ready));
  Queen queen({.tag = "qaway", .hives = {{"qa", "127.0.0.1", port_of(hive.url())}}});
  const std::string id = "test-qaway";
  REQUIRE(queen.wait_worker(id, "tw", a,
                            [](const auto& w) { return w.worker.state == WorkerState::ready; }));
  const pid_t hp = hive.process()->pid();
  std::this_thread::sleep_for(1s);  // the pushes' connection is up and warm
  const auto rss0 = vm_rss_kb(hp);
  const auto fds0 = fd_count(hp);

  // The Queen hangs: its socket accepts nothing, each push runs into its 5 s timeout.
  queen.process()->kill(SIGSTOP);
  Continue cont{queen.process()};
  auto b = spawn_ok(hive, {});
  REQUIRE(hive.wait_worker("tw", b, is_ready));
  const int fds_b = fd_count(hp);  // a second worker holds its own cgroup files and pidfd
  auto s1 = hive.telemetry();
  REQUIRE(s1);
  std::this_thread::sleep_for(6s);
  auto s2 = hive.telemetry();
  REQUIRE(s2);
  // The Hive's own view stays fresh: about one snapshot per 200 ms tick.
  CHECK(s2->seq >= s1->seq + 20);
  CHECK(s2->workers.size() == 2);

  // The Queen is gone: something else holds its port and closes every connection at once, so
  // each push attempt is counted.
  const uint16_t qport = port_of(queen.url());
  queen.kill(SIGKILL);
  cont.p = nullptr;
  {
    ConnectionCounter counter(qport);
    std::this_thread::sleep_for(10s);
    const int attempts = counter.count();
    std::fprintf(stderr, "queen away: %d push connections in 10 s (50 ticks)\n", attempts);
    CHECK(attempts >= 1);   // it keeps trying
    CHECK(attempts <= 12);  // but backs off (250 ms doubling), not one try per tick
  }
  const auto rss1 = vm_rss_kb(hp);
  const auto fds1 = fd_count(hp);
  std::fprintf(stderr, "queen away: hive VmRSS %ld -> %ld kB, fds %d -> %d (%d with 2 workers)\n",
               rss0, rss1, fds0, fds1, fds_b);
  CHECK(rss1 <= rss0 + 2048 * kSanitizerRssFactor);
  CHECK(fds1 <= fds_b + 1);
  auto s3 = hive.telemetry();
  REQUIRE(s3);
  CHECK(s3->seq >= s2->seq + 40);
  CHECK(s3->workers.size() == 2);

  // The Queen comes back on the same port: its view heals, the worker born meanwhile included.
  queen.start();
  auto wb = queen.wait_worker(
      id, "tw", b, [](const auto& w) { return w.worker.state == WorkerState::ready; }, 20s);
  CHECK(wb);
  CHECK(queen.wait_worker(
      id, "tw", a, [](const auto& w) { return w.worker.state == WorkerState::ready; }, 5s));
  auto h = queen.wait_hive(
      id, [](const auto& h) { return h.status == "healthy"; }, 5s);
  REQUIRE(h);
  CHECK(h->worker_count == 2);
}
