#include "common/sys/safe_open.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "common/sys/file.h"

namespace rbee::sys {

Result<UniqueFd> open_or_make_dir_at(int dirfd, const std::string& name, mode_t mode) {
  if (::mkdirat(dirfd, name.c_str(), mode) < 0 && errno != EEXIST)
    return errno_error("mkdir", name, errno);
  return open_at(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
}

Result<UniqueFd> open_regular_at(int dirfd, const std::string& name, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::openat(dirfd, name.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ELOOP) return make_error("open " + name + ": it is a symbolic link (refused)");
    return errno_error("open", name, errno);
  }
  UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) < 0) return errno_error("fstat", name, errno);
  if (!S_ISREG(st.st_mode)) return make_error("open " + name + ": not a regular file (refused)");
  return owned;
}

Status rename_in_dir(int dirfd, const std::string& from, const std::string& to) {
  if (::renameat(dirfd, from.c_str(), dirfd, to.c_str()) < 0 && errno != ENOENT)
    return errno_error("rename", from, errno);
  return Ok{};
}

}  // namespace rbee::sys
