#include "common/json/decode.h"

#include <simdjson.h>

#include <cmath>
#include <limits>

namespace rbee::json {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// A decode error that names the field: "workers[3].port: must be 1-65535".
struct Fail {
  std::string message;
};

class Reader {
 public:
  explicit Reader(const DecodeLimits& l) : limits_(l) {}

  std::optional<Fail> fail;

  void error(std::string path, std::string what) {
    if (!fail) fail = Fail{std::move(path) + ": " + std::move(what)};
  }

  std::optional<std::string> str(element e, const std::string& path) {
    std::string_view v;
    if (e.get_string().get(v)) return error(path, "must be a string"), std::nullopt;
    if (v.size() > limits_.max_string)
      return error(path, "is longer than " + std::to_string(limits_.max_string) + " bytes"),
             std::nullopt;
    return std::string(v);
  }

  std::optional<uint64_t> u64(element e, const std::string& path,
                              uint64_t max = std::numeric_limits<uint64_t>::max()) {
    uint64_t v;
    if (e.get_uint64().get(v)) return error(path, "must be a non-negative integer"), std::nullopt;
    if (v > max) return error(path, "must be at most " + std::to_string(max)), std::nullopt;
    return v;
  }

  std::optional<int64_t> i64(element e, const std::string& path, int64_t min, int64_t max) {
    int64_t v;
    if (e.get_int64().get(v) || v < min || v > max)
      return error(path,
                   "must be an integer from " + std::to_string(min) + " to " + std::to_string(max)),
             std::nullopt;
    return v;
  }

  std::optional<double> num(element e, const std::string& path, double min, double max) {
    double v;
    if (e.get_double().get(v) || !std::isfinite(v) || v < min || v > max)
      return error(path,
                   "must be a number from " + std::to_string(min) + " to " + std::to_string(max)),
             std::nullopt;
    return v;
  }

  std::optional<array> arr(element e, const std::string& path, std::size_t max) {
    array a;
    if (e.get_array().get(a)) return error(path, "must be an array"), std::nullopt;
    if (a.size() > max)
      return error(path, "has more than " + std::to_string(max) + " entries"), std::nullopt;
    return a;
  }

  std::optional<object> obj(element e, const std::string& path) {
    object o;
    if (e.get_object().get(o)) return error(path, "must be an object"), std::nullopt;
    return o;
  }

