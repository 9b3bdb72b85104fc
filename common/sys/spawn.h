#pragma once
// Starting a process directly inside a cgroup (clone3 CLONE_INTO_CGROUP), tracked by pidfd.
#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "common/sys/credentials.h"
#include "common/sys/unique_fd.h"

namespace rbee::sys {

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  std::vector<std::string> env;   // "KEY=VALUE", the whole environment
  int cgroup_fd = -1;             // directory fd of the target cgroup
  int output_fd = -1;             // stdout and stderr of the child; stdin is /dev/null
  std::string working_directory;  // empty: inherit; entered as the worker's account
  // The account to become before exec (needs root); null: stay as the caller. Either way the
  // child gets no_new_privs, so nothing it execs can gain privileges.
  const Credentials* credentials = nullptr;
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

Status send_signal(int pidfd, int sig);
// Opens a pidfd for a process we did not start (re-adoption); never signals a bare pid.
Result<UniqueFd> open_pidfd(pid_t pid);

}  // namespace rbee::sys
