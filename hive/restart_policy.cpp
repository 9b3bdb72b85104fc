#include "hive/restart_policy.h"

#include <algorithm>

namespace rbee::hive {

std::chrono::milliseconds restart_backoff(uint32_t restarts) {
  return std::chrono::seconds(1u << std::min(restarts, 5u));
}

bool should_restart(const WorkerLife& life, telemetry::WorkerState state, const ServiceSpec* spec,
                    bool request_known, bool hive_owns_cgroups) {
  using telemetry::WorkerState;
  if (life.stop_requested()) return false;
  if (state != WorkerState::failed && state != WorkerState::oom) return false;
  if (!life.ours() || !hive_owns_cgroups || !request_known) return false;
  return spec && spec->restart == RestartPolicy::on_failure;
}

}  // namespace rbee::hive
