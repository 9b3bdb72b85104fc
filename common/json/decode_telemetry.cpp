// The telemetry documents a Hive serves and pushes: the snapshot, the worker list, one worker.
#include "common/json/decode.h"

#include <limits>

#include "common/json/reader.h"
#include "common/json/schema_reader.h"

namespace rbee::json {

using namespace detail;

Result<telemetry::Snapshot> decode_snapshot(std::string_view json, const DecodeLimits& limits) {
  telemetry::Snapshot s;
  if (auto st = decode_snapshot_into(json, s, limits); !st) return st.error();
  return s;
}

constexpr std::string_view kSnapshotMembers[] = {
    "schema_version", "hive_id", "instance_id", "seq",        "timestamp_ms", "interval_ms",
    "backend",        "host",    "gpus",        "gpus_stale", "workers"};

Status decode_snapshot_into(std::string_view json, telemetry::Snapshot& s,
                            const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  auto o = r.obj(*doc, "snapshot");
  if (!o) return make_error(r.fail->message);
  // Everything but the workers' storage back to a default-constructed snapshot.
  s.schema_version = telemetry::kSchemaVersion;
  s.hive_id.clear();
  s.instance_id.clear();
  s.seq = 0;
  s.timestamp_ms = 0;
  s.interval_ms = telemetry::Snapshot{}.interval_ms;
  s.backend.clear();
  s.host = {};
  s.gpus.clear();
  s.gpus_stale = false;
  std::size_t workers = 0;  // decoded so far; s.workers beyond are spare storage
  bool have_version = false, have_hive = false, have_instance = false, have_seq = false,
       have_workers = false;
  auto index_of = [](std::string_view key) { return index_in(kSnapshotMembers, key); };
  auto read_member = [&](std::string_view key, element v, const Path& p, std::size_t) {
    if (key == "schema_version") {
      if (auto n = r.i64(v, p, 1, 1000)) {
        if (*n != telemetry::kSchemaVersion)
          r.error(p.str(), std::to_string(*n) + " is not supported (this build speaks " +
                               std::to_string(telemetry::kSchemaVersion) + ")");
        s.schema_version = static_cast<int>(*n);
        have_version = true;
      }
    } else if (key == "hive_id") {
      if (auto id = r.str(v, p)) {
        if (id->empty()) r.error(p.str(), "must not be empty");
        s.hive_id = *id;
        have_hive = true;
      }
    } else if (key == "instance_id") {
      if (auto id = r.str(v, p)) s.instance_id = *id, have_instance = !id->empty();
    } else if (key == "seq") {
      if (auto n = r.u64(v, p)) s.seq = *n, have_seq = true;
    } else if (key == "timestamp_ms") {
      if (auto n = r.i64(v, p, 0, std::numeric_limits<int64_t>::max())) s.timestamp_ms = *n;
    } else if (key == "interval_ms") {
      if (auto n = r.u64(v, p, 3600 * 1000)) s.interval_ms = static_cast<uint32_t>(*n);
    } else if (key == "backend") {
      if (auto b = r.str(v, p)) s.backend = *b;
    } else if (key == "host") {
      read_host(r, v, s.host);
    } else if (key == "gpus") {
      if (auto a = r.arr(v, p, limits.max_gpus)) {
        s.gpus.reserve(a->size());
        std::size_t i = 0;
        for (element g : *a) read_gpu(r, g, Path{"gpus", i++, {}}, s.gpus.emplace_back());
      }
    } else if (key == "gpus_stale") {
      bool b = false;
      if (v.get_bool().get(b)) r.error(p.str(), "must be true or false");
      s.gpus_stale = b;
    } else if (key == "workers") {
      if (auto a = r.arr(v, p, limits.max_workers)) {
        have_workers = true;
        if (s.workers.size() < workers + a->size()) s.workers.reserve(workers + a->size());
        std::size_t i = 0;
        for (element w : *a) {
          telemetry::Worker* target;
          if (workers < s.workers.size()) {
            target = &s.workers[workers];
            reset_worker(*target);
          } else {
            target = &s.workers.emplace_back();
          }
          ++workers;
          read_worker(r, w, Path{"workers", i++, {}}, *target);
          if (r.fail) break;
        }
      }
    }
  };
  r.each_member(*o, Path{}, index_of, read_member);
  if (r.fail) return make_error(r.fail->message);
  if (!have_version || !have_hive || !have_instance || !have_seq || !have_workers)
    return make_error("snapshot must have schema_version, hive_id, instance_id, seq and workers");
  s.workers.resize(workers);
  return Ok{};
}

Result<std::vector<telemetry::Worker>> decode_worker_list(std::string_view json,
                                                          const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  auto top = r.unique_obj(*doc, Path{});
  if (!top) return make_error(r.fail->message);
  element workers;
  if (top->at_key("workers").get(workers)) return make_error("workers: missing");
  std::vector<telemetry::Worker> out;
  if (auto a = r.arr(workers, "workers", limits.max_workers)) {
    std::size_t i = 0;
    out.reserve(a->size());
    for (element w : *a) {
      read_worker(r, w, Path{"workers", i++, {}}, out.emplace_back());
      if (r.fail) break;
    }
  }
  if (r.fail) return make_error(r.fail->message);
  return out;
}

Result<telemetry::Worker> decode_worker(std::string_view json, const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  telemetry::Worker w;
  read_worker(r, *doc, Path{"worker", Path::kNoIndex, {}}, w);
  if (r.fail) return make_error(r.fail->message);
  return w;
}

}  // namespace rbee::json
