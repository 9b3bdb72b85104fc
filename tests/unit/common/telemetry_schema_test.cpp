// The schema tables are the one description of the telemetry: they cover each struct's members in
// order, and docs/telemetry.md and docs/api.md say what they say.
#include <boost/pfr/core.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/telemetry_schema.h"
#include "hive/hive_daemon.h"

using namespace rbee;
namespace schema = telemetry::schema;

namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;  // name, type

std::string read_doc(const std::string& name) {
  std::ifstream in(std::string(RBEE_TEST_DATA) + "/../../docs/" + name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The rows of the first table after `heading`, one per backticked name in the first column
// ("`io_read_bytes`, `io_write_bytes` | uint" is two rows), with the second column's text.
Rows doc_table(const std::string& doc, const std::string& heading, bool with_type = true) {
  auto at = doc.find("\n" + heading + "\n");
  REQUIRE(at != std::string::npos);
  std::istringstream in(doc.substr(at + heading.size() + 2));
  Rows rows;
  std::string line;
  bool in_table = false;
  const std::regex name(R"(`([a-z0-9_]+)`)");
  while (std::getline(in, line)) {
    if (line.rfind("|", 0) != 0) {
      if (in_table) break;
      if (line.rfind("#", 0) == 0) break;
      continue;
    }
    in_table = true;
    if (line.rfind("| field", 0) == 0 || line.rfind("| state", 0) == 0 ||
        line.rfind("|---", 0) == 0)
      continue;
    const auto second = line.find('|', 1);
    REQUIRE(second != std::string::npos);
    const std::string first = line.substr(1, second - 1);
    std::string type;
    if (with_type) {
      const auto third = line.find('|', second + 1);
      type = line.substr(second + 1, third - second - 1);
      type.erase(0, type.find_first_not_of(' '));
      type.erase(type.find_last_not_of(' ') + 1);
    }
    for (std::sregex_iterator it(first.begin(), first.end(), name), end; it != end; ++it)
      rows.emplace_back((*it)[1].str(), type);
  }
  return rows;
}

template <class Table>
Rows schema_rows(const Table& table) {
  Rows rows;
  schema::for_each_field(table, [&](const auto& f) {
    using M = typename std::remove_cvref_t<decltype(f)>::Member;
    rows.emplace_back(std::string(f.name), std::string(schema::json_type<M>()));
  });
  return rows;
}

// Field I of the table names member I of the struct.
template <class T, class Table>
void check_member_order(const Table& table) {
  T x{};
  std::vector<std::string> out_of_place;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    auto check = [&](const auto& f, const void* member) {
      if (static_cast<const void*>(&(x.*f.member)) != member) out_of_place.emplace_back(f.name);
    };
    (check(std::get<I>(table), &boost::pfr::get<I>(x)), ...);
  }
  (std::make_index_sequence<std::tuple_size_v<Table>>{});
  INFO(Catch::Detail::stringify(out_of_place));
  CHECK(out_of_place.empty());
}

}  // namespace

TEST_CASE("each schema table lists its struct's members in member order", "[schema]") {
  check_member_order<telemetry::Worker>(schema::kWorker);
  check_member_order<telemetry::Host>(schema::kHost);
  check_member_order<telemetry::Gpu>(schema::kGpu);
  check_member_order<telemetry::Pressure>(schema::kPressure);
  check_member_order<telemetry::PressureSet>(schema::kPressureSet);
  check_member_order<telemetry::MemoryEvents>(schema::kMemoryEvents);
}

TEST_CASE("docs/telemetry.md's field tables are the schema's, names and types in order",
          "[schema]") {
  const auto doc = read_doc("telemetry.md");
  CHECK(doc_table(doc, "### workers[]") == schema_rows(schema::kWorker));
  CHECK(doc_table(doc, "### host") == schema_rows(schema::kHost));
  CHECK(doc_table(doc, "### gpus[]") == schema_rows(schema::kGpu));
  CHECK(doc_table(doc, "### workers[].memory_events") == schema_rows(schema::kMemoryEvents));
  CHECK(doc_table(doc, "### workers[].pressure") == schema_rows(schema::kPressureSet));
  CHECK(doc_table(doc, "### workers[].pressure.cpu, .memory, .io") ==
        schema_rows(schema::kPressure));
  std::vector<std::string> states;
  for (const auto& [name, _] : doc_table(doc, "### States", false)) states.push_back(name);
  std::vector<std::string> names(std::begin(EnumNames<telemetry::WorkerState>::names),
                                 std::end(EnumNames<telemetry::WorkerState>::names));
  CHECK(states == names);
}

