#include "hive/worker_logs.h"

#include <system_error>

#include "common/sys/file.h"
#include "common/sys/safe_open.h"

namespace rbee::hive {
namespace {

// Logs can hold what a worker printed (keys, prompts): root and the Hive's group only.
constexpr mode_t kDirMode = 0750;
constexpr mode_t kFileMode = 0640;

}  // namespace

Result<WorkerLogs> WorkerLogs::open(const std::filesystem::path& dir) {
  std::error_code ec;
  if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
  if (auto st = sys::make_directory(dir.c_str(), kDirMode); !st) return st.error();
  // The configured directory itself may be a symlink (the operator's choice); what is below it
  // is never followed.
  auto fd = sys::open_at(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (!fd) return make_error("log directory: " + fd.error().message);
  return WorkerLogs(std::move(*fd));
}

Result<sys::UniqueFd> WorkerLogs::service_dir(const std::string& service, bool create) {
  if (create) return sys::open_or_make_dir_at(dir_.get(), service, kDirMode);
  return sys::open_at(dir_.get(), service.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
}

Result<sys::UniqueFd> WorkerLogs::start_run(const WorkerId& id) {
  auto dir = service_dir(id.service, true);
  if (!dir) return dir.error();
  const std::string current = id.instance + ".log";
  if (auto st = sys::rename_in_dir(dir->get(), current, current + ".1"); !st) return st.error();
  return sys::open_regular_at(dir->get(), current, O_WRONLY | O_CREAT | O_EXCL | O_APPEND,
                              kFileMode);
}

Result<sys::UniqueFd> WorkerLogs::open_for_reading(const WorkerId& id, bool previous) {
  auto dir = service_dir(id.service, false);
  if (!dir) return dir.error();
  return sys::open_regular_at(dir->get(), id.instance + (previous ? ".log.1" : ".log"), O_RDONLY);
}

}  // namespace rbee::hive
