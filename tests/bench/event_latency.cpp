// Birth/death latency end to end: from a worker's start (and its death) on the node to the Queen's
// GET /v1/events saying so. A real rbee-queen and rbee-hive (tests/integration/harness.h), on
// loopback, with the Hive's default 1 s tick; docs/performance.md has the figures.
//
// Modes (--mode):
//   external (default): the benchmark itself makes rbee.slice/tw/bN and starts a sleeping child
//     straight into it with clone3(CLONE_INTO_CGROUP). Birth clock: just before clone3 (the child
//     is in the cgroup when clone3 returns). Death clock: just before kill(SIGKILL). With
//     --precreate the directories are made (and adopted, listed as exited) beforehand, so a birth
//     is only the process appearing in an existing cgroup; without it the mkdir is part of the
//     birth (the clock starts before the mkdir).
//   spawn: POST /v1/workers (the test worker) as an operator would. Birth clock: just before the
//     request is sent, so the HTTP call and clone3 are included. Death clock: just before
//     kill(SIGKILL) of the main pid.
// A birth is the first event for the instance with state starting or ready; a death the first
// one with state exited, failed or oom. An event not seen within --timeout-ms is a miss.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "common/http/client.h"
#include "common/sys/file.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int events = 300;
  std::string mode = "external";
  bool precreate = false;
  uint32_t interval_ms = 1000;
  int gap_min_ms = 5, gap_max_ms = 25;
  int timeout_ms = 3000;
};

[[noreturn]] void usage(const char* prog) {
  std::fprintf(stderr,
               "usage: %s [--events N] [--mode external|spawn] [--precreate] [--interval-ms MS]\n"
               "          [--gap-ms MIN,MAX] [--timeout-ms MS]\n",
               prog);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(argv[0]);
      return argv[++i];
    };
    if (a == "--events") {
      o.events = std::stoi(value());
    } else if (a == "--mode") {
      o.mode = value();
      if (o.mode != "external" && o.mode != "spawn") usage(argv[0]);
    } else if (a == "--precreate") {
      o.precreate = true;
    } else if (a == "--interval-ms") {
      o.interval_ms = static_cast<uint32_t>(std::stoul(value()));
    } else if (a == "--gap-ms") {
      auto v = value();
      auto comma = v.find(',');
      if (comma == std::string::npos) usage(argv[0]);
      o.gap_min_ms = std::stoi(v.substr(0, comma));
      o.gap_max_ms = std::stoi(v.substr(comma + 1));
    } else if (a == "--timeout-ms") {
      o.timeout_ms = std::stoi(value());
    } else {
      usage(argv[0]);
    }
  }
  if (o.events < 1 || o.gap_min_ms < 0 || o.gap_max_ms < o.gap_min_ms) usage(argv[0]);
  return o;
}

// "key":"value" from a flat JSON object (the Queen's event data); empty when absent.
std::string field(std::string_view json, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\":\"";
  auto pos = json.find(needle);
  if (pos == std::string_view::npos) return {};
  pos += needle.size();
  auto end = json.find('"', pos);
  if (end == std::string_view::npos) return {};
  return std::string(json.substr(pos, end - pos));
}

std::optional<int> int_field(std::string_view json, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\":";
  auto pos = json.find(needle);
  if (pos == std::string_view::npos) return std::nullopt;
  return std::atoi(std::string(json.substr(pos + needle.size(), 12)).c_str());
}

// Every event of the Queen's /v1/events, stamped when the reader got it. The reader thread owns
// its state and ends at the next event after stop (or when the Queen goes).
class QueenEvents {
 public:
  struct Event {
    Clock::time_point at;
    std::string name, instance, state;
  };

  explicit QueenEvents(const std::string& queen_url) : s_(std::make_shared<State>()) {
    std::thread([s = s_, url = queen_url + "/v1/events"] {
      (void)http::read_event_stream(
          url, "", std::chrono::hours(24), [&s](std::string_view name, std::string_view data) {
            Event e{Clock::now(), std::string(name), field(data, "instance"), field(data, "state")};
            {
              std::lock_guard lock(s->mu);
              s->events.push_back(std::move(e));
            }
            s->cv.notify_all();
            return !s->stop;
          });
    }).detach();
  }
  ~QueenEvents() { s_->stop = true; }

  std::size_t size() const {
    std::lock_guard lock(s_->mu);
    return s_->events.size();
  }

  // The time of the first event from index `from` on about `instance` whose state is in
  // `states`, waiting up to `timeout`.
  std::optional<Clock::time_point> wait(std::size_t from, const std::string& instance,
                                        std::initializer_list<std::string_view> states,
                                        std::chrono::milliseconds timeout) {
    std::unique_lock lock(s_->mu);
    const auto end = Clock::now() + timeout;
    std::size_t i = from;
    for (;;) {
      for (; i < s_->events.size(); ++i) {
        const auto& e = s_->events[i];
        if (e.instance != instance) continue;
        for (auto st : states)
          if (e.state == st) return e.at;
      }
      if (s_->cv.wait_until(lock, end) == std::cv_status::timeout && i == s_->events.size())
        return std::nullopt;
    }
  }

 private:
  struct State {
    mutable std::mutex mu;
    std::condition_variable cv;
    std::vector<Event> events;
    std::atomic<bool> stop{false};
  };
  std::shared_ptr<State> s_;
};

