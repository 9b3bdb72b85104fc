#pragma once
// The host part of a snapshot: CPUs, memory, load; and process facts read from /proc.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/telemetry.h"

namespace rbee::hive {

telemetry::Host read_host();
// Proportional set size of one process in bytes (smaps_rollup), statm's resident set as fallback.
std::optional<uint64_t> process_memory_bytes(int32_t pid);
// Wall-clock start of a process in ms since the epoch, from /proc/PID/stat and the boot time.
std::optional<int64_t> process_start_ms(int32_t pid);
std::optional<int32_t> process_parent(int32_t pid);
// A worker's main process among its cgroup's: the marked one while it is there, else the root of
// the cgroup's process tree (the oldest on a tie).
std::optional<int32_t> find_main_process(const std::vector<int32_t>& pids,
                                         std::optional<int64_t> marked);
int64_t now_ms();
// Set in the environment of every worker the Hive starts.
inline constexpr const char* kSpawnedByEnv = "RBEE_SPAWNED_BY";
// True when the process's environment carries RBEE_SPAWNED_BY=hive.
bool process_spawned_by_hive(int32_t pid);

}  // namespace rbee::hive
