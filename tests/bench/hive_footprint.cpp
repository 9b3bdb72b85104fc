// The Hive's own footprint with N workers: RSS (VmRSS, RssAnon, RssFile, VmHWM from
// /proc/PID/status), open fds (/proc/PID/fd, by kind) and CPU per tick (/proc/PID/stat), for a
// fresh `rbee-hive serve` per N, after it has sampled all N for a few ticks. docs/performance.md
// has the figures.
//
// Workers (--source):
//   external (default): sleeping children of this benchmark, each started straight into its own
//     cgroup rbee.slice/tw/wI with clone3(CLONE_INTO_CGROUP); the Hive adopts them from the tree
//     (no port in the name, so they are `ready` at once and need no socket lookup).
//   api: the test worker spawned with POST /v1/workers, as an operator would (each listens on its
//     port and is watched through a pidfd: one fd more per worker).
// The Hive is started with a soft RLIMIT_NOFILE of 1024 (the usual default), so it has to raise
// its own limit to hold 1000 workers.
//
// --fd-cost: at the largest N, this process opens the same files as the Hive (each worker's cgroup
// directory, cpu.stat, cgroup.events, cgroup.procs), reads each once, and reports the kernel
// memory that took (Slab in /proc/meminfo, before and after) per fd. The machine is shared, so
// that figure is noisy.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "common/sys/file.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Options {
  std::vector<int> workers{0, 100, 1000};
  std::string source = "external";
  uint32_t interval_ms = 1000;
  int settle_ticks = 3;
  int window_ticks = 5;
  bool fd_cost = false;
};

[[noreturn]] void usage(const char* prog) {
  std::fprintf(stderr,
               "usage: %s [--workers N[,N...]] [--source external|api] [--interval-ms MS]\n"
               "          [--settle-ticks K] [--window-ticks K] [--fd-cost]\n",
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
    if (a == "--workers") {
      o.workers.clear();
      std::stringstream ss(value());
      for (std::string n; std::getline(ss, n, ',');) o.workers.push_back(std::stoi(n));
    } else if (a == "--source") {
      o.source = value();
      if (o.source != "external" && o.source != "api") usage(argv[0]);
    } else if (a == "--interval-ms") {
      o.interval_ms = static_cast<uint32_t>(std::stoul(value()));
    } else if (a == "--settle-ticks") {
      o.settle_ticks = std::stoi(value());
    } else if (a == "--window-ticks") {
      o.window_ticks = std::stoi(value());
    } else if (a == "--fd-cost") {
      o.fd_cost = true;
    } else {
      usage(argv[0]);
    }
  }
  if (o.workers.empty() || o.window_ticks < 1) usage(argv[0]);
  return o;
}

// "Key:   1234 kB" lines of /proc/PID/status (or /proc/meminfo), in kB.
std::map<std::string, long> kb_fields(const fs::path& file) {
  std::map<std::string, long> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos || line.find(" kB") == std::string::npos) continue;
    out[line.substr(0, colon)] = std::atol(line.c_str() + colon + 1);
  }
  return out;
}

// utime + stime of a process, in clock ticks.
long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), {});
  auto close = s.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(s.substr(close + 2));
  std::string tok;
  long utime = 0, stime = 0;
  for (int field = 3; rest >> tok; ++field) {  // field 3 is the state
    if (field == 14) utime = std::atol(tok.c_str());
    if (field == 15) {
      stime = std::atol(tok.c_str());
      break;
    }
  }
  return utime + stime;
}

struct FdCount {
  int total = 0;
  std::map<std::string, int> kinds;  // cgroup file, cgroup dir, pidfd, socket, other
};

