#pragma once
// rbee-queen's client subcommands: talk to a running Queen over its HTTP API, or (discover)
// show what the Queen would contact without contacting anything.
#include <chrono>
#include <string>
#include <vector>

#include "common/json/decode.h"

namespace rbee::queen {

struct ClientContext {
  std::string queen_url = "http://127.0.0.1:7833";
  std::string token;
};

// --watch: ask again every `every`, `count` times (0: until interrupted).
struct WatchOptions {
  bool enabled = false;
  std::chrono::milliseconds every{1000};
  unsigned count = 0;
};

int cli_hives(const ClientContext& c, bool json, const WatchOptions& watch = {});
int cli_workers(const ClientContext& c, const std::string& service, const std::string& state,
                const std::string& hive, bool json, const WatchOptions& watch = {});
int cli_refresh(const ClientContext& c);
int cli_discover(const std::string& config_path, const std::string& ssh_config, bool json);

// The human tables.
std::string format_hive_table(const std::vector<json::HiveSummary>& hives);
std::string format_hosted_worker_table(const std::vector<json::HostedWorker>& workers);

}  // namespace rbee::queen
