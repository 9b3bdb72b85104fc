// Cost of sampling N worker cgroups per tick: what the Hive reads per worker per tick (BM_HiveTick:
// the fast read every tick, the full read every 5th, staggered, plus the /proc memory fallback on
// full reads where the memory controller is missing), its parts, and a naive sampler
// (open/read/close by absolute path each tick). With --cgtop, systemd-cgtop -b refreshes the same
// tree in the same run and the ratio per cgroup is printed (meaningful on pure cgroup v2 only:
// on hybrid hosts systemd-cgtop reads the v1 hierarchies). Needs root and a writable cgroup2
// mount; exits 77 (ctest: skipped) otherwise.
//
// Creates <cgroup2>/rbee-bench-<pid>/rbee.slice/svc/<i>, i < N, each holding one paused child,
// with every controller the mount offers enabled. Children carry PR_SET_PDEATHSIG=SIGKILL, so a
// crash of this process leaves only empty directories, which the next run removes (stale
// rbee-bench-<pid> whose pid is gone).
//
// Run: sudo build/tests/bench/rbee-bench-sampler [--benchmark_min_time=1] [--cgtop=20]
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <boost/asio/io_context.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/sys/cgroup.h"
#include "common/sys/file.h"
#include "common/sys/unique_fd.h"
#include "hive/cgroup_files.h"
#include "hive/cgroupfs_backend.h"
#include "hive/hive_config.h"
#include "hive/host_info.h"
#include "hive/supervisor.h"
#include "hive/worker_cgroup.h"

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxFile = 64 * 1024;
constexpr const char* kSliceRel = "rbee.slice/svc";

// The interface files WorkerCgroup::open keeps open, in the order read() reads them.
constexpr const char* kFiles[] = {
    "cgroup.events", "cgroup.procs",  "cpu.stat",     "memory.current",  "memory.stat",
    "memory.max",    "memory.events", "io.stat",      "memory.peak",     "memory.high",
    "pids.max",      "cpu.max",       "cpu.pressure", "memory.pressure", "io.pressure"};

int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}
int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// rmdir of a cgroup tree, leaves first. A cgroup just emptied can answer EBUSY for a moment.
void remove_cgroup_tree(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> subdirs;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory(ec) && !e.is_symlink(ec)) subdirs.push_back(e.path());
  for (const auto& d : subdirs) remove_cgroup_tree(d);
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::fprintf(stderr, "rbee-bench-sampler: could not remove %s: %s\n", dir.c_str(),
               std::strerror(errno));
}

// Leftovers of runs that died: rbee-bench-<pid> whose pid no longer exists.
void sweep_stale(const fs::path& mount) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(mount, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("rbee-bench-", 0) != 0) continue;
    const pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + 11));
    if (pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH)) continue;
    remove_cgroup_tree(e.path());
  }
}

struct Child {
  pid_t pid = -1;
  rbee::sys::UniqueFd pidfd;  // signal through this, never the bare pid
};

