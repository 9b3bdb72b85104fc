#include "hive/hive_config.h"

#include <toml++/toml.h>

#include <charconv>
#include <cmath>

#include "common/http/edge_policy.h"
#include "common/http/static_site.h"
#include "common/toml_config.h"

namespace rbee::hive {
namespace {

Error key_error(std::string_view key, std::string_view what) {
  return make_error(std::string(key) + " " + std::string(what));
}

Status read_string(const toml::table& t, std::string_view prefix, const char* key,
                   std::string& out) {
  auto n = t[key];
  if (!n) return Ok{};
  auto s = n.value<std::string>();
  if (!s) return key_error(std::string(prefix) + "." + key, "must be a string");
  out = *s;
  return Ok{};
}

Status read_bool(const toml::table& t, std::string_view prefix, const char* key, bool& out) {
  auto n = t[key];
  if (!n) return Ok{};
  auto b = n.value<bool>();
  if (!n.is_boolean() || !b)
    return key_error(std::string(prefix) + "." + key, "must be true or false");
  out = *b;
  return Ok{};
}

template <class T>
Status read_uint(const toml::table& t, std::string_view prefix, const char* key, int64_t min,
                 int64_t max, T& out) {
  auto n = t[key];
  if (!n) return Ok{};
  // value<int64_t>() would convert a float like 2e20 without a range check (undefined).
  auto v = n.is_integer() ? n.value<int64_t>() : std::nullopt;
  if (!v || *v < min || *v > max)
    return key_error(
        std::string(prefix) + "." + key,
        "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  out = static_cast<T>(*v);
  return Ok{};
}

Status read_strings(const toml::table& t, std::string_view prefix, const char* key,
                    std::vector<std::string>& out) {
  auto n = t[key];
  if (!n) return Ok{};
  const auto* a = n.as_array();
  auto bad = [&] {
    return key_error(std::string(prefix) + "." + key, "must be an array of strings");
  };
  if (!a) return bad();
  for (const auto& el : *a) {
    auto v = el.value<std::string>();
    if (!v || v->empty()) return bad();
    out.push_back(*v);
  }
  return Ok{};
}

// Names the worker's environment is built around; no request or pattern may reach them.
bool reserved_env(std::string_view name) {
  return name.starts_with("LD_") || name.starts_with("RBEE_");
}

Status check_allowed_env(std::string_view prefix, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    std::string_view stem(n);
    const bool pattern = stem.ends_with('*');
    if (pattern) stem.remove_suffix(1);
    bool ok = !stem.empty() && stem.find('*') == std::string_view::npos;
    for (char c : stem) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok)
      return key_error(std::string(prefix) + ".allowed_env",
                       "entry '" + n + "' must be a variable name, or a prefix ending in *");
    // A prefix pattern may not cover a reserved name either ("L*" would admit LD_PRELOAD).
    const bool covers = pattern
                            ? (std::string_view("LD_").starts_with(stem) ||
                               std::string_view("RBEE_").starts_with(stem) || reserved_env(stem))
                            : reserved_env(stem);
    if (covers)
      return key_error(std::string(prefix) + ".allowed_env",
                       "entry '" + n + "' would let requests set LD_* or RBEE_* variables");
  }
  return Ok{};
}

// Checked as URLs when the daemon starts (queen_url_key), so this file needs no HTTP code.
Result<std::vector<std::string>> read_queen_urls(const toml::table& t) {
  std::vector<std::string> out;
  auto n = t["queen_urls"];
  if (!n) return out;
  const auto* arr = n.as_array();
  if (!arr) return key_error("hive.queen_urls", "must be an array of strings");
  for (const auto& el : *arr) {
    auto v = el.value<std::string>();
    if (!v || v->empty()) return key_error("hive.queen_urls", "must be an array of URLs");
    out.push_back(std::move(*v));
  }
  return out;
}

Result<ServiceSpec> parse_service(std::string name, const toml::table& t) {
  const std::string p = "services." + name;
  ServiceSpec s;
  s.name = name;
  if (auto st =
          check_keys(t, p,
                     {"command", "base_port", "env", "restart", "memory_max", "cpu_max", "pids_max",
                      "gpus", "working_directory", "port_count", "allowed_env", "allow_args",
                      "user", "group", "supplementary_groups", "read_write_paths"});
      !st)
    return st.error();
  const auto* cmd = t["command"].as_array();
  if (!cmd || cmd->empty())
    return key_error(p + ".command", "must be a non-empty array of strings");
  for (const auto& el : *cmd) {
    auto v = el.value<std::string>();
    if (!v) return key_error(p + ".command", "must be a non-empty array of strings");
    s.command.push_back(*v);
  }
  if (!t["base_port"]) return key_error(p + ".base_port", "is required");
  // Below 1024 are the host's own services (ssh, dns...): never a worker's.
  if (auto st = read_uint(t, p, "base_port", 1024, 65535, s.base_port); !st) return st.error();
  if (auto st = read_uint(t, p, "port_count", 1, 65536 - s.base_port, s.port_count); !st)
    return st.error();
  for (auto st : {read_strings(t, p, "allowed_env", s.allowed_env),
                  read_bool(t, p, "allow_args", s.allow_args), read_string(t, p, "user", s.user),
                  read_string(t, p, "group", s.group),
                  read_strings(t, p, "supplementary_groups", s.supplementary_groups),
                  read_strings(t, p, "read_write_paths", s.read_write_paths)}) {
    if (!st) return st.error();
  }
  if (auto st = check_allowed_env(p, s.allowed_env); !st) return st.error();
  if (t["user"] && s.user.empty()) return key_error(p + ".user", "must not be empty");
  for (const auto& path : s.read_write_paths) {
    if (path.front() != '/') return key_error(p + ".read_write_paths", "must be absolute paths");
  }
  if (auto e = t["env"]; e) {
    const auto* et = e.as_table();
    if (!et) return key_error(p + ".env", "must be a table of strings");
    for (auto&& [k, v] : *et) {
      auto sv = v.value<std::string>();
      if (!sv || k.str().empty() || k.str().find('=') != std::string_view::npos)
        return key_error(p + ".env." + std::string(k.str()), "must be a string");
      s.env.emplace(std::string(k.str()), *sv);
    }
  }
  std::string restart = "no";
  if (auto st = read_string(t, p, "restart", restart); !st) return st.error();
  if (restart == "no")
    s.restart = RestartPolicy::no;
  else if (restart == "on-failure")
    s.restart = RestartPolicy::on_failure;
  else
    return key_error(p + ".restart", "must be \"no\" or \"on-failure\"");

  if (auto m = t["memory_max"]; m) {
    std::string text =
        m.is_integer() ? std::to_string(*m.value<int64_t>()) : m.value_or(std::string{});
    auto r = parse_byte_size(text);
    if (!r) return key_error(p + ".memory_max", r.error().message);
    s.memory_max = *r;
  }
  if (auto c = t["cpu_max"]; c) {
    std::string text;
    if (c.is_integer())
      text = std::to_string(*c.value<int64_t>());
    else if (c.is_floating_point())
      text = std::to_string(*c.value<double>());
    else
      text = c.value_or(std::string{});
    auto r = parse_cpu_cores(text);
    if (!r) return key_error(p + ".cpu_max", r.error().message);
    s.cpu_max = *r;
  }
  if (t["pids_max"]) {
    uint64_t v = 0;
    if (auto st = read_uint(t, p, "pids_max", 1, 4194304, v); !st) return st.error();
    s.pids_max = v;
  }
  if (auto g = t["gpus"]; g) {
    const auto* ga = g.as_array();
    if (!ga) return key_error(p + ".gpus", "must be an array of GPU indices");
    for (const auto& el : *ga) {
      auto v = el.is_integer() ? el.value<int64_t>() : std::nullopt;
      if (!v || *v < 0 || *v > 1023)
        return key_error(p + ".gpus", "must be an array of GPU indices");
      s.gpus.push_back(static_cast<uint32_t>(*v));
    }
  }
  if (auto st = read_string(t, p, "working_directory", s.working_directory); !st) return st.error();
  return s;
}

}  // namespace

