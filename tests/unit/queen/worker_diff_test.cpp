// Pairing a snapshot's workers with the held ones by "service/instance".
#include <catch2/catch.hpp>

#include "queen/worker_diff.h"

using namespace rbee;
using namespace rbee::queen;

namespace {

telemetry::Worker worker(std::string service, std::string instance) {
  telemetry::Worker w;
  w.service = std::move(service);
  w.instance = std::move(instance);
  return w;
}

}  // namespace

TEST_CASE("a new snapshot's workers are matched, added and removed by key, in any order") {
  const std::vector<telemetry::Worker> held = {worker("llm", "8000"), worker("llm", "8001")};
  const std::vector<telemetry::Worker> next = {worker("tts", "9000"), worker("llm", "8001")};
  WorkerDiff diff;
  diff_workers(held, next, diff);
  CHECK(diff.held_index == std::vector<int64_t>{-1, 1});
  CHECK(diff.removed == std::vector<char>{1, 0});
}

TEST_CASE("a '/' in a service name compares as the joined key") {
  // "a/b" + "c" and "a" + "b/c" are both "a/b/c": one worker to the Queen.
  const std::vector<telemetry::Worker> held = {worker("a/b", "c")};
  const std::vector<telemetry::Worker> next = {worker("a", "b/c")};
  WorkerDiff diff;
  diff_workers(held, next, diff);
  CHECK(diff.held_index == std::vector<int64_t>{0});
  CHECK(diff.removed == std::vector<char>{0});
}