  const DecodeLimits& limits_;
};

template <class T>
void set(std::optional<T>& out, std::optional<T> v) {
  if (v) out = std::move(v);
}

void read_worker(Reader& r, element e, const std::string& path, telemetry::Worker& w) {
  auto o = r.obj(e, path);
  if (!o) return;
  bool have_service = false, have_instance = false, have_state = false;
  for (auto [key, v] : *o) {
    if (r.fail) return;
    const std::string p = path + "." + std::string(key);
    if (key == "service") {
      if (auto s = r.str(v, p)) w.service = *s, have_service = true;
    } else if (key == "instance") {
      if (auto s = r.str(v, p)) w.instance = *s, have_instance = true;
    } else if (key == "port") {
      if (auto n = r.i64(v, p, 1, 65535)) w.port = static_cast<uint16_t>(*n);
    } else if (key == "cgroup") {
      if (auto s = r.str(v, p)) w.cgroup = *s;
    } else if (key == "unit") {
      set(w.unit, r.str(v, p));
    } else if (key == "state") {
      if (auto s = r.str(v, p)) {
        auto st = telemetry::parse_worker_state(*s);
        if (!st)
          r.error(p, "is not a known state");
        else
          w.state = *st, have_state = true;
      }
    } else if (key == "cpu_usage_usec") {
      set(w.cpu_usage_usec, r.u64(v, p));
    } else if (key == "cpu_pct") {
      set(w.cpu_pct, r.num(v, p, 0, 1e6));
    } else if (key == "rss_bytes") {
      set(w.rss_bytes, r.u64(v, p));
    } else if (key == "working_set_bytes") {
      set(w.working_set_bytes, r.u64(v, p));
    } else if (key == "mem_source") {
      set(w.mem_source, r.str(v, p));
    } else if (key == "memory_max_bytes") {
      set(w.memory_max_bytes, r.u64(v, p));
    } else if (key == "pids") {
      if (auto a = r.arr(v, p, r.limits_.max_pids_per_worker)) {
        for (element pe : *a) {
          if (auto n = r.i64(pe, p, 1, std::numeric_limits<int32_t>::max()))
            w.pids.push_back(static_cast<int32_t>(*n));
        }
      }
    } else if (key == "pid_count") {
      if (auto n = r.u64(v, p, 1u << 30)) w.pid_count = static_cast<uint32_t>(*n);
    } else if (key == "main_pid") {
      if (auto n = r.i64(v, p, 1, std::numeric_limits<int32_t>::max()))
        w.main_pid = static_cast<int32_t>(*n);
    } else if (key == "io_read_bytes") {
      set(w.io_read_bytes, r.u64(v, p));
    } else if (key == "io_write_bytes") {
      set(w.io_write_bytes, r.u64(v, p));
    } else if (key == "io_read_bps") {
      set(w.io_read_bps, r.num(v, p, 0, 1e15));
    } else if (key == "io_write_bps") {
      set(w.io_write_bps, r.num(v, p, 0, 1e15));
    } else if (key == "oom_kills") {
      set(w.oom_kills, r.u64(v, p));
    } else if (key == "exit_code") {
      if (auto n = r.i64(v, p, 0, 255)) w.exit_code = static_cast<int32_t>(*n);
    } else if (key == "signal") {
      if (auto n = r.i64(v, p, 1, 128)) w.signal = static_cast<int32_t>(*n);
    } else if (key == "started_at_ms") {
      set(w.started_at_ms, r.i64(v, p, 0, std::numeric_limits<int64_t>::max()));
    } else if (key == "exited_at_ms") {
      set(w.exited_at_ms, r.i64(v, p, 0, std::numeric_limits<int64_t>::max()));
    } else if (key == "spawned_by") {
      if (auto s = r.str(v, p)) {
        if (*s != "hive" && *s != "external")
          r.error(p, "must be \"hive\" or \"external\"");
        else
          w.spawned_by = *s;
      }
    } else if (key == "restarts") {
      if (auto n = r.u64(v, p, 1u << 30)) w.restarts = static_cast<uint32_t>(*n);
    } else if (key == "vram_bytes") {
      set(w.vram_bytes, r.u64(v, p));
    } else if (key == "gpu_indices") {
      if (auto a = r.arr(v, p, r.limits_.max_gpus)) {
        for (element ge : *a) {
          if (auto n = r.u64(ge, p, 1023)) w.gpu_indices.push_back(static_cast<uint32_t>(*n));
        }
      }
    }
    // Unknown members are ignored: newer Hives may add fields.
  }
  if (r.fail) return;
  if (!have_service || !have_instance || !have_state)
    r.error(path, "must have service, instance and state");
}

void read_host(Reader& r, element e, telemetry::Host& h) {
  auto o = r.obj(e, "host");
  if (!o) return;
  for (auto [key, v] : *o) {
    const std::string p = "host." + std::string(key);
    if (key == "hostname") {
      if (auto s = r.str(v, p)) h.hostname = *s;
    } else if (key == "cpus") {
      if (auto n = r.u64(v, p, 1u << 20)) h.cpus = static_cast<uint32_t>(*n);
    } else if (key == "memory_total_bytes") {
      set(h.memory_total_bytes, r.u64(v, p));
    } else if (key == "memory_available_bytes") {
      set(h.memory_available_bytes, r.u64(v, p));
    } else if (key == "load1") {
      set(h.load1, r.num(v, p, 0, 1e6));
    } else if (key == "load5") {
      set(h.load5, r.num(v, p, 0, 1e6));
    } else if (key == "load15") {
      set(h.load15, r.num(v, p, 0, 1e6));
    }
  }
}

void read_gpu(Reader& r, element e, const std::string& path, telemetry::Gpu& g) {
  auto o = r.obj(e, path);
  if (!o) return;
  for (auto [key, v] : *o) {
    const std::string p = path + "." + std::string(key);
    if (key == "index") {
      if (auto n = r.u64(v, p, 1023)) g.index = static_cast<uint32_t>(*n);
    } else if (key == "uuid") {
      if (auto s = r.str(v, p)) g.uuid = *s;
    } else if (key == "name") {
      if (auto s = r.str(v, p)) g.name = *s;
    } else if (key == "memory_total_bytes") {
      set(g.memory_total_bytes, r.u64(v, p));
    } else if (key == "memory_used_bytes") {
      set(g.memory_used_bytes, r.u64(v, p));
    } else if (key == "util_pct") {
      set(g.util_pct, r.num(v, p, 0, 100));
    } else if (key == "temperature_c") {
      set(g.temperature_c, r.num(v, p, -100, 300));
    }
  }
}

// Parses a whole document with the size and depth limits; one parser per thread, reused.
Result<element> parse(std::string_view json, const DecodeLimits& limits) {
  if (json.size() > limits.max_bytes)
    return make_error("body is " + std::to_string(json.size()) + " bytes, over the limit of " +
                      std::to_string(limits.max_bytes));
  thread_local simdjson::dom::parser parser;
  thread_local std::size_t allocated_depth = 0;
  if (allocated_depth != limits.max_depth || parser.capacity() < json.size()) {
    if (parser.allocate(std::max<std::size_t>(json.size(), 4096), limits.max_depth))
      return make_error("out of memory for the JSON parser");
    allocated_depth = limits.max_depth;
  }
  element doc;
  if (auto err = parser.parse(json.data(), json.size(), true).get(doc))
    return make_error(std::string("malformed JSON: ") + simdjson::error_message(err));
  return doc;
}

}  // namespace