bool env_allowed(const ServiceSpec& s, std::string_view name) {
  if (reserved_env(name)) return false;
  for (const auto& a : s.allowed_env) {
    std::string_view rule(a);
    if (rule.ends_with('*') ? name.starts_with(rule.substr(0, rule.size() - 1)) : name == rule)
      return true;
  }
  return false;
}

bool valid_service_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  if (!(std::isalnum(static_cast<unsigned char>(name[0])))) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<std::optional<uint64_t>> parse_byte_size(std::string_view text) {
  if (text == "max") return std::optional<uint64_t>{};
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || ptr == text.data())
    return make_error("must be a size like 512M, 4G or max, not \"" + std::string(text) + "\"");
  std::string_view unit(ptr, text.data() + text.size() - ptr);
  int shift = 0;
  if (unit.empty() || unit == "B")
    shift = 0;
  else if (unit == "K" || unit == "KiB")
    shift = 10;
  else if (unit == "M" || unit == "MiB")
    shift = 20;
  else if (unit == "G" || unit == "GiB")
    shift = 30;
  else if (unit == "T" || unit == "TiB")
    shift = 40;
  else
    return make_error("has an unknown unit \"" + std::string(unit) + "\" (use K, M, G or T)");
  if (shift && n > (UINT64_MAX >> shift)) return make_error("is too large");
  if (n == 0) return make_error("must be greater than zero");
  return std::optional<uint64_t>{n << shift};
}

Result<std::optional<CpuMax>> parse_cpu_cores(std::string_view text) {
  if (text == "max") return std::optional<CpuMax>{};
  double cores = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), cores);
  if (ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(cores) ||
      cores <= 0 || cores > 4096)
    return make_error("must be a number of cores like 0.5 or 2, or max");
  CpuMax c;
  c.quota_us = static_cast<uint64_t>(std::llround(cores * static_cast<double>(c.period_us)));
  if (c.quota_us < 1000) return make_error("is below the kernel's minimum of 0.01 cores");
  return std::optional<CpuMax>{c};
}

