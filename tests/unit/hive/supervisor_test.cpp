// The Supervisor in-process: a fake backend over a temp-dir cgroup tree, real child processes as
// workers, and the clock, listeners and free ports the test says. Covers one worker's life
// (spawn, ready, stop, expiry), restart policy, re-adoption by a restarted Hive, and a seeded
// random sequence checked against invariants.
#include <dirent.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "fake_backend.h"
#include "hive/supervisor.h"

using namespace rbee::hive;
using rbee::hive::testing::FakeHost;
using rbee::telemetry::WorkerState;
namespace telemetry = rbee::telemetry;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using End = FakeHost::End;

HiveConfig test_config(uint32_t retention_s) {
  HiveConfig c;
  c.retention_s = retention_s;
  c.stop_timeout_ms = 1000;
  ServiceSpec llm;
  llm.name = "llm";
  // The Hive's own account, named per service (root may be no Hive-wide default): resolving it
  // needs no other user on the machine.
  if (const passwd* pw = ::getpwuid(::geteuid())) llm.user = pw->pw_name;
  llm.command = {"/nonexistent/worker", "--port", "{port}"};
  llm.base_port = 9100;
  llm.port_count = 4;
  llm.restart = RestartPolicy::on_failure;
  ServiceSpec batch = llm;
  batch.name = "batch";
  batch.base_port = 9200;
  batch.restart = RestartPolicy::no;
  c.services = {{"llm", llm}, {"batch", batch}};
  return c;
}

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// The inodes every inotify instance of this process watches (from /proc/self/fdinfo).
std::multiset<uint64_t> inotify_watched_inodes() {
  std::multiset<uint64_t> out;
  std::set<std::string> instances;  // a dup of an inotify fd lists the same watches
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(e.path(), ec).string() != "anon_inode:inotify") continue;
    std::ifstream info("/proc/self/fdinfo/" + e.path().filename().string());
    std::string line, all;
    std::multiset<uint64_t> mine;
    while (std::getline(info, line)) {
      auto pos = line.find(" ino:");
      if (line.rfind("inotify wd:", 0) != 0 || pos == std::string::npos) continue;
      mine.insert(std::stoull(line.substr(pos + 5), nullptr, 16));
      all += line + "\n";
    }
    if (instances.insert(all).second) out.insert(mine.begin(), mine.end());
  }
  return out;
}

uint64_t inode_of(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
}

// One stop's callback: how often it ran, whether inside stop() or sample(), and whether it was
// destroyed without running.
struct StopRecord {
  WorkerId id;
  uint32_t generation = 0;  // of the Supervisor that took it
  int calls = 0;
  bool ran_inside = false;
  bool dropped = false;
  std::optional<StopOutcome> outcome;
};

struct DropWatch {
  std::shared_ptr<StopRecord> rec;
  ~DropWatch() {
    if (rec && rec->calls == 0) rec->dropped = true;
  }
};

struct Rig {
  FakeHost host;
  boost::asio::io_context io;
  HiveConfig config;
  std::unique_ptr<Supervisor> sup;
  uint32_t generation = 0;
  bool inside_call = false;  // a stop's callback must never run now
  int changes = 0;

  explicit Rig(uint32_t retention_s) : config(test_config(retention_s)) { start(); }
  ~Rig() {
    sup.reset();
    pump();
  }

  void start() {
    sup = std::make_unique<Supervisor>(io, config, host.open_root(), host.root(),
                                       host.make_backend(io), host.probes());
    sup->on_change = [this] { ++changes; };
    ++generation;
    REQUIRE(sup->start());
  }
  void restart_hive() {
    sup.reset();
    pump();
    start();
  }