struct Series {
  std::vector<double> ms;
  int misses = 0;
};

void report(const char* what, Series s) {
  std::sort(s.ms.begin(), s.ms.end());
  std::printf("%-6s n=%zu p50=%.2f ms p99=%.2f ms max=%.2f ms misses=%d\n", what, s.ms.size(),
              bench::percentile(s.ms, 0.5), bench::percentile(s.ms, 0.99),
              s.ms.empty() ? NAN : s.ms.back(), s.misses);
}

// Without inotify (and the pidfd wake-up) an event waits for the next tick: a phase uniform in
// [0, interval) plus the same path from the Hive's sample to the Queen's event. Computed from the
// measured latencies, 100 phases each; not measured.
void report_tick_only(const char* what, const Series& s, uint32_t interval_ms) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> phase(0.0, interval_ms);
  std::vector<double> v;
  for (double ms : s.ms)
    for (int k = 0; k < 100; ++k) v.push_back(ms + phase(rng));
  std::sort(v.begin(), v.end());
  std::printf("tick-only (computed) %-6s p50=%.0f ms p99=%.0f ms\n", what,
              bench::percentile(v, 0.5), bench::percentile(v, 0.99));
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

int run(const Options& o) {
  Hive hive({.tag = "evlat", .interval_ms = o.interval_ms});
  Queen queen({.tag = "evlat", .hives = {{"ev", "127.0.0.1", port_of(hive.url())}}});
  if (!queen.wait_hive("ev", [](const json::HiveSummary& h) { return h.status == "healthy"; })) {
    std::fprintf(stderr, "the Queen never saw the Hive healthy\n%s\n", queen.daemon_log().c_str());
    return 1;
  }
  QueenEvents events(queen.url());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the stream is attached

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> gap(o.gap_min_ms, o.gap_max_ms);
  const auto timeout = std::chrono::milliseconds(o.timeout_ms);
  const auto service_dir = hive.cgroups().path() / "rbee.slice" / "tw";
  std::filesystem::create_directories(service_dir);
  bench::Children children;
  Series births, deaths;

  auto instance_name = [](int i) { return "b" + std::to_string(i); };
  if (o.mode == "external" && o.precreate) {
    const std::size_t from = events.size();
    for (int i = 0; i < o.events; ++i)
      std::filesystem::create_directory(service_dir / instance_name(i));
    // Adopted (empty, so listed as exited) before the first birth.
    for (int i = 0; i < o.events; ++i) {
      if (!events.wait(from, instance_name(i), {"exited"}, std::chrono::seconds(30))) {
        std::fprintf(stderr, "precreated cgroup %s never reached the Queen\n",
                     instance_name(i).c_str());
        return 1;
      }
    }
  }

  for (int i = 0; i < o.events; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(gap(rng)));
    std::string instance;
    pid_t pid = -1;
    std::size_t from = events.size();
    Clock::time_point born;
    if (o.mode == "external") {
      instance = instance_name(i);
      const auto dir = service_dir / instance;
      born = Clock::now();
      if (!o.precreate) ::mkdir(dir.c_str(), 0755);
      auto dfd = sys::open_at(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY);
      if (!dfd) {
        std::fprintf(stderr, "%s\n", dfd.error().message.c_str());
        return 1;
      }
      pid = bench::start_sleeper_in(dfd->get());
      if (pid < 0) {
        std::perror("clone3");
        return 1;
      }
      children.add(pid);
    } else {
      born = Clock::now();
      auto r = hive.post("/v1/workers", spawn_body("tw", std::nullopt), "");
      if (!r || r->status != 201) {
        std::fprintf(stderr, "spawn failed: %s\n", r ? r->body.c_str() : r.error().message.c_str());
        return 1;
      }
      instance = field(r->body, "instance");
      auto main = int_field(r->body, "main_pid");
      if (instance.empty() || !main) {
        std::fprintf(stderr, "spawn answer without instance or main_pid: %s\n", r->body.c_str());
        return 1;
      }
      pid = *main;
    }
    if (auto seen = events.wait(from, instance, {"starting", "ready"}, timeout))
      births.ms.push_back(ms_between(born, *seen));
    else
      ++births.misses;

    std::this_thread::sleep_for(std::chrono::milliseconds(gap(rng)));
    from = events.size();
    const auto died = Clock::now();
    if (o.mode == "external")
      children.kill_one(pid);
    else
      ::kill(pid, SIGKILL);
    if (auto seen = events.wait(from, instance, {"exited", "failed", "oom"}, timeout))
      deaths.ms.push_back(ms_between(died, *seen));
    else
      ++deaths.misses;
  }
  children.kill_all();

  std::printf("mode=%s%s interval_ms=%u events=%d cpus=%ld\n", o.mode.c_str(),
              o.precreate ? " precreate" : "", o.interval_ms, o.events,
              ::sysconf(_SC_NPROCESSORS_ONLN));
  report("birth", births);
  report("death", deaths);
  report_tick_only("birth", births, o.interval_ms);
  report_tick_only("death", deaths, o.interval_ms);
  if (births.ms.empty() || deaths.ms.empty()) {
    std::fprintf(stderr, "no events measured\n%s\n", hive.daemon_log().substr(0, 4000).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return bench::cgroup_bench_main(argc, argv, parse, run);
}