// N cgroups, one paused child in each, and a WorkerCgroup per cgroup. Grows on demand; tears
// everything down in its destructor (kill, reap, rmdir).
class Fleet {
 public:
  explicit Fleet(fs::path mount)
      : mount_(std::move(mount)), top_(mount_ / ("rbee-bench-" + std::to_string(::getpid()))) {
    fs::create_directories(top_ / kSliceRel);
    // Every controller the mount offers, down to the workers, so every file the Hive reads on a
    // fully equipped host exists here too (on hybrid hosts most are missing, and so skipped).
    const auto offered =
        rbee::sys::read_file_at(AT_FDCWD, (mount_ / "cgroup.controllers").c_str(), kMaxFile);
    for (const fs::path& dir : {top_, top_ / "rbee.slice", top_ / kSliceRel}) {
      std::string word;
      std::istringstream in(offered ? *offered : std::string());
      while (in >> word) {
        const auto file = (dir / "cgroup.subtree_control").string();
        const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) break;
        const std::string enable = "+" + word;
        (void)!::write(fd, enable.data(), enable.size());  // one controller may be refused
        ::close(fd);
      }
    }
    auto root = rbee::sys::open_dir(mount_);
    if (!root) throw std::runtime_error(root.error().message);
    root_ = std::move(*root);
  }
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  ~Fleet() {
    cgroups_.clear();
    fds_.clear();
    for (auto& c : children_) {
      if (!c.pidfd || pidfd_send_signal(c.pidfd.get(), SIGKILL) != 0) ::kill(c.pid, SIGKILL);
    }
    for (auto& c : children_) {
      int status = 0;
      while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    remove_cgroup_tree(top_);
  }

  // Makes sure workers [0, n) exist.
  void ensure(std::size_t n) {
    while (children_.size() < n) add(children_.size());
  }

  std::string rel(std::size_t i) const {
    return (top_.filename() / kSliceRel / std::to_string(i)).string();
  }
  fs::path abs(std::size_t i) const { return top_ / kSliceRel / std::to_string(i); }
  int root_fd() const { return root_.get(); }
  // The tree the workers are in, as a Hive's cgroup_root: <top>/rbee.slice/svc/<i>.
  const fs::path& top() const { return top_; }
  // The workers' parent as systemd-cgtop names it: relative to the mount, leading slash.
  std::string cgtop_path() const { return "/" + (top_.filename() / kSliceRel).string(); }
  rbee::hive::WorkerCgroup& cgroup(std::size_t i) { return cgroups_[i]; }
  pid_t pid(std::size_t i) const { return children_[i].pid; }
  // Absolute paths of the interface files that exist in worker i (same set WorkerCgroup keeps).
  const std::vector<std::string>& files(std::size_t i) const { return files_[i]; }
  // The same files, kept open (for the syscall-only split). Opened on first use: held from the
  // start, they and the Supervisor's own would pass a hard fd limit of 20,000 at N = 1000.
  const std::vector<rbee::sys::UniqueFd>& fds(std::size_t i) {
    if (fds_.size() <= i) fds_.resize(i + 1);
    if (fds_[i].empty()) {
      for (const auto& path : files_[i]) {
        auto fd = rbee::sys::open_at(AT_FDCWD, path.c_str(), O_RDONLY);
        if (!fd) throw std::runtime_error(fd.error().message);
        fds_[i].push_back(std::move(*fd));
      }
    }
    return fds_[i];
  }

 private:
  void add(std::size_t i) {
    const fs::path dir = abs(i);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      throw std::runtime_error("mkdir " + dir.string() + ": " + std::strerror(errno));
    const std::string procs = (dir / "cgroup.procs").string();
    int sync[2];
    if (::pipe2(sync, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      // Child: async-signal-safe calls only.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      char buf[16];
      int len = 0;
      char rev[16];
      for (pid_t p = ::getpid(); p > 0; p /= 10) rev[len++] = static_cast<char>('0' + p % 10);
      for (int k = 0; k < len; ++k) buf[k] = rev[len - 1 - k];
      const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      char ok = (fd >= 0 && ::write(fd, buf, static_cast<size_t>(len)) == len) ? 1 : 0;
      (void)!::write(sync[1], &ok, 1);
      if (!ok) ::_exit(1);
      for (;;) ::pause();
    }
    ::close(sync[1]);
    Child c;
    c.pid = pid;
    c.pidfd = rbee::sys::UniqueFd(pidfd_open(pid));
    children_.push_back(std::move(c));  // tracked before anything can fail: the destructor reaps
    char ok = 0;
    ssize_t got;
    while ((got = ::read(sync[0], &ok, 1)) < 0 && errno == EINTR) {
    }
    ::close(sync[0]);
    if (got != 1 || !ok) throw std::runtime_error("child could not join " + dir.string());

    auto cg = rbee::hive::WorkerCgroup::open(root_.get(), rel(i));
    if (!cg) throw std::runtime_error(cg.error().message);
    cgroups_.push_back(std::move(*cg));
    std::vector<std::string> present;
    for (const char* f : kFiles) {
      if (::access((dir / f).c_str(), R_OK) == 0) present.push_back((dir / f).string());
    }
    files_.push_back(std::move(present));
  }

  fs::path mount_, top_;
  rbee::sys::UniqueFd root_;
  std::vector<Child> children_;
  std::vector<rbee::hive::WorkerCgroup> cgroups_;
  std::vector<std::vector<std::string>> files_;
  std::vector<std::vector<rbee::sys::UniqueFd>> fds_;
};

Fleet* g_fleet = nullptr;

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// Grows the fleet to n workers; false (the run marked skipped) when it cannot.
bool grow_fleet(benchmark::State& state, std::size_t n) {
  try {
    g_fleet->ensure(n);
    return true;
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return false;
  }
}

// cpu_us_per_worker: the CPU seconds spent over the run's iterations, per worker sampled.
void report_cpu_per_worker(benchmark::State& state, double cpu_seconds_spent, std::size_t n) {
  const double records = static_cast<double>(state.iterations()) * static_cast<double>(n);
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.counters["cpu_us_per_worker"] = cpu_seconds_spent * 1e6 / records;
}

// Runs body(i) for every worker each iteration; reports cpu_us_per_worker from getrusage.
template <class Body>
void sample_loop(benchmark::State& state, Body&& body) {
  const auto n = static_cast<std::size_t>(state.range(0));
  if (!grow_fleet(state, n)) return;
  const double cpu0 = cpu_seconds();
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) body(i);
  }
  report_cpu_per_worker(state, cpu_seconds() - cpu0, n);
}

