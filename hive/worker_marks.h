#pragma once
// Marks the Hive keeps on a worker's cgroup directory (user.* xattrs) where it owns the tree, so
// that a restarted Hive knows which workers it started, when, their main process and how one
// ended. The cgroup is the only record: the Hive keeps no state on disk.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/telemetry.h"
#include "hive/worker_life.h"

namespace rbee::hive {

inline constexpr const char* kXattrSpawnedBy = "user.rbee.spawned_by";
inline constexpr const char* kXattrStartedAt = "user.rbee.started_at_ms";
inline constexpr const char* kXattrMainPid = "user.rbee.main_pid";
inline constexpr const char* kXattrExit = "user.rbee.exit";  // "code N" or "signal N"
inline constexpr const char* kXattrStop = "user.rbee.stop";  // a stop was asked for

struct WorkerMarks {
  telemetry::SpawnedBy spawned_by = telemetry::SpawnedBy::external;
  std::optional<int64_t> started_at_ms;
  std::optional<int64_t> main_pid;
  ExitReason exit;
  bool stop_requested = false;
};

// What the marks on a cgroup say; a missing or garbled mark is as if absent.
WorkerMarks read_marks(int cgroup_dir_fd);
// On the fresh cgroup of a worker the Hive is starting, before its process is.
void mark_start(int cgroup_dir_fd, int64_t started_at_ms);
void mark_main(int cgroup_dir_fd, int32_t pid);
// A stop was asked for: a Hive restarted before the worker ended carries it on.
void mark_stop(int cgroup_dir_fd);
// How the main process ended, when a code or signal is known.
void mark_exit(int cgroup_dir_fd, const ExitReason& reason);

std::optional<std::string> format_exit_mark(const ExitReason& reason);
ExitReason parse_exit_mark(std::string_view mark);

}  // namespace rbee::hive