  void pump() {
    for (int i = 0; i < 1000; ++i) {
      io.restart();
      if (io.poll() == 0) return;
    }
    FAIL("the loop never went idle");
  }
  template <class Pred>
  bool pump_until(Pred done, std::chrono::milliseconds limit = 2000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.restart();
      io.run_for(1ms);
    }
    return true;
  }

  std::map<WorkerId, rbee::telemetry::Worker> sample() {
    inside_call = true;
    auto list = sup->sample();
    inside_call = false;
    std::map<WorkerId, rbee::telemetry::Worker> out;
    for (auto& w : list) out[WorkerId{w.service, w.instance}] = w;
    return out;
  }

  SpawnOutcome try_spawn(const std::string& service, std::optional<uint16_t> port = {}) {
    std::optional<SpawnOutcome> out;
    sup->spawn(rbee::api::SpawnRequest{service, port, {}, {}, {}},
               [&](SpawnOutcome o) { out = o; });
    if (!out) pump();
    REQUIRE(out);
    return *out;
  }
  WorkerId spawn(const std::string& service, std::optional<uint16_t> port = {}) {
    auto out = try_spawn(service, port);
    INFO((out.error ? out.error->message : ""));
    REQUIRE(out.worker);
    return WorkerId{out.worker->service, out.worker->instance};
  }

  std::shared_ptr<StopRecord> stop(const WorkerId& id) {
    auto rec = std::make_shared<StopRecord>();
    rec->id = id;
    rec->generation = generation;
    auto watch = std::make_shared<DropWatch>();
    watch->rec = rec;
    inside_call = true;
    sup->stop(id, [this, rec, watch](StopOutcome o) {
      ++rec->calls;
      rec->ran_inside = rec->ran_inside || inside_call;
      rec->outcome = std::move(o);
    });
    inside_call = false;
    return rec;
  }
};

}  // namespace

TEST_CASE("restart backoff doubles from one second to 32", "[supervisor]") {
  CHECK(restart_backoff(0) == 1s);
  CHECK(restart_backoff(1) == 2s);
  CHECK(restart_backoff(4) == 16s);
  CHECK(restart_backoff(5) == 32s);
  CHECK(restart_backoff(40) == 32s);
}

TEST_CASE("a spawned worker starts, becomes ready, stops and expires at once without retention",
          "[supervisor]") {
  const auto fds = open_fds();
  {
    Rig r(0);
    const WorkerId id = r.spawn("llm");
    CHECK(id == WorkerId{"llm", "9100"});
    REQUIRE(r.host.pid_of(id));
    const pid_t pid = *r.host.pid_of(id);

    auto s = r.sample();
    REQUIRE(s.count(id));
    CHECK(s[id].state == WorkerState::starting);
    CHECK(s[id].spawned_by == telemetry::SpawnedBy::hive);
    CHECK(s[id].main_pid == pid);
    CHECK(s[id].pids == std::vector<int32_t>{pid});
    CHECK(s[id].started_at_ms == r.host.now_ms);
    CHECK(s[id].rss_bytes == 524288u + 4096u);  // anon + file_mapped
    CHECK(s[id].mem_source == telemetry::MemSource::cgroup);
    CHECK_FALSE(r.sup->readiness_changed());

    r.host.listening.insert(id);
    CHECK(r.sup->readiness_changed());
    CHECK(r.sample()[id].state == WorkerState::ready);

    auto stop = r.stop(id);
    CHECK(r.host.stops_asked == std::vector<WorkerId>{id});
    CHECK(r.sample()[id].state == WorkerState::stopping);
    r.pump();  // SIGTERM lands: the child dies, the supervisor reaps it
    CHECK(stop->calls == 0);
    s = r.sample();
    CHECK(s[id].state == WorkerState::exited);
    CHECK(s[id].signal == SIGTERM);
    CHECK(s[id].exited_at_ms == r.host.now_ms);
    CHECK(stop->calls == 0);  // posted, never run inside sample()
    r.pump();
    CHECK(stop->calls == 1);
    CHECK_FALSE(stop->ran_inside);
    REQUIRE(stop->outcome);
    CHECK_FALSE(stop->outcome->error);
    REQUIRE(stop->outcome->worker);
    CHECK(stop->outcome->worker->state == WorkerState::exited);

    // No retention: the next sample lets it go, and its cgroup with it.
    CHECK(r.sample().count(id) == 0);
    CHECK_FALSE(r.sup->knows(id));
    CHECK_FALSE(fs::exists(r.host.cgroup_dir(id)));
    CHECK(r.host.restart_delays_asked.empty());  // stopped on request: no restart
  }
  CHECK(open_fds() == fds);
}