FdCount count_fds(pid_t pid, const fs::path& cgroup_root) {
  FdCount out;
  const auto dir = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    ++out.total;
    auto target = fs::read_symlink(e.path(), ec).string();
    std::string kind = "other";
    if (target.starts_with(cgroup_root.string())) {
      struct stat st {};
      kind =
          (::stat(target.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) ? "cgroup-dir" : "cgroup-file";
    } else if (target == "anon_inode:[pidfd]") {
      kind = "pidfd";
    } else if (target.starts_with("socket:")) {
      kind = "socket";
    } else if (target.starts_with("anon_inode:")) {
      kind = target.substr(11);
    }
    ++out.kinds[kind];
  }
  return out;
}

struct Row {
  int n = 0;
  long vm_rss = 0, rss_anon = 0, rss_file = 0, vm_hwm = 0, pss = 0;
  FdCount fds;
  double cpu_ms_per_tick = 0;
};

// Waits until the Hive's snapshot lists n workers, all live.
bool wait_for_workers(const Hive& hive, int n, std::chrono::seconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (auto s = hive.telemetry()) {
      int live = 0;
      for (const auto& w : s->workers)
        if (w.state == telemetry::WorkerState::ready || w.state == telemetry::WorkerState::starting)
          ++live;
      if (live == n && static_cast<int>(s->workers.size()) == n) return true;
    }
    std::this_thread::sleep_for(500ms);
  }
  return false;
}

// Opens each worker cgroup's directory and the three files the Hive keeps open here, reads each
// once, and reports the change in kernel slab memory per fd.
void measure_fd_cost(const fs::path& service_dir, int n) {
  struct rlimit rl {};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  std::vector<sys::UniqueFd> fds;
  fds.reserve(static_cast<std::size_t>(n) * 4);
  std::this_thread::sleep_for(1s);
  const auto before = kb_fields("/proc/meminfo");
  std::string buf;
  for (int i = 0; i < n; ++i) {
    const auto dir = service_dir / ("w" + std::to_string(i));
    if (auto d = sys::open_at(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY)) {
      for (const char* f : {"cpu.stat", "cgroup.events", "cgroup.procs"}) {
        if (auto fd = sys::open_at(d->get(), f, O_RDONLY)) {
          (void)sys::pread_into(fd->get(), buf, 1 << 16);
          fds.push_back(std::move(*fd));
        }
      }
      fds.push_back(std::move(*d));
    }
  }
  const auto after = kb_fields("/proc/meminfo");
  const double count = static_cast<double>(fds.size());
  auto per_fd = [&](const char* key) {
    return count ? (after.at(key) - before.at(key)) * 1024.0 / count : 0.0;
  };
  std::printf(
      "fd-cost: %zu fds opened and read once: Slab %+ld kB (%.0f B/fd; SUnreclaim %.0f B/fd)\n",
      fds.size(), after.at("Slab") - before.at("Slab"), per_fd("Slab"), per_fd("SUnreclaim"));
}

