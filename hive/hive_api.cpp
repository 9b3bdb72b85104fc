// The Hive's HTTP API: what the GUI and the Queen call. See docs/api.md.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/http/auth.h"
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

constexpr std::size_t kMaxLogBytes = 1024 * 1024;

// With a token, every mutation must carry it; without one the daemon only listens on loopback,
// and mutations are still refused from anywhere else.
bool authorized(const HiveDaemon& d, const Request& req) {
  if (d.token().empty()) return req.remote.is_loopback();
  return http_ns::bearer_token_matches(req.authorization, d.token());
}

Response unauthorized() {
  auto r = http_ns::json_error(401, "missing or wrong bearer token");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

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

std::string capabilities_json(HiveDaemon& d, const std::string* queen_url) {
  const auto& cfg = d.config();
  const auto snap = d.current();
  json::Writer w;
  w.begin_object().field("hive_id", cfg.hive_id).field("instance_id", d.instance_id());
  w.field("version", RBEE_VERSION).field("schema_version", telemetry::kSchemaVersion);
  w.field("backend", "cgroupfs").field("cgroup_root", d.supervisor().root_path().string());
  w.array_field("controllers", d.supervisor().controllers());
  w.field("interval_ms", cfg.interval_ms).field("auth", d.token().empty() ? "loopback" : "bearer");
  w.field("cpus", snap->snapshot.host.cpus);
  w.field("memory_total_bytes", snap->snapshot.host.memory_total_bytes);
  w.field("gpus", uint64_t{snap->snapshot.gpus.size()});
  w.key("services").begin_array();
  for (const auto& [name, s] : cfg.services) {
    w.begin_object().field("name", name).field("base_port", s.base_port);
    w.field("restart", s.restart == RestartPolicy::on_failure ? "on-failure" : "no");
    w.field("memory_max", s.memory_max).field("pids_max", s.pids_max);
    if (s.cpu_max)
      w.field("cpu_max", static_cast<double>(s.cpu_max->quota_us) / static_cast<double>(s.cpu_max->period_us));
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

// The last `lines` lines of a log file, reading at most the last kMaxLogBytes.
std::string tail_lines(int fd, std::size_t lines) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return {};
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t start = size > kMaxLogBytes ? size - kMaxLogBytes : 0;
  std::string buf(size - start, '\0');
  ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(start));
  buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  std::size_t pos = buf.size();
  if (pos && buf[pos - 1] == '\n') --pos;
  for (std::size_t found = 0; pos > 0; --pos) {
    if (buf[pos - 1] == '\n' && ++found == lines) break;
  }
  return buf.substr(pos);
}

}  // namespace

void register_hive_api(HiveDaemon& d, http_ns::Router& router) {
  router.add(verb::get, "/health", [&d](const Request&, Reply reply) {
    json::Writer w;
    w.begin_object().field("status", "ok").field("hive_id", d.config().hive_id);
    w.field("instance_id", d.instance_id()).end_object();
    reply(http_ns::json_response(200, w.take()));
  });

  router.add(verb::get, "/capabilities", [&d](const Request& req, Reply reply) {
    auto queen = req.query.find("queen_url");
    if (queen == req.query.end()) return reply(http_ns::json_response(200, capabilities_json(d, nullptr)));
    if (!authorized(d, req)) return reply(unauthorized());
    if (auto st = d.subscribers().subscribe(queen->second); !st)
      return reply(http_ns::json_error(400, st.error().message));
    reply(http_ns::json_response(200, capabilities_json(d, &queen->second)));
    // The first telemetry a new Queen gets already lists every worker.
    d.subscribers().push(d.current());
  });

  router.add(verb::get, "/v1/workers", [&d](const Request&, Reply reply) {
    const auto snap = d.current();
    json::Writer w;
    w.begin_object().key("workers").begin_array();
    for (const auto& worker : snap->snapshot.workers) json::write_worker(w, worker);
    w.end_array().end_object();
    reply(http_ns::json_response(200, w.take()));
  });

  router.add(verb::post, "/v1/workers", [&d](const Request& req, Reply reply) {
    if (!authorized(d, req)) return reply(unauthorized());
    auto spawn = json::decode_spawn_request(req.body);
    if (!spawn) return reply(http_ns::json_error(400, spawn.error().message));
    auto out = d.supervisor().spawn(*spawn);
    if (out.error) return reply(http_ns::json_error(out.error->status, out.error->message));
    d.resample_now();
    json::Writer w;
    w.begin_object().key("worker");
    const auto snap = d.current();
    const auto* fresh = find_worker(*snap, {out.worker->service, out.worker->instance});
    json::write_worker(w, fresh ? *fresh : *out.worker);
    w.array_field("warnings", out.warnings).end_object();
    auto resp = http_ns::json_response(201, w.take());
    resp.headers.emplace_back("Location",
                              "/v1/workers/" + out.worker->service + "/" + out.worker->instance);
    reply(std::move(resp));
  });

  router.add(verb::get, "/v1/workers/{service}/{instance}", [&d](const Request& req, Reply reply) {
    auto id = worker_id(req);
    if (!id) return reply(http_ns::json_error(400, "bad worker name"));
    const auto snap = d.current();
    const auto* w = find_worker(*snap, *id);
    if (!w) return reply(http_ns::json_error(404, "no worker " + id->key()));
    reply(http_ns::json_response(200, json::encode_worker(*w)));
  });

  router.add(verb::delete_, "/v1/workers/{service}/{instance}",
             [&d](const Request& req, Reply reply) {
               if (!authorized(d, req)) return reply(unauthorized());
               auto id = worker_id(req);
               if (!id) return reply(http_ns::json_error(400, "bad worker name"));
               WorkerId key = *id;
               d.supervisor().stop(key, [&d, key, reply](std::optional<ApiError> err) {
                 if (err) return reply(http_ns::json_error(err->status, err->message));
                 d.resample_now();
                 const auto snap = d.current();
                 const auto* w = find_worker(*snap, key);
                 if (!w) return reply(http_ns::json_response(200, "{\"removed\":true}"));
                 reply(http_ns::json_response(200, json::encode_worker(*w)));
               });
             });

  router.add(verb::get, "/v1/workers/{service}/{instance}/logs",
             [&d](const Request& req, Reply reply) {
               // Logs can hold secrets a worker printed: they need the token like a mutation.
               if (!authorized(d, req)) return reply(unauthorized());
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
               auto path = d.supervisor().log_file(*id);
               if (!path) return reply(http_ns::json_error(404, "no log for worker " + id->key()));
               auto fd = sys::open_at(AT_FDCWD, path->c_str(), O_RDONLY);
               if (!fd) return reply(http_ns::json_error(500, fd.error().message));
               Response r;
               r.content_type = "text/plain; charset=utf-8";
               r.body = tail_lines(fd->get(), tail);
               reply(std::move(r));
             });

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
