#include "queen/cli.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/cli_support.h"
#include "common/http/client.h"
#include "common/json/writer.h"
#include "common/log.h"
#include "common/sys/file.h"
#include "queen/discovery.h"
#include "queen/hive_prober.h"

namespace rbee::queen {

using boost::beast::http::verb;

namespace {

constexpr std::string_view kProg = "rbee-queen";

int fail(const std::string& what) {
  return cli::fail(kProg, what);
}

std::optional<http::ClientResponse> call(const ClientContext& c, verb method,
                                         const std::string& path, int& rc) {
  return cli::call(kProg, method, c.queen_url + path, {}, c.token, rc);
}

std::string age(std::optional<int64_t> ms) {
  if (!ms) return "-";
  char buf[32];
  if (*ms < 10000)
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(*ms) / 1000.0);
  else
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(*ms / 1000));
  return buf;
}

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

}  // namespace

std::string format_hive_table(const std::vector<json::HiveSummary>& hives) {
  std::ostringstream out;
  char line[1024];
  std::snprintf(line, sizeof line, "%-20s %-16s %-28s %-10s %-11s %7s %7s  %s\n", "HIVE", "ALIAS",
                "ADDRESS", "SOURCE", "STATUS", "AGE", "WORKERS", "ERROR");
  out << line;
  for (const auto& h : hives) {
    std::snprintf(line, sizeof line, "%-20s %-16s %-28s %-10s %-11s %7s %7llu  %s",
                  or_dash(h.id).c_str(), or_dash(h.alias).c_str(), h.address.c_str(),
                  h.source.c_str(), h.status.c_str(), age(h.age_ms).c_str(),
                  static_cast<unsigned long long>(h.worker_count), h.last_error.c_str());
    out << escape_for_log(line) << '\n';
  }
  return out.str();
}

std::string format_hosted_worker_table(const std::vector<json::HostedWorker>& workers) {
  std::ostringstream out;
  char line[1024];
  std::snprintf(line, sizeof line, "%-20s %-20s %-9s %7s %9s %9s %5s %-9s %-28s %s\n", "HIVE",
                "WORKER", "STATE", "CPU%", "RSS", "VRAM", "PIDS", "BY", "URL", "EXIT");
  out << line;
  for (const auto& hw : workers) {
    const auto& w = hw.worker;
    std::string exit = "-";
    if (w.exit_code) exit = "code " + std::to_string(*w.exit_code);
    if (w.signal) exit = "signal " + std::to_string(*w.signal);
    if (w.state == telemetry::WorkerState::oom) exit = "oom-killed";
    char cpu[32] = "-";
    if (w.cpu_pct) std::snprintf(cpu, sizeof cpu, "%.1f", *w.cpu_pct);
    std::snprintf(line, sizeof line, "%-20s %-20s %-9s %7s %9s %9s %5u %-9s %-28s %s",
                  hw.hive_id.c_str(), (w.service + "/" + w.instance).c_str(),
                  std::string(telemetry::to_string(w.state)).c_str(), cpu,
                  cli::human_bytes(w.rss_bytes).c_str(), cli::human_bytes(w.vram_bytes).c_str(),
                  w.pid_count, std::string(telemetry::to_string(w.spawned_by)).c_str(),
                  or_dash(hw.url).c_str(), exit.c_str());
    out << escape_for_log(line) << '\n';
  }
  return out.str();
}

namespace {

// One table (or the API's JSON) from the Queen, or the one-line error.
using Render = std::function<Result<std::string>()>;

Result<std::string> fetch(const ClientContext& c, const std::string& path) {
  auto r = cli::request(verb::get, c.queen_url + path, {}, c.token);
  if (!r) return r.error();
  return std::move(r->body);
}

std::string now_text() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
  return buf;
}

