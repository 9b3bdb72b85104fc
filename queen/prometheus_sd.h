#pragma once
// The Queen as a Prometheus HTTP service discovery source: the Hives it holds as scrape
// targets. See docs/queen.md ("Prometheus service discovery") and docs/operations.md.
#include <string>
#include <vector>

#include "queen/hive_entry.h"

namespace rbee::queen {

// [{"targets":["host:port"],"labels":{"hive_id":...,"alias":...,"source":...}}, ...]: one
// group per Hive that is not down and has an address, labels only where known.
std::string prometheus_targets(const std::vector<const HiveEntry*>& hives);

}  // namespace rbee::queen
