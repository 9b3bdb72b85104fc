#pragma once
// When the Hive starts a worker again after it failed, and how long it waits first.
#include <chrono>
#include <cstdint>

#include "common/telemetry.h"
#include "hive/hive_config.h"
#include "hive/worker_life.h"

namespace rbee::hive {

// The wait before a worker's next restart after `restarts` earlier ones: 1 s, doubling to 32 s.
std::chrono::milliseconds restart_backoff(uint32_t restarts);

// A worker that just ended is started again when it failed (or was OOM-killed) without being
// asked to stop, the Hive started it in this run (it knows the request), the Hive owns the tree
// (under systemd the unit's Restart= does this) and its service says restart = "on-failure".
bool should_restart(const WorkerLife& life, telemetry::WorkerState state, const ServiceSpec* spec,
                    bool request_known, bool hive_owns_cgroups);

}  // namespace rbee::hive
