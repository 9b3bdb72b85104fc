#include "common/sys/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "common/sys/fd_limit.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace rbee::sys {
namespace {

[[noreturn]] void child_fail(int report_fd, int err) {
  (void)!::write(report_fd, &err, sizeof err);
  ::_exit(127);
}

// Drops to the worker's account: groups first (they need CAP_SETGID), uid last. Leaving uid 0
// for another clears the permitted, effective and ambient capabilities; the bounding set goes
// first so that nothing exec'd later can regain any.
int become(const Credentials& c) {
  if (c.uid != 0) {
    for (int cap = 0; ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0; ++cap) {
    }
    if (errno != EINVAL) return errno;
  }
  if (::setgroups(c.groups.size(), c.groups.data()) < 0) return errno;
  if (::setresgid(c.gid, c.gid, c.gid) < 0) return errno;
  if (::setresuid(c.uid, c.uid, c.uid) < 0) return errno;
  return 0;
}

// Runs in the child between clone3 and exec: async-signal-safe calls only, no allocation.
[[noreturn]] void exec_child(const SpawnSpec& spec, char* const* argv, char* const* envp,
                             int report_fd) {
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int s = 1; s < NSIG; ++s) {
    if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
  }
  if (::setsid() < 0) child_fail(report_fd, errno);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || ::dup2(devnull, 0) < 0) child_fail(report_fd, errno);
  if (spec.output_fd >= 0) {
    if (::dup2(spec.output_fd, 1) < 0 || ::dup2(spec.output_fd, 2) < 0)
      child_fail(report_fd, errno);
  }
  if (spec.credentials) {
    if (int err = become(*spec.credentials)) child_fail(report_fd, err);
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) child_fail(report_fd, errno);
  // After the switch: the directory must be one the worker itself may enter.
  if (!spec.working_directory.empty() && ::chdir(spec.working_directory.c_str()) < 0)
    child_fail(report_fd, errno);
  // Our own fds are O_CLOEXEC; this also covers any a library opened without it.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  // Last: the daemon's descriptors may already fill the original limit (they close at exec).
  restore_fd_limit_in_child();
  ::execvpe(argv[0], argv, envp);
  child_fail(report_fd, errno);
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<Child> spawn_in_cgroup(const SpawnSpec& spec) {
  if (spec.argv.empty()) return make_error("spawn: empty command");
  auto argv = c_strings(spec.argv);
  auto envp = c_strings(spec.env);

  int report[2];
  if (::pipe2(report, O_CLOEXEC) < 0) return make_error(std::string("pipe2: ") + strerror(errno));
  UniqueFd report_read(report[0]), report_write(report[1]);

  int pidfd = -1;
  struct clone_args args {};
  args.flags = CLONE_PIDFD | CLONE_INTO_CGROUP;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(spec.cgroup_fd);
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return make_error(std::string("clone3 into cgroup: ") + strerror(errno));
  if (pid == 0) exec_child(spec, argv.data(), envp.data(), report_write.get());

  Child child{static_cast<pid_t>(pid), UniqueFd(pidfd)};
  report_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof child_errno) {
    siginfo_t info{};
    ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(child.pidfd.get()), &info, WEXITED);
    return make_error("cannot start " + spec.argv[0] + ": " + strerror(child_errno));
  }
  return child;
}

Result<ExitStatus> reap(int pidfd) {
  siginfo_t info{};
  if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG) <
      0)
    return make_error(std::string("waitid: ") + strerror(errno));
  ExitStatus st;
  if (info.si_pid == 0) return st;
  st.exited = true;
  if (info.si_code == CLD_EXITED)
    st.code = info.si_status;
  else
    st.signal = info.si_status;
  return st;
}

Status send_signal(int pidfd, int sig) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0 && errno != ESRCH)
    return make_error(std::string("pidfd_send_signal: ") + strerror(errno));
  return Ok{};
}

Result<UniqueFd> open_pidfd(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return make_error("pidfd_open " + std::to_string(pid) + ": " + strerror(errno));
  return UniqueFd(fd);
}

}  // namespace rbee::sys
