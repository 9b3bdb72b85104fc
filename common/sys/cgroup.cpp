#include "common/sys/cgroup.h"

#include "common/sys/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace rbee::sys {
namespace {

std::string errno_text(const std::string& what) {
  return what + ": " + strerror(errno);
}

}  // namespace

Result<std::filesystem::path> find_cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::optional<std::filesystem::path> found;
  while (std::getline(in, line)) {
    // "36 25 0:31 / /sys/fs/cgroup/unified rw,... shared:9 - cgroup2 cgroup2 rw"
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mount;
    head >> id >> parent >> dev >> root >> mount;
    if (root != "/") continue;  // a bind mount of a subtree is not the hierarchy's root
    if (mount == "/sys/fs/cgroup") return std::filesystem::path(mount);
    if (!found) found = mount;
  }
  if (found) return *found;
  return make_error("no cgroup2 file system is mounted (see /proc/self/mountinfo)");
}

Result<UniqueFd> open_dir(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error(errno_text("open " + path.string()));
  return UniqueFd(fd);
}

Result<UniqueFd> open_dir_at(int dirfd, const std::string& name) {
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error(errno_text("open " + name));
  return UniqueFd(fd);
}

Status make_dir_at(int dirfd, const std::string& name) {
  if (::mkdirat(dirfd, name.c_str(), 0755) < 0 && errno != EEXIST)
    return make_error(errno_text("mkdir " + name));
  return Ok{};
}

Status remove_dir_at(int dirfd, const std::string& name) {
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
    return make_error(errno_text("rmdir " + name));
  return Ok{};
}

Status kill_cgroup(int cgroup_fd) {
  return write_file_at(cgroup_fd, "cgroup.kill", "1");
}

std::vector<std::string> available_controllers(int cgroup_fd) {
  std::vector<std::string> out;
  UniqueFd fd(::openat(cgroup_fd, "cgroup.controllers", O_RDONLY | O_CLOEXEC));
  if (!fd) return out;
  char buf[512];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return out;
  std::istringstream in(std::string(buf, static_cast<std::size_t>(n)));
  std::string c;
  while (in >> c) out.push_back(c);
  return out;
}

std::vector<std::string> enable_controllers(int cgroup_fd, const std::vector<std::string>& ctrls) {
  std::vector<std::string> failed;
  for (const auto& c : ctrls) {
    if (!write_file_at(cgroup_fd, "cgroup.subtree_control", "+" + c)) failed.push_back(c);
  }
  return failed;
}

Status set_xattr(int fd, const char* name, std::string_view value) {
  if (::fsetxattr(fd, name, value.data(), value.size(), 0) < 0)
    return make_error(errno_text(std::string("setxattr ") + name));
  return Ok{};
}

std::optional<std::string> get_xattr(int fd, const char* name) {
  char buf[256];
  ssize_t n = ::fgetxattr(fd, name, buf, sizeof buf);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<std::size_t>(n));
}

Status remove_xattr(int fd, const char* name) {
  if (::fremovexattr(fd, name) < 0 && errno != ENODATA)
    return make_error(errno_text(std::string("removexattr ") + name));
  return Ok{};
}

}  // namespace rbee::sys