TEST_CASE("an exited worker stays listed for its retention period, by the injected clock",
          "[supervisor]") {
  Rig r(5);
  const WorkerId id = r.spawn("llm");
  r.sample();
  REQUIRE(r.host.end(id, End::clean_exit));
  r.pump();
  auto s = r.sample();
  CHECK(s[id].state == WorkerState::exited);
  CHECK(s[id].exit_code == 0);
  const auto exited_at = s[id].exited_at_ms;
  r.host.advance(4900ms);
  s = r.sample();
  REQUIRE(s.count(id));
  CHECK(s[id].exited_at_ms == exited_at);
  CHECK(r.host.restart_delays_asked.empty());  // exit 0 is no failure
  r.host.advance(100ms);
  CHECK(r.sample().count(id) == 0);
  CHECK_FALSE(fs::exists(r.host.cgroup_dir(id)));

  // Stopping what is already gone or never was: answered from the loop, not inside stop().
  auto gone = r.stop(id);
  CHECK(gone->calls == 0);
  r.pump();
  CHECK(gone->calls == 1);
  REQUIRE(gone->outcome->error);
  CHECK(gone->outcome->error->status == 404);
}

TEST_CASE("a failed worker restarts on failure with a growing backoff", "[supervisor]") {
  Rig r(300);
  const WorkerId id = r.spawn("llm");
  const pid_t first = *r.host.pid_of(id);
  r.sample();

  REQUIRE(r.host.end(id, End::crash));
  r.pump();
  auto s = r.sample();
  CHECK(s[id].state == WorkerState::failed);
  CHECK(s[id].signal == SIGKILL);
  CHECK(r.host.restart_delays_asked == std::vector<uint32_t>{0});
  REQUIRE(r.pump_until([&] { return r.host.launches == 2; }));
  s = r.sample();
  CHECK(s[id].state == WorkerState::starting);
  CHECK(s[id].restarts == 1);
  CHECK(s[id].main_pid != first);

  REQUIRE(r.host.end(id, End::failure_exit));
  r.pump();
  s = r.sample();
  CHECK(s[id].state == WorkerState::failed);
  CHECK(s[id].exit_code == FakeHost::kFailureExitCode);
  CHECK(r.host.restart_delays_asked == std::vector<uint32_t>{0, 1});
  REQUIRE(r.pump_until([&] { return r.host.launches == 3; }));
  CHECK(r.sample()[id].restarts == 2);

  SECTION("a stop while the restart waits cancels it") {
    r.host.restart_delay = 1h;
    REQUIRE(r.host.end(id, End::crash));
    r.pump();
    CHECK(r.sample()[id].state == WorkerState::failed);
    CHECK(r.host.restart_delays_asked.back() == 2);
    auto stop = r.stop(id);
    r.pump();
    CHECK(stop->calls == 1);
    CHECK(stop->outcome->worker->state == WorkerState::failed);
    CHECK(r.host.launches == 3);
  }
  SECTION("a port someone else took meanwhile is left alone") {
    r.host.ports_taken.insert(9100);
    REQUIRE(r.host.end(id, End::crash));
    r.pump();
    r.sample();
    CHECK_FALSE(r.pump_until([&] { return r.host.launches > 3; }, 30ms));
    CHECK(r.sample()[id].state == WorkerState::failed);
  }
  SECTION("systemd-like exit reports count as failures too") {
    r.host.give_child = false;
    r.host.restart_delay = 1ms;
    auto other = r.spawn("llm");
    r.sample();
    REQUIRE(r.host.end(other, End::failure_exit));
    auto s2 = r.sample();
    CHECK(s2[other].state == WorkerState::failed);
    CHECK(s2[other].exit_code == FakeHost::kFailureExitCode);
    REQUIRE(r.pump_until([&] { return r.host.launches == 5; }));
    CHECK(r.sample()[other].restarts == 1);
  }
}

