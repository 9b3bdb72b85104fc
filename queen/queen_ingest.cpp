// POST /v1/hive-telemetry: a Hive's snapshot decoded into reused storage, handed to the registry,
// and the outcome as the status the Hive's push understands.
#include <spdlog/spdlog.h>

#include "common/http/edge_policy.h"
#include "common/json/decode.h"
#include "common/json/writer.h"
#include "queen/queen_daemon.h"

namespace rbee::queen {

namespace {

using Clock = std::chrono::steady_clock;

http::Response json_ok(unsigned status, std::string_view key, std::string_view value) {
  json::Writer w;
  w.begin_object().field(key, value).end_object();
  return http::json_response(status, w.take());
}

}  // namespace

http::Response QueenDaemon::ingest(const http::Request& req) {
  const auto t0 = Clock::now();
  auto reject = [&](const char* reason, unsigned status, std::string_view message) {
    ++metrics_.rejected[reason];
    spdlog::debug("telemetry from {} rejected: {}", req.remote.to_string(), message);
    auto r = http::json_error(status, message);
    if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  };
  // Token (or peer uid), Origin and Content-Type were checked from the head (on_refused counts
  // those refusals); this repeats the Content-Type rule for callers that bypass the server.
  if (!req.content_type.empty() && !http::is_json_media_type(req.content_type))
    return reject("content_type", 415, "Content-Type must be application/json");
  json::DecodeLimits limits;
  limits.max_bytes = kMaxIngestBytes;
  // Decoded into the storage of the workers the previous accepted snapshot replaced.
  if (auto st = json::decode_snapshot_into(req.body, scratch_, limits); !st)
    return reject("malformed", 400, st.error().message);
  auto result = registry_.ingest(std::move(scratch_), req.remote.to_string(), now());
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
      return reject("conflict", 409, result.message);
    case IngestOutcome::gone:
      return reject("gone", 410, result.message);
    case IngestOutcome::full:
      return reject("full", 503, result.message);
    case IngestOutcome::sender_full:
      if (logged_warnings_.insert(result.message).second)
        spdlog::warn("telemetry: {}", result.message);
      return reject("sender_full", 429, result.message);
  }
  return http::json_error(500, "internal error");
}

}  // namespace rbee::queen
