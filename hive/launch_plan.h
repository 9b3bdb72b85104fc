#pragma once
// What a spawn request may ask of its service, and the plan a backend starts a worker from: the
// command, the fixed base environment, the service's account. No I/O.
#include <map>
#include <optional>
#include <string>

#include "common/api.h"
#include "common/sys/credentials.h"
#include "hive/backend.h"
#include "hive/hive_config.h"

namespace rbee::hive {

// An API-level failure: the HTTP status it maps to and a one-line message.
struct ApiError {
  unsigned status;
  std::string message;
};

// A request may only choose what its service's catalog entry leaves open: env names it allows,
// args where it allows them, a port inside its range.
std::optional<ApiError> check_spawn_request(const ServiceSpec& spec, const api::SpawnRequest& req);

// The variables a worker inherits from the Hive's own environment, whatever the request says.
std::map<std::string, std::string> inherited_env();

// `{port}` in the command and args becomes the worker's port; the environment is the inherited
// base, then the service's, then the request's, then the Hive's own RBEE_* and CUDA settings.
LaunchPlan make_launch_plan(const ServiceSpec& spec, const WorkerId& id,
                            const api::SpawnRequest& req, const sys::Credentials* account,
                            std::map<std::string, std::string> base_env);

}  // namespace rbee::hive