Result<telemetry::Snapshot> decode_snapshot(std::string_view json, const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  auto o = r.obj(*doc, "snapshot");
  if (!o) return make_error(r.fail->message);
  telemetry::Snapshot s;
  bool have_version = false, have_hive = false, have_instance = false, have_seq = false,
       have_workers = false;
  for (auto [key, v] : *o) {
    if (r.fail) break;
    const std::string p(key);
    if (key == "schema_version") {
      if (auto n = r.i64(v, p, 1, 1000)) {
        if (*n != telemetry::kSchemaVersion)
          r.error(p, std::to_string(*n) + " is not supported (this build speaks " +
                         std::to_string(telemetry::kSchemaVersion) + ")");
        s.schema_version = static_cast<int>(*n);
        have_version = true;
      }
    } else if (key == "hive_id") {
      if (auto id = r.str(v, p)) {
        if (id->empty()) r.error(p, "must not be empty");
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
        std::size_t i = 0;
        for (element g : *a)
          read_gpu(r, g, "gpus[" + std::to_string(i++) + "]", s.gpus.emplace_back());
      }
    } else if (key == "gpus_stale") {
      bool b = false;
      if (v.get_bool().get(b)) r.error(p, "must be true or false");
      s.gpus_stale = b;
    } else if (key == "workers") {
      if (auto a = r.arr(v, p, limits.max_workers)) {
        have_workers = true;
        s.workers.reserve(a->size());
        std::size_t i = 0;
        for (element w : *a) {
          read_worker(r, w, "workers[" + std::to_string(i++) + "]", s.workers.emplace_back());
          if (r.fail) break;
        }
      }
    }
  }
  if (r.fail) return make_error(r.fail->message);
  if (!have_version || !have_hive || !have_instance || !have_seq || !have_workers)
    return make_error("snapshot must have schema_version, hive_id, instance_id, seq and workers");
  return s;
}

