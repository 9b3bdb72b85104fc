#pragma once
// Catch2 checks shared by the integration tests. The harness (harness.h) stays free of Catch2:
// the benchmarks link it too.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "harness.h"

namespace rbee::test {

// Spawns the test worker through the API (it must answer 201 with an instance) and returns the
// worker's instance (its port).
inline std::string spawn_ok(const Hive& hive, const std::vector<std::string>& args,
                            const std::string& token = "") {
  auto r = hive.post("/v1/workers", spawn_body("tw", std::nullopt, args), token);
  INFO((r ? std::string() : r.error().message) << "\n" << hive.daemon_log());
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 201);
  auto instance = instance_of(r->body);
  REQUIRE(!instance.empty());
  return instance;
}

}  // namespace rbee::test
