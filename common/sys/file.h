#pragma once
// Small file helpers in the "directory fd first, relative name second" style, so tests can point
// them at a temp dir and the sampler can keep a cgroup's directory fd open.
//
// Errors. Every failure is an rbee::Error whose message names the operation and the path and ends
// in strerror, e.g. "open cpu.stat: No such file or directory". A caller that must tell "the file
// vanished" (the worker exited, its cgroup was removed) from a real failure passes `err`: it
// receives the errno of the failure, or 0 on success; is_gone(err) classifies it. That keeps
// rbee::Result unchanged and costs nothing to callers that do not care.
//
// Every fd opened here has O_CLOEXEC.
#include <sys/stat.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/sys/unique_fd.h"

namespace rbee::sys {

// openat(dirfd, relative_path, flags | O_CLOEXEC). dirfd may be AT_FDCWD; an absolute path
// ignores dirfd, as openat does.
Result<UniqueFd> open_at(int dirfd, const char* relative_path, int flags, int* err = nullptr);

// Reads fd from offset 0 to EOF, at most max_bytes (longer content is cut at max_bytes), with
// pread, so a kept-open cgroup or /proc file is regenerated fresh on every call.
Result<std::string> pread_all(int fd, std::size_t max_bytes, int* err = nullptr);
// Same, into a caller-owned buffer whose capacity is reused across ticks (no allocation once warm).
Status pread_into(int fd, std::string& out, std::size_t max_bytes, int* err = nullptr);

// open (O_RDONLY) + pread_all + close.
Result<std::string> read_file_at(int dirfd, const char* path, std::size_t max_bytes,
                                 int* err = nullptr);

// A config or key file read whole: opened O_NONBLOCK (a FIFO planted there cannot block the
// caller), regular files only (fstat), at most max_bytes. `extra_flags` adds open flags (a token
// file takes O_NOFOLLOW); `st` receives the fstat result. Errors name the path: "PATH is not a
// regular file" (or "is a directory"), "PATH is larger than N bytes" (err EFBIG), "cannot read
// PATH: <strerror>".
inline constexpr std::size_t kMaxConfigFileBytes = 1 << 20;
Result<std::string> read_regular_file(const std::string& path, std::size_t max_bytes,
                                      int extra_flags = 0, int* err = nullptr,
                                      struct stat* st = nullptr);

// Opens an existing file O_WRONLY (no O_CREAT, no O_TRUNC) and writes content. Cgroup interface
// files take one write per value: content is written with as few write() calls as the kernel
// allows (normally one).
Status write_file_at(int dirfd, const char* path, std::string_view content, int* err = nullptr);

// fstat of an open fd; the error names the fd.
Result<struct stat> stat_fd(int fd);
// fstatat(dirfd, path), following a final symlink as stat(2) does.
Result<struct stat> stat_at(int dirfd, const char* path, int* err = nullptr);
// True when dirfd/path exists (faccessat F_OK): a lost race is the caller's to expect.
bool exists_at(int dirfd, const char* path);

// The last max_bytes of a regular file (all of it when shorter), read with pread at the offset
// fstat gives; the file's own offset is left alone.
Result<std::string> pread_tail(int fd, std::size_t max_bytes);

// Writes all of content to fd, one write() after another while the kernel takes part of it.
Status write_all(int fd, std::string_view content, int* err = nullptr);

// mkdir(path, mode); an existing directory (or anything else by that name) is fine.
Status make_directory(const char* path, mode_t mode);

// True when fd is a terminal (isatty).
bool is_terminal(int fd);

// True for the errno values that mean "it is gone", not "it failed": ENOENT (no such file),
// ENODEV (a cgroup file of a removed cgroup), ESRCH (a /proc file of an exited process).
bool is_gone(int err);

// "<op> <what>: <strerror(err)>".
Error errno_error(std::string_view op, std::string_view what, int err);

}  // namespace rbee::sys
