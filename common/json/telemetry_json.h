#pragma once
// Encoding of telemetry documents. Decoding lives in common/json/decode.h.
#include <string>

#include "common/json/writer.h"
#include "common/telemetry.h"

namespace rbee::json {

// Writes a worker's members into an object the caller has opened (so callers can add their own).
void write_worker_fields(Writer& w, const telemetry::Worker& worker);
void write_worker(Writer& w, const telemetry::Worker& worker);
void write_host(Writer& w, const telemetry::Host& host);
void write_gpu(Writer& w, const telemetry::Gpu& gpu);
std::string encode_snapshot(const telemetry::Snapshot& s);
std::string encode_worker(const telemetry::Worker& worker);

}  // namespace rbee::json
