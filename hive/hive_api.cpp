// The Hive's HTTP API: what the GUI and the Queen call. See docs/api.md.

#include <algorithm>

#include "common/json/decode.h"
#include "common/json/telemetry_json.h"
#include "common/json/writer.h"
#include "common/sys/file.h"
#include "hive/hive_daemon.h"
#include "hive/layout.h"

namespace rbee::hive {

namespace http_ns = rbee::http;
using boost::beast::http::verb;
using http_ns::Reply;
using http_ns::Request;
using http_ns::Response;

namespace {

std::optional<WorkerId> worker_id(const Request& req) {
  auto s = req.params.find("service");
  auto i = req.params.find("instance");
  if (s == req.params.end() || i == req.params.end()) return std::nullopt;
  return parse_worker_key(s->second + "/" + i->second);
}

const telemetry::Worker* find_worker(const PublishedSnapshot& snap, const WorkerId& id) {
  for (const auto& w : snap.snapshot.workers) {
    if (w.service == id.service && w.instance == id.instance) return &w;
  }
  return nullptr;
}

// "nvml": what the Hive knows about NVML (docs/gpu.md): loaded or why not.
void write_nvml_status(json::Writer& w, const NvmlStatus& n) {
  w.key("nvml").begin_object().field("loaded", n.loaded).field("library", n.library);
  w.field("keep_open", n.keep_open);
  w.field("driver_version", n.driver_version).field("nvml_version", n.nvml_version);
  if (!n.process_api.empty()) w.field("process_api", n.process_api);
  if (n.v3_bad_stride) w.field("v3_bad_stride", true);
  w.field("error", n.error).end_object();
}

std::string capabilities_json(HiveDaemon& d, const std::string* queen_url) {
  const auto& cfg = d.config();
  const auto snap = d.current();
  json::Writer w;
  w.begin_object().field("hive_id", cfg.hive_id).field("instance_id", d.instance_id());
  w.field("version", RBEE_VERSION).field("schema_version", telemetry::kSchemaVersion);
  w.field("backend", d.supervisor().backend_name())
      .field("cgroup_root", d.supervisor().root_path().string());
  w.array_field("controllers", d.supervisor().controllers());
  w.field("interval_ms", cfg.interval_ms).field("auth", d.token().empty() ? "loopback" : "bearer");
  w.field("cpus", snap->snapshot.host.cpus);
  w.field("memory_total_bytes", snap->snapshot.host.memory_total_bytes);
  w.field("gpus", uint64_t{snap->snapshot.gpus.size()});
  write_nvml_status(w, d.gpus().status());
  w.key("services").begin_array();
  for (const auto& [name, s] : cfg.services) {
    w.begin_object().field("name", name).field("base_port", s.base_port);
    w.field("port_count", s.port_count).field("allow_args", s.allow_args);
    w.array_field("allowed_env", s.allowed_env);
    w.field("restart", s.restart == RestartPolicy::on_failure ? "on-failure" : "no");
    w.field("memory_max", s.memory_max).field("pids_max", s.pids_max);
    if (s.cpu_max)
      w.field("cpu_max",
              static_cast<double>(s.cpu_max->quota_us) / static_cast<double>(s.cpu_max->period_us));
    w.array_field("gpus", s.gpus).end_object();
  }
  w.end_array();
  if (queen_url) {
    w.key("subscription").begin_object().field("queen_url", *queen_url);
    w.field("drop_after_ms", static_cast<uint64_t>(d.subscribers().drop_after().count()));
    w.field("subscribers", uint64_t{d.subscribers().count()}).end_object();
  }
  w.end_object();
  return w.take();
}

}  // namespace

// Who may call what is the routes' Access, checked by the server from each request's head
// (common/http/edge_policy.h): handlers see only requests that passed.
void register_hive_api(HiveDaemon& d, http_ns::Router& router) {
  router.add(verb::get, "/health", [&d](const Request&, Reply reply) {
    json::Writer w;
    w.begin_object().field("status", "ok").field("hive_id", d.config().hive_id);
    w.field("instance_id", d.instance_id()).end_object();
    reply(http_ns::json_response(200, w.take()));
  });

  // With ?queen_url= it subscribes that Queen to this Hive's telemetry (and its token).
  auto capabilities_access = [](const Request& head) {
    return head.query.count("queen_url") ? http_ns::Access::guarded : http_ns::Access::open;
  };
  router.add(
      verb::get, "/capabilities",
      [&d](const Request& req, Reply reply) {
        auto queen = req.query.find("queen_url");
        if (queen == req.query.end())
          return reply(http_ns::json_response(200, capabilities_json(d, nullptr)));
        if (auto st = d.subscribers().check_allowed(queen->second); !st)
          return reply(http_ns::json_error(403, st.error().message));
        auto created = d.subscribers().subscribe(queen->second);
        if (!created) return reply(http_ns::json_error(400, created.error().message));
        reply(http_ns::json_response(200, capabilities_json(d, &queen->second)));
        // A new Queen's first telemetry, at once, already lists every worker. A renewal (every
        // Queen, every 30 s) pushes nothing extra, to it or to anyone else.
        if (*created) d.subscribers().push_to(queen->second, d.current());
      },
      capabilities_access);

  router.add(verb::get, "/v1/workers", [&d](const Request&, Reply reply) {
    const auto snap = d.current();
    json::Writer w;
    w.begin_object().key("workers").begin_array();
    for (const auto& worker : snap->snapshot.workers) json::write_worker(w, worker);
    w.end_array().end_object();
    reply(http_ns::json_response(200, w.take()));
  });

  router.add(
      verb::post, "/v1/workers",
      [&d](const Request& req, Reply reply) {
        auto spawn = json::decode_spawn_request(req.body);
        if (!spawn) return reply(http_ns::json_error(400, spawn.error().message));
        d.supervisor().spawn(*spawn, [&d, reply](SpawnOutcome out) {
          if (out.error) return reply(http_ns::json_error(out.error->status, out.error->message));
          // Answered from the next snapshot, which lists the new worker.
          d.after_next_publish([&d, reply, out = std::move(out)] {
            json::Writer w;
            w.begin_object().key("worker");
            const auto snap = d.current();
            const auto* fresh =
                find_worker(*snap, WorkerId{out.worker->service, out.worker->instance});
            json::write_worker(w, fresh ? *fresh : *out.worker);
            w.array_field("warnings", out.warnings).end_object();
            auto resp = http_ns::json_response(201, w.take());
            resp.headers.emplace_back(
                "Location", "/v1/workers/" + out.worker->service + "/" + out.worker->instance);
            reply(std::move(resp));
          });
        });
      },
      http_ns::Access::guarded);

  router.add(verb::get, "/v1/workers/{service}/{instance}", [&d](const Request& req, Reply reply) {
    auto id = worker_id(req);
    if (!id) return reply(http_ns::json_error(400, "bad worker name"));
    const auto snap = d.current();
    const auto* w = find_worker(*snap, *id);
    if (!w) return reply(http_ns::json_error(404, "no worker " + id->key()));
    reply(http_ns::json_response(200, json::encode_worker(*w)));
  });

  router.add(
      verb::delete_, "/v1/workers/{service}/{instance}",
      [&d](const Request& req, Reply reply) {
        auto id = worker_id(req);
        if (!id) return reply(http_ns::json_error(400, "bad worker name"));
        WorkerId key = *id;
        d.supervisor().stop(key, [reply](StopOutcome out) {
          if (out.error) return reply(http_ns::json_error(out.error->status, out.error->message));
          reply(http_ns::json_response(200, json::encode_worker(*out.worker)));
        });
      },
      http_ns::Access::guarded);

  router.add(
      verb::get, "/v1/workers/{service}/{instance}/logs",
      [&d](const Request& req, Reply reply) {
        auto id = worker_id(req);
        if (!id) return reply(http_ns::json_error(400, "bad worker name"));
        std::size_t tail = 100;
        if (auto t = req.query.find("tail"); t != req.query.end()) {
          try {
            tail = std::stoul(t->second);
          } catch (...) {
            return reply(http_ns::json_error(400, "tail must be a number of lines"));
          }
          tail = std::clamp<std::size_t>(tail, 1, 100000);
        }
        bool previous = false;
        if (auto p = req.query.find("previous"); p != req.query.end()) {
          if (p->second != "0" && p->second != "1")
            return reply(http_ns::json_error(400, "previous must be 0 or 1"));
          previous = p->second == "1";
        }
        d.supervisor().logs(*id, tail, previous,
                            [reply, key = id->key(), previous](std::optional<std::string> text) {
                              if (!text)
                                return reply(http_ns::json_error(
                                    404, std::string("no ") + (previous ? "previous " : "") +
                                             "log for worker " + key));
                              Response r;
                              r.content_type = "text/plain; charset=utf-8";
                              r.body = std::move(*text);
                              reply(std::move(r));
                            });
      },
      http_ns::Access::secret_read);

  router.add(verb::get, "/v1/telemetry", [&d](const Request&, Reply reply) {
    reply(http_ns::json_response(200, d.current()->json));
  });

  router.add(verb::get, "/v1/telemetry/stream", [&d](const Request&, Reply reply) {
    Response r;
    r.stream = d.stream();
    r.body = http_ns::EventStream::format("snapshot", d.current()->json);
    reply(std::move(r));
  });

  router.add(verb::get, "/metrics", [&d](const Request&, Reply reply) {
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = render_metrics(d.current()->snapshot, d.last_tick_seconds(), d.ticks());
    reply(std::move(r));
  });
}

}  // namespace rbee::hive
