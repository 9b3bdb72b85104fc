// Fuzz target: the telemetry decoders (common/json/decode.h) a Queen runs on pushed snapshots
// and the clients run on API replies. A snapshot that decodes must encode and decode again; the
// log escaper (common/log.h) runs on the same input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/json/decode.h"
#include "common/json/telemetry_json.h"
#include "common/log.h"

using namespace rbee;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  // Decoding into the storage of earlier inputs (as a Queen does) must give a fresh decode.
  static telemetry::Snapshot reused;
  const bool reused_ok = json::decode_snapshot_into(json, reused).ok();
  auto snap = json::decode_snapshot(json);
  if (reused_ok != snap.ok() || (snap && !(reused == *snap))) __builtin_trap();
  if (snap) {
    const std::string again = json::encode_snapshot(*snap);
    if (!json::decode_snapshot(again)) __builtin_trap();  // our own encoding must decode
  }
  (void)json::decode_worker(json);
  (void)json::decode_worker_list(json);
  (void)json::decode_hosted_workers(json);
  (void)json::decode_hive_list(json);
  (void)json::decode_error_message(json);
  // Whatever of it reaches a log line keeps no control character there.
  for (const unsigned char c : escape_for_log(json))
    if (c < 0x20 || c == 0x7f) __builtin_trap();
  return 0;
}