TEST_CASE("a worker whose service says no restart stays failed", "[supervisor]") {
  Rig r(300);
  const WorkerId id = r.spawn("batch");
  r.sample();
  REQUIRE(r.host.end(id, End::failure_exit));
  r.pump();
  CHECK(r.sample()[id].state == WorkerState::failed);
  CHECK_FALSE(r.pump_until([&] { return r.host.launches > 1; }, 30ms));
  CHECK(r.host.restart_delays_asked.empty());
}

TEST_CASE("a worker's end is read in full: its last memory events are the exit report",
          "[supervisor][pressure]") {
  Rig r(300);
  const WorkerId id = r.spawn("batch");
  auto s = r.sample();  // the first sample reads everything
  REQUIRE(s[id].memory_events);
  CHECK(s[id].memory_events->oom_kill == 0u);
  r.sample();  // a fast one: memory.events is not read again until the worker's next full read
  // The OOM killer took it: the counters move as it dies. No pump, so no inotify event tells the
  // Supervisor; seeing the worker's processes gone must be enough.
  std::ofstream(r.host.cgroup_dir(id) / "memory.events")
      << "low 0\nhigh 2\nmax 7\noom 1\noom_kill 1\n";
  REQUIRE(r.host.end(id, End::crash));
  s = r.sample();
  CHECK(s[id].state == WorkerState::oom);
  REQUIRE(s[id].memory_events);
  CHECK(*s[id].memory_events ==
        telemetry::MemoryEvents{.low = 0, .high = 2, .max = 7, .oom = 1, .oom_kill = 1});
  CHECK(s[id].oom_kills == 1u);
}

TEST_CASE("a restart that is due keeps the failed worker past a zero retention", "[supervisor]") {
  Rig r(0);
  r.host.restart_delay = 1h;
  const WorkerId id = r.spawn("llm");
  r.sample();
  REQUIRE(r.host.end(id, End::crash));
  r.pump();
  CHECK(r.sample()[id].state == WorkerState::failed);
  r.host.advance(10s);
  CHECK(r.sample().count(id) == 1);
  auto stop = r.stop(id);
  r.pump();
  CHECK(stop->calls == 1);
  CHECK(r.sample().count(id) == 0);
}

TEST_CASE("a restarted Hive re-adopts its workers from the tree", "[supervisor]") {
  const auto fds = open_fds();
  {
    Rig r(300);
    const WorkerId live = r.spawn("llm");
    const WorkerId done = r.spawn("batch");
    r.host.listening.insert(live);
    auto before = r.sample();
    CHECK(before[live].state == WorkerState::ready);
    REQUIRE(r.host.end(done, End::failure_exit));
    r.pump();
    CHECK(r.sample()[done].state == WorkerState::failed);

    r.restart_hive();
    auto s = r.sample();
    REQUIRE(s.count(live));
    CHECK(s[live].state == WorkerState::ready);
    CHECK(s[live].spawned_by == telemetry::SpawnedBy::hive);
    CHECK(s[live].main_pid == r.host.pid_of(live));
    CHECK(s[live].started_at_ms == before[live].started_at_ms);
    REQUIRE(s.count(done));
    CHECK(s[done].state == WorkerState::failed);
    CHECK(s[done].exit_code == FakeHost::kFailureExitCode);  // kept on the cgroup

    // The adopted main process is watched by pidfd: its end is noticed between ticks. Not its
    // child, so how it ended is not known, and the request that made it is not either: no
    // restart.
    const int before_changes = r.changes;
    REQUIRE(r.host.end(live, End::crash));
    REQUIRE(r.pump_until([&] { return r.changes > before_changes; }));
    s = r.sample();
    CHECK(s[live].state == WorkerState::exited);
    CHECK_FALSE(r.pump_until([&] { return r.host.launches > 2; }, 30ms));

    // And it can be stopped and expired like any other.
    auto stop = r.stop(done);
    r.pump();
    CHECK(stop->calls == 1);
  }
  CHECK(open_fds() == fds);
}

