#pragma once
// The raw sd-bus side of a BusConnection, for the typed wrappers in common/sys (and for tests that
// play a bus peer). Nothing above common/sys includes it (scripts/check-sys-headers.sh): the
// daemons talk to systemd and Avahi through SystemdManager and the Avahi classes.
//
// The sd-bus types are declared here, not defined: <systemd/sd-bus.h> is included only by .cpp
// files, which need it to build and read messages anyway.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/sys/bus.h"

struct sd_bus;
struct sd_bus_message;
struct sd_bus_slot;

namespace rbee::sys::raw {

struct MessageUnref {
  void operator()(sd_bus_message* m) const;
};
struct SlotUnref {
  void operator()(sd_bus_slot* s) const;
};
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;
using SlotPtr = std::unique_ptr<sd_bus_slot, SlotUnref>;

sd_bus* bus(BusConnection& conn);

// A method call to build with sd_bus_message_append; the error names what could not be built.
Result<MessagePtr> method_call(BusConnection& conn, const char* destination, const char* path,
                               const char* interface, const char* member);

// A method call whose reply arrives on the loop: done(reply or error text). timeout_usec 0 is
// sd-bus's default (25 s).
using ReplyHandler = std::function<void(sd_bus_message* reply, const std::string& error)>;
Status call_async(BusConnection& conn, sd_bus_message* call, ReplyHandler done,
                  uint64_t timeout_usec = 0);
// Sends a message that expects no reply; the loop writes what the socket did not take at once.
Status send(BusConnection& conn, sd_bus_message* m);

// Calls handler for each matching signal until the returned slot is dropped.
using SignalHandler = std::function<void(sd_bus_message* m)>;
Result<std::shared_ptr<void>> match_signal(BusConnection& conn, const char* sender,
                                           const char* path, const char* iface, const char* member,
                                           SignalHandler handler);
// A match rule in the D-Bus specification's syntax (type='signal',path='...',arg0='...').
Result<std::shared_ptr<void>> match_rule(BusConnection& conn, const std::string& rule,
                                         SignalHandler handler);
// NameOwnerChanged for one bus name only (the bus filters on arg0): a name that is taken, lost
// or passed on, not every client connecting and leaving.
Result<std::shared_ptr<void>> match_name_owner(BusConnection& conn, const std::string& name,
                                               SignalHandler handler);

}  // namespace rbee::sys::raw
