#pragma once
// The telemetry the JSON benchmark and the Queen ingest load generator encode: a busy 8-GPU host
// as the cgroupfs backend reports it.
#include <cstdint>
#include <string>

#include "common/telemetry.h"

namespace rbee::bench {

// A worker with every measured field present.
inline telemetry::Worker make_worker(int i) {
  telemetry::Worker w;
  w.service = (i % 3 == 0) ? "llm-inference" : (i % 3 == 1) ? "embedder" : "reranker";
  w.instance = std::to_string(8000 + i);
  w.port = static_cast<uint16_t>(8000 + i);
  w.cgroup = "rbee.slice/" + w.service + "/" + w.instance;
  w.state = telemetry::WorkerState::ready;
  w.cpu_usage_usec = 123456789ull + static_cast<uint64_t>(i) * 1000;
  w.cpu_pct = 37.25 + i % 50;
  w.rss_bytes = 1'234'567'890ull + static_cast<uint64_t>(i) * 4096;
  w.working_set_bytes = 1'100'000'000ull + static_cast<uint64_t>(i) * 4096;
  w.mem_source = telemetry::MemSource::cgroup;
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
  w.spawned_by = telemetry::SpawnedBy::hive;
  w.restarts = static_cast<uint32_t>(i % 2);
  if (i % 4 == 0) {
    w.vram_bytes = 20ull << 30;
    w.gpu_indices = {static_cast<uint32_t>(i % 8)};
  }
  return w;
}

// A snapshot of the host with `workers` workers, make_worker(0) to make_worker(workers - 1).
inline telemetry::Snapshot make_snapshot(const std::string& hive_id, const std::string& instance_id,
                                         uint64_t seq, int workers) {
  telemetry::Snapshot s;
  s.hive_id = hive_id;
  s.instance_id = instance_id;
  s.seq = seq;
  s.timestamp_ms = 1'718'000'123'456;
  s.backend = "cgroupfs";
  s.host = {.hostname = hive_id,
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

}  // namespace rbee::bench
