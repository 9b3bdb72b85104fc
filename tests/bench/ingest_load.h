#pragma once
// A load generator that plays K Hives pushing telemetry snapshots to a Queen, each over its own
// kept-alive connection with one request in flight (as a real Hive does). Closed loop (each Hive
// sends again as soon as it has its answer) or open loop (a fixed total rate spread over the
// Hives; latency counts from the planned send time, so a Queen that falls behind is not hidden).
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rbee::bench {

enum class LoadKind {
  snapshot,  // POST /v1/hive-telemetry with `workers` workers
  health,    // GET /health: the HTTP-only baseline
};

struct LoadConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string token;
  LoadKind kind = LoadKind::snapshot;
  int hives = 10;
  int workers = 100;
  double rate = 0;  // total requests/s over all Hives; 0: closed loop
  double warmup_s = 0.5;
  double seconds = 3;
  std::string hive_prefix = "bench-hive-";
  pid_t queen_pid = 0;  // for the Queen's CPU (/proc/PID/stat); 0: not measured
};

struct LoadResult {
  uint64_t ok = 0;      // answered as expected (204 for a snapshot, 200 for /health)
  uint64_t errors = 0;  // any other status, or a connection error
  double seconds = 0;   // measured window
  double per_s = 0;     // ok / seconds
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double queen_cpu_s = -1;  // utime + stime of the Queen over the window; -1: not measured
  double gen_cpu_s = 0;     // this process's user + system CPU over the window
  std::size_t body_bytes = 0;
  std::string first_error;
};

// Runs one configuration: connects, warms up, measures, drains. Throws on a setup failure
// (cannot connect).
LoadResult run_load(const LoadConfig& config);

// The same request body run_load sends (for tests of the decoder or a profile outside it).
std::string make_snapshot_body(const std::string& hive_id, int workers, uint64_t seq);

}  // namespace rbee::bench
