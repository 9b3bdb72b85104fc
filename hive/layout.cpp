#include "hive/layout.h"

#include <charconv>

#include "hive/hive_config.h"

namespace rbee::hive {

bool valid_instance_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::optional<WorkerId> parse_worker_key(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  WorkerId id{std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
  if (!valid_service_name(id.service) || !valid_instance_name(id.instance)) return std::nullopt;
  return id;
}

std::optional<uint16_t> port_of(std::string_view instance) {
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(instance.data(), instance.data() + instance.size(), v);
  if (ec != std::errc{} || ptr != instance.data() + instance.size() || v == 0 || v > 65535 ||
      instance[0] == '0')
    return std::nullopt;
  return static_cast<uint16_t>(v);
}

std::string logical_cgroup(const WorkerId& id) {
  return std::string(kSliceDir) + "/" + id.service + "/" + id.instance;
}

std::string service_dir_name(Layout layout, std::string_view service) {
  if (layout == Layout::systemd) return "rbee-" + std::string(service) + ".slice";
  return std::string(service);
}

std::string instance_dir_name(Layout layout, std::string_view service, std::string_view instance) {
  if (layout == Layout::systemd)
    return "rbee-" + std::string(service) + "@" + std::string(instance) + ".service";
  return std::string(instance);
}

std::string worker_cgroup_path(Layout layout, const WorkerId& id) {
  return std::string(kSliceDir) + "/" + service_dir_name(layout, id.service) + "/" +
         instance_dir_name(layout, id.service, id.instance);
}

std::string systemd_unit_name(const WorkerId& id) {
  return instance_dir_name(Layout::systemd, id.service, id.instance);
}

std::optional<std::string> service_from_dir(Layout layout, std::string_view dir) {
  if (layout == Layout::systemd) {
    constexpr std::string_view prefix = "rbee-", suffix = ".slice";
    if (dir.size() <= prefix.size() + suffix.size() || !dir.starts_with(prefix) ||
        !dir.ends_with(suffix))
      return std::nullopt;
    dir = dir.substr(prefix.size(), dir.size() - prefix.size() - suffix.size());
  }
  if (!valid_service_name(dir)) return std::nullopt;
  return std::string(dir);
}

std::optional<std::string> instance_from_dir(Layout layout, std::string_view service,
                                             std::string_view dir) {
  if (layout == Layout::systemd) {
    const std::string prefix = "rbee-" + std::string(service) + "@";
    constexpr std::string_view suffix = ".service";
    if (dir.size() <= prefix.size() + suffix.size() || !dir.starts_with(prefix) ||
        !dir.ends_with(suffix))
      return std::nullopt;
    dir = dir.substr(prefix.size(), dir.size() - prefix.size() - suffix.size());
  }
  if (!valid_instance_name(dir)) return std::nullopt;
  return std::string(dir);
}

}  // namespace rbee::hive
