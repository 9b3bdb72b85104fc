#include <catch2/catch.hpp>

#include "hive/layout.h"
#include "hive/port_allocator.h"
#include "hive/rates.h"

using namespace rbee::hive;
using rbee::telemetry::WorkerState;

TEST_CASE("layout maps worker names to both backends' cgroup paths and back") {
  WorkerId id{"llm", "8080"};
  CHECK(worker_cgroup_path(Layout::cgroupfs, id) == "rbee.slice/llm/8080");
  CHECK(worker_cgroup_path(Layout::systemd, id) ==
        "rbee.slice/rbee-llm.slice/rbee-llm@8080.service");
  CHECK(logical_cgroup(id) == "rbee.slice/llm/8080");
  CHECK(service_from_dir(Layout::systemd, "rbee-llm.slice") == "llm");
  CHECK(instance_from_dir(Layout::systemd, "llm", "rbee-llm@8080.service") == "8080");
  CHECK_FALSE(service_from_dir(Layout::systemd, "user.slice"));
  CHECK_FALSE(
      instance_from_dir(Layout::cgroupfs, "llm", "cgroup.procs"));  // not a dir name we take
  CHECK(port_of("8080") == 8080);
  CHECK_FALSE(port_of("0"));
  CHECK_FALSE(port_of("08080"));
  CHECK_FALSE(port_of("70000"));
  CHECK_FALSE(port_of("a1"));
  CHECK_FALSE(parse_worker_key("../etc/passwd"));
  CHECK_FALSE(parse_worker_key("llm/.."));
}

TEST_CASE("cpu percent is usage delta over wall delta, 100 per core") {
  CHECK(cpu_percent(1'000'000, 1'500'000, 1'000'000) == Approx(50.0));
  CHECK(cpu_percent(0, 2'000'000, 1'000'000) == Approx(200.0));
  CHECK_FALSE(cpu_percent(std::nullopt, 5, 1000));
  CHECK_FALSE(cpu_percent(10, 5, 1000));  // counter went back: a new cgroup under the same name
  CHECK_FALSE(cpu_percent(1, 5, 0));
  CHECK(byte_rate(0, 4096, 500'000) == Approx(8192.0));
}

TEST_CASE("working set subtracts inactive file pages and never goes negative") {
  CHECK(working_set(1000, 300) == 700u);
  CHECK(working_set(100, 300) == 0u);
  CHECK_FALSE(working_set(std::nullopt, 5));
}

TEST_CASE("worker state follows populated, listening, stopping and the exit reason") {
  StateInputs in;
  in.populated = true;
  CHECK(derive_state(in) == WorkerState::starting);
  in.listening = true;
  CHECK(derive_state(in) == WorkerState::ready);
  in.stopping = true;
  CHECK(derive_state(in) == WorkerState::stopping);
  // Without a port there is nothing to wait for: ready while it runs, and still stopping.
  StateInputs portless;
  portless.populated = true;
  portless.has_port = false;
  CHECK(derive_state(portless) == WorkerState::ready);
  portless.stopping = true;
  CHECK(derive_state(portless) == WorkerState::stopping);
  StateInputs dead;
  CHECK(derive_state(dead) == WorkerState::exited);
  dead.exit_code = 3;
  CHECK(derive_state(dead) == WorkerState::failed);
  dead.exit_code.reset();
  dead.signal = 9;
  CHECK(derive_state(dead) == WorkerState::failed);
  dead.oom_kills_since_start = 1;
  CHECK(derive_state(dead) == WorkerState::oom);
  dead.stopped_by_request = true;
  CHECK(derive_state(dead) == WorkerState::exited);
}

TEST_CASE("port allocator skips held and unbindable ports, explicit taken port is a conflict") {
  auto bindable = [](uint16_t p) { return p != 8081; };
  auto c = choose_port(8080, std::nullopt, {8080}, bindable);
  CHECK(c.port == 8082);
  c = choose_port(8080, 8080, {8080}, bindable);
  CHECK_FALSE(c.port);
  CHECK(c.error.conflict);
  c = choose_port(8080, 8081, {}, bindable);
  CHECK_FALSE(c.port);
  CHECK(c.error.conflict);
  c = choose_port(8080, 8090, {}, bindable);
  CHECK(c.port == 8090);
  c = choose_port(65535, std::nullopt, {65535}, bindable);
  CHECK_FALSE(c.port);
  CHECK_FALSE(c.error.conflict);
}
