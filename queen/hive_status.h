#pragma once
// A Hive's status from the age of its last snapshot, counted in its push intervals. Pure
// functions of times, so the rule is tested without a clock.
#include <cstdint>

#include "queen/hive_entry.h"

namespace rbee::queen {

struct StalenessRule {
  uint32_t stale_after_intervals = 3;  // degraded from this many intervals without a snapshot
  uint32_t down_after_intervals = 10;  // down from this many

  // healthy, degraded or down; an interval of 0 (not yet known) counts as 1 s.
  HiveStatus status_at_age(int64_t age_ms, uint32_t interval_ms) const;
  // How long a Hive of this age has been down; negative while it is not.
  int64_t down_for_ms(int64_t age_ms, uint32_t interval_ms) const;
};

}  // namespace rbee::queen
