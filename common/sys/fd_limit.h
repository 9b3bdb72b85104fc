#pragma once
// The daemon keeps a few fds open per worker (its cgroup directory and interface files, a pidfd):
// 1000 workers need more than the usual soft limit of 1024 open files.
#include <cstdint>
#include <optional>

#include "common/result.h"

namespace rbee::sys {

struct FdLimit {
  uint64_t before = 0;  // soft limit found
  uint64_t now = 0;     // soft limit after the call
  uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit (never lowers it). The soft limit found is
// remembered for restore_fd_limit_in_child().
Result<FdLimit> raise_fd_limit();

// The soft RLIMIT_NOFILE now (what the process may open); nullopt for no limit.
std::optional<uint64_t> open_file_limit();

// For a child between fork/clone and exec (async-signal-safe): puts back the soft limit
// raise_fd_limit() found, as systemd does for its services, so a worker using select() is not
// handed fds above 1024. Does nothing when the limit was not raised.
void restore_fd_limit_in_child();

}  // namespace rbee::sys
