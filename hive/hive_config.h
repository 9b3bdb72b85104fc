#pragma once
// The Hive's TOML config: the [hive] table and the catalog of [services.NAME] tables.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace rbee::hive {

enum class RestartPolicy { no, on_failure };

struct CpuMax {
  uint64_t quota_us = 0;  // per period
  uint64_t period_us = 100000;
  bool operator==(const CpuMax&) const = default;
};

struct ServiceSpec {
  std::string name;
  std::vector<std::string> command;  // "{port}" is replaced by the worker's port
  uint16_t base_port = 8000;
  uint16_t port_count = 1000;  // ports a worker may take: [base_port, base_port + port_count)
  std::map<std::string, std::string> env;
  // What a request may add: env names listed here (exact, or a prefix ending in '*'), and args
  // only when allow_args. Everything else is the catalog's to say.
  std::vector<std::string> allowed_env;
  bool allow_args = false;
  // The account the worker runs as; empty: the Hive's worker_user / worker_group.
  std::string user;
  std::string group;
  std::vector<std::string> supplementary_groups;  // e.g. video, render for GPU device nodes
  std::vector<std::string> read_write_paths;      // systemd: writable despite ProtectSystem
  RestartPolicy restart = RestartPolicy::no;
  std::optional<uint64_t> memory_max;
  std::optional<CpuMax> cpu_max;
  std::optional<uint64_t> pids_max;
  std::vector<uint32_t> gpus;
  std::string working_directory;
};

struct HiveConfig {
  std::string listen;   // empty: 127.0.0.1:7835 without a token, 0.0.0.0:7835 with one
  std::string hive_id;  // empty: the host name
  std::filesystem::path token_file;
  // The account of workers whose service names none. Workers never run as root unless their
  // service says user = "root".
  std::string worker_user = "rbee-worker";
  std::string worker_group;           // empty: the user's primary group
  std::string backend = "auto";       // auto | cgroupfs | systemd
  std::filesystem::path cgroup_root;  // empty: found from the host
  uint32_t interval_ms = 1000;
  std::filesystem::path log_dir = "/var/log/rbee";
  uint32_t stop_timeout_ms = 10000;  // SIGTERM grace before cgroup.kill
  uint32_t retention_s = 300;        // how long an exited worker stays visible
  uint32_t full_read_every = 5;      // ticks between reads of memory.stat and the other slow files
  uint32_t subscriber_drop_after_s = 120;          // a Queen whose pushes fail this long is dropped
  std::string nvml_library = "libnvidia-ml.so.1";  // dlopen'ed at run time; see docs/gpu.md
  bool nvml_keep_open = true;  // false: nvmlInit/nvmlShutdown around every GPU sample
  bool mdns = false;           // announce _rbee-hive._tcp through the host's Avahi daemon
  // Queens a subscription may name (compared exactly, see queen_url_key); empty: any.
  std::vector<std::string> queen_urls;
  std::vector<std::string> allowed_hosts;  // Host names served without a token (docs/security.md)
  // The web page (docs/web.md): who may frame it, and which origins may call the API.
  std::vector<std::string> frame_ancestors = {"'self'"};
  std::vector<std::string> cors_origins;  // normalized (http::normalize_origin)
  uint32_t max_connections = 1024;        // lowered at start to what the open-file limit allows
  uint32_t max_streams = 64;              // GET /v1/telemetry/stream streams in all
  uint32_t max_streams_per_address = 8;   // and per client address
  std::map<std::string, ServiceSpec> services;
};

// Said when hive.worker_user is root, by name or by uid: it is the default of every service.
inline constexpr std::string_view kWorkerUserIsRoot =
    "hive.worker_user must not be root: it is the account of every service that names none; to "
    "run one service as root, set user = \"root\" in its [services.NAME] table";

Result<HiveConfig> parse_hive_config(std::string_view toml_text, std::string_view source_name);
Result<HiveConfig> load_hive_config(const std::filesystem::path& path);

// "4G", "512M", "1048576", "max" (nullopt). Binary units, as systemd and the kernel use.
Result<std::optional<uint64_t>> parse_byte_size(std::string_view text);
// Cores as a number ("1.5") or "max" (nullopt).
Result<std::optional<CpuMax>> parse_cpu_cores(std::string_view text);
// A service or instance name that is safe as a cgroup directory and unit name.
bool valid_service_name(std::string_view name);
// Whether a request may set this env name for the service (its allowed_env).
bool env_allowed(const ServiceSpec& s, std::string_view name);

}  // namespace rbee::hive