TEST_CASE("every per-worker series is exported and documented, and nothing else is named",
          "[schema]") {
  telemetry::Snapshot s;
  auto& w = s.workers.emplace_back();
  w.service = "svc";
  w.instance = "9000";
  w.state = telemetry::WorkerState::ready;
  w.cpu_usage_usec = 2'500'000;
  w.cpu_pct = 12.5;
  w.rss_bytes = 1ull << 40;  // printed whole, not rounded to 10 digits
  w.working_set_bytes = 2;
  w.pid_count = 3;
  w.io_read_bytes = 4;
  w.io_write_bytes = 5;
  w.oom_kills = 6;
  w.memory_events = telemetry::MemoryEvents{.low = 1, .high = 2, .max = 3, .oom = 4, .oom_kill = 5};
  w.memory_max_bytes = 15;
  w.memory_peak_bytes = 9;
  w.memory_high_bytes = 10;
  w.pids_max = 11;
  w.cpu_max_cores = 1.5;
  w.cpu_nr_periods = 12;
  w.cpu_nr_throttled = 13;
  w.cpu_throttled_usec = 14'000'000;
  telemetry::Pressure p{.some_total_usec = 2'000'000};
  p.full_total_usec = 500'000;
  w.pressure = telemetry::PressureSet{.cpu = p, .memory = p, .io = p};
  w.restarts = 7;
  w.vram_bytes = 8;
  w.gpu_util_pct = 9;
  const auto metrics = hive::render_metrics(s, 0.001, 1);
  const auto api = read_doc("api.md");
  // Each series with the labels the objects on its way add.
  std::set<std::string> series;
  std::vector<std::pair<std::string, std::string>> samples;
  auto walk = [&](auto& self, const auto& table, const std::string& labels) -> void {
    schema::for_each_field(table, [&](const auto& f) {
      using V = typename std::remove_cvref_t<decltype(f)>::Value;
      const auto& sr = f.options.series;
      std::string more = labels;
      if (!sr.label.empty())
        more += "," + std::string(sr.label) + "=\"" + std::string(f.name) + "\"";
      if constexpr (schema::Object<V>) {
        self(self, schema::TableOf<V>::table, more);
      } else if (!sr.name.empty()) {
        series.insert(std::string(sr.name));
        samples.emplace_back(std::string(sr.name), more);
      }
    });
  };
  walk(walk, schema::kWorker, "");
  for (const auto& [name, labels] : samples) {
    INFO(name << labels);
    CHECK(metrics.find("\n" + name + "{service=\"svc\",instance=\"9000\"" + labels + "} ") !=
          std::string::npos);
    CHECK(api.find("`" + name) != std::string::npos);
    // One family: its TYPE line once, before its first sample.
    const auto type = "# TYPE " + name + " ";
    CHECK(metrics.find(type) == metrics.rfind(type));
    CHECK(metrics.find(type) < metrics.find("\n" + name + "{"));
  }
  CHECK(series.size() == 22);
  CHECK(samples.size() == 19 + 6 + 5);
  CHECK(metrics.find(
            "rbee_worker_cpu_usage_seconds_total{service=\"svc\",instance=\"9000\"} 2.5\n") !=
        std::string::npos);
  CHECK(metrics.find("rbee_worker_rss_bytes{service=\"svc\",instance=\"9000\"} 1099511627776\n") !=
        std::string::npos);
  CHECK(metrics.find("rbee_worker_pressure_stalled_seconds_total{service=\"svc\",instance=\"9000\","
                     "resource=\"io\"} 0.5\n") != std::string::npos);
  CHECK(metrics.find("rbee_worker_memory_events_total{service=\"svc\",instance=\"9000\","
                     "event=\"oom_kill\"} 5\n") != std::string::npos);
  CHECK(metrics.find("rbee_worker_cpu_throttled_seconds_total{service=\"svc\",instance=\"9000\"} "
                     "14\n") != std::string::npos);
  // Each rbee_worker_ name the API docs give is one the Hive exports.
  const std::regex doc_name(R"(`(rbee_worker_[a-z_]+))");
  for (std::sregex_iterator it(api.begin(), api.end(), doc_name), end; it != end; ++it) {
    const auto name = (*it)[1].str();
    INFO(name);
    CHECK((series.count(name) || name == "rbee_worker_state"));
  }
}

TEST_CASE("every per-GPU series is exported with gpu and uuid labels and documented", "[schema]") {
  telemetry::Snapshot s;
  auto& g = s.gpus.emplace_back();
  g.index = 3;
  g.uuid = "GPU-abc";
  g.memory_total_bytes = 80ull << 30;
  g.memory_used_bytes = 1;
  g.util_pct = 2;
  g.temperature_c = 3;
  g.power_w = 312.5;
  g.vram_other_bytes = 4;
  auto& bare = s.gpus.emplace_back();  // a GPU that answers nothing: no series of its own
  bare.index = 4;
  bare.uuid = "GPU-def";
  const auto metrics = hive::render_metrics(s, 0.001, 1);
  const auto api = read_doc("api.md");
  std::set<std::string> series;
  schema::for_each_field(schema::kGpu, [&](const auto& f) {
    const auto name = std::string(f.options.series.name);
    if (name.empty()) return;
    series.insert(name);
    INFO(name);
    CHECK(metrics.find("\n" + name + "{gpu=\"3\",uuid=\"GPU-abc\"} ") != std::string::npos);
    CHECK(metrics.find("\n# TYPE " + name + " gauge\n") != std::string::npos);
    CHECK(api.find("`" + name) != std::string::npos);
  });
  CHECK(series == std::set<std::string>{"rbee_gpu_memory_total_bytes", "rbee_gpu_memory_used_bytes",
                                        "rbee_gpu_utilization_percent",
                                        "rbee_gpu_temperature_celsius", "rbee_gpu_power_watts",
                                        "rbee_gpu_memory_other_bytes"});
  CHECK(metrics.find("rbee_gpu_power_watts{gpu=\"3\",uuid=\"GPU-abc\"} 312.5\n") !=
        std::string::npos);
  CHECK(metrics.find("rbee_gpu_memory_total_bytes{gpu=\"3\",uuid=\"GPU-abc\"} 85899345920\n") !=
        std::string::npos);
  CHECK(metrics.find("GPU-def") == std::string::npos);
  const std::regex doc_name(R"(`(rbee_gpu_[a-z_]+))");
  for (std::sregex_iterator it(api.begin(), api.end(), doc_name), end; it != end; ++it) {
    INFO((*it)[1].str());
    CHECK(series.count((*it)[1].str()));
  }
}
