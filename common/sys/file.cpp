#include "common/sys/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace rbee::sys {
namespace {

void set_err(int* err, int value) {
  if (err) *err = value;
}

}  // namespace

Error errno_error(std::string_view op, std::string_view what, int err) {
  std::string msg;
  msg.reserve(op.size() + what.size() + 40);
  msg.append(op).append(" ").append(what).append(": ");
  msg.append(std::system_category().message(err));
  return make_error(std::move(msg));
}

bool is_gone(int err) {
  return err == ENOENT || err == ENODEV || err == ESRCH;
}

Result<UniqueFd> open_at(int dirfd, const char* relative_path, int flags, int* err) {
  int fd;
  do {
    fd = ::openat(dirfd, relative_path, flags | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int e = errno;
    set_err(err, e);
    return errno_error("open", relative_path, e);
  }
  set_err(err, 0);
  return UniqueFd(fd);
}

Status pread_into(int fd, std::string& out, std::size_t max_bytes, int* err) {
  // Cgroup and /proc files are mostly far below 4 KiB: read into a stack chunk first and copy
  // only what was read, so a buffer kept per worker holds its content's size, not 4 KiB.
  constexpr std::size_t kChunk = 4096;
  char chunk[kChunk];
  out.clear();
  std::size_t got = 0;
  bool eof = false;
  while (got < max_bytes && got < kChunk) {
    const ssize_t n =
        ::pread(fd, chunk + got, std::min(kChunk, max_bytes) - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      set_err(err, e);
      return errno_error("read", "fd " + std::to_string(fd), e);
    }
    if (n == 0) {
      eof = true;
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  out.assign(chunk, got);
  // Longer content: go on in the string itself, doubling.
  while (!eof && got < max_bytes) {
    if (got == out.size()) out.resize(std::min(max_bytes, std::max(got * 2, out.capacity())));
    const ssize_t n = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      out.clear();
      set_err(err, e);
      return errno_error("read", "fd " + std::to_string(fd), e);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  set_err(err, 0);
  return Ok{};
}

Result<std::string> pread_all(int fd, std::size_t max_bytes, int* err) {
  std::string out;
  auto st = pread_into(fd, out, max_bytes, err);
  if (!st) return st.error();
  return out;
}

Result<std::string> read_file_at(int dirfd, const char* path, std::size_t max_bytes, int* err) {
  auto fd = open_at(dirfd, path, O_RDONLY | O_NOCTTY, err);
  if (!fd) return fd.error();
  int e = 0;
  std::string out;
  auto st = pread_into(fd->get(), out, max_bytes, &e);
  set_err(err, e);
  if (!st) return errno_error("read", path, e);
  return out;
}

Result<std::string> read_regular_file(const std::string& path, std::size_t max_bytes,
                                      int extra_flags, int* err, struct stat* st_out) {
  int open_err = 0;
  auto fd =
      open_at(AT_FDCWD, path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | extra_flags, &open_err);
  set_err(err, open_err);
  if (!fd) {
    if (open_err == ELOOP && (extra_flags & O_NOFOLLOW))
      return make_error(path + " is a symbolic link; name the file itself");
    return make_error("cannot read " + path + ": " + std::system_category().message(open_err));
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) {
    const int e = errno;
    set_err(err, e);
    return errno_error("stat", path, e);
  }
  if (st_out) *st_out = st;
  if (!S_ISREG(st.st_mode)) {
    set_err(err, EINVAL);
    return make_error(path + (S_ISDIR(st.st_mode) ? " is a directory" : " is not a regular file"));
  }
  auto too_big = [&] {
    set_err(err, EFBIG);
    return make_error(path + " is larger than " + std::to_string(max_bytes) + " bytes");
  };
  if (static_cast<uint64_t>(st.st_size) > max_bytes) return too_big();
  // One byte more than allowed tells a file that grew since the fstat.
  int e = 0;
  std::string out;
  if (auto r = pread_into(fd->get(), out, max_bytes + 1, &e); !r) {
    set_err(err, e);
    return errno_error("read", path, e);
  }
  if (out.size() > max_bytes) return too_big();
  set_err(err, 0);
  return out;
}

Status write_all(int fd, std::string_view content, int* err) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      set_err(err, e);
      return errno_error("write", "fd " + std::to_string(fd), e);
    }
    if (n == 0) {
      set_err(err, EIO);
      return errno_error("write", "fd " + std::to_string(fd), EIO);
    }
    done += static_cast<std::size_t>(n);
  }
  set_err(err, 0);
  return Ok{};
}

Status write_file_at(int dirfd, const char* path, std::string_view content, int* err) {
  auto fd = open_at(dirfd, path, O_WRONLY | O_NOCTTY, err);
  if (!fd) return fd.error();
  int e = 0;
  if (auto st = write_all(fd->get(), content, &e); !st) {
    set_err(err, e);
    return errno_error("write", path, e);
  }
  set_err(err, 0);
  return Ok{};
}

Result<struct stat> stat_fd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error("stat", "fd " + std::to_string(fd), errno);
  return st;
}

Result<struct stat> stat_at(int dirfd, const char* path, int* err) {
  struct stat st {};
  if (::fstatat(dirfd, path, &st, 0) != 0) {
    const int e = errno;
    set_err(err, e);
    return errno_error("stat", path, e);
  }
  set_err(err, 0);
  return st;
}

bool exists_at(int dirfd, const char* path) {
  return ::faccessat(dirfd, path, F_OK, 0) == 0;
}

Result<std::string> pread_tail(int fd, std::size_t max_bytes) {
  auto st = stat_fd(fd);
  if (!st) return st.error();
  const auto size = static_cast<std::size_t>(st->st_size);
  const std::size_t start = size > max_bytes ? size - max_bytes : 0;
  std::string buf(size - start, '\0');
  const ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(start));
  buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return buf;
}

Status make_directory(const char* path, mode_t mode) {
  if (::mkdir(path, mode) < 0 && errno != EEXIST) return errno_error("mkdir", path, errno);
  return Ok{};
}

bool is_terminal(int fd) {
  return ::isatty(fd) == 1;
}

}  // namespace rbee::sys
