// docs/grafana/rbee.json queries only metrics the daemons export. The exported names come from
// the renderers themselves (every "# TYPE" line of a Hive's and a Queen's /metrics over fully
// populated state), so a renamed or removed series fails here rather than as an empty panel.
#include <simdjson.h>

#include <boost/asio/io_context.hpp>
#include <boost/pfr/core.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "hive/hive_daemon.h"
#include "queen/metrics.h"

using namespace rbee;

namespace {

template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;
template <class T>
inline constexpr bool is_vector = false;
template <class T>
inline constexpr bool is_vector<std::vector<T>> = true;
template <class T>
inline constexpr bool is_map = false;
template <class K, class V>
inline constexpr bool is_map<std::map<K, V>> = true;

// Gives every member, at any depth, a value: optionals and lists get one entry, so a renderer
// that leaves out absent values still writes each family. `flag` is what bools and enums get
// (false and the first value, or true and the second), since either could hide a family.
template <class T>
void fill(T& v, bool flag) {
  if constexpr (std::is_same_v<T, bool>) {
    v = flag;
  } else if constexpr (std::is_enum_v<T>) {
    v = static_cast<T>(flag ? 1 : 0);
  } else if constexpr (std::is_arithmetic_v<T>) {
    v = 1;
  } else if constexpr (std::is_same_v<T, std::string>) {
    v = "x";
  } else if constexpr (is_optional<T>) {
    v.emplace();
    fill(*v, flag);
  } else if constexpr (is_vector<T>) {
    fill(v.emplace_back(), flag);
  } else if constexpr (is_map<T>) {
    typename T::key_type key{};
    fill(key, flag);
    fill(v[key], flag);
  } else {
    boost::pfr::for_each_field(v, [flag](auto& member) { fill(member, flag); });
  }
}

// The names of the metric families in a Prometheus text exposition.
void collect_types(const std::string& text, std::map<std::string, std::string>& out) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string hash, kind, name, type;
    if (words >> hash >> kind >> name >> type && hash == "#" && kind == "TYPE") out[name] = type;
  }
}

std::map<std::string, std::string> exported_families() {
  std::map<std::string, std::string> families;
  for (bool flag : {false, true}) {
    telemetry::Snapshot s;
    fill(s, flag);
    collect_types(hive::render_metrics(s, 0.001, 1), families);

    queen::Registry registry;
    telemetry::Snapshot pushed = s;
    pushed.workers.front().state = telemetry::WorkerState::ready;
    (void)registry.ingest(std::move(pushed), "127.0.0.1", {1000, 1700000001000});
    queen::QueenMetrics metrics;
    metrics.ingested = 1;
    metrics.ignored = 1;
    metrics.rejected["auth"] = 1;
    metrics.observe_latency(0.001);
    boost::asio::io_context io;
    queen::HiveProber prober(io, {});
    collect_types(queen::render_metrics(registry, metrics, prober), families);
  }
  return families;
}

std::string read_dashboard() {
  std::ifstream in(std::string(RBEE_TEST_DATA) + "/../../docs/grafana/rbee.json");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every PromQL text of the dashboard: panel targets' `expr` and the template variables' queries.
void collect_queries(simdjson::dom::element e, std::vector<std::string>& out) {
  if (auto obj = e.get_object(); !obj.error()) {
    for (auto [key, value] : obj.value()) {
      if ((key == "expr" || key == "query" || key == "definition") && value.is_string())
        out.emplace_back(std::string_view(value.get_string().value()));
      else
        collect_queries(value, out);
    }
  } else if (auto arr = e.get_array(); !arr.error()) {
    for (auto item : arr.value()) collect_queries(item, out);
  }
}

// A name a query uses is exported when it is a family, or a histogram's or summary's series.
bool exported(const std::string& name, const std::map<std::string, std::string>& families) {
  if (families.count(name)) return true;
  for (std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() <= suffix.size() || !name.ends_with(suffix)) continue;
    auto it = families.find(name.substr(0, name.size() - suffix.size()));
    if (it != families.end() && (it->second == "histogram" || it->second == "summary")) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the renderers' families are found (the check below is not vacuous)", "[grafana]") {
  const auto families = exported_families();
  CHECK(families.count("rbee_worker_cpu_usage_seconds_total"));
  CHECK(families.count("rbee_worker_state"));
  CHECK(families.count("rbee_hive_workers"));
  CHECK(families.count("rbee_queen_hives"));
  CHECK(families.at("rbee_queen_ingest_duration_seconds") == "histogram");
}

TEST_CASE("every metric the Grafana dashboard queries is one the daemons export", "[grafana]") {
  const std::string text = read_dashboard();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(text).get(doc) == simdjson::SUCCESS);
  std::vector<std::string> queries;
  collect_queries(doc, queries);
  REQUIRE(queries.size() > 10);

  const std::regex metric("rbee_[a-z0-9_]+");
  std::set<std::string> used;
  for (const auto& q : queries)
    for (std::sregex_iterator it(q.begin(), q.end(), metric), end; it != end; ++it)
      used.insert(it->str());
  REQUIRE(used.size() > 10);

  const auto families = exported_families();
  std::vector<std::string> missing;
  for (const auto& name : used)
    if (!exported(name, families)) missing.push_back(name);
  std::string list;
  for (const auto& name : missing) list += "\n  " + name;
  INFO("queried by docs/grafana/rbee.json but exported by neither daemon:" << list);
  CHECK(missing.empty());
}
