#pragma once
// Small helpers shared by the Hive benchmarks: root/cgroup2 checks and their main(), sleeping
// children placed straight into a cgroup with clone3, percentiles.
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "common/sys/cgroup.h"

namespace rbee::bench {

// The exit code ctest reads as "skipped" (SKIP_RETURN_CODE 77).
constexpr int kSkip = 77;

// Root and a writable cgroup2 mount, or a line on stderr saying what is missing.
inline bool can_make_cgroups(const char* prog) {
  if (::geteuid() != 0) {
    std::fprintf(stderr, "%s: needs root (it makes cgroups): skipped\n", prog);
    return false;
  }
  auto mount = sys::find_cgroup2_mount();
  if (!mount || ::access(mount->c_str(), W_OK) != 0) {
    std::fprintf(stderr, "%s: no writable cgroup2 mount: skipped\n", prog);
    return false;
  }
  return true;
}

// main() of a benchmark that makes cgroups: parses the options, exits kSkip without root or a
// writable cgroup2 mount, ignores SIGPIPE and runs; an exception is printed and fails the run.
template <class Options>
int cgroup_bench_main(int argc, char** argv, Options (*parse)(int, char**),
                      int (*run)(const Options&)) {
  const Options o = parse(argc, argv);
  if (!can_make_cgroups(argv[0])) return kSkip;
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}

// Starts a child directly in the cgroup whose directory fd is cgroup_fd (clone3 with
// CLONE_INTO_CGROUP: it is a member from its first instruction, no cgroup.procs write). The child
// closes every inherited fd and sleeps until it is killed. Returns its pid, or -1.
inline pid_t start_sleeper_in(int cgroup_fd) {
  struct clone_args args {};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  const long r = ::syscall(SYS_clone3, &args, sizeof args);
  if (r == 0) {
    // Only async-signal-safe calls here: the parent may have other threads.
    ::syscall(SYS_close_range, 0u, ~0u, 0u);
    for (;;) ::pause();
  }
  return static_cast<pid_t>(r);
}

// Kills and reaps the given children of this process when it goes (pass or fail).
class Children {
 public:
  ~Children() { kill_all(); }
  void add(pid_t pid) { pids_.push_back(pid); }
  // Kills and reaps one of them now; it is forgotten, so a recycled pid is never signalled.
  void kill_one(pid_t pid) {
    auto it = std::find(pids_.begin(), pids_.end(), pid);
    if (it == pids_.end()) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pids_.erase(it);
  }
  void kill_all() {
    for (pid_t p : pids_) ::kill(p, SIGKILL);
    for (pid_t p : pids_) ::waitpid(p, nullptr, 0);
    pids_.clear();
  }
  std::size_t size() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
};

// Nearest-rank percentile of a sorted sample, q in [0, 1].
inline double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace rbee::bench
