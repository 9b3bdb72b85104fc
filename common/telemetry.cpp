#include "common/telemetry.h"

namespace rbee::telemetry {

std::string_view to_string(WorkerState s) {
  switch (s) {
    case WorkerState::starting:
      return "starting";
    case WorkerState::ready:
      return "ready";
    case WorkerState::stopping:
      return "stopping";
    case WorkerState::exited:
      return "exited";
    case WorkerState::failed:
      return "failed";
    case WorkerState::oom:
      return "oom";
    case WorkerState::unknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<WorkerState> parse_worker_state(std::string_view s) {
  for (auto st :
       {WorkerState::starting, WorkerState::ready, WorkerState::stopping, WorkerState::exited,
        WorkerState::failed, WorkerState::oom, WorkerState::unknown}) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

bool is_terminal(WorkerState s) {
  return s == WorkerState::exited || s == WorkerState::failed || s == WorkerState::oom;
}

}  // namespace rbee::telemetry
