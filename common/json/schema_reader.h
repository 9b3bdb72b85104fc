#pragma once
// The telemetry documents' objects (worker, host, GPU) read member by member as the schema table
// (common/telemetry_schema.h) lists them: each value's type and bounds come from its entry.
#include "common/json/reader.h"
#include "common/telemetry.h"

namespace rbee::json::detail {

// Unknown members are ignored (newer Hives may add fields); a missing required one is an error.
void read_worker(Reader& r, element e, const Path& path, telemetry::Worker& w);
void read_host(Reader& r, element e, telemetry::Host& h);
void read_gpu(Reader& r, element e, const Path& path, telemetry::Gpu& g);

// Back to a default-constructed worker, keeping the storage of its strings and lists.
void reset_worker(telemetry::Worker& w);

}  // namespace rbee::json::detail
