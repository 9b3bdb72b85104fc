#include "common/sys/fd_limit.h"

#include <sys/resource.h>

#include <cerrno>

#include "common/sys/file.h"

namespace rbee::sys {
namespace {

// Written once at start (before any worker is spawned), read in children.
struct rlimit g_original {};
bool g_raised = false;

}  // namespace

Result<FdLimit> raise_fd_limit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return errno_error("getrlimit", "RLIMIT_NOFILE", errno);
  FdLimit out{rl.rlim_cur, rl.rlim_cur, rl.rlim_max};
  if (rl.rlim_cur == RLIM_INFINITY || (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur >= rl.rlim_max))
    return out;
  const struct rlimit original = rl;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) return errno_error("setrlimit", "RLIMIT_NOFILE", errno);
  g_original = original;
  g_raised = true;
  out.now = rl.rlim_cur;
  return out;
}

std::optional<uint64_t> open_file_limit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return rl.rlim_cur;
}

void restore_fd_limit_in_child() {
  if (g_raised) (void)::setrlimit(RLIMIT_NOFILE, &g_original);
}

}  // namespace rbee::sys
