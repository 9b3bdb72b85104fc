#pragma once
// The Queen's TOML config: a [queen] table and optional [hives.ALIAS] tables.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/token.h"

namespace rbee::queen {

struct HiveOverride {
  std::optional<uint16_t> port;
};

struct QueenConfig {
  std::string listen;  // empty: decided from whether a token is configured
  std::string advertise_url;
  std::filesystem::path token_file;
  std::filesystem::path ssh_config;  // empty: ~/.ssh/config
  uint16_t hive_port = kDefaultHivePort;
  std::vector<std::string> include;  // with [hives.NAME]: the Hives named (see discovery.h)
  std::vector<std::string> exclude;
  uint32_t stale_after_intervals = 3;
  uint32_t down_after_intervals = 10;
  // Hives known only from pushes, per sender address range (IPv4 /24, IPv6 /64 by default).
  uint32_t max_push_hives_per_address = 64;
  uint32_t push_address_prefix_v4 = 24;
  uint32_t push_address_prefix_v6 = 64;
  uint32_t forget_push_only_after_s = 3600;  // a push-only Hive down this long is dropped
  bool mdns = false;  // also browse _rbee-hive._tcp through the host's Avahi daemon
  std::vector<std::string> allowed_hosts;  // Host names served without a token (docs/security.md)
  // The web page (docs/web.md): who may frame it, and which origins may call the API.
  std::vector<std::string> frame_ancestors = {"'self'"};
  std::vector<std::string> cors_origins;  // normalized (http::normalize_origin)
  std::size_t events_kept = 1000;         // the ring GET /v1/events?recent=N replays from
  // Connections in all (Hives pushing, clients): enough for 10,000 Hives, lowered at start to
  // what the open-file limit allows.
  uint32_t max_connections = 12000;
  // Threads that decode pushed snapshots; 0 decodes on the event loop. Unset: one per core
  // beyond the loop's, at least 1, at most 4.
  std::optional<uint32_t> decode_threads;
  uint32_t max_streams = 64;             // GET /v1/events streams in all
  uint32_t max_streams_per_address = 8;  // and per client address
  std::map<std::string, HiveOverride> hives;
};

// Parses the config text; errors name the key and say what was expected.
Result<QueenConfig> parse_queen_config(std::string_view toml_text, std::string_view source_name);
Result<QueenConfig> load_queen_config(const std::filesystem::path& path);

}  // namespace rbee::queen
