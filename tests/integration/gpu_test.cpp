// GPU telemetry end to end, on machines without a GPU: a real rbee-hive with real workers in real
// cgroups, pointed (hive.nvml_library) at a stand-in NVML library that answers from a fixture
// file (tests/gpu/fake_nvml.cpp). The test writes the workers' real PIDs into the fixture. Only
// the library is a stand-in; the Hive's loading, fallback, stride check, threading and
// attribution are the real code. ctest label: gpu. The real-GPU check is
// tests/gpu/run_gpu_check.sh.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "checks.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;
using telemetry::WorkerState;

namespace {

constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t MiB = 1ull << 20;

const std::string kGpus =
    "gpus 2\n"
    "gpu 0 uuid=GPU-11111111-2222-3333-4444-555555555555 name=Fake-H100 total=85899345920 "
    "used=12884901888 util=37 temp=51\n"
    "gpu 1 uuid=GPU-66666666-7777-8888-9999-000000000000 name=Fake-A100 total=42949672960 "
    "used=4294967296 util=5 temp=33\n";

// The fixture file and the options that point a Hive at the stand-in library.
struct FakeNvml {
  TempDir dir;
  std::filesystem::path fixture = dir.path() / "fixture";
  std::filesystem::path log = dir.path() / "calls.log";

  explicit FakeNvml(const std::string& text) { write(text); }
  // Atomically: the library re-reads the file on every call, from the Hive's NVML thread.
  void write(const std::string& text) const {
    const auto tmp = dir.path() / "fixture.tmp";
    std::ofstream(tmp) << text << "log " << log.string() << "\n";
    std::filesystem::rename(tmp, fixture);
  }
  HiveOptions options(const std::string& tag, const std::string& library = RBEE_FAKE_NVML_LIB,
                      const std::string& more_hive = "") const {
    HiveOptions o;
    o.tag = tag;
    o.interval_ms = 300;
    o.extra_env = {"RBEE_FAKE_NVML_FIXTURE=" + fixture.string()};
    o.extra_hive = "nvml_library = \"" + library + "\"\n" + more_hive;
    return o;
  }
  std::size_t calls(const std::string& name) const {
    std::istringstream in(read_file(log));
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) n += line == name;
    return n;
  }
};

// A ready worker with `processes` processes; returns {main pid, the other pids}.
std::pair<int32_t, std::vector<int32_t>> ready_worker(const Hive& hive, const std::string& inst,
                                                      uint32_t processes) {
  auto w = hive.wait_worker("tw", inst, [&](const telemetry::Worker& w) {
    return w.state == WorkerState::ready && w.pid_count == processes && w.main_pid;
  });
  REQUIRE(w);
  std::vector<int32_t> others;
  for (auto pid : w->pids)
    if (pid != *w->main_pid) others.push_back(pid);
  return {*w->main_pid, others};
}

std::string proc(unsigned gpu, int32_t pid, uint64_t used, const char* kind = "compute") {
  return "proc " + std::to_string(gpu) + " pid=" + std::to_string(pid) +
         " used=" + std::to_string(used) + " kind=" + kind + "\n";
}

std::string capabilities(const Hive& hive) {
  auto r = hive.get("/capabilities");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return r->body;
}

