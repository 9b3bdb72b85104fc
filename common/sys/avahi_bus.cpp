#include "common/sys/avahi_bus.h"

#include <systemd/sd-bus.h>

#include "common/sys/avahi.h"

namespace rbee::sys {

namespace avahi {

Result<raw::MessagePtr> method(BusConnection& bus, const char* path, const char* iface,
                               const char* member) {
  return raw::method_call(bus, kAvahi, path, iface, member);
}

void free_object(BusConnection& bus, const std::string& path, const char* iface) {
  sd_bus_message* m = nullptr;
  if (sd_bus_message_new_method_call(raw::bus(bus), &m, kAvahi, path.c_str(), iface, "Free") < 0)
    return;
  raw::MessagePtr msg(m);
  sd_bus_message_set_expect_reply(m, 0);
  (void)raw::send(bus, m);
}

std::string explain(const std::string& error) {
  if (error.starts_with("org.freedesktop.DBus.Error.ServiceUnknown") ||
      error.starts_with("org.freedesktop.DBus.Error.NameHasNoOwner") ||
      error.starts_with("org.freedesktop.systemd1.NoSuchUnit"))
    return "the Avahi daemon is not running (" + error + ")";
  return error;
}

}  // namespace avahi

Result<std::shared_ptr<void>> watch_avahi(BusConnection& bus,
                                          std::function<void(bool running)> on_change) {
  return raw::match_name_owner(
      bus, avahi::kAvahi, [on_change = std::move(on_change)](sd_bus_message* m) {
        const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return;
        if (old_owner && *old_owner) on_change(false);
        if (new_owner && *new_owner) on_change(true);
      });
}

}  // namespace rbee::sys
