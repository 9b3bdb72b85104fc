#pragma once
// Where a worker lives in the cgroup tree. Logical name: rbee.slice/<service>/<instance>.
//   cgroupfs backend: <root>/rbee.slice/<service>/<instance>
//   systemd backend:  <root>/rbee.slice/rbee-<service>.slice/rbee-<service>@<instance>.service
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rbee::hive {

enum class Layout { cgroupfs, systemd };

inline constexpr std::string_view kSliceDir = "rbee.slice";

struct WorkerId {
  std::string service;
  std::string instance;
  auto operator<=>(const WorkerId&) const = default;
  std::string key() const { return service + "/" + instance; }
};

// "llm/8080" -> {llm, 8080}; nullopt when either part is not a valid name.
std::optional<WorkerId> parse_worker_key(std::string_view key);
bool valid_instance_name(std::string_view name);
// The instance's port when the instance is a port number.
std::optional<uint16_t> port_of(std::string_view instance);

std::string logical_cgroup(const WorkerId& id);
// Directory names below rbee.slice for each layout.
std::string service_dir_name(Layout layout, std::string_view service);
std::string instance_dir_name(Layout layout, std::string_view service, std::string_view instance);
// Path relative to the configured cgroup root.
std::string worker_cgroup_path(Layout layout, const WorkerId& id);
std::string systemd_unit_name(const WorkerId& id);

// Inverse mappings for the tree walk: nullopt for directories that are not part of the layout.
std::optional<std::string> service_from_dir(Layout layout, std::string_view dir_name);
std::optional<std::string> instance_from_dir(Layout layout, std::string_view service,
                                             std::string_view dir_name);

}  // namespace rbee::hive
