#pragma once
// The facts of one worker's life that several parts learn about (the pidfd, the backend, the
// tree, the marks of an earlier Hive): who started it, its main process, why it ended and when.
// Each fact has one writer, here, with one rule for what a later report may change.
#include <cstdint>
#include <optional>
#include <vector>

#include "common/telemetry.h"

namespace rbee::hive {

// Why a worker's main process ended, as far as anyone said.
struct ExitReason {
  std::optional<int> code;
  std::optional<int> signal;
  bool oom = false;  // the backend said the kernel's OOM killer ended it
};

class WorkerLife {
 public:
  // A worker this Hive starts now (restarts: how many starts came before it in this run).
  static WorkerLife launched(int64_t started_at_ms, uint32_t restarts,
                             std::optional<int32_t> main_pid);
  // A worker found in the tree: what its marks and its processes say (restarts: of its unit by
  // systemd seen in this run).
  static WorkerLife adopted(telemetry::SpawnedBy by, std::optional<int64_t> started_at_ms,
                            std::optional<int32_t> main_pid, ExitReason marked_exit,
                            bool stop_requested = false, uint32_t restarts = 0);

  telemetry::SpawnedBy spawned_by() const { return spawned_by_; }
  bool ours() const { return spawned_by_ == telemetry::SpawnedBy::hive; }
  std::optional<int64_t> started_at_ms() const { return started_at_ms_; }
  uint32_t restarts() const { return restarts_; }
  std::optional<int32_t> main_pid() const { return main_pid_; }
  const ExitReason& exit() const { return exit_; }
  std::optional<int64_t> exited_at_ms() const { return exited_at_ms_; }
  bool stop_requested() const { return stop_requested_; }

  void request_stop() { stop_requested_ = true; }
  // What a report says of the end: a code or signal replaces none, OOM sticks once said.
  void record_exit(const ExitReason& reason);
  // The worker was seen ended: the first time stamps it.
  void mark_exited(int64_t now_ms);
  // The main process of a worker someone else started is whichever of its processes is there
  // first; one the Hive started keeps the process it started.
  void follow_processes(const std::vector<int32_t>& pids);

 private:
  telemetry::SpawnedBy spawned_by_ = telemetry::SpawnedBy::external;
  std::optional<int64_t> started_at_ms_;
  uint32_t restarts_ = 0;
  std::optional<int32_t> main_pid_;
  ExitReason exit_;
  std::optional<int64_t> exited_at_ms_;
  bool stop_requested_ = false;
};

}  // namespace rbee::hive
