#pragma once
// rbee-hive's client subcommands: talk to a running Hive over its HTTP API.
#include <optional>
#include <string>
#include <vector>

#include "common/telemetry.h"

namespace rbee::hive {

struct ClientContext {
  std::string hive_url = "http://127.0.0.1:7835";
  std::string token;
};

int cli_ps(const ClientContext& c, bool json, bool watch);
int cli_spawn(const ClientContext& c, const std::string& service, std::optional<uint16_t> port,
              const std::vector<std::string>& args);
int cli_stop(const ClientContext& c, const std::string& worker);
// previous: the worker's run before the current one (a restart's or re-spawn's predecessor).
int cli_logs(const ClientContext& c, const std::string& worker, unsigned tail, bool previous);

// The human table of `ps`.
std::string format_worker_table(const std::vector<telemetry::Worker>& workers);

}  // namespace rbee::hive
