#include "common/telemetry.h"

namespace rbee::telemetry {

bool is_terminal(WorkerState s) {
  return s == WorkerState::exited || s == WorkerState::failed || s == WorkerState::oom;
}

}  // namespace rbee::telemetry
