#pragma once
// sd-bus on the daemon's io_context: the bus fd on a stream_descriptor, its timeout on a timer,
// sd_bus_process() until there is nothing left, writes driven by the fd becoming writable. No
// thread, no blocking call.
//
// Lifetimes: everything the connection runs later (method replies, signal handlers, timers from
// after()) runs only while the BusConnection lives. Its state is a block the loop's handlers hold
// weakly, so a handler that comes after the connection is gone finds nothing and returns; pending
// replies and timers are dropped with it, their handlers never run. An owner of a BusConnection
// may therefore capture `this` in what it hands the connection.
#include <systemd/sd-bus.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

namespace rbee::sys {

struct BusUnref {
  void operator()(sd_bus* b) const { sd_bus_close_unref(b); }
};
struct MessageUnref {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
struct SlotUnref {
  void operator()(sd_bus_slot* s) const { sd_bus_slot_unref(s); }
};
using BusPtr = std::unique_ptr<sd_bus, BusUnref>;
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;
using SlotPtr = std::unique_ptr<sd_bus_slot, SlotUnref>;

// Frees an sd_bus_error when it goes out of scope.
class BusError {
 public:
  BusError() = default;
  BusError(const BusError&) = delete;
  ~BusError() { sd_bus_error_free(&e_); }
  sd_bus_error* get() { return &e_; }
  std::string message(int r) const;

 private:
  sd_bus_error e_ = SD_BUS_ERROR_NULL;
};

class BusConnection {
 public:
  // Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS when set) and serves it on io.
  static Result<std::unique_ptr<BusConnection>> open_system(boost::asio::io_context& io);
  // Writes what is still queued for up to a second (an Avahi goodbye), then closes.
  ~BusConnection();
  BusConnection(const BusConnection&) = delete;
  BusConnection& operator=(const BusConnection&) = delete;

  sd_bus* bus();

  // A method call whose reply arrives on the loop: done(reply or error text).
  using ReplyHandler = std::function<void(sd_bus_message* reply, const std::string& error)>;
  Status call_async(sd_bus_message* call, ReplyHandler done, uint64_t timeout_usec = 0);
  // Sends a message that expects no reply; the loop writes what the socket did not take at once.
  Status send(sd_bus_message* m);
  // Calls handler for each matching signal until the returned slot is dropped.
  using SignalHandler = std::function<void(sd_bus_message* m)>;
  Result<std::shared_ptr<void>> match_signal(const char* sender, const char* path,
                                             const char* iface, const char* member,
                                             SignalHandler handler);
  // A match rule in the D-Bus specification's syntax (type='signal',path='...',arg0='...').
  Result<std::shared_ptr<void>> match_rule(const std::string& rule, SignalHandler handler);
  // NameOwnerChanged for one bus name only (the bus filters on arg0): a name that is taken, lost
  // or passed on, not every client connecting and leaving.
  Result<std::shared_ptr<void>> match_name_owner(const std::string& name, SignalHandler handler);
  // Runs fn on the loop after delay, unless the connection is gone by then.
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  // After a call or a new match: process, and wait for what sd-bus wants next.
  void kick();

  class Core;

 private:
  explicit BusConnection(std::shared_ptr<Core> core);
  Result<std::shared_ptr<void>> add_match(const std::function<int(sd_bus_slot**, void*)>& install,
                                          SignalHandler handler);

  std::shared_ptr<Core> core_;
};

}  // namespace rbee::sys