// What the Hive does per worker per tick with its default full_read_every = 5: the fast read
// every tick, the full read on every 5th tick of the worker (spread over the workers) and, without
// the memory controller, the /proc PSS sum on those full reads.
void BM_HiveTick(benchmark::State& state) {
  uint64_t tick = 0;
  const auto n = static_cast<std::size_t>(state.range(0));
  sample_loop(state, [&tick, n](std::size_t i) {
    const bool full = (tick + i) % 5 == 0;
    auto& cg = g_fleet->cgroup(i);
    auto r = cg.read(full ? rbee::hive::ReadScope::full : rbee::hive::ReadScope::fast);
    if (r.gone || r.pids.size() != 1) std::abort();  // each cgroup holds exactly its child
    if (full && !cg.has_memory_controller())
      benchmark::DoNotOptimize(rbee::hive::process_memory_bytes(r.pids[0]));
    benchmark::DoNotOptimize(r);
    if (i + 1 == n) ++tick;
  });
}

// The Hive's own sampler over the same tree: a Supervisor (cgroupfs backend, default config)
// adopts the N workers, and each iteration is one Supervisor::sample(): the reads of BM_HiveTick
// plus the listening-socket query, the tree walk every full_read_every samples, and each worker's
// state and view. The Supervisor is made after the tree has grown to N, outside the timing.
void BM_SupervisorSample(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  if (!grow_fleet(state, n)) return;
  boost::asio::io_context io;
  rbee::hive::HiveConfig config;
  auto root = rbee::sys::open_dir(g_fleet->top());
  if (!root) return state.SkipWithError(root.error().message.c_str());
  const int root_fd = root->get();
  const fs::path logs =
      fs::temp_directory_path() / ("rbee-bench-logs-" + std::to_string(::getpid()));
  rbee::hive::Supervisor sup(io, config, std::move(*root), g_fleet->top(),
                             std::make_unique<rbee::hive::CgroupfsBackend>(io, root_fd, logs));
  if (auto st = sup.start(); !st) return state.SkipWithError(st.error().message.c_str());
  if (sup.sample().size() != n)
    return state.SkipWithError("the Supervisor did not adopt every worker");
  const double cpu0 = cpu_seconds();
  for (auto _ : state) benchmark::DoNotOptimize(sup.sample());
  report_cpu_per_worker(state, cpu_seconds() - cpu0, n);
  std::error_code ec;
  fs::remove_all(logs, ec);
}

// The fast read alone (cgroup.procs, cpu.stat, memory.current, io.stat).
void BM_KeptFdFast(benchmark::State& state) {
  sample_loop(state, [](std::size_t i) {
    auto r = g_fleet->cgroup(i).read(rbee::hive::ReadScope::fast);
    if (r.gone || r.pids.size() != 1) std::abort();
    benchmark::DoNotOptimize(r);
  });
}

// The full read alone: every interface file, files opened once, pread each time.
void BM_KeptFd(benchmark::State& state) {
  sample_loop(state, [](std::size_t i) {
    auto r = g_fleet->cgroup(i).read();
    if (r.gone || r.pids.size() != 1) std::abort();  // each cgroup holds exactly its child
    benchmark::DoNotOptimize(r);
  });
}

// The kernel side of BM_KeptFd alone: the same preads, no parsing (where the time goes).
void BM_KeptFdPreadOnly(benchmark::State& state) {
  std::string buf;
  sample_loop(state, [&buf](std::size_t i) {
    for (const auto& fd : g_fleet->fds(i)) {
      if (!rbee::sys::pread_into(fd.get(), buf, kMaxFile)) std::abort();
      benchmark::DoNotOptimize(buf.data());
    }
  });
}

