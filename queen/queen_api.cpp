// The Queen's HTTP API: what operators, dashboards and the CLI call, and where Hives push.
// See docs/queen.md.
#include <array>
#include <iterator>
#include <optional>

#include "common/http/event_stream.h"
#include "common/json/telemetry_json.h"
#include "common/json/writer.h"
#include "queen/prometheus_sd.h"
#include "queen/queen_daemon.h"

namespace rbee::queen {

namespace http_ns = rbee::http;
using boost::beast::http::verb;
using http_ns::Reply;
using http_ns::Request;
using http_ns::Response;

namespace {

void write_text_or_null(json::Writer& w, std::string_view key, const std::string& v) {
  if (v.empty())
    w.key(key).null();
  else
    w.field(key, v);
}

// What a cluster view shows of a Hive without its workers: counts by state, GPUs and VRAM.
void write_summary(json::Writer& w, const HiveEntry& h) {
  constexpr std::size_t kStates = std::size(EnumNames<telemetry::WorkerState>::names);
  std::array<uint64_t, kStates> by_state{};
  for (const auto& worker : h.workers) ++by_state[static_cast<std::size_t>(worker.state)];
  w.key("workers_by_state").begin_object();
  for (std::size_t i = 0; i < kStates; ++i)
    if (by_state[i]) w.field(EnumNames<telemetry::WorkerState>::names[i], by_state[i]);
  w.end_object();
  w.field("gpu_count", uint64_t{h.gpus.size()});
  std::optional<uint64_t> used, total;
  for (const auto& g : h.gpus) {
    if (g.memory_used_bytes) used = used.value_or(0) + *g.memory_used_bytes;
    if (g.memory_total_bytes) total = total.value_or(0) + *g.memory_total_bytes;
  }
  w.field("vram_used_bytes", used).field("vram_total_bytes", total);
  w.field("hive_url", h.address());
}

void write_hive_fields(json::Writer& w, const HiveEntry& h, Now now) {
  write_text_or_null(w, "id", h.id);
  write_text_or_null(w, "alias", h.alias);
  w.field("address", h.address())
      .field("source", to_string(h.source))
      .field("status", to_string(h.status));
  w.field("last_seen_ms", h.last_seen_wall_ms);
  if (h.last_seen_mono_ms) w.field("age_ms", now.mono_ms - *h.last_seen_mono_ms);
  write_text_or_null(w, "instance_id", h.instance_id);
  w.field("seq", h.seq).field("interval_ms", h.interval_ms);
  w.field("worker_count", uint64_t{h.workers.size()});
  write_summary(w, h);
  w.field("snapshots", h.snapshots);
  if (!h.pushed_from.empty()) w.field("pushed_from", h.pushed_from);
  if (h.capabilities) {
    w.field("version", h.capabilities->version).field("backend", h.capabilities->backend);
  }
  if (!h.host_info.hostname.empty()) w.field("hostname", h.host_info.hostname);
  w.field("last_probe_ms", h.last_probe_wall_ms);
  if (!h.last_error.empty()) w.field("last_error", h.last_error);
}

void write_worker(json::Writer& w, const HiveEntry& h, const telemetry::Worker& worker) {
  w.begin_object();
  json::write_worker_fields(w, worker);
  w.field("hive_id", h.id);
  if (!h.alias.empty()) w.field("hive_alias", h.alias);
  if (worker.port) w.field("url", h.worker_url(*worker.port));
  w.end_object();
}

std::string hive_detail(const HiveEntry& h, Now now) {
  json::Writer w;
  w.begin_object();
  write_hive_fields(w, h, now);
  if (h.last_seen_mono_ms) {
    w.field("timestamp_ms", h.timestamp_ms);
    w.key("host");
    json::write_host(w, h.host_info);
    w.key("gpus").begin_array();
    for (const auto& g : h.gpus) json::write_gpu(w, g);
    w.end_array();
  }
  w.key("workers").begin_array();
  for (const auto& worker : h.workers) write_worker(w, h, worker);
  w.end_array();
  w.end_object();
  std::string out = w.take();
  if (!h.capabilities_json.empty()) {
    // Already validated by decode_capabilities: embedded as the Hive sent it.
    out.pop_back();
    out += ",\"capabilities\":";
    out += h.capabilities_json;
    out += '}';
  }
  return out;
}

// A decimal count; nullopt for anything else (a sign, spaces, more than 18 digits).
std::optional<uint64_t> parse_count(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::string query(const Request& req, const char* key) {
  auto it = req.query.find(key);
  return it == req.query.end() ? std::string() : it->second;
}

}  // namespace

// Who may call what is the routes' Access, checked by the server from each request's head
// (common/http/edge_policy.h): handlers see only requests that passed.
void register_queen_api(QueenDaemon& d, http_ns::Router& router) {
  router.add(verb::get, "/health", [&d](const Request&, Reply reply) {
    json::Writer w;
    w.begin_object().field("status", "ok").field("hives", uint64_t{d.registry().size()});
    w.field("workers", uint64_t{d.registry().worker_count()});
    w.field("advertise_url", d.advertise_url()).end_object();
    reply(http_ns::json_response(200, w.take()));
  });

  router.add(verb::get, "/v1/hives", [&d](const Request&, Reply reply) {
    const Now now = d.now();
    json::Writer w;
    w.begin_object().key("hives").begin_array();
    for (const HiveEntry* h : d.registry().hives()) {
      w.begin_object();
      write_hive_fields(w, *h, now);
      w.end_object();
    }
    w.end_array().end_object();
    reply(http_ns::json_response(200, w.take()));
  });

  // Prometheus HTTP service discovery (http_sd_configs): the Hives as scrape targets.
  router.add(verb::get, "/v1/prometheus/targets", [&d](const Request&, Reply reply) {
    reply(http_ns::json_response(200, prometheus_targets(d.registry().hives())));
  });

  router.add(verb::get, "/v1/hives/{id}", [&d](const Request& req, Reply reply) {
    const HiveEntry* h = d.registry().find(req.params.at("id"));
    if (!h) return reply(http_ns::json_error(404, "no hive " + req.params.at("id")));
    reply(http_ns::json_response(200, hive_detail(*h, d.now())));
  });

  router.add(
      verb::post, "/v1/hives/refresh",
      [&d](const Request&, Reply reply) {
        d.refresh();
        json::Writer w;
        w.begin_object().field("hives", uint64_t{d.registry().size()}).end_object();
        reply(http_ns::json_response(202, w.take()));
      },
      http_ns::Access::guarded);

  router.add(verb::get, "/v1/workers", [&d](const Request& req, Reply reply) {
    const std::string service = query(req, "service");
    const std::string state_text = query(req, "state");
    const std::string hive = query(req, "hive");
    std::optional<uint64_t> limit, offset = 0;
    if (auto text = query(req, "limit"); !text.empty() && !(limit = parse_count(text)))
      return reply(http_ns::json_error(400, "limit must be a count of workers"));
    if (auto text = query(req, "offset"); !text.empty() && !(offset = parse_count(text)))
      return reply(http_ns::json_error(400, "offset must be a count of workers"));
    std::optional<telemetry::WorkerState> state;
    if (!state_text.empty()) {
      state = telemetry::parse_worker_state(state_text);
      if (!state)
        return reply(http_ns::json_error(
            400, "state must be one of starting, ready, stopping, exited, failed, oom, unknown"));
    }
    json::Writer w;
    uint64_t total = 0;
    w.begin_object().key("workers").begin_array();
    for (const HiveEntry* h : d.registry().hives()) {
      if (!hive.empty() && h->id != hive && h->alias != hive) continue;
      for (const auto& worker : h->workers) {
        if (!service.empty() && worker.service != service) continue;
        if (state && worker.state != *state) continue;
        // total counts every match; only [offset, offset + limit) is written.
        if (total++ < *offset || (limit && total > *offset + *limit)) continue;
        write_worker(w, *h, worker);
      }
    }
    w.end_array().field("total", total).end_object();
    reply(http_ns::json_response(200, w.take()));
  });

  router.add(verb::get, "/v1/events", [&d](const Request& req, Reply reply) {
    const EventRing& ring = d.recent_events();
    std::size_t recent = 0;
    if (auto n = query(req, "recent"); !n.empty()) {
      auto v = parse_count(n);
      if (!v) return reply(http_ns::json_error(400, "recent must be a count of events, 0 or more"));
      recent = std::min<std::size_t>(*v, ring.capacity());
    }
    Response r;
    r.stream = d.events();
    r.body = ": rbee-queen events\n\n";
    // A reconnecting EventSource names the last event it saw: it gets the ones after it.
    std::optional<std::string> missed;
    if (!req.last_event_id.empty()) missed = ring.after(req.last_event_id);
    r.body += missed ? *missed : ring.recent(recent);
    reply(std::move(r));
  });

  router.add(verb::get, "/metrics", [&d](const Request&, Reply reply) {
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = render_metrics(d.registry(), d.metrics(), d.prober());
    reply(std::move(r));
  });

  router.add(
      verb::post, kIngestPath,
      [&d](const Request& req, Reply reply) { d.ingest_async(req, std::move(reply)); },
      http_ns::Access::guarded);
}

}  // namespace rbee::queen
