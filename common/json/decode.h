#pragma once
// The only module that touches simdjson: network and disk JSON in, validated values out.
// Every decode is bounded (bytes, depth, counts, string lengths) and names the bad field.
#include <cstddef>
#include <string_view>
#include <vector>

#include "common/api.h"
#include "common/result.h"
#include "common/telemetry.h"

namespace rbee::json {

struct DecodeLimits {
  std::size_t max_bytes = 16 * 1024 * 1024;
  std::size_t max_depth = 16;
  std::size_t max_workers = 10000;
  std::size_t max_gpus = 64;
  std::size_t max_pids_per_worker = 4096;
  std::size_t max_string = 256;
  std::size_t max_args = 64;
  std::size_t max_env = 64;
  std::size_t max_arg_length = 4096;
};

Result<telemetry::Snapshot> decode_snapshot(std::string_view json, const DecodeLimits& = {});
// {"workers": [...]} as served by GET /v1/workers.
Result<std::vector<telemetry::Worker>> decode_worker_list(std::string_view json,
                                                           const DecodeLimits& = {});
Result<telemetry::Worker> decode_worker(std::string_view json, const DecodeLimits& = {});
Result<api::SpawnRequest> decode_spawn_request(std::string_view json, const DecodeLimits& = {});
// {"error": "..."}: the message of an API error body, or the body itself when it is not one.
std::string decode_error_message(std::string_view json);

}  // namespace rbee::json