// Once, or with --watch every `every` (`count` times; 0: until interrupted): on a terminal the
// table is redrawn in place like top, in a pipe or a log each one is appended under a time line.
int show(const ClientContext& c, const Render& render, const WatchOptions& watch) {
  if (!watch.enabled) {
    auto text = render();
    if (!text) return fail(text.error().message);
    std::cout << *text;
    return 0;
  }
  const bool terminal = sys::is_terminal(1);
  for (unsigned i = 0; watch.count == 0 || i < watch.count; ++i) {
    if (i > 0) std::this_thread::sleep_for(watch.every);
    auto text = render();
    if (terminal) std::cout << "\x1b[H\x1b[2J";
    std::cout << "queen " << c.queen_url << "  " << now_text() << "\n";
    // A Queen that is away is shown and asked again, as top would: the watch goes on.
    if (!text)
      std::cout << escape_for_log(text.error().message) << "\n";
    else
      std::cout << *text;
    if (!terminal) std::cout << "\n";
    std::cout << std::flush;
  }
  return 0;
}

}  // namespace

int cli_hives(const ClientContext& c, bool as_json, const WatchOptions& watch) {
  return show(
      c,
      [&]() -> Result<std::string> {
        auto body = fetch(c, "/v1/hives");
        if (!body || as_json) return body ? *body + "\n" : body;
        auto hives = json::decode_hive_list(*body);
        if (!hives) return make_error("bad response: " + hives.error().message);
        return format_hive_table(*hives);
      },
      watch);
}

int cli_workers(const ClientContext& c, const std::string& service, const std::string& state,
                const std::string& hive, bool as_json, const WatchOptions& watch) {
  std::string path = "/v1/workers";
  char sep = '?';
  for (auto [key, value] : {std::pair{"service", &service}, {"state", &state}, {"hive", &hive}}) {
    if (value->empty()) continue;
    path += sep + std::string(key) + "=" + percent_encode(*value);
    sep = '&';
  }
  return show(
      c,
      [&]() -> Result<std::string> {
        auto body = fetch(c, path);
        if (!body || as_json) return body ? *body + "\n" : body;
        json::DecodeLimits limits;
        limits.max_bytes = 256 * 1024 * 1024;
        auto workers = json::decode_hosted_workers(*body, limits);
        if (!workers) return make_error("bad response: " + workers.error().message);
        return format_hosted_worker_table(*workers);
      },
      watch);
}

int cli_refresh(const ClientContext& c) {
  int rc = 0;
  auto r = call(c, verb::post, "/v1/hives/refresh", rc);
  if (!r) return rc;
  std::cout << r->body << "\n";
  return 0;
}

int cli_discover(const std::string& config_path, const std::string& ssh_config, bool as_json) {
  QueenConfig config;
  if (!config_path.empty()) {
    auto loaded = load_queen_config(config_path);
    if (!loaded) return fail(loaded.error().message);
    config = std::move(*loaded);
  }
  if (!ssh_config.empty()) config.ssh_config = ssh_config;
  // What the daemon would contact: with a token, only the Hives the config names.
  const char* env_token = std::getenv("RBEE_TOKEN");
  const bool with_token = !config.token_file.empty() || (env_token && *env_token);
  if (with_token) {
    if (auto st = check_token_scope(config); !st) return fail(st.error().message);
  }
  auto found = discover_candidates(config, with_token);
  if (!found.error.empty()) return fail(found.error);
  for (const auto& w : found.warnings)
    std::cerr << "rbee-queen: warning: " << escape_for_log(w) << "\n";
  if (as_json) {
    json::Writer w;
    w.begin_object().key("hives").begin_array();
    for (const auto& c : found.candidates) {
      w.begin_object().field("alias", c.alias).field("hostname", c.hostname);
      w.field("port", unsigned{c.port}).end_object();
    }
    w.end_array().end_object();
    std::cout << w.str() << "\n";
    return 0;
  }
  char line[1024];
  std::snprintf(line, sizeof line, "%-24s %-40s %s\n", "ALIAS", "HOSTNAME", "PORT");
  std::cout << line;
  for (const auto& c : found.candidates) {
    std::snprintf(line, sizeof line, "%-24s %-40s %u\n", c.alias.c_str(), c.hostname.c_str(),
                  unsigned{c.port});
    std::cout << line;
  }
  return 0;
}

}  // namespace rbee::queen