Result<HiveConfig> parse_hive_config(std::string_view text, std::string_view source_name) {
  auto parsed = parse_toml(text, source_name);
  if (!parsed) return parsed.error();
  toml::table& root = *parsed;
  if (auto st = check_tables(root, {"hive", "services"}); !st) return st.error();
  HiveConfig c;
  if (auto h = root["hive"]; h) {
    const auto* t = h.as_table();
    if (!t) return make_error("[hive] must be a table");
    if (auto st = check_keys(*t, "hive",
                             {"listen",
                              "hive_id",
                              "token_file",
                              "backend",
                              "cgroup_root",
                              "interval_ms",
                              "log_dir",
                              "stop_timeout_ms",
                              "retention_s",
                              "full_read_every",
                              "subscriber_drop_after_s",
                              "nvml_library",
                              "nvml_keep_open",
                              "mdns",
                              "worker_user",
                              "worker_group",
                              "queen_urls",
                              "allowed_hosts",
                              "frame_ancestors",
                              "cors_origins",
                              "max_connections",
                              "max_streams",
                              "max_streams_per_address"});
        !st)
      return st.error();
    std::string token_file, cgroup_root, log_dir = c.log_dir.string();
    if ((*t)["frame_ancestors"]) c.frame_ancestors.clear();  // given: replaces the default
    for (auto st :
         {read_string(*t, "hive", "listen", c.listen),
          read_string(*t, "hive", "hive_id", c.hive_id),
          read_string(*t, "hive", "token_file", token_file),
          read_string(*t, "hive", "backend", c.backend),
          read_string(*t, "hive", "worker_user", c.worker_user),
          read_string(*t, "hive", "worker_group", c.worker_group),
          read_string(*t, "hive", "cgroup_root", cgroup_root),
          read_string(*t, "hive", "log_dir", log_dir),
          read_string(*t, "hive", "nvml_library", c.nvml_library),
          read_bool(*t, "hive", "nvml_keep_open", c.nvml_keep_open),
          read_bool(*t, "hive", "mdns", c.mdns),
          read_uint(*t, "hive", "interval_ms", 100, 60000, c.interval_ms),
          read_uint(*t, "hive", "stop_timeout_ms", 0, 600000, c.stop_timeout_ms),
          read_uint(*t, "hive", "retention_s", 0, 86400, c.retention_s),
          read_uint(*t, "hive", "full_read_every", 1, 60, c.full_read_every),
          read_uint(*t, "hive", "subscriber_drop_after_s", 1, 86400, c.subscriber_drop_after_s),
          read_uint(*t, "hive", "max_connections", 16, 1000000, c.max_connections),
          read_uint(*t, "hive", "max_streams", 1, 100000, c.max_streams),
          read_uint(*t, "hive", "max_streams_per_address", 1, 100000, c.max_streams_per_address),
          read_strings(*t, "hive", "allowed_hosts", c.allowed_hosts),
          read_strings(*t, "hive", "frame_ancestors", c.frame_ancestors),
          read_strings(*t, "hive", "cors_origins", c.cors_origins)}) {
      if (!st) return st.error();
    }
    if (auto st = http::validate_frame_ancestors(c.frame_ancestors, "hive.frame_ancestors"); !st)
      return st.error();
    if (auto origins = http::parse_cors_origins(c.cors_origins, "hive.cors_origins"); !origins)
      return origins.error();
    else
      c.cors_origins = std::move(*origins);
    if (c.backend != "auto" && c.backend != "cgroupfs" && c.backend != "systemd")
      return make_error("hive.backend must be auto, cgroupfs or systemd");
    if (c.worker_user.empty()) return make_error("hive.worker_user must not be empty");
    if (c.worker_user == "root" || c.worker_user == "0")
      return make_error(std::string(kWorkerUserIsRoot));
    if (c.nvml_library.empty()) return make_error("hive.nvml_library must not be empty");
    if (c.hive_id.size() > 128) return make_error("hive.hive_id is longer than 128 characters");
    if (auto urls = read_queen_urls(*t); !urls)
      return urls.error();
    else
      c.queen_urls = std::move(*urls);
    c.token_file = token_file;
    c.cgroup_root = cgroup_root;
    c.log_dir = log_dir;
  }
  if (auto s = root["services"]; s) {
    const auto* t = s.as_table();
    if (!t) return make_error("[services] must hold [services.NAME] tables");
    for (auto&& [name, v] : *t) {
      std::string n(name.str());
      if (!valid_service_name(n))
        return make_error(
            "service name \"" + n +
            "\" must be 1-32 characters of a-z, 0-9, - and _, starting with a letter or digit");
      const auto* st = v.as_table();
      if (!st) return make_error("[services." + n + "] must be a table");
      auto spec = parse_service(n, *st);
      if (!spec) return spec.error();
      c.services.emplace(n, std::move(*spec));
    }
  }
  return c;
}

Result<HiveConfig> load_hive_config(const std::filesystem::path& path) {
  return load_config_file(path, parse_hive_config);
}

}  // namespace rbee::hive
