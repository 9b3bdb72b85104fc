#include "common/json/telemetry_json.h"

namespace rbee::json {

void write_worker_fields(Writer& w, const telemetry::Worker& x) {
  w.field("service", x.service).field("instance", x.instance).field("port", x.port);
  w.field("cgroup", x.cgroup).field("unit", x.unit);
  w.field("state", telemetry::to_string(x.state));
  w.field("cpu_usage_usec", x.cpu_usage_usec).field("cpu_pct", x.cpu_pct);
  w.field("rss_bytes", x.rss_bytes).field("working_set_bytes", x.working_set_bytes);
  w.field("mem_source", x.mem_source).field("memory_max_bytes", x.memory_max_bytes);
  w.array_field("pids", x.pids).field("pid_count", x.pid_count).field("main_pid", x.main_pid);
  w.field("io_read_bytes", x.io_read_bytes).field("io_write_bytes", x.io_write_bytes);
  w.field("io_read_bps", x.io_read_bps).field("io_write_bps", x.io_write_bps);
  w.field("oom_kills", x.oom_kills).field("exit_code", x.exit_code).field("signal", x.signal);
  w.field("started_at_ms", x.started_at_ms).field("exited_at_ms", x.exited_at_ms);
  w.field("spawned_by", x.spawned_by).field("restarts", x.restarts);
  w.field("vram_bytes", x.vram_bytes).array_field("gpu_indices", x.gpu_indices);
}

void write_worker(Writer& w, const telemetry::Worker& worker) {
  w.begin_object();
  write_worker_fields(w, worker);
  w.end_object();
}

void write_host(Writer& w, const telemetry::Host& h) {
  w.begin_object().field("hostname", h.hostname).field("cpus", h.cpus);
  w.field("memory_total_bytes", h.memory_total_bytes);
  w.field("memory_available_bytes", h.memory_available_bytes);
  w.field("load1", h.load1).field("load5", h.load5).field("load15", h.load15);
  w.end_object();
}

void write_gpu(Writer& w, const telemetry::Gpu& g) {
  w.begin_object().field("index", g.index).field("uuid", g.uuid).field("name", g.name);
  w.field("memory_total_bytes", g.memory_total_bytes)
      .field("memory_used_bytes", g.memory_used_bytes);
  w.field("util_pct", g.util_pct).field("temperature_c", g.temperature_c);
  w.end_object();
}

std::string encode_snapshot(const telemetry::Snapshot& s) {
  Writer w;
  w.begin_object().field("schema_version", s.schema_version).field("hive_id", s.hive_id);
  w.field("instance_id", s.instance_id).field("seq", s.seq).field("timestamp_ms", s.timestamp_ms);
  w.field("interval_ms", s.interval_ms).field("backend", s.backend);
  w.key("host");
  write_host(w, s.host);
  w.key("gpus").begin_array();
  for (const auto& g : s.gpus) write_gpu(w, g);
  w.end_array();
  if (s.gpus_stale) w.field("gpus_stale", true);
  w.key("workers").begin_array();
  for (const auto& worker : s.workers) write_worker(w, worker);
  w.end_array();
  w.end_object();
  return w.take();
}

std::string encode_worker(const telemetry::Worker& worker) {
  Writer w;
  write_worker(w, worker);
  return w.take();
}

}  // namespace rbee::json
