// Attribution of GPU memory to workers and the R535 stride check, on synthetic NVML buffers.
#include <catch2/catch.hpp>
#include <cstring>

#include "hive/gpu_processes.h"
#include "hive/nvml_api.h"

using namespace rbee;
using namespace rbee::hive;

namespace {

constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t MiB = 1ull << 20;

// A buffer of process infos as a driver would write it: `stride` bytes per entry.
struct Entry {
  uint32_t pid;
  uint64_t used;
  uint32_t gi = nvml::kInvalidInstanceId, ci = nvml::kInvalidInstanceId;
  uint64_t cc_protected = 0;
};
std::vector<std::byte> buffer(const std::vector<Entry>& entries, std::size_t stride) {
  std::vector<std::byte> out(entries.size() * stride + 64, std::byte{0xAB});
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::byte* e = out.data() + i * stride;
    std::memset(e, 0, stride);
    std::memcpy(e, &entries[i].pid, 4);
    std::memcpy(e + 8, &entries[i].used, 8);
    if (stride >= 24) {
      std::memcpy(e + 16, &entries[i].gi, 4);
      std::memcpy(e + 20, &entries[i].ci, 4);
    }
    if (stride >= 32) std::memcpy(e + 24, &entries[i].cc_protected, 8);
  }
  return out;
}

telemetry::Worker worker(std::string instance, std::vector<int32_t> pids,
                         telemetry::WorkerState state = telemetry::WorkerState::ready) {
  telemetry::Worker w;
  w.service = "llm";
  w.instance = std::move(instance);
  w.state = state;
  w.pids = std::move(pids);
  w.pid_count = static_cast<uint32_t>(w.pids.size());
  return w;
}

}  // namespace

TEST_CASE("reads v1 and v2 process infos at their own strides", "[gpu]") {
  const std::vector<Entry> e = {{1234, 512 * MiB}, {5678, 2 * GiB}};
  auto v2 = buffer(e, 24);
  auto p = decode_process_infos(v2.data(), 2, ProcessLayout::v2, 1);
  REQUIRE(p.size() == 2);
  CHECK(p[0] == GpuProcess{1, 1234, 512 * MiB});
  CHECK(p[1] == GpuProcess{1, 5678, 2 * GiB});
  auto v1 = buffer(e, 16);
  p = decode_process_infos(v1.data(), 2, ProcessLayout::v1, 0);
  REQUIRE(p.size() == 2);
  CHECK(p[1] == GpuProcess{0, 5678, 2 * GiB});
  CHECK(plausible_process_infos(v1.data(), 2, 16, 80 * GiB));
}

TEST_CASE("NVML_VALUE_NOT_AVAILABLE is an unknown amount, not a huge one", "[gpu]") {
  auto b = buffer({{42, nvml::kValueNotAvailable}}, 24);
  CHECK(plausible_process_infos(b.data(), 1, 24, 16 * GiB));
  auto p = decode_process_infos(b.data(), 1, ProcessLayout::v2, 0);
  REQUIRE(p.size() == 1);
  CHECK_FALSE(p[0].used_bytes);
}

TEST_CASE("the v3 stride check accepts well-formed 24-byte entries", "[gpu]") {
  auto b = buffer({{100, GiB}, {200, 2 * GiB, 1, 0}, {300, 0}}, 24);
  CHECK(check_v3_stride(b.data(), 3, 80 * GiB) == StrideCheck::ok);
  CHECK(check_v3_stride(b.data(), 0, 80 * GiB) == StrideCheck::ok);
}

TEST_CASE("the v3 stride check catches R535's 32-byte entries", "[gpu]") {
  // Two or more processes: the second entry read at 24 bytes starts inside the first's
  // usedGpuCcProtectedMemory, so its pid is 0.
  auto b = buffer({{4321, 3 * GiB}, {8765, 5 * GiB}, {999, 700 * MiB}}, 32);
  CHECK(check_v3_stride(b.data(), 3, 80 * GiB) == StrideCheck::bad_stride);
  // ...also with confidential computing on, where that field holds a byte count.
  auto cc = buffer({{4321, 3 * GiB, 0xFFFFFFFF, 0xFFFFFFFF, 64 * MiB + 4096},
                    {8765, 5 * GiB, 0xFFFFFFFF, 0xFFFFFFFF, 96 * MiB}},
                   32);
  CHECK(check_v3_stride(cc.data(), 2, 80 * GiB) == StrideCheck::bad_stride);
  // One entry reads the same at either stride: nothing to catch, and nothing wrong.
  auto one = buffer({{4321, 3 * GiB}}, 32);
  CHECK(check_v3_stride(one.data(), 1, 80 * GiB) == StrideCheck::ok);
}

