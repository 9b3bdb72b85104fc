#pragma once
// The only module that touches simdjson: network and disk JSON in, validated values out.
// Every decode is bounded (bytes, depth, counts, string lengths) and names the bad field.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
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
// The same into `out`, reusing the storage of the workers already in it (their strings and
// lists) instead of allocating new ones: a Queen decodes a snapshot per Hive per tick. On
// success `out` equals what decode_snapshot returns; on error its contents are unspecified.
Status decode_snapshot_into(std::string_view json, telemetry::Snapshot& out,
                            const DecodeLimits& = {});
// {"workers": [...]} as served by GET /v1/workers.
Result<std::vector<telemetry::Worker>> decode_worker_list(std::string_view json,
                                                          const DecodeLimits& = {});
Result<telemetry::Worker> decode_worker(std::string_view json, const DecodeLimits& = {});
Result<api::SpawnRequest> decode_spawn_request(std::string_view json, const DecodeLimits& = {});
// {"error": "..."}: the message of an API error body, or the body itself when it is not one.
std::string decode_error_message(std::string_view json);

// --- Added for rbee-queen -------------------------------------------------------------------

// A catalog service as GET /capabilities lists it.
struct CapabilityService {
  std::string name;
  std::optional<uint16_t> base_port;
  std::string restart;
};

// GET /capabilities of a Hive (with ?queen_url= it also carries the subscription). Unknown
// members are ignored; hive_id and instance_id are required.
struct Capabilities {
  std::string hive_id;
  std::string instance_id;
  std::string version;
  int schema_version = 0;
  std::string backend;
  std::string cgroup_root;
  std::vector<std::string> controllers;
  uint32_t interval_ms = 0;
  std::string auth;
  std::optional<uint32_t> cpus;
  std::optional<uint64_t> memory_total_bytes;
  std::optional<uint64_t> gpus;
  std::vector<CapabilityService> services;
  std::optional<std::string> subscription_queen_url;
  std::optional<uint64_t> subscription_drop_after_ms;
};
Result<Capabilities> decode_capabilities(std::string_view json, const DecodeLimits& = {});

// One entry of the Queen's GET /v1/workers: a Hive worker plus where it runs.
struct HostedWorker {
  std::string hive_id;
  std::string url;  // empty when the worker has no port
  telemetry::Worker worker;
};
Result<std::vector<HostedWorker>> decode_hosted_workers(std::string_view json,
                                                        const DecodeLimits& = {});

// One entry of the Queen's GET /v1/hives.
struct HiveSummary {
  std::string id;
  std::string alias;
  std::string address;
  std::string source;
  std::string status;
  std::optional<int64_t> last_seen_ms;
  std::optional<int64_t> age_ms;
  std::string instance_id;
  uint64_t seq = 0;
  uint64_t worker_count = 0;
  std::string last_error;
};
Result<std::vector<HiveSummary>> decode_hive_list(std::string_view json, const DecodeLimits& = {});

}  // namespace rbee::json
