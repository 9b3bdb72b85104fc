// Fuzz target: the API request and reply decoders: the spawn request a Hive decodes from
// POST /v1/workers and the capabilities document a Queen decodes from GET /capabilities.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json/decode.h"

using namespace rbee;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  (void)json::decode_spawn_request(json);
  (void)json::decode_capabilities(json);
  // Tight limits, as a caller may set them, take other error paths.
  json::DecodeLimits tight;
  tight.max_depth = 3;
  tight.max_string = 8;
  tight.max_args = 2;
  tight.max_env = 2;
  tight.max_arg_length = 8;
  (void)json::decode_spawn_request(json, tight);
  (void)json::decode_capabilities(json, tight);
  return 0;
}
