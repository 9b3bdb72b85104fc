// Queen ingest under load: K simulated Hives push 100-worker snapshots to a real `rbee-queen
// serve` over kept-alive connections, closed loop and at fixed total rates, beside an HTTP-only
// baseline (GET /health) and a 0-worker snapshot on the same Queen. docs/performance.md has the
// figures. Run: build/tests/bench/rbee-bench-queen-ingest [--hives 10,50,100] [--seconds 3]
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "child_queen.h"
#include "common/sys/fd_limit.h"
#include "ingest_load.h"

namespace {

using rbee::bench::LoadConfig;
using rbee::bench::LoadKind;
using rbee::bench::LoadResult;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

struct Row {
  std::string what;
  int hives;
  int workers;
  double rate;
  LoadResult r;
  double queen_rss_kib = 0;  // after the run; 0: not measured
};

// VmRSS of a process in KiB from /proc/PID/status; 0 when unreadable.
double rss_kib_of(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6));
  return 0;
}

double us_per(double cpu_s, uint64_t n) {
  return n ? cpu_s * 1e6 / static_cast<double>(n) : 0;
}

void print_header() {
  std::printf(
      "| load | K | workers | offered/s | accepted/s | p50 ms | p99 ms | max ms | errors | Queen "
      "µs CPU/req | Queen cores | gen µs CPU/req | gen cores | Queen RSS MiB |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
}

void print_row(const Row& row) {
  const auto& r = row.r;
  char offered[32];
  if (row.rate > 0)
    std::snprintf(offered, sizeof offered, "%.0f", row.rate);
  else
    std::snprintf(offered, sizeof offered, "closed");
  std::printf(
      "| %s | %d | %d | %s | %.0f | %.2f | %.2f | %.2f | %llu | %.1f | %.2f | %.1f | %.2f | %.0f "
      "|\n",
      row.what.c_str(), row.hives, row.workers, offered, r.per_s, r.p50_ms, r.p99_ms, r.max_ms,
      static_cast<unsigned long long>(r.errors), us_per(r.queen_cpu_s, r.ok),
      r.queen_cpu_s / r.seconds, us_per(r.gen_cpu_s, r.ok), r.gen_cpu_s / r.seconds,
      row.queen_rss_kib / 1024.0);
  if (!r.first_error.empty()) std::printf("  first error: %s\n", r.first_error.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Queen ingest load generator: K simulated Hives pushing snapshots"};
  std::string hives_text = "10,50,100";
  std::string rates_text = "closed,2000,5000,8000,10000";
  int workers = 100;
  double seconds = 3, warmup = 0.5;
  bool smoke = false, no_baseline = false;
  std::string queen_bin = RBEE_QUEEN_BIN;
  std::string queen_addr;
  pid_t queen_pid = 0;
  std::string token = "bench-token-0123456789";
  int decode_threads = -1;
  app.add_option("--hives", hives_text, "K values, comma separated")->capture_default_str();
  app.add_option("--rates", rates_text, "total rates/s, or closed (max rate)")
      ->capture_default_str();
  app.add_option("--workers", workers, "workers per snapshot")->capture_default_str();
  app.add_option("--seconds", seconds, "measured seconds per configuration")->capture_default_str();
  app.add_option("--warmup", warmup, "unmeasured seconds before each")->capture_default_str();
  app.add_flag("--smoke", smoke, "a few seconds: K = 10, closed and 2000/s, short windows");
  app.add_flag("--no-baseline", no_baseline, "skip the /health and 0-worker rows");
  app.add_option("--queen-bin", queen_bin, "rbee-queen to start")->capture_default_str();
  app.add_option("--queen", queen_addr,
                 "use a running Queen at 127.0.0.1:PORT instead (e.g. one under perf)");
  app.add_option("--queen-pid", queen_pid, "its pid, for its CPU figures");
  app.add_option("--token", token, "bearer token (the started Queen gets this one)");
  app.add_option("--decode-threads", decode_threads,
                 "the started Queen's decode_threads (default: its own default)");
  CLI11_PARSE(app, argc, argv);
  // One connection per simulated Hive: 5,000 Hives need more than the usual 1,024 open files
  // (the started Queen inherits the raised limit).
  if (auto lim = rbee::sys::raise_fd_limit(); !lim)
    std::fprintf(stderr, "cannot raise the open-file limit: %s\n", lim.error().message.c_str());
  if (smoke) {
    hives_text = "10";
    rates_text = "closed,2000";
    seconds = 0.5;
    warmup = 0.2;
  }

  try {
    std::optional<rbee::bench::ChildQueen> child;
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    if (queen_addr.empty()) {
      child.emplace(queen_bin, token,
                    decode_threads >= 0
                        ? "decode_threads = " + std::to_string(decode_threads) + "\n"
                        : std::string());
      port = child->port();
      queen_pid = child->pid();
    } else {
      auto colon = queen_addr.rfind(':');
      if (colon == std::string::npos) throw std::runtime_error("--queen wants HOST:PORT");
      host = queen_addr.substr(0, colon);
      port = static_cast<uint16_t>(std::stoi(queen_addr.substr(colon + 1)));
    }
    std::printf("queen %s:%u pid %d; %s s measured after %s s warm-up per configuration\n",
                host.c_str(), port, static_cast<int>(queen_pid), std::to_string(seconds).c_str(),
                std::to_string(warmup).c_str());
    std::fflush(stdout);

    std::vector<Row> rows;
    auto run = [&](const std::string& what, LoadKind kind, int k, int w, double rate) {
      LoadConfig cfg;
      cfg.host = host;
      cfg.port = port;
      cfg.token = token;
      cfg.kind = kind;
      cfg.hives = k;
      cfg.workers = w;
      cfg.rate = rate;
      cfg.seconds = seconds;
      cfg.warmup_s = warmup;
      cfg.queen_pid = queen_pid;
      auto result = rbee::bench::run_load(cfg);
      rows.push_back({what, k, w, rate, result, rss_kib_of(queen_pid)});
      print_row(rows.back());
      return rows.back().r;
    };

    print_header();
    std::map<int, LoadResult> health, empty, closed;
    for (const auto& kt : split(hives_text)) {
      const int k = std::stoi(kt);
      if (!no_baseline) {
        health[k] = run("GET /health", LoadKind::health, k, 0, 0);
        empty[k] = run("snapshot", LoadKind::snapshot, k, 0, 0);
      }
      for (const auto& rt : split(rates_text)) {
        const double rate = rt == "closed" ? 0 : std::stod(rt);
        auto r = run("snapshot", LoadKind::snapshot, k, workers, rate);
        if (rate == 0) closed[k] = r;
      }
    }

    std::printf("\n");
    for (const auto& [k, r] : closed) {
      std::printf("K=%d closed loop: %.0f snapshots/s = %.2f M worker records/s, body %zu bytes", k,
                  r.per_s, r.per_s * workers / 1e6, r.body_bytes);
      if (health.count(k) && health[k].per_s > 0) {
        const auto& h = health[k];
        const auto& e = empty[k];
        std::printf(
            "; vs GET /health: %.2f x the rate, %.1f x the Queen CPU per request; vs a 0-worker "
            "snapshot: %.2f x the rate",
            r.per_s / h.per_s, us_per(r.queen_cpu_s, r.ok) / us_per(h.queen_cpu_s, h.ok),
            e.per_s > 0 ? r.per_s / e.per_s : 0);
      }
      std::printf("\n");
    }
    bool numbers = !rows.empty();
    for (const auto& row : rows) numbers = numbers && row.r.ok > 0;
    if (!numbers) {
      std::fprintf(stderr, "some configuration got no answer at all\n");
      if (child) std::fprintf(stderr, "queen log:\n%s\n", child->log().c_str());
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rbee-bench-queen-ingest: %s\n", e.what());
    return 1;
  }
}