// What a naive sampler does: open/read/close every file by absolute path, every tick, with the
// same parsers.
void BM_Reopen(benchmark::State& state) {
  sample_loop(state, [](std::size_t i) {
    rbee::hive::CgroupReading r;
    for (const auto& path : g_fleet->files(i)) {
      auto text = rbee::sys::read_file_at(AT_FDCWD, path.c_str(), kMaxFile);
      if (!text) std::abort();
      const std::string_view name = std::string_view(path).substr(path.rfind('/') + 1);
      if (name == "cgroup.events")
        r.events = rbee::hive::parse_cgroup_events(*text);
      else if (name == "cgroup.procs")
        r.pids = rbee::hive::parse_pid_list(*text);
      else if (name == "cpu.stat")
        r.cpu = rbee::hive::parse_cpu_stat(*text);
      else if (name == "memory.current") {
        if (auto v = rbee::hive::parse_u64(*text)) r.memory_current = *v;
      } else if (name == "memory.stat")
        r.memory_stat = rbee::hive::parse_memory_stat(*text);
      else if (name == "memory.max") {
        if (auto v = rbee::hive::parse_limit(*text)) r.memory_max = *v;
      } else if (name == "memory.events")
        r.memory_events = rbee::hive::parse_memory_events(*text);
      else if (name == "io.stat")
        r.io = rbee::hive::parse_io_stat(*text);
      else if (name == "memory.peak") {
        if (auto v = rbee::hive::parse_u64(*text)) r.slow.memory_peak = *v;
      } else if (name == "memory.high") {
        if (auto v = rbee::hive::parse_limit(*text)) r.slow.memory_high = *v;
      } else if (name == "pids.max") {
        if (auto v = rbee::hive::parse_limit(*text)) r.slow.pids_max = *v;
      } else if (name == "cpu.max") {
        if (auto v = rbee::hive::parse_cpu_max(*text)) r.slow.cpu_max = *v;
      } else if (name.ends_with(".pressure")) {
        if (!r.slow.pressure) r.slow.pressure.emplace();
        auto& p = *r.slow.pressure;
        auto& member = name == "cpu.pressure" ? p.cpu : name == "io.pressure" ? p.io : p.memory;
        member = rbee::hive::parse_pressure(*text);
      }
    }
    if (r.pids.size() != 1) std::abort();
    benchmark::DoNotOptimize(r);
  });
}

// Memory without the memory controller: /proc/PID/smaps_rollup (statm as fallback), per pid.
void BM_ProcMemoryFallback(benchmark::State& state) {
  sample_loop(state, [](std::size_t i) {
    auto bytes = rbee::hive::process_memory_bytes(g_fleet->pid(i));
    if (!bytes) std::abort();
    benchmark::DoNotOptimize(bytes);
  });
}

// systemd-cgtop -b refreshing the same tree (the workers' parent and its N children): its CPU
// (wait4's rusage) for 1 + --cgtop refreshes minus its CPU for 1, so start-up and the first
// full read are not counted, per cgroup per refresh.
int g_cgtop_refreshes = 0;

