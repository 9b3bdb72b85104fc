#pragma once
// The Queen's ingest counters, and the Prometheus text (format 0.0.4) of them and the
// registry's gauges.
#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "queen/hive_prober.h"
#include "queen/registry.h"

namespace rbee::queen {

struct QueenMetrics {
  static constexpr std::array<double, 11> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.25};
  uint64_t ingested = 0;                                        // accepted snapshots
  uint64_t ignored = 0;                                         // out of order (older or equal seq)
  std::map<std::string, uint64_t> rejected;                     // by reason
  std::array<uint64_t, kBuckets.size() + 1> latency_buckets{};  // last: +Inf
  double latency_sum = 0;
  uint64_t latency_count = 0;
  void observe_latency(double seconds);
};

// Prometheus text exposition of the Queen's state.
std::string render_metrics(const Registry& registry, const QueenMetrics& metrics,
                           const HiveProber& prober);

}  // namespace rbee::queen
