// The pure parts of a worker's life the Supervisor is built from: who owns which fact, the
// marks on the cgroup, the view of a reading, the launch plan and the restart rule.
#include <catch2/catch.hpp>

#include "hive/launch_plan.h"
#include "hive/restart_policy.h"
#include "hive/worker_life.h"
#include "hive/worker_marks.h"
#include "hive/worker_view.h"

using namespace rbee::hive;
using rbee::telemetry::SpawnedBy;
using rbee::telemetry::WorkerState;
using namespace std::chrono_literals;

namespace {

CgroupReading running(std::vector<int32_t> pids) {
  CgroupReading r;
  r.events.populated = !pids.empty();
  r.pids = std::move(pids);
  r.cpu.usage_usec = 1'000'000;
  return r;
}

ServiceSpec llm() {
  ServiceSpec s;
  s.name = "llm";
  s.command = {"/usr/bin/server", "--port={port}"};
  s.base_port = 9000;
  s.port_count = 10;
  s.env = {{"MODEL", "a"}, {"HOME", "/srv"}};
  s.allowed_env = {"MODEL", "HF_*"};
  s.restart = RestartPolicy::on_failure;
  return s;
}

}  // namespace

TEST_CASE("an exit report adds what earlier ones lacked and OOM sticks", "[worker_life]") {
  auto life = WorkerLife::launched(1000, 2, 42);
  CHECK(life.ours());
  CHECK(life.restarts() == 2);
  life.record_exit({.code = std::nullopt, .signal = std::nullopt, .oom = true});
  life.record_exit({.code = 3, .signal = std::nullopt, .oom = false});
  CHECK(life.exit().code == 3);
  CHECK(life.exit().oom);
  life.mark_exited(5000);
  life.mark_exited(6000);
  CHECK(life.exited_at_ms() == 5000);
}

TEST_CASE("the main process of someone else's worker follows its processes", "[worker_life]") {
  auto theirs = WorkerLife::adopted(SpawnedBy::external, std::nullopt, std::nullopt, {});
  theirs.follow_processes({7, 8});
  CHECK(theirs.main_pid() == 7);
  theirs.follow_processes({8, 9});
  CHECK(theirs.main_pid() == 8);
  theirs.follow_processes({});
  CHECK(!theirs.main_pid());

  auto ours = WorkerLife::launched(0, 0, 42);
  ours.follow_processes({7});
  CHECK(ours.main_pid() == 42);  // the process the Hive started, gone or not
}

TEST_CASE("exit marks round-trip and garbled ones read as absent", "[worker_marks]") {
  CHECK(format_exit_mark({.code = 0}) == "code 0");
  CHECK(format_exit_mark({.signal = 9}) == "signal 9");
  CHECK(!format_exit_mark({}));
  CHECK(parse_exit_mark("code 137").code == 137);
  CHECK(parse_exit_mark("signal 15").signal == 15);
  for (const char* bad :
       {"", "code", "code ", "code x", "code 1x", "signal 99999999999", "exit 1"}) {
    INFO(bad);
    auto r = parse_exit_mark(bad);
    CHECK(!r.code);
    CHECK(!r.signal);
  }
}

TEST_CASE("a spawn request may set only what its service leaves open", "[launch_plan]") {
  const auto spec = llm();
  rbee::api::SpawnRequest req;
  req.service = "llm";
  CHECK(!check_spawn_request(spec, req));
  req.env = {{"MODEL", "b"}, {"HF_HOME", "/m"}};
  CHECK(!check_spawn_request(spec, req));
  req.env["BASH_ENV"] = "/tmp/x";
  auto e = check_spawn_request(spec, req);
  REQUIRE(e);
  CHECK(e->status == 400);
  CHECK(e->message.find("BASH_ENV") != std::string::npos);
  req.env.erase("BASH_ENV");
  req.args = {"--x"};
  CHECK(check_spawn_request(spec, req)->status == 400);
  req.args.clear();
  for (uint16_t port : {uint16_t{22}, uint16_t{8999}, uint16_t{9010}}) {
    req.port = port;
    INFO(port);
    CHECK(check_spawn_request(spec, req)->status == 400);
  }
  req.port = 9009;
  CHECK(!check_spawn_request(spec, req));
}

TEST_CASE("a launch plan puts the port in, and the Hive's variables over the request's",
          "[launch_plan]") {
  auto spec = llm();
  spec.allow_args = true;
  spec.gpus = {1, 0};
  rbee::api::SpawnRequest req;
  req.service = "llm";
  req.args = {"--ctx={port}"};
  req.env = {{"MODEL", "b"}, {"RBEE_PORT", "1"}};
  rbee::sys::Credentials account;
  account.user_name = "rbee-worker";
  account.home = "/nonexistent";
  auto plan = make_launch_plan(spec, WorkerId{"llm", "9003"}, req, &account,
                               {{"PATH", "/bin"}, {"LANG", "C"}});
  CHECK(plan.argv == std::vector<std::string>{"/usr/bin/server", "--port=9003", "--ctx=9003"});
  CHECK(plan.account == &account);
  const std::vector<std::string> env = {"CUDA_DEVICE_ORDER=PCI_BUS_ID",
                                        "CUDA_VISIBLE_DEVICES=1,0",
                                        "HOME=/nonexistent",
                                        "LANG=C",
                                        "MODEL=b",
                                        "PATH=/bin",
                                        "RBEE_INSTANCE=9003",
                                        "RBEE_PORT=9003",
                                        "RBEE_SERVICE=llm",
                                        "RBEE_SPAWNED_BY=hive",
                                        "USER=rbee-worker"};
  CHECK(plan.env == env);
}