TEST_CASE("implausible entries are refused at any stride", "[gpu]") {
  CHECK_FALSE(plausible_process_infos(buffer({{0, GiB}}, 24).data(), 1, 24, 80 * GiB));
  CHECK_FALSE(
      plausible_process_infos(buffer({{kPidMaxLimit + 1, GiB}}, 24).data(), 1, 24, 80 * GiB));
  CHECK_FALSE(plausible_process_infos(buffer({{10, 81 * GiB}}, 24).data(), 1, 24, 80 * GiB));
  CHECK_FALSE(plausible_process_infos(buffer({{10, GiB, 70000, 0}}, 24).data(), 1, 24, 80 * GiB));
  auto junk = buffer({{0, 0}, {0, 0}}, 24);
  std::memset(junk.data(), 0x5A, junk.size());
  CHECK(check_v3_stride(junk.data(), 2, 80 * GiB) == StrideCheck::implausible);
}

TEST_CASE("a worker's VRAM is the sum over its processes and GPUs", "[gpu]") {
  std::vector<telemetry::Worker> ws = {worker("8080", {100, 101, 102}), worker("8081", {200})};
  const std::vector<GpuProcess> procs = {
      {0, 100, 4 * GiB},
      {1, 101, 2 * GiB},
      {1, 200, 6 * GiB},
      {0, 999, 10 * GiB},  // 999: no worker
  };
  attribute_gpu_memory(procs, ws);
  CHECK(ws[0].vram_bytes == 6 * GiB);
  CHECK(ws[0].gpu_indices == std::vector<uint32_t>{0, 1});
  CHECK(ws[1].vram_bytes == 6 * GiB);
  CHECK(ws[1].gpu_indices == std::vector<uint32_t>{1});
}

TEST_CASE("a process in both the compute and graphics lists counts once", "[gpu]") {
  std::vector<telemetry::Worker> ws = {worker("8080", {100})};
  attribute_gpu_memory({{0, 100, GiB}, {0, 100, GiB}, {1, 100, 3 * GiB}}, ws);
  CHECK(ws[0].vram_bytes == 4 * GiB);
  CHECK(ws[0].gpu_indices == std::vector<uint32_t>{0, 1});
}

TEST_CASE("a worker without GPU processes measures 0, and an exited one stays absent", "[gpu]") {
  std::vector<telemetry::Worker> ws = {worker("8080", {100}),
                                       worker("8081", {}, telemetry::WorkerState::exited)};
  attribute_gpu_memory({{0, 555, GiB}}, ws);
  CHECK(ws[0].vram_bytes == 0u);
  CHECK(ws[0].gpu_indices.empty());
  CHECK_FALSE(ws[1].vram_bytes);
}

TEST_CASE("an amount NVML cannot tell leaves the worker's VRAM absent, its GPUs known", "[gpu]") {
  std::vector<telemetry::Worker> ws = {worker("8080", {100, 101})};
  attribute_gpu_memory({{0, 100, GiB}, {1, 101, std::nullopt}}, ws);
  CHECK_FALSE(ws[0].vram_bytes);
  CHECK(ws[0].gpu_indices == std::vector<uint32_t>{0, 1});
}

namespace {

nvml::ProcessUtilizationSample usample(uint32_t pid, uint64_t ts, uint32_t sm) {
  return {pid, ts, sm, 0, 0, 0};
}

constexpr uint64_t kNowUs = 1'700'000'000'000'000;

}  // namespace

TEST_CASE("utilisation samples: only those newer than the last seen, the newest per process",
          "[gpu]") {
  const std::vector<nvml::ProcessUtilizationSample> raw = {
      usample(100, kNowUs - 3000, 40),  // older than 101's, but the only one of 100 past 1000
      usample(101, kNowUs - 2000, 10), usample(101, kNowUs - 1000, 25),  // 101's newest
      usample(102, kNowUs - 9000, 90),                                   // seen already
  };
  uint64_t last_seen = kNowUs - 5000;
  auto fresh = new_util_samples(raw.data(), raw.size(), 1, last_seen, kNowUs);
  REQUIRE(fresh.size() == 2);
  CHECK(fresh[0] == GpuUtilSample{1, 100, kNowUs - 3000, 40});
  CHECK(fresh[1] == GpuUtilSample{1, 101, kNowUs - 1000, 25});
  CHECK(last_seen == kNowUs - 1000);

  // A driver that hands the same samples back next time: none is counted again.
  CHECK(new_util_samples(raw.data(), raw.size(), 1, last_seen, kNowUs).empty());
  CHECK(last_seen == kNowUs - 1000);  // and it never goes back
}

