#include "hive/launch_plan.h"

#include <cstdlib>

#include "hive/host_info.h"

namespace rbee::hive {

namespace {

std::string substitute_port(std::string arg, const std::string& port) {
  const std::string token = "{port}";
  for (auto pos = arg.find(token); pos != std::string::npos;
       pos = arg.find(token, pos + port.size()))
    arg.replace(pos, token.size(), port);
  return arg;
}

}  // namespace

std::optional<ApiError> check_spawn_request(const ServiceSpec& spec, const api::SpawnRequest& req) {
  for (const auto& [name, value] : req.env) {
    if (!env_allowed(spec, name))
      return ApiError{400, "env." + name + " may not be set by a request: it is not in services." +
                               spec.name + ".allowed_env"};
  }
  if (!req.args.empty() && !spec.allow_args)
    return ApiError{400, "args may not be given: services." + spec.name + ".allow_args is not set"};
  const uint32_t last = uint32_t{spec.base_port} + spec.port_count - 1;
  if (req.port && (*req.port < spec.base_port || *req.port > last))
    return ApiError{400, "port " + std::to_string(*req.port) + " is outside the range of service " +
                             spec.name + " (" + std::to_string(spec.base_port) + "-" +
                             std::to_string(last) + ")"};
  return std::nullopt;
}

std::map<std::string, std::string> inherited_env() {
  std::map<std::string, std::string> env;
  for (const char* name : {"PATH", "HOME", "LANG", "TZ", "USER"}) {
    if (const char* v = std::getenv(name)) env[name] = v;
  }
  if (!env.count("PATH")) env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  return env;
}

LaunchPlan make_launch_plan(const ServiceSpec& spec, const WorkerId& id,
                            const api::SpawnRequest& req, const sys::Credentials* account,
                            std::map<std::string, std::string> env) {
  LaunchPlan plan;
  plan.id = id;
  plan.service = &spec;
  plan.account = account;
  plan.working_directory = spec.working_directory;
  for (const auto& a : spec.command) plan.argv.push_back(substitute_port(a, id.instance));
  for (const auto& a : req.args) plan.argv.push_back(substitute_port(a, id.instance));
  for (const auto& [k, v] : spec.env) env[k] = v;
  for (const auto& [k, v] : req.env) env[k] = v;
  env["RBEE_SERVICE"] = id.service;
  env["RBEE_INSTANCE"] = id.instance;
  env["RBEE_PORT"] = id.instance;
  env[kSpawnedByEnv] = "hive";
  const auto& gpus = req.gpus ? *req.gpus : spec.gpus;
  if (!gpus.empty()) {
    std::string list;
    for (auto g : gpus) list += (list.empty() ? "" : ",") + std::to_string(g);
    env["CUDA_VISIBLE_DEVICES"] = list;
    // NVML numbers GPUs in PCI bus order; make CUDA agree so gpu_indices match.
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID";
  }
  if (account) {
    env["HOME"] = account->home;
    env["USER"] = account->user_name;
  }
  for (const auto& [k, v] : env) plan.env.push_back(k + "=" + v);
  return plan;
}

}  // namespace rbee::hive