// CPU seconds of one systemd-cgtop run, or a negative value when it failed.
double cgtop_cpu(int refreshes, const std::string& path) {
  const std::string count = std::to_string(refreshes);
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execlp("systemd-cgtop", "systemd-cgtop", "-b", "-n", count.c_str(), "-d", "0.001",
             "--order=path", path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  rusage ru{};
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

void BM_Cgtop(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  if (!grow_fleet(state, n)) return;
  const std::string path = g_fleet->cgtop_path();
  double cpu = 0;
  for (auto _ : state) {
    const double once = cgtop_cpu(1, path);
    const double more = cgtop_cpu(1 + g_cgtop_refreshes, path);
    if (once < 0 || more < 0) {
      state.SkipWithError("systemd-cgtop failed (not installed?)");
      return;
    }
    cpu += more - once;
  }
  const double cgroups = static_cast<double>(n + 1);
  state.counters["cpu_us_per_worker"] =
      cpu * 1e6 / (static_cast<double>(state.iterations()) * g_cgtop_refreshes * cgroups);
}

void worker_args(benchmark::internal::Benchmark* b) {
  b->ArgName("N")->Arg(10)->Arg(100)->Arg(1000);
}

// Console output plus, at the end, the kept-fd / reopen ratio of cpu_us_per_worker per N, both
// measured in this process.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      // With --benchmark_repetitions, the median aggregate (reported last) wins.
      if (run.error_occurred) continue;
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      auto it = run.counters.find("cpu_us_per_worker");
      if (it == run.counters.end()) continue;
      // "BM_Cgtop/N:10/iterations:1" -> ["BM_Cgtop"]["N:10"]
      const std::string name = run.run_name.str();
      const auto slash = name.find('/');
      const auto end = name.find('/', slash + 1);
      cpu_[name.substr(0, slash)][name.substr(slash + 1, end - slash - 1)] = it->second.value;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    ratio("BM_HiveTick", "BM_Reopen");
    ratio("BM_SupervisorSample", "BM_HiveTick");
    ratio("BM_HiveTick", "BM_Cgtop");
    std::fflush(stdout);
  }

 private:
  // "ratio A/B N:..": A's cpu_us_per_worker over B's, both measured in this process.
  void ratio(const std::string& a, const std::string& b) {
    for (const auto& [n, x] : cpu_[a]) {
      auto y = cpu_[b].find(n);
      if (y == cpu_[b].end() || y->second <= 0 || x <= 0) continue;
      std::printf("ratio %s/%s %-7s cpu per worker: %.2f us / %.2f us = %.3f (%s costs %.1fx)\n",
                  a.c_str(), b.c_str(), n.c_str(), x, y->second, x / y->second, b.c_str(),
                  y->second / x);
    }
  }
  std::map<std::string, std::map<std::string, double>> cpu_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // Our own flag, taken out before Google Benchmark checks for unknown ones.
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--cgtop=", 8) != 0) continue;
    g_cgtop_refreshes = std::atoi(argv[i] + 8);
    if (g_cgtop_refreshes < 1) {
      std::fprintf(stderr, "rbee-bench-sampler: --cgtop wants a number of refreshes >= 1\n");
      return 2;
    }
    for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
    --argc;
    --i;
  }
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // The Hive's tick beside systemd-cgtop on the same tree: interleaved per N, since the tree only
  // grows (a cgtop at N = 10 must not see 1000 cgroups).
  for (int n : {10, 100, 1000}) {
    benchmark::RegisterBenchmark("BM_HiveTick", BM_HiveTick)->ArgName("N")->Arg(n);
    auto* sup = benchmark::RegisterBenchmark("BM_SupervisorSample", BM_SupervisorSample);
    sup->ArgName("N")->Arg(n);
    // A fixed count makes runs comparable under callgrind, which counts instructions, not time.
    if (const char* fixed = std::getenv("RBEE_BENCH_ITERATIONS")) sup->Iterations(std::atoi(fixed));
    if (g_cgtop_refreshes > 0)
      benchmark::RegisterBenchmark("BM_Cgtop", BM_Cgtop)->ArgName("N")->Arg(n)->Iterations(1);
  }
  // The parts, on the tree as it then is (the per-worker cost hardly depends on its size).
  benchmark::RegisterBenchmark("BM_KeptFdFast", BM_KeptFdFast)->Apply(worker_args);
  benchmark::RegisterBenchmark("BM_KeptFd", BM_KeptFd)->Apply(worker_args);
  benchmark::RegisterBenchmark("BM_KeptFdPreadOnly", BM_KeptFdPreadOnly)->Apply(worker_args);
  benchmark::RegisterBenchmark("BM_Reopen", BM_Reopen)->Apply(worker_args);
  benchmark::RegisterBenchmark("BM_ProcMemoryFallback", BM_ProcMemoryFallback)->Apply(worker_args);

  auto mount = rbee::sys::find_cgroup2_mount();
  if (::geteuid() != 0 || !mount || ::access(mount->c_str(), W_OK) != 0) {
    std::fprintf(stderr, "rbee-bench-sampler: skipped, needs root and a writable cgroup2 mount\n");
    return 77;
  }
  // 1000 workers keep several fds each open.
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  sweep_stale(*mount);
  try {
    Fleet fleet(*mount);
    g_fleet = &fleet;
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    g_fleet = nullptr;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rbee-bench-sampler: %s\n", e.what());
    return 1;
  }
  benchmark::Shutdown();
  return 0;
}
