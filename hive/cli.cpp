#include "hive/cli.h"

#include <cstdio>
#include <iostream>
#include <sstream>

#include "common/cli_support.h"
#include "common/http/client.h"
#include "common/json/decode.h"
#include "common/json/writer.h"
#include "common/log.h"
#include "common/sys/file.h"
#include "hive/layout.h"

namespace rbee::hive {

using boost::beast::http::verb;

namespace {

std::string opt_num(std::optional<double> v, const char* fmt = "%.1f") {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, *v);
  return buf;
}

constexpr std::string_view kProg = "rbee-hive";

// One line for any failure: the API's own error message when it sent one.
int fail(const std::string& what) {
  return cli::fail(kProg, what);
}

std::optional<http::ClientResponse> call(const ClientContext& c, verb method,
                                         const std::string& path, std::string body, int& rc) {
  return cli::call(kProg, method, c.hive_url + path, std::move(body), c.token, rc);
}

}  // namespace

std::string format_worker_table(const std::vector<telemetry::Worker>& workers) {
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line, "%-20s %-9s %7s %9s %9s %5s %8s %-9s %s\n", "WORKER", "STATE",
                "CPU%", "RSS", "VRAM", "PIDS", "MAINPID", "BY", "EXIT");
  out << line;
  for (const auto& w : workers) {
    std::string exit = "-";
    if (w.exit_code) exit = "code " + std::to_string(*w.exit_code);
    if (w.signal) exit = "signal " + std::to_string(*w.signal);
    std::snprintf(line, sizeof line, "%-20s %-9s %7s %9s %9s %5u %8s %-9s %s",
                  (w.service + "/" + w.instance).c_str(),
                  std::string(telemetry::to_string(w.state)).c_str(), opt_num(w.cpu_pct).c_str(),
                  cli::human_bytes(w.rss_bytes).c_str(), cli::human_bytes(w.vram_bytes).c_str(),
                  w.pid_count, w.main_pid ? std::to_string(*w.main_pid).c_str() : "-",
                  std::string(telemetry::to_string(w.spawned_by)).c_str(), exit.c_str());
    out << escape_for_log(line) << '\n';
  }
  return out.str();
}

int cli_ps(const ClientContext& c, bool as_json, bool watch) {
  if (watch) {
    auto st = http::read_event_stream(
        c.hive_url + "/v1/telemetry/stream", c.token, std::chrono::hours(24 * 365),
        [&](std::string_view event, std::string_view data) {
          if (event != "snapshot") return true;
          auto snap = json::decode_snapshot(data);
          if (!snap) {
            std::cerr << "rbee-hive: bad snapshot: " << escape_for_log(snap.error().message)
                      << "\n";
            return true;
          }
          if (as_json) {
            std::cout << data << std::endl;
          } else {
            // On a terminal redraw in place; in a pipe or a log, one table after another.
            if (sys::is_terminal(1)) std::cout << "\x1b[H\x1b[2J";
            std::cout << "hive " << escape_for_log(snap->hive_id) << "  seq " << snap->seq << "  "
                      << snap->workers.size() << " workers\n"
                      << format_worker_table(snap->workers) << std::flush;
          }
          return true;
        });
    if (!st) return fail(st.error().message);
    return 0;
  }
  int rc = 0;
  auto r = call(c, verb::get, "/v1/workers", {}, rc);
  if (!r) return rc;
  if (as_json) {
    std::cout << r->body << "\n";
    return 0;
  }
  auto workers = json::decode_worker_list(r->body);
  if (!workers) return fail("bad response: " + workers.error().message);
  std::cout << format_worker_table(*workers);
  return 0;
}

int cli_spawn(const ClientContext& c, const std::string& service, std::optional<uint16_t> port,
              const std::vector<std::string>& args) {
  json::Writer w;
  w.begin_object().field("service", service).field("port", port).array_field("args", args);
  w.end_object();
  int rc = 0;
  auto r = call(c, verb::post, "/v1/workers", w.take(), rc);
  if (!r) return rc;
  std::cout << r->body << "\n";
  return 0;
}

int cli_stop(const ClientContext& c, const std::string& worker) {
  auto id = parse_worker_key(worker);
  if (!id) return fail("expected SERVICE/INSTANCE, e.g. llm/8080, not \"" + worker + "\"");
  int rc = 0;
  auto r = call(c, verb::delete_, "/v1/workers/" + id->key(), {}, rc);
  if (!r) return rc;
  std::cout << r->body << "\n";
  return 0;
}

int cli_logs(const ClientContext& c, const std::string& worker, unsigned tail, bool previous) {
  auto id = parse_worker_key(worker);
  if (!id) return fail("expected SERVICE/INSTANCE, e.g. llm/8080, not \"" + worker + "\"");
  int rc = 0;
  const std::string query = "?tail=" + std::to_string(tail) + (previous ? "&previous=1" : "");
  auto r = call(c, verb::get, "/v1/workers/" + id->key() + "/logs" + query, {}, rc);
  if (!r) return rc;
  std::cout << r->body;
  return 0;
}

}  // namespace rbee::hive
