#pragma once
// Opening files in a directory someone else can write to (a log directory, a worker's files):
// relative to a directory fd held from start, never through a symlink, never blocking on a FIFO
// or device, and only ever a regular file or a real directory.
#include <sys/types.h>

#include <string>

#include "common/result.h"
#include "common/sys/unique_fd.h"

namespace rbee::sys {

// mkdirat(mode) when missing, then the directory itself (O_DIRECTORY | O_NOFOLLOW).
Result<UniqueFd> open_or_make_dir_at(int dirfd, const std::string& name, mode_t mode);

// openat with O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC added; refuses anything but a regular file
// (fstat), so a planted FIFO, device or directory is an error, not a hang or a read of it.
Result<UniqueFd> open_regular_at(int dirfd, const std::string& name, int flags, mode_t mode = 0);

// renameat within one directory; a missing source is fine (nothing to move).
Status rename_in_dir(int dirfd, const std::string& from, const std::string& to);

}  // namespace rbee::sys
