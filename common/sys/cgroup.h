#pragma once
// Thin helpers over cgroup v2 directories. Functions take a directory fd first and a relative
// name second, so tests can point them at a temp dir.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/sys/unique_fd.h"

namespace rbee::sys {

// Where cgroup2 is mounted: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid.
Result<std::filesystem::path> find_cgroup2_mount();

Result<UniqueFd> open_dir(const std::filesystem::path& path);
Result<UniqueFd> open_dir_at(int dirfd, const std::string& name);
// mkdir; an existing directory is fine.
Status make_dir_at(int dirfd, const std::string& name);
// rmdir; a directory that is already gone is fine. EBUSY while processes remain.
Status remove_dir_at(int dirfd, const std::string& name);

// Kills every process in the cgroup and its descendants at once (cgroup.kill, kernel 5.14+).
Status kill_cgroup(int cgroup_fd);
std::vector<std::string> available_controllers(int cgroup_fd);
// Writes "+ctrl" for each to cgroup.subtree_control; returns the ones that could not be enabled.
std::vector<std::string> enable_controllers(int cgroup_fd, const std::vector<std::string>& ctrls);

// user.* extended attributes on cgroup directories: the Hive's marks survive its restart.
Status set_xattr(int fd, const char* name, std::string_view value);
std::optional<std::string> get_xattr(int fd, const char* name);
// A mark that is not there is fine.
Status remove_xattr(int fd, const char* name);

}  // namespace rbee::sys
