// A real Prometheus (Debian's package, scripts/setup-prometheus.sh) finding two real Hives
// through the Queen's /v1/prometheus/targets and scraping their workers. The configuration is
// the one docs/operations.md gives, with 1 s intervals.
#include <unistd.h>

#include <simdjson.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "checks.h"
#include "common/http/client.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;
using boost::beast::http::verb;
namespace fs = std::filesystem;

namespace {

// The prometheus binary on PATH (posix_spawn takes a path, not a name).
std::string find_prometheus() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const fs::path candidate = fs::path(dir) / "prometheus";
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// Prometheus's own process, storage and config in a temp dir of the test: SIGKILLed by its
// Process guard and the dir removed at the end, pass or fail.
class Prometheus {
 public:
  Prometheus(const std::string& binary, const std::string& sd_url)
      : port_(free_port()), url_("http://127.0.0.1:" + std::to_string(port_)) {
    const fs::path config = dir_.path() / "prometheus.yml";
    std::ofstream(config) << "global:\n"
                             "  scrape_interval: 1s\n"
                             "  scrape_timeout: 1s\n"
                             "scrape_configs:\n"
                             "  - job_name: rbee-hives\n"
                             "    honor_labels: true\n"
                             "    http_sd_configs:\n"
                             "      - url: "
                          << sd_url
                          << "\n"
                             "        refresh_interval: 1s\n"
                             "    relabel_configs:\n"
                             "      - source_labels: [hive_id]\n"
                             "        regex: .+\n"
                             "        action: keep\n"
                             "      - source_labels: [hive_id]\n"
                             "        target_label: instance\n";
    process_ = std::make_unique<Process>(
        std::vector<std::string>{binary, "--config.file=" + config.string(),
                                 "--storage.tsdb.path=" + (dir_.path() / "data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                 "--log.level=warn"},
        dir_.path() / "prometheus.log");
  }
  const std::string& url() const { return url_; }
  std::string log() const { return read_file(dir_.path() / "prometheus.log"); }
  bool running() { return process_->running(); }

  // GET on the HTTP API; the body of a 200, empty otherwise (not up yet, a bad query).
  std::string api(const std::string& path_and_query) const {
    auto r = http::fetch(verb::get, url_ + path_and_query, {}, {}, {.timeout = 5s});
    return r && r->status == 200 ? r->body : std::string();
  }

 private:
  TempDir dir_;  // destroyed after process_: the process is gone before its files
  uint16_t port_;
  std::string url_;
  std::unique_ptr<Process> process_;
};

// The label sets of an /api/v1/query answer's vector.
std::vector<std::map<std::string, std::string>> query_series(const std::string& body) {
  std::vector<std::map<std::string, std::string>> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (body.empty() || parser.parse(body).get(doc)) return out;
  simdjson::dom::array result;
  if (doc["data"]["result"].get(result)) return out;
  for (auto series : result) {
    simdjson::dom::object metric;
    if (series["metric"].get(metric)) continue;
    auto& labels = out.emplace_back();
    for (auto [key, value] : metric) {
      std::string_view text;
      if (!value.get(text)) labels[std::string(key)] = std::string(text);
    }
  }
  return out;
}

// hive_id -> health of each active target of an /api/v1/targets answer.
std::map<std::string, std::string> target_health(const std::string& body) {
  std::map<std::string, std::string> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (body.empty() || parser.parse(body).get(doc)) return out;
  simdjson::dom::array targets;
  if (doc["data"]["activeTargets"].get(targets)) return out;
  for (auto t : targets) {
    std::string_view hive, health;
    if (t["labels"]["hive_id"].get(hive) || t["health"].get(health)) continue;
    out[std::string(hive)] = std::string(health);
  }
  return out;
}

}  // namespace

TEST_CASE("Prometheus finds the Hives through the Queen and scrapes their workers",
          "[prometheus]") {
  const std::string binary = find_prometheus();
  INFO("no prometheus on PATH: scripts/setup-prometheus.sh installs Debian's package");
  REQUIRE(!binary.empty());

  Hive a({.tag = "prom-a", .interval_ms = 200});
  Hive b({.tag = "prom-b", .interval_ms = 200});
  Queen queen(
      {.tag = "prom",
       .hives = {{"pa", "127.0.0.1", port_of(a.url())}, {"pb", "127.0.0.1", port_of(b.url())}}});
  const auto healthy = [](const json::HiveSummary& h) { return h.status == "healthy"; };
  REQUIRE(queen.wait_hive("pa", healthy));
  REQUIRE(queen.wait_hive("pb", healthy));

  auto sd = queen.get("/v1/prometheus/targets");
  REQUIRE(sd);
  CHECK(sd->status == 200);
  CHECK(sd->content_type == "application/json");
  INFO(sd->body);
  for (const auto& [hive, alias] : {std::pair<const Hive*, std::string>{&a, "pa"}, {&b, "pb"}}) {
    const std::string id = alias == "pa" ? "test-prom-a" : "test-prom-b";
    CHECK(sd->body.find(R"({"targets":["127.0.0.1:)" + std::to_string(port_of(hive->url())) +
                        R"("],"labels":{"hive_id":")" + id + R"(","alias":")" + alias +
                        R"(","source":"ssh_config"}})") != std::string::npos);
  }

  const std::string inst_a = spawn_ok(a, {});
  const std::string inst_b = spawn_ok(b, {});

  Prometheus prom(binary, queen.url() + "/v1/prometheus/targets");
  INFO("prometheus at " << prom.url());
  // Each worker's series, with the Hive's labels kept (honor_labels) and the target's hive_id.
  const std::set<std::pair<std::string, std::string>> want = {{"test-prom-a", inst_a},
                                                              {"test-prom-b", inst_b}};
  std::set<std::pair<std::string, std::string>> seen;
  std::set<std::string> ready_hives;
  std::map<std::string, std::string> health;
  const auto hives_of = [](const std::string& body) {
    std::set<std::string> out;
    for (const auto& labels : query_series(body))
      if (labels.count("hive_id")) out.insert(labels.at("hive_id"));
    return out;
  };
  const std::set<std::string> both = {"test-prom-a", "test-prom-b"};
  const std::map<std::string, std::string> both_up = {{"test-prom-a", "up"}, {"test-prom-b", "up"}};
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline &&
         (seen != want || ready_hives != both || health != both_up)) {
    if (!prom.running()) FAIL("prometheus exited:\n" << prom.log());
    seen.clear();
    for (const auto& labels :
         query_series(prom.api("/api/v1/query?query=rbee_worker_cpu_usage_seconds_total"))) {
      auto id = labels.find("hive_id");
      auto instance = labels.find("instance");
      auto service = labels.find("service");
      if (id != labels.end() && instance != labels.end() && service != labels.end() &&
          service->second == "tw")
        seen.emplace(id->second, instance->second);
    }
    ready_hives =
        hives_of(prom.api("/api/v1/query?query=rbee_worker_state%7Bstate%3D%22ready%22%7D"));
    health = target_health(prom.api("/api/v1/targets?state=active"));
    std::this_thread::sleep_for(500ms);
  }
  INFO(prom.log());
  CHECK(seen == want);         // worker series of both Hives, worker instance labels kept
  CHECK(ready_hives == both);  // rbee_worker_state of both
  CHECK(health == both_up);    // /api/v1/targets: both Hives scraped and up
}