// Polls /capabilities until it contains `text`.
std::string wait_capabilities(const Hive& hive, const std::string& text,
                              std::chrono::milliseconds timeout = 10s) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::string body;
  while (std::chrono::steady_clock::now() < end) {
    body = capabilities(hive);
    if (body.find(text) != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  return body;
}

auto vram_is(uint64_t bytes) {
  return [bytes](const telemetry::Worker& w) { return w.vram_bytes == bytes; };
}

std::string usample(unsigned gpu, int32_t pid, uint64_t ts, unsigned sm) {
  return "usample " + std::to_string(gpu) + " pid=" + std::to_string(pid) +
         " ts=" + std::to_string(ts) + " sm=" + std::to_string(sm) + "\n";
}

const telemetry::Worker* find_worker(const telemetry::Snapshot& s, const std::string& inst) {
  for (const auto& w : s.workers)
    if (w.service == "tw" && w.instance == inst) return &w;
  return nullptr;
}

// Polls the snapshot until `pred` holds.
std::optional<telemetry::Snapshot> wait_snapshot(
    const Hive& hive, const std::function<bool(const telemetry::Snapshot&)>& pred,
    std::chrono::milliseconds timeout = 10s) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    auto s = hive.telemetry();
    if (s && pred(*s)) return *s;
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

std::string metrics(const Hive& hive) {
  auto r = hive.get("/metrics");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return r->body;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("VRAM is attributed to the worker whose processes use it, GPU totals as NVML says",
          "[gpu]") {
  FakeNvml nvml(kGpus);
  Hive hive(nvml.options("gpu-attr"));
  auto a = spawn_ok(hive, {"--children", "1"});
  auto b = spawn_ok(hive, {});
  auto [a_main, a_children] = ready_worker(hive, a, 2);
  auto [b_main, b_children] = ready_worker(hive, b, 1);
  REQUIRE(a_children.size() == 1);

  std::string procs = proc(0, a_main, 1 * GiB) + proc(1, a_children[0], 512 * MiB) +
                      proc(1, b_main, 2 * GiB, "graphics") + proc(1, b_main, 2 * GiB) +
                      proc(0, ::getpid(), 3 * GiB);  // a process in no worker
  // Enough processes on GPU 0 to make the Hive grow its buffer (NVML_ERROR_INSUFFICIENT_SIZE).
  for (int i = 0; i < 150; ++i) procs += proc(0, 3000000 + i, MiB);
  nvml.write(kGpus + procs);

  auto wa = hive.wait_worker("tw", a, vram_is(1 * GiB + 512 * MiB));
  REQUIRE(wa);
  CHECK(wa->gpu_indices == std::vector<uint32_t>{0, 1});
  auto wb = hive.wait_worker("tw", b, vram_is(2 * GiB));  // compute + graphics: counted once
  REQUIRE(wb);
  CHECK(wb->gpu_indices == std::vector<uint32_t>{1});

  auto snap = hive.telemetry();
  REQUIRE(snap);
  CHECK_FALSE(snap->gpus_stale);
  REQUIRE(snap->gpus.size() == 2);
  const auto& g0 = snap->gpus[0];
  CHECK(g0.index == 0);
  CHECK(g0.uuid == "GPU-11111111-2222-3333-4444-555555555555");
  CHECK(g0.name == "Fake-H100");
  CHECK(g0.memory_total_bytes == 80 * GiB);
  CHECK(g0.memory_used_bytes == 12 * GiB);  // the device total, other processes included
  CHECK(g0.util_pct == 37.0);
  CHECK(g0.temperature_c == 51.0);
  CHECK(snap->gpus[1].name == "Fake-A100");
  CHECK(snap->gpus[1].memory_total_bytes == 40 * GiB);

  auto caps = capabilities(hive);
  INFO(caps);
  CHECK(caps.find("\"gpus\":2") != std::string::npos);
  CHECK(caps.find("\"loaded\":true") != std::string::npos);
  CHECK(caps.find("\"process_api\":\"v3\"") != std::string::npos);
  CHECK(caps.find("\"driver_version\":\"550.54.15\"") != std::string::npos);
  CHECK(caps.find("v3_bad_stride") == std::string::npos);
  // The handle stays open by default: one nvmlInit for the Hive's life so far.
  CHECK(nvml.calls("init") == 1);
  CHECK(nvml.calls("shutdown") == 0);
}

TEST_CASE("the process list falls back from _v3 to _v2 and v1", "[gpu]") {
  struct Case {
    const char* name;
    std::string library;
    std::string symbols;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"v2 only", RBEE_FAKE_NVML_LIB, "symbols v1 v2\n", "v2"},
      {"v1 only", RBEE_FAKE_NVML_LIB, "symbols v1\n", "v1"},
      {"no versioned symbols exported", RBEE_FAKE_NVML_LEGACY_LIB, "", "v1"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    FakeNvml nvml(kGpus + c.symbols);
    Hive hive(nvml.options("gpu-fallback", c.library));
    auto inst = spawn_ok(hive, {"--children", "1"});
    auto [main_pid, children] = ready_worker(hive, inst, 2);
    nvml.write(kGpus + c.symbols + proc(0, main_pid, 3 * GiB) + proc(0, children[0], 256 * MiB) +
               proc(0, ::getpid(), GiB));
    auto w = hive.wait_worker("tw", inst, vram_is(3 * GiB + 256 * MiB));
    REQUIRE(w);
    CHECK(w->gpu_indices == std::vector<uint32_t>{0});
    auto caps = wait_capabilities(hive, std::string("\"process_api\":\"") + c.expect + "\"");
    INFO(caps);
    CHECK(caps.find(std::string("\"process_api\":\"") + c.expect + "\"") != std::string::npos);
    if (c.library == RBEE_FAKE_NVML_LEGACY_LIB) {
      CHECK(nvml.calls("compute_v3") == 0);  // not even looked up: dlsym found no such symbol
      CHECK(nvml.calls("compute_v2") == 0);
    }
  }
}

TEST_CASE("R535's 32-byte _v3 entries are detected, not reported as garbage PIDs", "[gpu]") {
  FakeNvml nvml(kGpus + "bad_stride 1\n");
  Hive hive(nvml.options("gpu-stride"));
  auto a = spawn_ok(hive, {"--children", "1"});
  auto b = spawn_ok(hive, {});
  auto [a_main, a_children] = ready_worker(hive, a, 2);
  auto [b_main, b_children] = ready_worker(hive, b, 1);
  nvml.write(kGpus + "bad_stride 1\n" + proc(0, a_main, 5 * GiB) + proc(0, a_children[0], GiB) +
             proc(0, b_main, 7 * GiB) + proc(1, b_main, 1 * GiB));
  auto wa = hive.wait_worker("tw", a, vram_is(6 * GiB));
  REQUIRE(wa);
  CHECK(wa->gpu_indices == std::vector<uint32_t>{0});
  auto wb = hive.wait_worker("tw", b, vram_is(8 * GiB));
  REQUIRE(wb);
  CHECK(wb->gpu_indices == std::vector<uint32_t>{0, 1});
  auto caps = wait_capabilities(hive, "\"v3_bad_stride\":true");
  INFO(caps);
  CHECK(caps.find("\"v3_bad_stride\":true") != std::string::npos);
  CHECK(caps.find("\"process_api\":\"v2\"") != std::string::npos);
  CHECK(hive.daemon_log().find("implausible entries") != std::string::npos);
  // Once caught, _v3 is not called again.
  const auto v3_calls = nvml.calls("compute_v3");
  std::this_thread::sleep_for(1s);
  CHECK(nvml.calls("compute_v3") == v3_calls);
}

TEST_CASE("a hung NVML call neither delays telemetry nor hides it, it marks the data stale",
          "[gpu]") {
  FakeNvml nvml(kGpus);
  Hive hive(nvml.options("gpu-hang"));
  auto inst = spawn_ok(hive, {});
  auto [main_pid, children] = ready_worker(hive, inst, 1);
  const std::string fresh = kGpus + proc(1, main_pid, 2 * GiB);
  nvml.write(fresh);
  REQUIRE(hive.wait_worker("tw", inst, vram_is(2 * GiB)));

  nvml.write(fresh + "sleep_ms 4000\n");  // every nvmlDeviceGetCount now takes 4 s
  auto first = hive.telemetry();
  REQUIRE(first);
  const auto t0 = std::chrono::steady_clock::now();
  std::chrono::milliseconds slowest{0};
  std::optional<telemetry::Snapshot> stale;
  uint64_t last_seq = first->seq;
  while (std::chrono::steady_clock::now() - t0 < 2500ms) {
    const auto t = std::chrono::steady_clock::now();
    auto s = hive.telemetry();
    slowest = std::max(slowest, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - t));
    REQUIRE(s);
    last_seq = s->seq;
    if (s->gpus_stale && !stale) stale = *s;
    std::this_thread::sleep_for(50ms);
  }
  // 300 ms ticks: about 8 in 2.5 s; the 4 s call must hold up neither them nor the API (the
  // bounds leave room for a loaded test machine).
  CHECK(last_seq - first->seq >= 4);
  CHECK(slowest < 1000ms);
  REQUIRE(stale);                  // no reading for 3 intervals (900 ms)
  CHECK(stale->gpus.size() == 2);  // the last known data, marked stale
  bool found = false;
  for (const auto& w : stale->workers) {
    if (w.instance != inst) continue;
    found = true;
    CHECK(w.vram_bytes == 2 * GiB);
  }
  CHECK(found);
  CHECK(hive.daemon_log().find("GPU data is stale") != std::string::npos);

  nvml.write(fresh);  // the driver recovers: the call in progress ends, the next one is quick
  const auto end = std::chrono::steady_clock::now() + 10s;
  bool recovered = false;
  while (!recovered && std::chrono::steady_clock::now() < end) {
    auto s = hive.telemetry();
    recovered = s && !s->gpus_stale && s->gpus.size() == 2;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(recovered);
}

TEST_CASE("without NVML the Hive reports no GPUs, says why in /capabilities, and works", "[gpu]") {
  SECTION("no library") {
    TempDir dir;
    HiveOptions o;
    o.tag = "gpu-none";
    o.interval_ms = 300;
    o.extra_hive = "nvml_library = \"" + (dir.path() / "libnvidia-ml.so.1").string() + "\"\n";
    Hive hive(o);
    auto inst = spawn_ok(hive, {});
    auto w =
        hive.wait_worker("tw", inst, [](const auto& w) { return w.state == WorkerState::ready; });
    REQUIRE(w);
    auto caps = wait_capabilities(hive, "cannot load");
    INFO(caps);
    CHECK(caps.find("\"loaded\":false") != std::string::npos);
    CHECK(caps.find("\"gpus\":0") != std::string::npos);
    CHECK(caps.find("cannot load " + (dir.path() / "libnvidia-ml.so.1").string()) !=
          std::string::npos);
    std::this_thread::sleep_for(1s);
    auto snap = hive.telemetry();
    REQUIRE(snap);
    CHECK(snap->gpus.empty());
    CHECK_FALSE(snap->gpus_stale);
    auto again = hive.worker("tw", inst);
    REQUIRE(again);
    CHECK_FALSE(again->vram_bytes);  // absent, never a made-up 0
    CHECK(again->gpu_indices.empty());
  }
  SECTION("the library loads but the driver does not (nvmlInit fails)") {
    FakeNvml nvml(kGpus + "init_error 9\n");
    Hive hive(nvml.options("gpu-nodriver"));
    auto caps = wait_capabilities(hive, "Driver Not Loaded");
    INFO(caps);
    CHECK(caps.find("\"loaded\":false") != std::string::npos);
    CHECK(caps.find("\"gpus\":0") != std::string::npos);
    auto snap = hive.telemetry();
    REQUIRE(snap);
    CHECK(snap->gpus.empty());
    // The driver comes back (loaded after the Hive started): the next nvmlInit succeeds.
    nvml.write(kGpus);
    caps = wait_capabilities(hive, "\"loaded\":true");
    CHECK(caps.find("\"gpus\":2") != std::string::npos);
  }
}

TEST_CASE("nvml_keep_open = false shuts NVML down between samples", "[gpu]") {
  FakeNvml nvml(kGpus);
  Hive hive(nvml.options("gpu-close", RBEE_FAKE_NVML_LIB, "nvml_keep_open = false\n"));
  auto inst = spawn_ok(hive, {});
  auto [main_pid, children] = ready_worker(hive, inst, 1);
  nvml.write(kGpus + proc(0, main_pid, 700 * MiB));
  REQUIRE(hive.wait_worker("tw", inst, vram_is(700 * MiB)));
  std::this_thread::sleep_for(1s);
  const auto inits = nvml.calls("init"), shutdowns = nvml.calls("shutdown");
  CHECK(inits >= 3);
  CHECK(shutdowns + 1 >= inits);  // each sample: init ... shutdown (one may be in progress)
  auto caps = capabilities(hive);
  CHECK(caps.find("\"keep_open\":false") != std::string::npos);
  CHECK(caps.find("\"loaded\":true") != std::string::npos);
}

TEST_CASE("a worker's GPU utilisation sums its processes' new samples, each counted once",
          "[gpu]") {
  // This driver hands back every sample whatever lastSeenTimeStamp says: the Hive must filter.
  const std::string base = kGpus + "putil_ignore_last_seen 1\n";
  FakeNvml nvml(base);
  auto o = nvml.options("gpu-util");
  o.interval_ms = 1000;  // a reading's new samples show for a whole interval
  Hive hive(o);
  auto a = spawn_ok(hive, {"--children", "1"});
  auto b = spawn_ok(hive, {});
  auto [a_main, a_children] = ready_worker(hive, a, 2);
  auto [b_main, b_children] = ready_worker(hive, b, 1);
  const std::string procs = proc(0, a_main, GiB) + proc(1, a_children[0], GiB) +
                            proc(1, b_main, GiB) + proc(0, ::getpid(), GiB);
  std::string samples = usample(0, a_main, 1000, 30) + usample(1, a_children[0], 900, 99) +
                        usample(1, a_children[0], 1000, 20) +  // the newest of the process counts
                        usample(1, b_main, 1000, 5) + usample(0, ::getpid(), 1000, 50);
  nvml.write(base + procs + samples);

  auto util_of = [](const telemetry::Snapshot& s, const std::string& inst) {
    const auto* w = find_worker(s, inst);
    return w ? w->gpu_util_pct : std::nullopt;
  };
  auto first = wait_snapshot(hive, [&](const auto& s) { return util_of(s, a) == 50.0; });
  REQUIRE(first);
  CHECK(util_of(*first, b) == 5.0);

  // The same samples, returned again: already seen, so no SM time in the next readings.
  auto idle = wait_snapshot(hive, [&](const auto& s) { return util_of(s, a) == 0.0; });
  REQUIRE(idle);
  CHECK(util_of(*idle, b) == 0.0);
  CHECK(nvml.calls("putil_since=1000") >= 1);  // the newest seen is what the Hive asks from

  // A newer sample of one process: only it counts, not the old ones beside it.
  samples += usample(0, a_main, 2000, 40);
  nvml.write(base + procs + samples);
  auto later = wait_snapshot(hive, [&](const auto& s) { return util_of(s, a) == 40.0; });
  REQUIRE(later);
  CHECK(util_of(*later, b) == 0.0);
  auto m = metrics(hive);
  INFO(m);
  CHECK(m.find("\nrbee_worker_gpu_utilization_percent{service=\"tw\",instance=\"" + b +
               "\"} 0\n") != std::string::npos);
}

TEST_CASE("power, other processes' VRAM and the per-GPU series on /metrics", "[gpu]") {
  const std::string gpus =
      "gpus 2\n"
      "gpu 0 uuid=GPU-11111111-2222-3333-4444-555555555555 name=Fake-H100 total=85899345920 "
      "used=12884901888 util=37 temp=51 power=312500\n"
      "gpu 1 uuid=GPU-66666666-7777-8888-9999-000000000000 name=Fake-A100 total=42949672960 "
      "used=4294967296 util=5 temp=33\n";  // no power reading (NOT_SUPPORTED)
  FakeNvml nvml(gpus);
  Hive hive(nvml.options("gpu-other"));
  auto inst = spawn_ok(hive, {});
  auto [main_pid, children] = ready_worker(hive, inst, 1);
  nvml.write(gpus + proc(0, main_pid, 2 * GiB) + proc(0, ::getpid(), 3 * GiB) +
             proc(0, ::getpid(), 3 * GiB, "graphics") + proc(1, 3000001, GiB) +
             proc(1, 3000002, 256 * MiB, "graphics"));
  auto snap = wait_snapshot(hive, [](const auto& s) {
    return s.gpus.size() == 2 && s.gpus[0].vram_other_bytes == 3 * GiB &&
           s.gpus[1].vram_other_bytes == GiB + 256 * MiB;
  });
  REQUIRE(snap);
  CHECK(snap->gpus[0].vram_other_bytes == 3 * GiB);  // compute and graphics: one process
  CHECK(snap->gpus[1].vram_other_bytes == GiB + 256 * MiB);
  CHECK(snap->gpus[0].power_w == 312.5);
  CHECK_FALSE(snap->gpus[1].power_w);
  const auto* w = find_worker(*snap, inst);
  REQUIRE(w);
  CHECK(w->vram_bytes == 2 * GiB);

  auto m = metrics(hive);
  INFO(m);
  const std::string g0 = "{gpu=\"0\",uuid=\"GPU-11111111-2222-3333-4444-555555555555\"} ";
  const std::string g1 = "{gpu=\"1\",uuid=\"GPU-66666666-7777-8888-9999-000000000000\"} ";
  CHECK(has_line(m, "rbee_gpu_power_watts" + g0 + "312.5"));
  CHECK(m.find("rbee_gpu_power_watts" + g1) == std::string::npos);
  CHECK(has_line(m, "rbee_gpu_memory_total_bytes" + g0 + "85899345920"));
  CHECK(has_line(m, "rbee_gpu_memory_used_bytes" + g0 + "12884901888"));
  CHECK(has_line(m, "rbee_gpu_memory_other_bytes" + g0 + "3221225472"));
  CHECK(has_line(m, "rbee_gpu_memory_other_bytes" + g1 + "1342177280"));
  CHECK(has_line(m, "rbee_gpu_utilization_percent" + g0 + "37"));
  CHECK(has_line(m, "rbee_gpu_temperature_celsius" + g1 + "33"));
  CHECK(has_line(m, "# TYPE rbee_gpu_power_watts gauge"));
}

TEST_CASE("processes on MIG devices are attributed and counted toward their GPU", "[gpu]") {
  const std::string gpus =
      "gpus 1\n"
      "gpu 0 uuid=GPU-11111111-2222-3333-4444-555555555555 name=Fake-H100 total=85899345920 "
      "used=12884901888 temp=51 mig=1\n"
      "mig 0 1\nmig 0 3\n";
  FakeNvml nvml(gpus);
  Hive hive(nvml.options("gpu-mig"));
  auto a = spawn_ok(hive, {"--children", "1"});
  auto [a_main, a_children] = ready_worker(hive, a, 2);
  // With MIG on, the GPU's own lists refuse an unprivileged caller: only the MIG devices tell.
  nvml.write(gpus + "proc 0 pid=" + std::to_string(a_main) + " used=" + std::to_string(2 * GiB) +
             " mig=1\n" + "proc 0 pid=" + std::to_string(a_children[0]) + " used=" +
             std::to_string(GiB) + " mig=3\n" + "proc 0 pid=" + std::to_string(::getpid()) +
             " used=" + std::to_string(512 * MiB) + " mig=3\n");
  auto w = hive.wait_worker("tw", a, vram_is(3 * GiB));
  REQUIRE(w);
  CHECK(w->gpu_indices == std::vector<uint32_t>{0});
  CHECK_FALSE(w->gpu_util_pct);  // no per-process utilisation in MIG mode
  auto snap = wait_snapshot(hive, [](const auto& s) {
    return s.gpus.size() == 1 && s.gpus[0].vram_other_bytes == 512 * MiB;
  });
  REQUIRE(snap);
  CHECK_FALSE(snap->gpus[0].util_pct);  // nvmlDeviceGetUtilizationRates: NOT_SUPPORTED with MIG
  CHECK(nvml.calls("compute_v3") >= 2);
}

TEST_CASE("what the driver does not support is absent, in the snapshot and on /metrics", "[gpu]") {
  const std::string gpus =
      "gpus 2\n"
      "gpu 0 uuid=GPU-11111111-2222-3333-4444-555555555555 name=Old total=85899345920 "
      "used=12884901888 util=na temp=na power=na putil=na\n"
      "gpu 1 uuid=GPU-66666666-7777-8888-9999-000000000000 name=New total=42949672960 "
      "used=4294967296 util=5 temp=33 power=70000\n";
  FakeNvml nvml(gpus);
  Hive hive(nvml.options("gpu-unsupported"));
  auto a = spawn_ok(hive, {});
  auto b = spawn_ok(hive, {});
  auto [a_main, a_children] = ready_worker(hive, a, 1);
  auto [b_main, b_children] = ready_worker(hive, b, 1);
  nvml.write(gpus + proc(0, a_main, GiB) + proc(1, b_main, GiB) + usample(1, b_main, 1000, 12));
  auto snap = wait_snapshot(hive, [&](const auto& s) {
    const auto* wa = find_worker(s, a);
    const auto* wb = find_worker(s, b);
    return s.gpus.size() == 2 && wa && wa->vram_bytes == GiB && wb && wb->gpu_util_pct;
  });
  REQUIRE(snap);
  const auto& g0 = snap->gpus[0];
  CHECK_FALSE(g0.util_pct);
  CHECK_FALSE(g0.temperature_c);
  CHECK_FALSE(g0.power_w);
  CHECK(g0.memory_used_bytes == 12 * GiB);
  CHECK(snap->gpus[1].power_w == 70.0);
  // a's process is on the GPU that cannot tell per-process utilisation: unknown, not 0.
  CHECK_FALSE(find_worker(*snap, a)->gpu_util_pct);

  auto m = metrics(hive);
  INFO(m);
  CHECK(m.find("rbee_gpu_utilization_percent{gpu=\"0\"") == std::string::npos);
  CHECK(m.find("rbee_gpu_temperature_celsius{gpu=\"0\"") == std::string::npos);
  CHECK(m.find("rbee_gpu_power_watts{gpu=\"0\"") == std::string::npos);
  CHECK(m.find("rbee_gpu_power_watts{gpu=\"1\"") != std::string::npos);
  CHECK(m.find("rbee_gpu_memory_used_bytes{gpu=\"0\"") != std::string::npos);
  CHECK(m.find("rbee_worker_gpu_utilization_percent{service=\"tw\",instance=\"" + a + "\"}") ==
        std::string::npos);
}