TEST_CASE("a stop asked before the Hive restarted is carried on by the restarted Hive",
          "[supervisor]") {
  Rig r(60);
  r.host.stop_ends_at_once = false;  // the worker takes its time (or ignores SIGTERM)
  const auto id = r.spawn("llm");
  r.pump();
  r.stop(id);
  r.pump();
  REQUIRE(r.sample()[id].state == WorkerState::stopping);
  REQUIRE(r.host.stops_asked.size() == 1);

  r.restart_hive();  // the stop's grace timer died with the old Hive
  auto s = r.sample();
  CHECK(s[id].state == WorkerState::stopping);
  CHECK(r.host.stops_asked.size() == 2);  // asked again, so it ends after its grace as asked

  // It ends with an error code under the stop: asked for, so exited, and not restarted.
  REQUIRE(r.host.end(id, End::failure_exit));
  r.pump();
  s = r.sample();
  CHECK(s[id].state == WorkerState::exited);
  r.pump_until([] { return false; }, 20ms);
  CHECK(r.host.launches == 1);
}

TEST_CASE("a launch in flight when the Hive restarts is adopted from the tree", "[supervisor]") {
  Rig r(300);
  r.host.launch_async = true;
  std::optional<SpawnOutcome> answer;
  r.sup->spawn(rbee::api::SpawnRequest{"llm", {}, {}, {}, {}}, [&](SpawnOutcome o) { answer = o; });
  CHECK_FALSE(answer);
  const WorkerId id{"llm", "9100"};
  CHECK(r.sample().count(id) == 0);  // being started: not adopted by the walk
  r.restart_hive();                  // the backend's answer dies with it
  CHECK_FALSE(answer);
  auto s = r.sample();
  REQUIRE(s.count(id));
  CHECK(s[id].spawned_by == telemetry::SpawnedBy::hive);
  CHECK(s[id].state == WorkerState::starting);
}

TEST_CASE("a service directory made again is watched again", "[supervisor]") {
  Rig r(0);
  const WorkerId id = r.spawn("llm");
  r.sample();
  REQUIRE(r.host.end(id, End::clean_exit));
  r.pump();
  CHECK(r.sample()[id].state == WorkerState::exited);
  CHECK(r.sample().count(id) == 0);  // expired: its cgroup and the service's directory go
  const fs::path service_dir = r.host.cgroup_dir(id).parent_path();
  REQUIRE_FALSE(fs::exists(service_dir));
  r.pump();

  r.spawn("llm");  // makes the service's directory again
  r.pump();
  r.sample();  // the walk the new directory set off
  CHECK(inotify_watched_inodes().count(inode_of(service_dir)) == 1);
  // So a worker someone else puts there is noticed between ticks.
  const int before = r.changes;
  fs::create_directory(service_dir / "9103");
  CHECK(r.pump_until([&] { return r.changes > before; }, 200ms));
}

namespace {

int rank(WorkerState s) {
  switch (s) {
    case WorkerState::starting:
      return 0;
    case WorkerState::ready:
      return 1;
    case WorkerState::stopping:
      return 2;
    default:
      return 3;
  }
}

// Random operations on one Rig, and the invariants checked after each.
struct RandomRun {
  explicit RandomRun(uint32_t seed) : rng(seed), r(0) { r.host.restart_delay = 1ms; }

  std::mt19937 rng;
  Rig r;
  std::vector<std::shared_ptr<StopRecord>> stops;
  std::map<WorkerId, rbee::telemetry::Worker> last;  // the last sample, this generation
  std::set<WorkerId> respawned;                      // a new run since the last sample

