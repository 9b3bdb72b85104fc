#pragma once
// mDNS/DNS-SD through the host's Avahi daemon (org.freedesktop.Avahi on the system bus), on the
// daemon's io_context through BusConnection: an EntryGroup to announce a service
// (avahi_publisher.h), a ServiceBrowser and ResolveService to find them (avahi_browser.h), TXT
// records (avahi_txt.h). Every call is asynchronous; nothing blocks the loop. See
// docs/operations.md ("mDNS").
#include <functional>
#include <memory>
#include <string_view>

#include "common/result.h"
#include "common/sys/avahi_browser.h"
#include "common/sys/avahi_publisher.h"
#include "common/sys/avahi_txt.h"
#include "common/sys/bus.h"

namespace rbee::sys {

// The DNS-SD service type Hives announce and Queens browse.
inline constexpr std::string_view kMdnsServiceType = "_rbee-hive._tcp";

// Calls on_change(false) when Avahi leaves the bus (stopped, crashed, restarting) and
// on_change(true) when it takes its name again. Dropping the result ends the watch.
Result<std::shared_ptr<void>> watch_avahi(BusConnection& bus,
                                          std::function<void(bool running)> on_change);

}  // namespace rbee::sys
