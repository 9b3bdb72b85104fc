// Fuzz target: the Hive's TOML config and service catalog (parse_hive_config), and the value
// parsers it uses (byte sizes, CPU cores, service names).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hive/hive_config.h"

using namespace rbee::hive;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = parse_hive_config(text, "fuzz.toml");
  if (config) {
    for (const auto& [name, spec] : config->services) {
      if (!valid_service_name(name)) __builtin_trap();  // the catalog admitted a bad name
      (void)spec;
    }
  }
  if (size <= 64) {
    (void)parse_byte_size(text);
    (void)parse_cpu_cores(text);
    (void)valid_service_name(text);
  }
  return 0;
}
