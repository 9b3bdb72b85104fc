#pragma once
// Which of a Hive's workers a new snapshot added, kept or removed, by their "service/instance"
// key. A pure function of the two lists; the Registry turns the result into events.
#include <cstdint>
#include <vector>

#include "common/telemetry.h"

namespace rbee::queen {

struct WorkerDiff {
  std::vector<int64_t> held_index;  // per new worker: the held worker of its key, or -1
  std::vector<char> removed;        // per held worker: no new worker has its key
};

// Pairs each new worker with the held one of the same key by walking both lists in key order.
// With repeated keys (never sent by a Hive) the first new one is paired with the first held one,
// later new ones count as added, and held ones go only when no new one has their key. `out` is
// overwritten; its storage is reused.
void diff_workers(const std::vector<telemetry::Worker>& held,
                  const std::vector<telemetry::Worker>& next, WorkerDiff& out);

}  // namespace rbee::queen
