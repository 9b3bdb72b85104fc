// Encode and decode cost of a telemetry snapshot, per worker record.
// Run: build/tests/rbee-bench-json [--benchmark_min_time=1]
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "common/json/decode.h"
#include "common/json/telemetry_json.h"
#include "common/telemetry.h"

namespace {

using rbee::telemetry::Snapshot;
using rbee::telemetry::Worker;
using rbee::telemetry::WorkerState;

// A worker as the cgroupfs backend reports it on a busy host: every measured field present.
Worker make_worker(int i) {
  Worker w;
  w.service = (i % 3 == 0) ? "llm-inference" : (i % 3 == 1) ? "embedder" : "reranker";
  w.instance = std::to_string(8000 + i);
  w.port = static_cast<uint16_t>(8000 + i);
  w.cgroup = "rbee.slice/" + w.service + "/" + w.instance;
  w.state = WorkerState::ready;
  w.cpu_usage_usec = 123456789ull + static_cast<uint64_t>(i) * 1000;
  w.cpu_pct = 37.25 + i % 50;
  w.rss_bytes = 1'234'567'890ull + static_cast<uint64_t>(i) * 4096;
  w.working_set_bytes = 1'100'000'000ull + static_cast<uint64_t>(i) * 4096;
  w.mem_source = "cgroup";
  w.memory_max_bytes = 8ull << 30;
  w.pids = {100000 + i * 4, 100001 + i * 4, 100002 + i * 4};
  w.pid_count = 3;
  w.main_pid = 100000 + i * 4;
  w.io_read_bytes = 987654321ull;
  w.io_write_bytes = 12345678ull;
  w.io_read_bps = 1048576.5;
  w.io_write_bps = 4096.0;
  w.oom_kills = 0;
  w.started_at_ms = 1'718'000'000'000 + i;
  w.spawned_by = "hive";
  w.restarts = static_cast<uint32_t>(i % 2);
  if (i % 4 == 0) {
    w.vram_bytes = 20ull << 30;
    w.gpu_indices = {static_cast<uint32_t>(i % 8)};
  }
  return w;
}

Snapshot make_snapshot(int workers) {
  Snapshot s;
  s.hive_id = "gpu-node-017";
  s.instance_id = "0f8c2a4e-5b1d-4c7a-9e21-6d3f0a9b8c11";
  s.seq = 424242;
  s.timestamp_ms = 1'718'000'123'456;
  s.backend = "cgroupfs";
  s.host = {.hostname = "gpu-node-017",
            .cpus = 64,
            .memory_total_bytes = 512ull << 30,
            .memory_available_bytes = 300ull << 30,
            .load1 = 12.5,
            .load5 = 11.0,
            .load15 = 10.25};
  for (uint32_t g = 0; g < 8; ++g) {
    s.gpus.push_back({.index = g,
                      .uuid = "GPU-5a1b2c3d-0000-1111-2222-33334444555" + std::to_string(g),
                      .name = "NVIDIA H100 80GB HBM3",
                      .memory_total_bytes = 80ull << 30,
                      .memory_used_bytes = 40ull << 30,
                      .util_pct = 87.0,
                      .temperature_c = 61.0});
  }
  for (int i = 0; i < workers; ++i) s.workers.push_back(make_worker(i));
  return s;
}

void BM_EncodeSnapshot(benchmark::State& state) {
  const int workers = static_cast<int>(state.range(0));
  const Snapshot s = make_snapshot(workers);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string json = rbee::json::encode_snapshot(s);
    bytes = json.size();
    benchmark::DoNotOptimize(json.data());
  }
  state.SetItemsProcessed(state.iterations() * workers);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.counters["doc_bytes"] = static_cast<double>(bytes);
}

void BM_DecodeSnapshot(benchmark::State& state) {
  const int workers = static_cast<int>(state.range(0));
  const Snapshot s = make_snapshot(workers);
  const std::string json = rbee::json::encode_snapshot(s);
  {
    auto back = rbee::json::decode_snapshot(json);
    if (!back || back->workers.size() != s.workers.size()) {
      state.SkipWithError(("decode failed: " + (back ? std::string("worker count")
                                                     : back.error().message))
                              .c_str());
      return;
    }
  }
  for (auto _ : state) {
    auto back = rbee::json::decode_snapshot(json);
    benchmark::DoNotOptimize(back);
  }
  state.SetItemsProcessed(state.iterations() * workers);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(json.size()));
  state.counters["doc_bytes"] = static_cast<double>(json.size());
}

BENCHMARK(BM_EncodeSnapshot)->Arg(1)->Arg(100)->Arg(1000);
BENCHMARK(BM_DecodeSnapshot)->Arg(1)->Arg(100)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