Result<std::vector<telemetry::Worker>> decode_worker_list(std::string_view json,
                                                          const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  element workers;
  if (doc->at_key("workers").get(workers)) return make_error("workers: missing");
  std::vector<telemetry::Worker> out;
  if (auto a = r.arr(workers, "workers", limits.max_workers)) {
    std::size_t i = 0;
    for (element w : *a) {
      read_worker(r, w, "workers[" + std::to_string(i++) + "]", out.emplace_back());
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
  read_worker(r, *doc, "worker", w);
  if (r.fail) return make_error(r.fail->message);
  return w;
}

Result<api::SpawnRequest> decode_spawn_request(std::string_view json, const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  auto o = r.obj(*doc, "request");
  if (!o) return make_error(r.fail->message);
  api::SpawnRequest req;
  bool have_service = false;
  for (auto [key, v] : *o) {
    if (r.fail) break;
    const std::string p(key);
    if (key == "service") {
      if (auto s = r.str(v, p)) req.service = *s, have_service = true;
    } else if (key == "port") {
      if (auto n = r.i64(v, p, 1, 65535)) req.port = static_cast<uint16_t>(*n);
    } else if (key == "args") {
      if (auto a = r.arr(v, p, limits.max_args)) {
        for (element ae : *a) {
          std::string_view s;
          if (ae.get_string().get(s) || s.size() > limits.max_arg_length ||
              s.find('\0') != std::string_view::npos) {
            r.error(p, "must be strings of at most " + std::to_string(limits.max_arg_length) +
                           " bytes without NUL");
            break;
          }
          req.args.emplace_back(s);
        }
      }
    } else if (key == "env") {
      if (auto eo = r.obj(v, p)) {
        if (eo->size() > limits.max_env) {
          r.error(p, "has more than " + std::to_string(limits.max_env) + " entries");
          break;
        }
        for (auto [name, val] : *eo) {
          std::string_view s;
          if (name.empty() || name.size() > limits.max_string ||
              name.find_first_of("=\0", 0, 2) != std::string_view::npos ||
              val.get_string().get(s) || s.size() > limits.max_arg_length ||
              s.find('\0') != std::string_view::npos) {
            r.error(p + "." + std::string(name), "must be a string (names without '=')");
            break;
          }
          req.env.emplace(std::string(name), std::string(s));
        }
      }
    } else if (key == "gpus") {
      if (auto a = r.arr(v, p, limits.max_gpus)) {
        std::vector<uint32_t> gpus;
        for (element ge : *a) {
          if (auto n = r.u64(ge, p, 1023)) gpus.push_back(static_cast<uint32_t>(*n));
        }
        req.gpus = std::move(gpus);
      }
    } else {
      r.error(p, "is not a known field (service, port, args, env, gpus)");
    }
  }
  if (r.fail) return make_error(r.fail->message);
  if (!have_service) return make_error("service: missing");
  return req;
}

std::string decode_error_message(std::string_view json) {
  DecodeLimits limits;
  limits.max_bytes = 64 * 1024;
  auto doc = parse(json, limits);
  std::string_view msg;
  if (doc && !doc->at_key("error").get_string().get(msg)) return std::string(msg);
  return std::string(json.substr(0, 200));
}

// --- Added for rbee-queen -------------------------------------------------------------------

Result<Capabilities> decode_capabilities(std::string_view json, const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  auto o = r.obj(*doc, "capabilities");
  if (!o) return make_error(r.fail->message);
  Capabilities c;
  for (auto [key, v] : *o) {
    if (r.fail) break;
    const std::string p(key);
    if (key == "hive_id") {
      if (auto s = r.str(v, p)) c.hive_id = *s;
    } else if (key == "instance_id") {
      if (auto s = r.str(v, p)) c.instance_id = *s;
    } else if (key == "version") {
      if (auto s = r.str(v, p)) c.version = *s;
    } else if (key == "schema_version") {
      if (auto n = r.i64(v, p, 0, 1000)) c.schema_version = static_cast<int>(*n);
    } else if (key == "backend") {
      if (auto s = r.str(v, p)) c.backend = *s;
    } else if (key == "cgroup_root") {
      if (auto s = r.str(v, p)) c.cgroup_root = *s;
    } else if (key == "controllers") {
      if (auto a = r.arr(v, p, 64)) {
        for (element ce : *a) {
          if (auto s = r.str(ce, p)) c.controllers.push_back(*s);
        }
      }
    } else if (key == "interval_ms") {
      if (auto n = r.u64(v, p, 3600 * 1000)) c.interval_ms = static_cast<uint32_t>(*n);
    } else if (key == "auth") {
      if (auto s = r.str(v, p)) c.auth = *s;
    } else if (key == "cpus") {
      if (auto n = r.u64(v, p, 1u << 20)) c.cpus = static_cast<uint32_t>(*n);
    } else if (key == "memory_total_bytes") {
      set(c.memory_total_bytes, r.u64(v, p));
    } else if (key == "gpus") {
      // A count in this version; a newer Hive may send a list, which is not an error.
      uint64_t n;
      if (!v.get_uint64().get(n)) c.gpus = n;
    } else if (key == "services") {
      if (auto a = r.arr(v, p, 1024)) {
        std::size_t i = 0;
        for (element se : *a) {
          const std::string sp = "services[" + std::to_string(i++) + "]";
          auto so = r.obj(se, sp);
          if (!so) break;
          CapabilityService svc;
          for (auto [sk, sv] : *so) {
            if (sk == "name") {
              if (auto s = r.str(sv, sp + ".name")) svc.name = *s;
            } else if (sk == "base_port") {
              if (auto n = r.i64(sv, sp + ".base_port", 1, 65535))
                svc.base_port = static_cast<uint16_t>(*n);
            } else if (sk == "restart") {
              if (auto s = r.str(sv, sp + ".restart")) svc.restart = *s;
            }
          }
          c.services.push_back(std::move(svc));
        }
      }
    } else if (key == "subscription") {
      if (auto so = r.obj(v, p)) {
        for (auto [sk, sv] : *so) {
          if (sk == "queen_url") {
            DecodeLimits url_limits = limits;
            url_limits.max_string = 2048;
            Reader ur(url_limits);
            if (auto s = ur.str(sv, "subscription.queen_url"))
              c.subscription_queen_url = *s;
            else
              r.error("subscription.queen_url", "must be a string of at most 2048 bytes");
          } else if (sk == "drop_after_ms") {
            set(c.subscription_drop_after_ms, r.u64(sv, "subscription.drop_after_ms"));
          }
        }
      }
    }
  }
  if (r.fail) return make_error(r.fail->message);
  if (c.hive_id.empty() || c.instance_id.empty())
    return make_error("capabilities must have hive_id and instance_id");
  return c;
}

Result<std::vector<HostedWorker>> decode_hosted_workers(std::string_view json,
                                                        const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  element workers;
  if (doc->at_key("workers").get(workers)) return make_error("workers: missing");
  std::vector<HostedWorker> out;
  if (auto a = r.arr(workers, "workers", limits.max_workers * 16)) {
    std::size_t i = 0;
    for (element w : *a) {
      const std::string path = "workers[" + std::to_string(i++) + "]";
      HostedWorker& hw = out.emplace_back();
      read_worker(r, w, path, hw.worker);
      if (r.fail) break;
      std::string_view s;
      if (!w.at_key("hive_id").get_string().get(s)) hw.hive_id = std::string(s.substr(0, 256));
      if (!w.at_key("url").get_string().get(s)) hw.url = std::string(s.substr(0, 2048));
    }
  }
  if (r.fail) return make_error(r.fail->message);
  return out;
}

Result<std::vector<HiveSummary>> decode_hive_list(std::string_view json,
                                                  const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  element hives;
  if (doc->at_key("hives").get(hives)) return make_error("hives: missing");
  std::vector<HiveSummary> out;
  if (auto a = r.arr(hives, "hives", 100000)) {
    for (element h : *a) {
      HiveSummary& s = out.emplace_back();
      auto text = [&](const char* key, std::string& dst) {
        std::string_view v;
        if (!h.at_key(key).get_string().get(v)) dst = std::string(v.substr(0, 4096));
      };
      text("id", s.id);
      text("alias", s.alias);
      text("address", s.address);
      text("source", s.source);
      text("status", s.status);
      text("instance_id", s.instance_id);
      text("last_error", s.last_error);
      int64_t n;
      uint64_t u;
      if (!h.at_key("last_seen_ms").get_int64().get(n)) s.last_seen_ms = n;
      if (!h.at_key("age_ms").get_int64().get(n)) s.age_ms = n;
      if (!h.at_key("seq").get_uint64().get(u)) s.seq = u;
      if (!h.at_key("worker_count").get_uint64().get(u)) s.worker_count = u;
    }
  }
  if (r.fail) return make_error(r.fail->message);
  return out;
}

}  // namespace rbee::json
