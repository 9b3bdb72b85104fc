#pragma once
// sd-bus on the daemon's io_context: the bus fd on a stream_descriptor, its timeout on a timer,
// sd_bus_process() until there is nothing left, writes driven by the fd becoming writable. No
// thread, no blocking call.
//
// This header shows no sd-bus type: what talks over the connection does so through the typed
// wrappers beside it (systemd_manager.h, avahi.h), which reach the raw side with bus_raw.h.
//
// Lifetimes: everything the connection runs later (method replies, signal handlers, timers from
// after()) runs only while the BusConnection lives. Its state is a block the loop's handlers hold
// weakly, so a handler that comes after the connection is gone finds nothing and returns; pending
// replies and timers are dropped with it, their handlers never run. An owner of a BusConnection
// may therefore capture `this` in what it hands the connection.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "common/result.h"

namespace rbee::sys {

class BusConnection {
 public:
  // Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS when set) and serves it on io.
  static Result<std::unique_ptr<BusConnection>> open_system(boost::asio::io_context& io);
  // Writes what is still queued for up to a second (an Avahi goodbye), then closes.
  ~BusConnection();
  BusConnection(const BusConnection&) = delete;
  BusConnection& operator=(const BusConnection&) = delete;

  // Runs fn on the loop after delay, unless the connection is gone by then.
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  // After a call or a new match: process, and wait for what sd-bus wants next.
  void kick();

  // The state the loop's handlers share; defined in bus.cpp, reached through bus_raw.h.
  class Core;
  Core& core() { return *core_; }

 private:
  explicit BusConnection(std::shared_ptr<Core> core);

  std::shared_ptr<Core> core_;
};

}  // namespace rbee::sys
