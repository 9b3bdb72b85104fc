#pragma once
// The cgroupfs backend's log files, <log_dir>/<service>/<instance>.log, and the previous run's
// <instance>.log.1. Workers and local users may be hostile: every file is opened relative to the
// directory fd held from start, never through a symlink, and only if it is a regular file.
#include <filesystem>
#include <string>

#include "common/result.h"
#include "common/sys/unique_fd.h"
#include "hive/layout.h"

namespace rbee::hive {

class WorkerLogs {
 public:
  // Makes the directory (0750) when missing and keeps it open.
  static Result<WorkerLogs> open(const std::filesystem::path& dir);

  // For a new run of the worker: its last run's log becomes <instance>.log.1 and a fresh,
  // empty <instance>.log is returned for writing (appending).
  Result<sys::UniqueFd> start_run(const WorkerId& id);
  // The current run's log, or the previous one's.
  Result<sys::UniqueFd> open_for_reading(const WorkerId& id, bool previous);

 private:
  explicit WorkerLogs(sys::UniqueFd dir) : dir_(std::move(dir)) {}
  Result<sys::UniqueFd> service_dir(const std::string& service, bool create);

  sys::UniqueFd dir_;
};

}  // namespace rbee::hive
