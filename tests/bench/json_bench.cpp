// Encode and decode cost of a telemetry snapshot, per worker record.
// Run: build/tests/rbee-bench-json [--benchmark_min_time=1]
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "common/json/decode.h"
#include "common/json/telemetry_json.h"
#include "common/telemetry.h"
#include "sample_snapshot.h"

namespace {

using rbee::telemetry::Snapshot;

Snapshot make_snapshot(int workers) {
  return rbee::bench::make_snapshot("gpu-node-017", "0f8c2a4e-5b1d-4c7a-9e21-6d3f0a9b8c11", 424242,
                                    workers);
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
      state.SkipWithError(
          ("decode failed: " + (back ? std::string("worker count") : back.error().message))
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
