// POST /v1/hive-telemetry: a Hive's snapshot decoded into reused storage, handed to the registry,
// and the outcome as the status the Hive's push understands.
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/http/edge_policy.h"
#include "common/json/decode.h"
#include "common/json/writer.h"
#include "queen/queen_daemon.h"

namespace rbee::queen {

namespace {

http::Response json_ok(unsigned status, std::string_view key, std::string_view value) {
  json::Writer w;
  w.begin_object().field(key, value).end_object();
  return http::json_response(status, w.take());
}

}  // namespace

http::Response QueenDaemon::reject(const std::string& sender, const char* reason, unsigned status,
                                   std::string_view message) {
  ++metrics_.rejected[reason];
  spdlog::debug("telemetry from {} rejected: {}", sender, message);
  auto r = http::json_error(status, message);
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

http::Response QueenDaemon::ingest(const http::Request& req) {
  const auto t0 = Clock::now();
  const std::string sender = req.remote.to_string();
  // Token (or peer uid), Origin and Content-Type were checked from the head (on_refused counts
  // those refusals); this repeats the Content-Type rule for callers that bypass the server.
  if (!req.content_type.empty() && !http::is_json_media_type(req.content_type))
    return reject(sender, "content_type", 415, "Content-Type must be application/json");
  // Decoded into the storage of the workers the previous accepted snapshot replaced.
  if (auto st = json::decode_snapshot_into(req.body, scratch_, ingest_limits()); !st)
    return reject(sender, "malformed", 400, st.error().message);
  return apply(scratch_, sender, t0);
}

json::DecodeLimits QueenDaemon::ingest_limits() {
  json::DecodeLimits limits;
  limits.max_bytes = kMaxIngestBytes;
  return limits;
}

void QueenDaemon::ingest_async(const http::Request& req, http::Reply reply) {
  if (!decoders_) return reply(ingest(req));
  if (!req.content_type.empty() && !http::is_json_media_type(req.content_type))
    return reply(reject(req.remote.to_string(), "content_type", 415,
                        "Content-Type must be application/json"));
  // The event loop keeps HTTP, the registry and the answer; only the decode moves to a thread.
  // A job owns its body copy and a snapshot whose storage came back from an earlier ingest.
  struct Job {
    std::string body;
    std::string sender;
    telemetry::Snapshot snap;
    Status decoded = Ok{};
    Clock::time_point t0 = Clock::now();
  };
  auto job = std::make_shared<Job>();
  job->body = req.body;
  job->sender = req.remote.to_string();
  if (!spare_snapshots_.empty()) {
    job->snap = std::move(spare_snapshots_.back());
    spare_snapshots_.pop_back();
  }
  std::weak_ptr<void> alive = alive_;
  boost::asio::post(*decoders_, [this, &io = io_, alive, job, reply = std::move(reply)]() mutable {
    job->decoded = json::decode_snapshot_into(job->body, job->snap, ingest_limits());
    job->body = {};
    boost::asio::post(io, [this, alive, job, reply = std::move(reply)]() {
      if (alive.expired()) return;  // the daemon is gone; so is the connection
      http::Response r = job->decoded
                             ? apply(job->snap, job->sender, job->t0)
                             : reject(job->sender, "malformed", 400, job->decoded.error().message);
      if (spare_snapshots_.size() < kSpareSnapshots)
        spare_snapshots_.push_back(std::move(job->snap));
      reply(std::move(r));
    });
  });
}

http::Response QueenDaemon::apply(telemetry::Snapshot& snap, const std::string& sender,
                                  Clock::time_point t0) {
  auto result = registry_.ingest(std::move(snap), sender, now());
  metrics_.observe_latency(std::chrono::duration<double>(Clock::now() - t0).count());
  switch (result.outcome) {
    case IngestOutcome::accepted:
      ++metrics_.ingested;
      return http::json_response(204, {});
    case IngestOutcome::stale:
      ++metrics_.ignored;
      return json_ok(200, "ignored", result.message);
    case IngestOutcome::conflict:
      if (logged_warnings_.insert(result.message).second)
        spdlog::warn("telemetry: {}", result.message);
      return reject(sender, "conflict", 409, result.message);
    case IngestOutcome::gone:
      return reject(sender, "gone", 410, result.message);
    case IngestOutcome::full:
      return reject(sender, "full", 503, result.message);
    case IngestOutcome::sender_full:
      if (logged_warnings_.insert(result.message).second)
        spdlog::warn("telemetry: {}", result.message);
      return reject(sender, "sender_full", 429, result.message);
  }
  return http::json_error(500, "internal error");
}

}  // namespace rbee::queen
