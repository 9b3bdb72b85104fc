// A Hive's status as a function of the age of its last snapshot.
#include <catch2/catch.hpp>

#include "queen/hive_status.h"

using namespace rbee::queen;

TEST_CASE("a Hive is degraded after 3 intervals without a snapshot and down after 10") {
  const StalenessRule rule{.stale_after_intervals = 3, .down_after_intervals = 10};
  CHECK(rule.status_at_age(2999, 1000) == HiveStatus::healthy);
  CHECK(rule.status_at_age(3000, 1000) == HiveStatus::degraded);
  CHECK(rule.status_at_age(9999, 1000) == HiveStatus::degraded);
  CHECK(rule.status_at_age(10000, 1000) == HiveStatus::down);
  CHECK(rule.status_at_age(1000, 250) == HiveStatus::degraded);
}

TEST_CASE("an unknown interval counts as one second") {
  const StalenessRule rule;
  CHECK(rule.status_at_age(2999, 0) == HiveStatus::healthy);
  CHECK(rule.down_for_ms(12000, 0) == 2000);
  CHECK(rule.down_for_ms(5000, 0) < 0);
}
