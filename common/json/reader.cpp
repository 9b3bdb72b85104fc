#include "common/json/reader.h"

namespace rbee::json::detail {

Result<element> parse(std::string_view json, const DecodeLimits& limits) {
  if (json.size() > limits.max_bytes)
    return make_error("body is " + std::to_string(json.size()) + " bytes, over the limit of " +
                      std::to_string(limits.max_bytes));
  thread_local simdjson::dom::parser parser;
  thread_local std::size_t allocated_depth = 0;
  if (allocated_depth != limits.max_depth || parser.capacity() < json.size()) {
    if (parser.allocate(std::max<std::size_t>(json.size(), 4096), limits.max_depth))
      return make_error("out of memory for the JSON parser");
    allocated_depth = limits.max_depth;
  }
  element doc;
  if (auto err = parser.parse(json.data(), json.size(), true).get(doc))
    return make_error(std::string("malformed JSON: ") + simdjson::error_message(err));
  return doc;
}

}  // namespace rbee::json::detail