TEST_CASE("only a failure of the Hive's own worker, not asked to stop, restarts", "[restart]") {
  const auto spec = llm();
  auto life = WorkerLife::launched(0, 0, 1);
  CHECK(should_restart(life, WorkerState::failed, &spec, true, true));
  CHECK(should_restart(life, WorkerState::oom, &spec, true, true));
  CHECK(!should_restart(life, WorkerState::exited, &spec, true, true));
  CHECK(!should_restart(life, WorkerState::failed, &spec, false, true));  // adopted
  CHECK(!should_restart(life, WorkerState::failed, &spec, true, false));  // systemd restarts
  CHECK(!should_restart(life, WorkerState::failed, nullptr, true, true));
  auto no = spec;
  no.restart = RestartPolicy::no;
  CHECK(!should_restart(life, WorkerState::failed, &no, true, true));
  auto theirs = WorkerLife::adopted(SpawnedBy::external, std::nullopt, 1, {});
  CHECK(!should_restart(theirs, WorkerState::failed, &spec, true, true));
  life.request_stop();
  CHECK(!should_restart(life, WorkerState::failed, &spec, true, true));
  CHECK(restart_backoff(0) == 1s);
  CHECK(restart_backoff(9) == 32s);
}

TEST_CASE("rates are taken over at least half an interval", "[worker_view]") {
  RateBase base;
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  auto r = running({1});
  r.cpu.usage_usec = 0;
  CHECK(advance_rates(base, r, t0, 1000));  // the first reading sets the base
  r.cpu.usage_usec = 100'000;
  CHECK(!advance_rates(base, r, t0 + 400ms, 1000));  // too soon: the last rates stand
  auto rates = advance_rates(base, r, t0 + 1s, 1000);
  REQUIRE(rates);
  REQUIRE(rates->cpu_pct);
  CHECK(*rates->cpu_pct == Approx(10.0));
}

TEST_CASE("the view of a reading: state, exit reason and what a gone cgroup keeps",
          "[worker_view]") {
  const WorkerId id{"llm", "9003"};
  auto life = WorkerLife::launched(1000, 1, 42);
  auto r = running({42, 43});
  MemoryEvents ev;
  ev.oom_kill = 2;
  r.memory_events = ev;
  ViewInputs in{.id = id, .life = life, .reading = r, .oom_kills_at_start = 2};

  rbee::telemetry::Worker v;
  update_view(v, in);
  CHECK(v.state == WorkerState::starting);
  CHECK(v.port == 9003);
  CHECK(v.cgroup == "rbee.slice/llm/9003");
  CHECK(v.main_pid == 42);
  CHECK(v.pid_count == 2);
  CHECK(v.restarts == 1);
  CHECK(v.oom_kills == 2);
  CHECK(!v.mem_source);

  Listening listening{{9003, {777}}};
  in.listening = worker_listening(listening, 9003, 777);
  auto ready = v;
  update_view(ready, in);
  CHECK(ready.state == WorkerState::ready);
  CHECK(!worker_listening(listening, 9003, 778));
  CHECK(worker_listening({{9003, {0}}}, 9003, 778));  // cgroup unknown: the port decides

  // The main process was killed by the OOM killer and the cgroup is gone already.
  life.record_exit({.signal = 9, .oom = true});
  life.mark_exited(2000);
  CgroupReading gone;
  ViewInputs after{.id = id, .life = life, .reading = gone, .gone = true};
  auto end = v;
  update_view(end, after);
  CHECK(end.state == WorkerState::oom);
  CHECK(end.signal == 9);
  CHECK(end.exited_at_ms == 2000);
  CHECK(end.oom_kills == 2);  // the last count stands
  CHECK(!end.main_pid);
  CHECK(!end.cpu_pct);
  CHECK(end.pids.empty());

  auto stopped = WorkerLife::launched(1000, 0, 42);
  stopped.request_stop();
  stopped.record_exit({.signal = 15});
  ViewInputs asked{.id = id, .life = stopped, .reading = gone, .gone = true, .now_ms = 7000};
  auto after_stop = v;
  update_view(after_stop, asked);
  CHECK(after_stop.state == WorkerState::exited);
  CHECK(after_stop.exited_at_ms == 7000);  // first seen ended now: not stamped before
}

