#include "queen/queen_config.h"

#include <toml++/toml.h>

#include "common/http/edge_policy.h"
#include "common/http/static_site.h"
#include "common/toml_config.h"

namespace rbee::queen {
namespace {

Result<std::vector<std::string>> string_array(toml::node_view<toml::node> n, std::string_view key) {
  std::vector<std::string> out;
  if (!n) return out;
  const auto* arr = n.as_array();
  if (!arr) return make_error("queen." + std::string(key) + " must be an array of strings");
  for (const auto& el : *arr) {
    auto s = el.value<std::string>();
    if (!s) return make_error("queen." + std::string(key) + " must be an array of strings");
    out.push_back(*s);
  }
  return out;
}

}  // namespace

Result<QueenConfig> parse_queen_config(std::string_view text, std::string_view source_name) {
  auto parsed = parse_toml(text, source_name);
  if (!parsed) return parsed.error();
  toml::table& root = *parsed;
  QueenConfig c;
  if (auto st = check_tables(root, {"queen", "hives"}); !st) return st.error();
  auto q = root["queen"];
  if (q && !q.is_table()) return make_error("[queen] must be a table");
  if (auto* t = q.as_table()) {
    if (auto st = check_keys(*t, "queen",
                             {"listen",
                              "advertise_url",
                              "token_file",
                              "ssh_config",
                              "hive_port",
                              "include",
                              "exclude",
                              "stale_after_intervals",
                              "down_after_intervals",
                              "max_push_hives_per_address",
                              "push_address_prefix_v4",
                              "push_address_prefix_v6",
                              "forget_push_only_after_s",
                              "mdns",
                              "allowed_hosts",
                              "max_streams",
                              "max_streams_per_address",
                              "frame_ancestors",
                              "cors_origins",
                              "events_kept",
                              "max_connections",
                              "decode_threads"});
        !st)
      return st.error();
  }
  auto str = [&](const char* key, std::string& out) -> Status {
    auto n = q[key];
    if (!n) return Ok{};
    auto s = n.value<std::string>();
    if (!s) return make_error(std::string("queen.") + key + " must be a string");
    out = *s;
    return Ok{};
  };
  auto uint = [&](const char* key, uint64_t max, auto& out) -> Status {
    auto n = q[key];
    if (!n) return Ok{};
    // Integers only: value<int64_t>() of a float like 2e20 is an unchecked conversion.
    auto v = n.is_integer() ? n.value<int64_t>() : std::nullopt;
    if (!v || *v < 1 || static_cast<uint64_t>(*v) > max)
      return make_error(std::string("queen.") + key + " must be an integer from 1 to " +
                        std::to_string(max));
    out = static_cast<std::remove_reference_t<decltype(out)>>(*v);
    return Ok{};
  };
  std::string token_file, ssh_config;
  for (auto s : {str("listen", c.listen), str("advertise_url", c.advertise_url),
                 str("token_file", token_file), str("ssh_config", ssh_config),
                 uint("hive_port", 65535, c.hive_port),
                 uint("stale_after_intervals", 1000, c.stale_after_intervals),
                 uint("down_after_intervals", 100000, c.down_after_intervals),
                 uint("max_push_hives_per_address", 10000, c.max_push_hives_per_address),
                 uint("push_address_prefix_v4", 32, c.push_address_prefix_v4),
                 uint("push_address_prefix_v6", 128, c.push_address_prefix_v6),
                 uint("forget_push_only_after_s", 30 * 86400, c.forget_push_only_after_s),
                 uint("max_streams", 100000, c.max_streams),
                 uint("max_streams_per_address", 100000, c.max_streams_per_address),
                 uint("events_kept", 100000, c.events_kept),
                 uint("max_connections", 1000000, c.max_connections)}) {
    if (!s) return s.error();
  }
  if (auto n = q["decode_threads"]; n) {
    auto v = n.is_integer() ? n.value<int64_t>() : std::nullopt;
    if (!v || *v < 0 || *v > 64)
      return make_error("queen.decode_threads must be an integer from 0 to 64");
    c.decode_threads = static_cast<uint32_t>(*v);
  }
  if (auto n = q["mdns"]; n) {
    if (!n.is_boolean()) return make_error("queen.mdns must be true or false");
    c.mdns = *n.value<bool>();
  }
  c.token_file = token_file;
  c.ssh_config = ssh_config;
  auto inc = string_array(q["include"], "include");
  if (!inc) return inc.error();
  c.include = std::move(*inc);
  auto exc = string_array(q["exclude"], "exclude");
  if (!exc) return exc.error();
  c.exclude = std::move(*exc);
  auto hosts = string_array(q["allowed_hosts"], "allowed_hosts");
  if (!hosts) return hosts.error();
  c.allowed_hosts = std::move(*hosts);
  if (q["frame_ancestors"]) {
    auto fa = string_array(q["frame_ancestors"], "frame_ancestors");
    if (!fa) return fa.error();
    c.frame_ancestors = std::move(*fa);
  }
  if (auto st = http::validate_frame_ancestors(c.frame_ancestors, "queen.frame_ancestors"); !st)
    return st.error();
  auto cors = string_array(q["cors_origins"], "cors_origins");
  if (!cors) return cors.error();
  auto origins = http::parse_cors_origins(*cors, "queen.cors_origins");
  if (!origins) return origins.error();
  c.cors_origins = std::move(*origins);
  if (c.down_after_intervals <= c.stale_after_intervals)
    return make_error(
        "queen.down_after_intervals must be greater than queen.stale_after_intervals");

  if (auto h = root["hives"]; h) {
    auto* t = h.as_table();
    if (!t) return make_error("[hives] must hold [hives.ALIAS] tables");
    for (auto&& [alias, v] : *t) {
      auto* ht = v.as_table();
      if (!ht) return make_error("[hives." + std::string(alias.str()) + "] must be a table");
      HiveOverride o;
      if (auto p = (*ht)["port"]; p) {
        auto n = p.is_integer() ? p.value<int64_t>() : std::nullopt;
        if (!n || *n < 1 || *n > 65535)
          return make_error("hives." + std::string(alias.str()) + ".port must be 1-65535");
        o.port = static_cast<uint16_t>(*n);
      }
      c.hives.emplace(std::string(alias.str()), o);
    }
  }
  return c;
}

Result<QueenConfig> load_queen_config(const std::filesystem::path& path) {
  return load_config_file(path, parse_queen_config);
}

}  // namespace rbee::queen