Row measure(const Options& o, int n, bool fd_cost) {
  Hive hive({.tag = "foot", .interval_ms = o.interval_ms, .retention_s = 3600});
  bench::Children children;
  const auto service_dir = hive.cgroups().path() / "rbee.slice" / "tw";
  const auto started = std::chrono::steady_clock::now();
  if (o.source == "external") {
    fs::create_directories(service_dir);
    for (int i = 0; i < n; ++i) {
      const auto dir = service_dir / ("w" + std::to_string(i));
      fs::create_directory(dir);
      auto dfd = sys::open_at(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY);
      if (!dfd) throw std::runtime_error(dfd.error().message);
      pid_t pid = bench::start_sleeper_in(dfd->get());
      if (pid < 0) throw std::runtime_error("clone3 into " + dir.string() + " failed");
      children.add(pid);
    }
  } else {
    for (int i = 0; i < n; ++i) {
      auto r = hive.post("/v1/workers", spawn_body("tw", std::nullopt), "");
      if (!r || r->status != 201)
        throw std::runtime_error("spawn " + std::to_string(i) +
                                 " failed: " + (r ? r->body : r.error().message));
    }
  }
  if (!wait_for_workers(hive, n, std::chrono::seconds(60 + n / 10)))
    throw std::runtime_error("the Hive never listed " + std::to_string(n) + " live workers\n" +
                             hive.daemon_log().substr(0, 4000));
  const double setup_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms * o.settle_ticks));

  const pid_t pid = hive.process()->pid();
  const long hz = ::sysconf(_SC_CLK_TCK);
  const long cpu0 = cpu_ticks(pid);
  std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms * o.window_ticks));
  const long cpu1 = cpu_ticks(pid);

  Row row;
  row.n = n;
  auto st = kb_fields("/proc/" + std::to_string(pid) + "/status");
  row.vm_rss = st["VmRSS"];
  row.rss_anon = st["RssAnon"];
  row.rss_file = st["RssFile"];
  row.vm_hwm = st["VmHWM"];
  // Pss: file pages shared with other processes (libc, libstdc++) counted by their share.
  row.pss = kb_fields("/proc/" + std::to_string(pid) + "/smaps_rollup")["Pss"];
  row.fds = count_fds(pid, hive.cgroups().path());
  row.cpu_ms_per_tick = (cpu1 - cpu0) * 1000.0 / hz / o.window_ticks;
  std::fprintf(stderr, "N=%d: %d workers listed after %.1f s\n", n, n, setup_s);
  if (fd_cost && n > 0 && o.source == "external") measure_fd_cost(service_dir, n);
  return row;
}

int run(const Options& o) {
  // The Hive inherits this: the usual soft limit, so it has to raise its own.
  struct rlimit rl {};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  const rlim_t saved = rl.rlim_cur;
  rl.rlim_cur = std::min<rlim_t>(1024, rl.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &rl);

  std::vector<Row> rows;
  const int largest = *std::max_element(o.workers.begin(), o.workers.end());
  for (int n : o.workers) rows.push_back(measure(o, n, o.fd_cost && n == largest));
  rl.rlim_cur = saved;
  ::setrlimit(RLIMIT_NOFILE, &rl);

  std::printf("source=%s interval_ms=%u window=%d ticks cpus=%ld clk_tck=%ld\n", o.source.c_str(),
              o.interval_ms, o.window_ticks, ::sysconf(_SC_NPROCESSORS_ONLN),
              ::sysconf(_SC_CLK_TCK));
  std::printf("%6s %9s %9s %9s %9s %9s %6s %10s  %s\n", "N", "VmRSS kB", "RssAnon", "RssFile",
              "VmHWM kB", "Pss kB", "fds", "cpu ms/tk", "fds by kind");
  for (const auto& r : rows) {
    std::string kinds;
    for (const auto& [k, c] : r.fds.kinds) kinds += k + "=" + std::to_string(c) + " ";
    std::printf("%6d %9ld %9ld %9ld %9ld %9ld %6d %10.2f  %s\n", r.n, r.vm_rss, r.rss_anon,
                r.rss_file, r.vm_hwm, r.pss, r.fds.total, r.cpu_ms_per_tick, kinds.c_str());
  }
  const Row* base = nullptr;
  for (const auto& r : rows)
    if (!base || r.n < base->n) base = &r;
  for (const auto& r : rows) {
    if (r.n == base->n) continue;
    const double dn = r.n - base->n;
    std::printf(
        "per worker (N=%d vs N=%d): VmRSS %+.2f kB, RssAnon %+.2f kB, fds %+.2f, cpu %+.1f "
        "us/tick\n",
        r.n, base->n, (r.vm_rss - base->vm_rss) / dn, (r.rss_anon - base->rss_anon) / dn,
        (r.fds.total - base->fds.total) / dn,
        (r.cpu_ms_per_tick - base->cpu_ms_per_tick) * 1000.0 / dn);
  }
  for (const auto& r : rows)
    if (r.vm_rss <= 0) return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return bench::cgroup_bench_main(argc, argv, parse, run);
}
