// Prometheus text exposition (format 0.0.4) of the Hive's current snapshot.
#include <sstream>

#include "hive/hive_daemon.h"

namespace rbee::hive {
namespace {

std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string render_metrics(const telemetry::Snapshot& s, double tick_seconds, uint64_t ticks) {
  std::ostringstream out;
  out.precision(10);
  auto family = [&](const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  auto per_worker = [&](const char* name, const char* type, const char* help, auto get) {
    family(name, type, help);
    for (const auto& w : s.workers) {
      auto v = get(w);
      if (!v) continue;
      out << name << "{service=\"" << label_value(w.service) << "\",instance=\""
          << label_value(w.instance) << "\"} " << *v << '\n';
    }
  };
  using W = telemetry::Worker;
  per_worker("rbee_worker_cpu_usage_seconds_total", "counter",
             "CPU time used by the worker's cgroup.", [](const W& w) -> std::optional<double> {
               if (!w.cpu_usage_usec) return std::nullopt;
               return static_cast<double>(*w.cpu_usage_usec) / 1e6;
             });
  per_worker("rbee_worker_cpu_percent", "gauge", "CPU use over the last interval; 100 = one core.",
             [](const W& w) { return w.cpu_pct; });
  per_worker("rbee_worker_rss_bytes", "gauge", "Resident memory (see mem_source in telemetry).",
             [](const W& w) { return w.rss_bytes; });
  per_worker("rbee_worker_working_set_bytes", "gauge", "memory.current minus inactive_file.",
             [](const W& w) { return w.working_set_bytes; });
  per_worker("rbee_worker_pids", "gauge", "Processes in the worker's cgroup.",
             [](const W& w) { return std::optional<uint64_t>(w.pid_count); });
  per_worker("rbee_worker_io_read_bytes_total", "counter", "Bytes read (io.stat).",
             [](const W& w) { return w.io_read_bytes; });
  per_worker("rbee_worker_io_write_bytes_total", "counter", "Bytes written (io.stat).",
             [](const W& w) { return w.io_write_bytes; });
  per_worker("rbee_worker_oom_kills_total", "counter", "OOM kills in the worker's cgroup.",
             [](const W& w) { return w.oom_kills; });
  per_worker("rbee_worker_vram_bytes", "gauge", "GPU memory used by the worker's processes.",
             [](const W& w) { return w.vram_bytes; });
  per_worker("rbee_worker_restarts_total", "counter", "Restarts by the restart policy.",
             [](const W& w) { return std::optional<uint64_t>(w.restarts); });
  family("rbee_worker_state", "gauge", "1 for the worker's current state.");
  for (const auto& w : s.workers) {
    out << "rbee_worker_state{service=\"" << label_value(w.service) << "\",instance=\""
        << label_value(w.instance) << "\",state=\"" << telemetry::to_string(w.state) << "\"} 1\n";
  }
  family("rbee_hive_workers", "gauge", "Workers in the tree.");
  out << "rbee_hive_workers " << s.workers.size() << '\n';
  family("rbee_hive_tick_duration_seconds", "gauge", "Time the last sample of the tree took.");
  out << "rbee_hive_tick_duration_seconds " << tick_seconds << '\n';
  family("rbee_hive_ticks_total", "counter", "Snapshots built since start.");
  out << "rbee_hive_ticks_total " << ticks << '\n';
  return out.str();
}

}  // namespace rbee::hive
