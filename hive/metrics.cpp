// Prometheus text exposition (format 0.0.4) of the Hive's current snapshot.
#include <sstream>

#include "common/telemetry_schema.h"
#include "hive/hive_daemon.h"

namespace rbee::hive {
namespace {

namespace schema = telemetry::schema;

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

void worker_labels(std::ostream& out, const telemetry::Worker& w) {
  out << "{service=\"" << label_value(w.service) << "\",instance=\"" << label_value(w.instance)
      << '"';
}

// One family's samples, gathered before it is printed: members inside objects feed one series
// under several labels (resource="cpu", resource="io"), and a family must be printed in one piece.
struct Family {
  const schema::Series* series;
  std::ostringstream samples;
};

std::ostringstream& samples_of(std::vector<Family>& families, const schema::Series& series) {
  for (auto& f : families)
    if (f.series->name == series.name) return f.samples;
  auto& f = families.emplace_back(Family{&series, {}});
  f.samples.precision(10);
  return f.samples;
}

// The samples of every series in `table`, nested objects' included. get(w) is the object in
// worker w (nullptr while absent); extra, the labels the objects on the way add.
template <class Table, class Get>
void add_series(const Table& table, const std::vector<telemetry::Worker>& workers, Get get,
                const std::string& extra, std::vector<Family>& families) {
  schema::for_each_field(table, [&](const auto& f) {
    using F = std::remove_cvref_t<decltype(f)>;
    using M = typename F::Member;
    using V = typename F::Value;
    const auto& series = f.options.series;
    std::string labels = extra;
    if (!series.label.empty())
      labels.append(",").append(series.label).append("=\"").append(f.name).append("\"");
    if constexpr (schema::Object<V>) {
      auto inner = [get, member = f.member](const telemetry::Worker& w) -> const V* {
        const auto* x = get(w);
        if (!x) return nullptr;
        const M& m = x->*member;
        if constexpr (schema::is_optional<M>)
          return m ? &*m : nullptr;
        else
          return &m;
      };
      add_series(schema::TableOf<V>::table, workers, inner, labels, families);
    } else if constexpr (std::is_arithmetic_v<V> && !schema::is_list<M>) {
      // Only numbers (plain or optional) can feed a series.
      if (series.name.empty()) return;
      auto& out = samples_of(families, series);
      for (const auto& w : workers) {
        const auto* x = get(w);
        if (!x) continue;
        const std::optional<V> value = x->*f.member;
        if (!value) continue;
        out << series.name;
        worker_labels(out, w);
        out << labels << "} ";
        if (series.scale == 1)
          out << +*value;
        else
          out << static_cast<double>(*value) * series.scale;
        out << '\n';
      }
    }
  });
}

}  // namespace

std::string render_metrics(const telemetry::Snapshot& s, double tick_seconds, uint64_t ticks) {
  std::ostringstream out;
  out.precision(10);
  auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  std::vector<Family> families;
  add_series(
      schema::kWorker, s.workers, [](const telemetry::Worker& w) { return &w; }, std::string(),
      families);
  for (const auto& f : families) {
    family(f.series->name, f.series->type, f.series->help);
    out << f.samples.view();
  }
  // The same for each GPU, labelled by index and UUID (the UUID survives a renumbering).
  schema::for_each_field(schema::kGpu, [&](const auto& f) {
    using F = std::remove_cvref_t<decltype(f)>;
    using M = typename F::Member;
    if constexpr (std::is_arithmetic_v<typename F::Value> && !schema::is_list<M>) {
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
    worker_labels(out, w);
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
