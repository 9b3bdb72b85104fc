#pragma once
// Starting a process directly inside a cgroup (clone3 CLONE_INTO_CGROUP), tracked by pidfd.
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/sys/unique_fd.h"

namespace rbee::sys {

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  std::vector<std::string> env;   // "KEY=VALUE", the whole environment
  int cgroup_fd = -1;             // directory fd of the target cgroup
  int output_fd = -1;             // stdout and stderr of the child; stdin is /dev/null
  std::string working_directory;  // empty: inherit
};

struct Child {
  pid_t pid = -1;
  UniqueFd pidfd;
};

// The child gets its own session (setsid) and default signal state, so it outlives the caller.
// Returns once the child has exec'd, or with the reason exec failed.
Result<Child> spawn_in_cgroup(const SpawnSpec& spec);

struct ExitStatus {
  bool exited = false;  // false: still running
  int code = 0;         // exit code when it exited normally
  int signal = 0;       // signal number when killed
};
// Non-blocking reap through the pidfd (waitid P_PIDFD, WNOHANG).
Result<ExitStatus> reap(int pidfd);

// Raises this process's soft RLIMIT_NOFILE to min(want, hard limit): a daemon that holds up to
// 1024 connections plus its own files needs more than the usual soft limit of 1024. Children
// started by spawn_in_cgroup get the original soft limit back (programs using select() rely on
// it). Returns the soft limit in force afterwards.
std::size_t raise_fd_limit(std::size_t want);

Status send_signal(int pidfd, int sig);
// Opens a pidfd for a process we did not start (re-adoption); never signals a bare pid.
Result<UniqueFd> open_pidfd(pid_t pid);

}  // namespace rbee::sys
