#pragma once
// sd-bus on the daemon's io_context: the bus fd on a stream_descriptor, its timeout on a timer,
// sd_bus_process() until there is nothing left. No thread, no blocking call.
#include <systemd/sd-bus.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

namespace rbee::sys {

struct BusUnref {
  void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
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
  // Connects to the system bus and starts serving it on io.
  static Result<std::unique_ptr<BusConnection>> open_system(boost::asio::io_context& io);
  ~BusConnection();

  sd_bus* bus() { return bus_.get(); }

  // A method call whose reply arrives on the loop: done(reply or error text).
  using ReplyHandler = std::function<void(sd_bus_message* reply, const std::string& error)>;
  Status call_async(sd_bus_message* call, ReplyHandler done, uint64_t timeout_usec = 0);
  // Calls handler for each matching signal until the returned slot is dropped.
  using SignalHandler = std::function<void(sd_bus_message* m)>;
  Result<std::shared_ptr<void>> match_signal(const char* sender, const char* path,
                                             const char* iface, const char* member,
                                             SignalHandler handler);
  // NameOwnerChanged for one bus name only (the bus filters on arg0): a name that is taken, lost
  // or passed on, not every client connecting and leaving.
  Result<std::shared_ptr<void>> match_name_owner(const std::string& name, SignalHandler handler);
  // After a call or a new match: flush and wait for what sd-bus wants next.
  void kick();

 private:
  BusConnection(boost::asio::io_context& io, BusPtr bus);
  // install(&slot, userdata) adds the match; the handler lives as long as the returned slot.
  Result<std::shared_ptr<void>> add_match(const std::function<int(sd_bus_slot**, void*)>& install,
                                          SignalHandler handler);
  void process();
  void arm();

  boost::asio::io_context& io_;
  BusPtr bus_;
  boost::asio::posix::stream_descriptor fd_;
  boost::asio::steady_timer timer_;
  bool waiting_read_ = false, waiting_write_ = false;
  bool dead_ = false;
};

}  // namespace rbee::sys
