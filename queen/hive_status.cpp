#include "queen/hive_status.h"

namespace rbee::queen {

namespace {

int64_t effective_interval_ms(uint32_t interval_ms) {
  return interval_ms ? interval_ms : 1000;
}

}  // namespace

HiveStatus StalenessRule::status_at_age(int64_t age_ms, uint32_t interval_ms) const {
  const int64_t interval = effective_interval_ms(interval_ms);
  if (age_ms < interval * stale_after_intervals) return HiveStatus::healthy;
  if (age_ms < interval * down_after_intervals) return HiveStatus::degraded;
  return HiveStatus::down;
}

int64_t StalenessRule::down_for_ms(int64_t age_ms, uint32_t interval_ms) const {
  return age_ms - effective_interval_ms(interval_ms) * down_after_intervals;
}

}  // namespace rbee::queen