TEST_CASE("memory from /proc where the cgroup has no memory controller", "[worker_view]") {
  auto life = WorkerLife::launched(0, 0, 1);
  auto r = running({1});
  const WorkerId id{"llm", "9000"};
  ViewInputs in{.id = id, .life = life, .reading = r, .proc_memory = 4096};
  rbee::telemetry::Worker v;
  update_view(v, in);
  CHECK(v.rss_bytes == 4096);
  CHECK(v.mem_source == rbee::telemetry::MemSource::proc);
  CHECK(!v.working_set_bytes);
  r.memory_current = 10000;
  MemoryStat ms;
  ms.anon = 3000;
  ms.file_mapped = 1000;
  ms.inactive_file = 2500;
  r.memory_stat = ms;
  update_view(v, in);
  CHECK(v.rss_bytes == 4000);
  CHECK(v.working_set_bytes == 7500);
  CHECK(v.mem_source == rbee::telemetry::MemSource::cgroup);
}

TEST_CASE("memory events, the peak and an OOM kill stay in the exit report once the cgroup is gone",
          "[worker_view][pressure]") {
  const WorkerId id{"llm", "9004"};
  auto life = WorkerLife::launched(1000, 0, 42);
  auto r = running({42});
  r.memory_events = MemoryEvents{.low = 0, .high = 3, .max = 7, .oom = 1, .oom_kill = 0};
  r.slow.memory_peak = 1u << 30;
  r.slow.pressure = rbee::telemetry::PressureSet{.cpu = rbee::telemetry::Pressure{}};
  r.cpu.nr_periods = 10;
  r.cpu.nr_throttled = 4;
  r.cpu.throttled_usec = 9000;
  ViewInputs in{.id = id, .life = life, .reading = r, .oom_kills_at_start = 0};
  rbee::telemetry::Worker v;
  update_view(v, in);
  CHECK(v.memory_events == r.memory_events);
  CHECK(v.memory_peak_bytes == 1u << 30);
  CHECK(v.pressure == r.slow.pressure);
  CHECK(v.cpu_nr_throttled == 4u);

  // The last reading before the cgroup went: the OOM kill is counted.
  auto killed = running({});
  killed.memory_events = MemoryEvents{.low = 0, .high = 3, .max = 9, .oom = 2, .oom_kill = 1};
  killed.slow.memory_peak = (1u << 30) + 4096;
  ViewInputs last{.id = id, .life = life, .reading = killed, .oom_kills_at_start = 0};
  update_view(v, last);
  CHECK(v.state == WorkerState::oom);

  life.record_exit({.signal = 9, .oom = true});
  life.mark_exited(2000);
  CgroupReading gone;
  ViewInputs after{.id = id, .life = life, .reading = gone, .gone = true};
  update_view(v, after);
  CHECK(v.state == WorkerState::oom);
  REQUIRE(v.memory_events);
  CHECK(v.memory_events->oom_kill == 1u);
  CHECK(v.memory_events->max == 9u);
  CHECK(v.memory_peak_bytes == (1u << 30) + 4096);
  CHECK(v.oom_kills == 1u);
  // What describes a running cgroup is not made up for a gone one.
  CHECK_FALSE(v.pressure);
  CHECK_FALSE(v.cpu_nr_periods);
  CHECK_FALSE(v.cpu_nr_throttled);
  CHECK_FALSE(v.cpu_throttled_usec);

  // A cgroup still there without the memory controller: nothing to keep, nothing shown.
  auto hybrid = running({42});
  rbee::telemetry::Worker h;
  const auto fresh = WorkerLife::launched(1000, 0, 42);
  ViewInputs plain{.id = id, .life = fresh, .reading = hybrid};
  update_view(h, plain);
  CHECK_FALSE(h.memory_events);
  CHECK_FALSE(h.memory_peak_bytes);
}

TEST_CASE("limits in force: \"max\" is absent, cpu.max as cores", "[worker_view][pressure]") {
  const WorkerId id{"llm", "9005"};
  const auto life = WorkerLife::launched(1000, 0, 42);
  auto r = running({42});
  r.memory_max = LimitValue{.unlimited = false, .value = 1u << 30};
  r.slow.memory_high = LimitValue{.unlimited = false, .value = 1u << 29};
  r.slow.pids_max = LimitValue{.unlimited = false, .value = 512};
  r.slow.cpu_max = CpuQuota{150000, 100000};
  ViewInputs in{.id = id, .life = life, .reading = r};
  rbee::telemetry::Worker v;
  update_view(v, in);
  CHECK(v.memory_max_bytes == 1u << 30);
  CHECK(v.memory_high_bytes == 1u << 29);
  CHECK(v.pids_max == 512u);
  CHECK(v.cpu_max_cores == 1.5);

  r.memory_max = LimitValue{.unlimited = true};
  r.slow.memory_high = LimitValue{.unlimited = true};
  r.slow.pids_max = LimitValue{.unlimited = true};
  r.slow.cpu_max = CpuQuota{std::nullopt, 100000};
  update_view(v, in);
  CHECK_FALSE(v.memory_max_bytes);
  CHECK_FALSE(v.memory_high_bytes);
  CHECK_FALSE(v.pids_max);
  CHECK_FALSE(v.cpu_max_cores);

  // A quota no host could grant would make a Queen refuse the whole snapshot: left out.
  r.slow.cpu_max = CpuQuota{UINT64_MAX, 1000};
  update_view(v, in);
  CHECK_FALSE(v.cpu_max_cores);
}
