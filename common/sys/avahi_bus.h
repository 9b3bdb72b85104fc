#pragma once
// The Avahi daemon's D-Bus names and the calls the publisher and the browser share. For the
// avahi_*.cpp files only: it hands on raw sd-bus messages (bus_raw.h).
#include <cstdint>
#include <string>

#include "common/result.h"
#include "common/sys/bus.h"
#include "common/sys/bus_raw.h"

namespace rbee::sys::avahi {

inline constexpr const char* kAvahi = "org.freedesktop.Avahi";
inline constexpr const char* kServer = "org.freedesktop.Avahi.Server";
inline constexpr const char* kServer2 = "org.freedesktop.Avahi.Server2";  // Avahi 0.8: *Prepare
inline constexpr const char* kEntryGroup = "org.freedesktop.Avahi.EntryGroup";
inline constexpr const char* kBrowser = "org.freedesktop.Avahi.ServiceBrowser";
inline constexpr int kIfUnspec = -1;
inline constexpr int kProtoUnspec = -1;
inline constexpr uint64_t kCallTimeoutUs = 10'000'000;

// A method call to Avahi, to build with sd_bus_message_append.
Result<raw::MessagePtr> method(BusConnection& bus, const char* path, const char* iface,
                               const char* member);

// Frees the Avahi object at `path` (an entry group, a browser) without waiting for a reply; the
// loop writes what the socket did not take at once. Freeing an entry group withdraws its records:
// Avahi sends the goodbye (TTL 0) packets.
void free_object(BusConnection& bus, const std::string& path, const char* iface);

// "Avahi is not running" rather than the bus's error name for the common case.
std::string explain(const std::string& error);

}  // namespace rbee::sys::avahi
