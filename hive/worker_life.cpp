#include "hive/worker_life.h"

#include <algorithm>

namespace rbee::hive {

WorkerLife WorkerLife::launched(int64_t started_at_ms, uint32_t restarts,
                                std::optional<int32_t> main_pid) {
  WorkerLife l;
  l.spawned_by_ = telemetry::SpawnedBy::hive;
  l.started_at_ms_ = started_at_ms;
  l.restarts_ = restarts;
  l.main_pid_ = main_pid;
  return l;
}

WorkerLife WorkerLife::adopted(telemetry::SpawnedBy by, std::optional<int64_t> started_at_ms,
                               std::optional<int32_t> main_pid, ExitReason marked_exit,
                               bool stop_requested, uint32_t restarts) {
  WorkerLife l;
  l.spawned_by_ = by;
  l.restarts_ = restarts;
  l.started_at_ms_ = started_at_ms;
  l.main_pid_ = main_pid;
  l.exit_ = marked_exit;
  l.stop_requested_ = stop_requested;
  return l;
}

void WorkerLife::record_exit(const ExitReason& reason) {
  if (reason.code) exit_.code = reason.code;
  if (reason.signal) exit_.signal = reason.signal;
  exit_.oom = exit_.oom || reason.oom;
}

void WorkerLife::mark_exited(int64_t now_ms) {
  if (!exited_at_ms_) exited_at_ms_ = now_ms;
}

void WorkerLife::follow_processes(const std::vector<int32_t>& pids) {
  if (ours()) return;
  if (main_pid_ && std::find(pids.begin(), pids.end(), *main_pid_) == pids.end()) main_pid_.reset();
  if (!main_pid_ && !pids.empty()) main_pid_ = pids.front();
}

}  // namespace rbee::hive
