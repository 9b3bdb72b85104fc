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
