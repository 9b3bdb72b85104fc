// Prometheus text exposition (format 0.0.4) of the Hive's current snapshot.
#include <sstream>

#include "common/telemetry_schema.h"
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
  auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  auto labels = [&](const telemetry::Worker& w) {
    out << "{service=\"" << label_value(w.service) << "\",instance=\"" << label_value(w.instance)
        << '"';
  };
  // One family per member with a series; only numbers (plain or optional) can have one.
  telemetry::schema::for_each_field(telemetry::schema::kWorker, [&](const auto& f) {
    using F = std::remove_cvref_t<decltype(f)>;
    using M = typename F::Member;
    if constexpr (std::is_arithmetic_v<typename F::Value> && !telemetry::schema::is_list<M>) {
      const auto& series = f.options.series;
      if (series.name.empty()) return;
      family(series.name, series.type, series.help);
      for (const auto& w : s.workers) {
        const M& m = w.*f.member;
        const std::optional<typename F::Value> value = m;
        if (!value) continue;
        out << series.name;
        labels(w);
        out << "} ";
        if (series.scale == 1)
          out << +*value;
        else
          out << static_cast<double>(*value) * series.scale;
        out << '\n';
      }
    }
  });
  // The same for each GPU, labelled by index and UUID (the UUID survives a renumbering).
  telemetry::schema::for_each_field(telemetry::schema::kGpu, [&](const auto& f) {
    using F = std::remove_cvref_t<decltype(f)>;
    using M = typename F::Member;
    if constexpr (std::is_arithmetic_v<typename F::Value> && !telemetry::schema::is_list<M>) {
      const auto& series = f.options.series;
      if (series.name.empty()) return;
      family(series.name, series.type, series.help);
      for (const auto& g : s.gpus) {
        const std::optional<typename F::Value> value = g.*f.member;
        if (!value) continue;
        out << series.name << "{gpu=\"" << g.index << "\",uuid=\"" << label_value(g.uuid) << "\"} "
            << +*value << '\n';
      }
    }
  });
  family("rbee_worker_state", "gauge", "1 for the worker's current state.");
  for (const auto& w : s.workers) {
    out << "rbee_worker_state";
    labels(w);
    out << ",state=\"" << telemetry::to_string(w.state) << "\"} 1\n";
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
