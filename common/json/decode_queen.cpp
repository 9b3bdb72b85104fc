// The documents a Queen reads: a Hive's capabilities, and its own API's lists for the CLI.
#include "common/json/decode.h"

#include "common/json/reader.h"
#include "common/json/schema_reader.h"

namespace rbee::json {

using namespace detail;

constexpr std::string_view kCapabilitiesMembers[] = {"hive_id",
                                                     "instance_id",
                                                     "version",
                                                     "schema_version",
                                                     "backend",
                                                     "cgroup_root",
                                                     "controllers",
                                                     "interval_ms",
                                                     "auth",
                                                     "cpus",
                                                     "memory_total_bytes",
                                                     "gpus",
                                                     "services",
                                                     "subscription"};
constexpr std::string_view kServiceMembers[] = {"name", "base_port", "restart"};
constexpr std::string_view kSubscriptionMembers[] = {"queen_url", "drop_after_ms"};

Result<Capabilities> decode_capabilities(std::string_view json, const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  auto o = r.obj(*doc, "capabilities");
  if (!o) return make_error(r.fail->message);
  Capabilities c;
  auto index_of = [](std::string_view key) { return index_in(kCapabilitiesMembers, key); };
  auto read_member = [&](std::string_view key, element v, const std::string& p, std::size_t) {
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
          if (auto s = r.str(ce, p)) c.controllers.emplace_back(*s);
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
          auto service_index = [](std::string_view k) { return index_in(kServiceMembers, k); };
          r.each_member(*so, sp, service_index,
                        [&](std::string_view sk, element sv, const std::string& mp, std::size_t) {
                          if (sk == "name") {
                            if (auto s = r.str(sv, mp)) svc.name = *s;
                          } else if (sk == "base_port") {
                            if (auto n = r.i64(sv, mp, 1, 65535))
                              svc.base_port = static_cast<uint16_t>(*n);
                          } else if (sk == "restart") {
                            if (auto s = r.str(sv, mp)) svc.restart = *s;
                          }
                        });
          if (r.fail) break;
          c.services.push_back(std::move(svc));
        }
      }
    } else if (key == "subscription") {
      if (auto so = r.obj(v, p)) {
        auto subscription_index = [](std::string_view k) {
          return index_in(kSubscriptionMembers, k);
        };
        r.each_member(
            *so, p, subscription_index,
            [&](std::string_view sk, element sv, const std::string&, std::size_t) {
              if (sk == "queen_url") {
                DecodeLimits url_limits = limits;
                url_limits.max_string = 2048;
                Reader ur(url_limits);
                if (auto s = ur.str(sv, "subscription.queen_url"))
                  c.subscription_queen_url = std::string(*s);
                else
                  r.error("subscription.queen_url", "must be a string of at most 2048 bytes");
              } else if (sk == "drop_after_ms") {
                set(c.subscription_drop_after_ms, r.u64(sv, "subscription.drop_after_ms"));
              }
            });
      }
    }
  };
  r.each_member(*o, std::string(), index_of, read_member);
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
  auto top = r.unique_obj(*doc, Path{});
  if (!top) return make_error(r.fail->message);
  element workers;
  if (top->at_key("workers").get(workers)) return make_error("workers: missing");
  std::vector<HostedWorker> out;
  if (auto a = r.arr(workers, "workers", limits.max_workers * 16)) {
    std::size_t i = 0;
    for (element w : *a) {
      HostedWorker& hw = out.emplace_back();
      read_worker(r, w, Path{"workers", i++, {}}, hw.worker);
      if (r.fail) break;
      // read_worker refused a repeated member of any name: at_key finds the only one.
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
  auto top = r.unique_obj(*doc, Path{});
  if (!top) return make_error(r.fail->message);
  element hives;
  if (top->at_key("hives").get(hives)) return make_error("hives: missing");
  std::vector<HiveSummary> out;
  if (auto a = r.arr(hives, "hives", 100000)) {
    std::size_t i = 0;
    for (element h : *a) {
      if (!r.unique_obj(h, Path{"hives", i++, {}})) break;
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
