#pragma once
// Request bodies of the Hive API, decoded by common/json/decode.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rbee::api {

struct SpawnRequest {
  std::string service;
  std::optional<uint16_t> port;
  std::vector<std::string> args;              // appended to the catalog's command
  std::map<std::string, std::string> env;     // merged over the catalog's environment
  std::optional<std::vector<uint32_t>> gpus;  // overrides the catalog's gpus
};

}  // namespace rbee::api
