#include "queen/metrics.h"

#include <sstream>

namespace rbee::queen {

void QueenMetrics::observe_latency(double seconds) {
  std::size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
  ++latency_buckets[i];
  latency_sum += seconds;
  ++latency_count;
}

std::string render_metrics(const Registry& registry, const QueenMetrics& m,
                           const HiveProber& prober) {
  std::ostringstream out;
  out.precision(10);
  auto family = [&](const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  family("rbee_queen_hives", "gauge", "Hives known to the Queen, by status.");
  for (const auto& [status, n] : registry.status_counts())
    out << "rbee_queen_hives{status=\"" << to_string(status) << "\"} " << n << '\n';

  std::map<std::string, std::size_t> by_state;
  for (const HiveEntry* h : registry.hives()) {
    for (const auto& w : h->workers) ++by_state[std::string(telemetry::to_string(w.state))];
  }
  family("rbee_queen_workers", "gauge", "Workers on all Hives, by state.");
  for (const auto& [state, n] : by_state)
    out << "rbee_queen_workers{state=\"" << state << "\"} " << n << '\n';

  family("rbee_queen_snapshots_ingested_total", "counter", "Snapshots accepted.");
  out << "rbee_queen_snapshots_ingested_total " << m.ingested << '\n';
  family("rbee_queen_snapshots_ignored_total", "counter",
         "Snapshots ignored as out of order (seq not newer).");
  out << "rbee_queen_snapshots_ignored_total " << m.ignored << '\n';
  family("rbee_queen_snapshots_rejected_total", "counter", "Snapshots refused, by reason.");
  for (const char* reason : {"auth", "peer", "host", "origin", "content_type", "malformed",
                             "conflict", "gone", "full", "sender_full"}) {
    auto it = m.rejected.find(reason);
    out << "rbee_queen_snapshots_rejected_total{reason=\"" << reason << "\"} "
        << (it == m.rejected.end() ? 0 : it->second) << '\n';
  }

  family("rbee_queen_ingest_duration_seconds", "histogram",
         "Time to decode and apply one snapshot.");
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < QueenMetrics::kBuckets.size(); ++i) {
    cumulative += m.latency_buckets[i];
    out << "rbee_queen_ingest_duration_seconds_bucket{le=\"" << QueenMetrics::kBuckets[i] << "\"} "
        << cumulative << '\n';
  }
  cumulative += m.latency_buckets.back();
  out << "rbee_queen_ingest_duration_seconds_bucket{le=\"+Inf\"} " << cumulative << '\n';
  out << "rbee_queen_ingest_duration_seconds_sum " << m.latency_sum << '\n';
  out << "rbee_queen_ingest_duration_seconds_count " << m.latency_count << '\n';

  family("rbee_queen_handshakes_total", "counter", "Capabilities calls made to Hives.");
  out << "rbee_queen_handshakes_total " << prober.calls() << '\n';
  family("rbee_queen_handshake_failures_total", "counter", "Capabilities calls that failed.");
  out << "rbee_queen_handshake_failures_total " << prober.failures() << '\n';
  return out.str();
}

}  // namespace rbee::queen