  uint32_t pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng); }
  bool chance(uint32_t percent) { return pick(100) < percent; }
  WorkerId any_id() {
    static const char* services[] = {"llm", "batch"};
    std::string svc = services[pick(2)];
    return WorkerId{svc, std::to_string((svc == "llm" ? 9100 : 9200) + pick(4))};
  }

  void step() {
    switch (pick(10)) {
      case 0:
      case 1: {
        auto id = any_id();
        std::optional<uint16_t> port;
        if (chance(50)) port = *port_of(id.instance);
        if (chance(10)) r.host.fail_next_launch = "no room";
        auto out = r.try_spawn(id.service, port);
        if (out.worker) respawned.insert(WorkerId{out.worker->service, out.worker->instance});
        r.host.fail_next_launch.reset();
        break;
      }
      case 2: {
        auto id = any_id();
        stops.push_back(r.stop(id));
        break;
      }
      case 3:
      case 4: {
        static const End ends[] = {End::clean_exit, End::failure_exit, End::crash, End::sigterm};
        r.host.end(any_id(), ends[pick(4)]);
        break;
      }
      case 5:
        r.host.listening.insert(any_id());
        break;
      case 6:
        if (chance(30)) {
          r.config.retention_s = chance(50) ? 0 : 2;
          r.host.give_child = chance(70);
          r.host.launch_async = chance(30);
          r.host.stop_ends_at_once = chance(70);
          r.restart_hive();
          last.clear();
        }
        break;
      case 7:
        r.pump_until([] { return false; }, 2ms);  // restart timers fire
        break;
      default:
        r.host.advance(std::chrono::milliseconds(pick(3000)));
        check_sample(r.sample());
        break;
    }
    if (chance(70)) r.pump();
    check_stops();
    check_watches();
  }

  void check_sample(std::map<WorkerId, rbee::telemetry::Worker> now) {
    for (const auto& [id, w] : now) {
      INFO(id.key() << " " << to_string(w.state));
      CHECK(w.state != WorkerState::unknown);
      auto prev = last.find(id);
      if (prev == last.end() || respawned.count(id) || prev->second.restarts != w.restarts)
        continue;  // a new run (or new to this Supervisor): any state
      const auto& p = prev->second;
      CHECK(rank(w.state) >= rank(p.state));
      if (rbee::telemetry::is_terminal(p.state)) CHECK(w.state == p.state);
    }
    for (const auto& [id, p] : last) {
      INFO(id.key() << " went from the list while " << to_string(p.state));
      if (!now.count(id)) CHECK(rbee::telemetry::is_terminal(p.state));
    }
    respawned.clear();
    last = std::move(now);
  }

  void check_stops() {
    for (const auto& s : stops) {
      INFO("stop of " << s->id.key());
      CHECK(s->calls <= 1);
      CHECK_FALSE(s->ran_inside);
      // Only a Supervisor that is gone may have dropped one unanswered.
      if (s->dropped) CHECK(s->generation < r.generation);
    }
  }

  // Every inotify watch is on the slice, a service directory, or the events file of a worker the
  // Supervisor knows, and on each at most once.
  void check_watches() {
    std::set<uint64_t> allowed;
    const fs::path slice = r.host.root() / kSliceDir;
    allowed.insert(inode_of(slice));
    std::error_code ec;
    for (const auto& svc : fs::directory_iterator(slice, ec)) {
      allowed.insert(inode_of(svc.path()));
      for (const auto& inst : fs::directory_iterator(svc.path(), ec)) {
        WorkerId id{svc.path().filename().string(), inst.path().filename().string()};
        if (!r.sup->knows(id)) continue;
        allowed.insert(inode_of(inst.path() / "cgroup.events"));
        allowed.insert(inode_of(inst.path() / "memory.events"));
      }
    }
    auto watched = inotify_watched_inodes();
    for (uint64_t ino : watched) {
      INFO("inotify watch on inode " << ino);
      CHECK(allowed.count(ino));
      CHECK(watched.count(ino) == 1);
    }
  }

  void finish() {
    // Everything still running ends; the Supervisor samples until it has seen it, so every
    // stop it holds is answered.
    for (int round = 0; round < 3; ++round) {
      for (const auto& s : stops) r.host.end(s->id, End::sigterm);
      r.pump();
      check_sample(r.sample());
      r.pump();
    }
    for (const auto& s : stops) {
      INFO("stop of " << s->id.key() << " generation " << s->generation);
      CHECK((s->calls == 1 || (s->dropped && s->generation < r.generation)));
    }
  }
};

}  // namespace

TEST_CASE("a random sequence of spawns, stops, crashes and Hive restarts keeps the invariants",
          "[supervisor]") {
  const auto fds = open_fds();
  for (uint32_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    {
      RandomRun run(seed);
      for (int i = 0; i < 200; ++i) {
        INFO("step " << i);
        run.step();
      }
      run.finish();
    }
    CHECK(inotify_watched_inodes().empty());
  }
  CHECK(open_fds() == fds);
}