TEST_CASE("implausible utilisation samples are dropped and do not move the last seen", "[gpu]") {
  const std::vector<nvml::ProcessUtilizationSample> raw = {
      usample(0, kNowUs - 10, 5),                  // no PID 0
      usample(kPidMaxLimit + 1, kNowUs - 10, 5),   // beyond PID_MAX_LIMIT
      usample(100, kNowUs - 10, 101),              // over 100 %
      usample(100, kNowUs + 3'600'000'000ull, 5),  // an hour ahead: would hide all later ones
      usample(100, kNowUs - 20, 7),
  };
  uint64_t last_seen = 0;
  auto fresh = new_util_samples(raw.data(), raw.size(), 0, last_seen, kNowUs);
  REQUIRE(fresh.size() == 1);
  CHECK(fresh[0] == GpuUtilSample{0, 100, kNowUs - 20, 7});
  CHECK(last_seen == kNowUs - 20);
}

TEST_CASE("a worker's GPU utilisation is the sum over its processes and GPUs", "[gpu]") {
  std::vector<telemetry::Worker> ws = {worker("8080", {100, 101}), worker("8081", {200}),
                                       worker("8082", {}, telemetry::WorkerState::exited)};
  GpuSample s;
  s.processes = {{0, 100, GiB}, {1, 100, GiB}, {1, 101, GiB}, {0, 999, GiB}};
  s.util = {{0, 100, 1, 30}, {1, 100, 1, 20}, {1, 101, 1, 15}, {0, 999, 1, 70}};
  s.util_gpus = {0, 1};
  attribute_gpu_util(s, ws);
  CHECK(ws[0].gpu_util_pct == 65.0);
  CHECK(ws[1].gpu_util_pct == 0.0);  // measured: no sample, so no SM time
  CHECK_FALSE(ws[2].gpu_util_pct);   // exited

  SECTION("a process on a GPU that cannot tell leaves its worker's figure absent") {
    s.util_gpus = {0};
    ws[0].gpu_util_pct.reset();
    ws[1].gpu_util_pct.reset();
    attribute_gpu_util(s, ws);
    CHECK_FALSE(ws[0].gpu_util_pct);
    CHECK(ws[1].gpu_util_pct == 0.0);
  }
  SECTION("no GPU answers: absent for every worker") {
    s.util_gpus.clear();
    ws[0].gpu_util_pct.reset();
    ws[1].gpu_util_pct.reset();
    attribute_gpu_util(s, ws);
    CHECK_FALSE(ws[0].gpu_util_pct);
    CHECK_FALSE(ws[1].gpu_util_pct);
  }
}

TEST_CASE("other VRAM is the memory of processes of no worker, per GPU", "[gpu]") {
  const std::vector<telemetry::Worker> ws = {worker("8080", {100})};
  std::vector<telemetry::Gpu> gpus(3);
  for (uint32_t i = 0; i < 3; ++i) gpus[i].index = i;
  GpuSample s;
  s.processes = {
      {0, 100, 4 * GiB},                            // the worker's
      {0, 500, GiB},       {0, 500, GiB},           // compute and graphics: once
      {0, 501, 512 * MiB}, {1, 600, std::nullopt},  // an amount NVML cannot tell
      {2, 700, GiB},                                // GPU 2's lists were not all read
  };
  s.listed_gpus = {0, 1};
  attribute_other_memory(s, ws, gpus);
  CHECK(gpus[0].vram_other_bytes == GiB + 512 * MiB);
  CHECK_FALSE(gpus[1].vram_other_bytes);
  CHECK_FALSE(gpus[2].vram_other_bytes);

  SECTION("a GPU with only workers' processes has 0 other") {
    s.processes = {{0, 100, GiB}};
    gpus[0].vram_other_bytes.reset();
    attribute_other_memory(s, ws, gpus);
    CHECK(gpus[0].vram_other_bytes == 0u);
  }
}

TEST_CASE("processes on MIG devices count toward their GPU, once per MIG device", "[gpu]") {
  std::vector<telemetry::Worker> ws = {worker("8080", {100}), worker("8081", {200})};
  std::vector<telemetry::Gpu> gpus(1);
  GpuSample s;
  s.processes = {
      {0, 100, 2 * GiB, 1}, {0, 100, 2 * GiB, 1},  // compute and graphics on MIG device 1
      {0, 100, GiB, 3},                            // the same process on MIG device 3 too
      {0, 200, 5 * GiB, 2}, {0, 900, 3 * GiB, 1}, {0, 901, GiB, 3},
  };
  s.listed_gpus = {0};
  attribute_gpu_memory(s.processes, ws);
  attribute_other_memory(s, ws, gpus);
  CHECK(ws[0].vram_bytes == 3 * GiB);
  CHECK(ws[0].gpu_indices == std::vector<uint32_t>{0});
  CHECK(ws[1].vram_bytes == 5 * GiB);
  CHECK(gpus[0].vram_other_bytes == 4 * GiB);
}
