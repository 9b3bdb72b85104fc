#include "common/sys/bus.h"

#include <poll.h>
#include <string.h>
#include <time.h>

#include <boost/asio/post.hpp>

namespace rbee::sys {

namespace asio = boost::asio;

std::string BusError::message(int r) const {
  if (sd_bus_error_is_set(&e_)) return std::string(e_.name) + ": " + (e_.message ? e_.message : "");
  return strerror(-r);
}

Result<std::unique_ptr<BusConnection>> BusConnection::open_system(asio::io_context& io) {
  sd_bus* raw = nullptr;
  int r = sd_bus_open_system(&raw);
  if (r < 0) return make_error(std::string("cannot connect to the system bus: ") + strerror(-r));
  BusPtr bus(raw);
  auto conn = std::unique_ptr<BusConnection>(new BusConnection(io, std::move(bus)));
  conn->kick();
  return conn;
}

BusConnection::BusConnection(asio::io_context& io, BusPtr bus)
    : io_(io), bus_(std::move(bus)), fd_(io, ::dup(sd_bus_get_fd(bus_.get()))), timer_(io) {}

BusConnection::~BusConnection() {
  dead_ = true;
  boost::system::error_code ec;
  fd_.cancel(ec);
  timer_.cancel();
}

void BusConnection::kick() {
  asio::post(io_, [this] { process(); });
}

void BusConnection::process() {
  if (dead_) return;
  // Dispatches every queued message (replies and signals run their handlers here).
  for (int i = 0; i < 1024; ++i) {
    int r = sd_bus_process(bus_.get(), nullptr);
    if (r <= 0) break;
  }
  arm();
}

void BusConnection::arm() {
  int events = sd_bus_get_events(bus_.get());
  if (events < 0) return;  // the connection is gone
  if ((events & POLLIN) && !waiting_read_) {
    waiting_read_ = true;
    fd_.async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
      waiting_read_ = false;
      if (!ec) process();
    });
  }
  if ((events & POLLOUT) && !waiting_write_) {
    waiting_write_ = true;
    fd_.async_wait(asio::posix::stream_descriptor::wait_write,
                   [this](boost::system::error_code ec) {
                     waiting_write_ = false;
                     if (!ec) process();
                   });
  }
  uint64_t until = 0;
  if (sd_bus_get_timeout(bus_.get(), &until) >= 0 && until != UINT64_MAX) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const uint64_t now_us = static_cast<uint64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
    timer_.expires_after(std::chrono::microseconds(until > now_us ? until - now_us : 0));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) process();
    });
  }
}

namespace {

struct CallState {
  BusConnection::ReplyHandler done;
  SlotPtr slot;
};

int on_reply(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto* st = static_cast<CallState*>(userdata);
  const sd_bus_error* e = sd_bus_message_get_error(m);
  std::string error;
  if (e) error = std::string(e->name) + ": " + (e->message ? e->message : "");
  auto done = std::move(st->done);
  // The slot owns this state through its destroy callback; dropping it frees st.
  SlotPtr slot = std::move(st->slot);
  done(m, error);
  return 0;
}

void destroy_call(void* userdata) {
  delete static_cast<CallState*>(userdata);
}

struct SignalState {
  BusConnection::SignalHandler handler;
};

int on_signal(sd_bus_message* m, void* userdata, sd_bus_error*) {
  static_cast<SignalState*>(userdata)->handler(m);
  return 0;
}

void destroy_signal(void* userdata) {
  delete static_cast<SignalState*>(userdata);
}

}  // namespace

Status BusConnection::call_async(sd_bus_message* call, ReplyHandler done, uint64_t timeout_usec) {
  auto* st = new CallState{std::move(done), nullptr};
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_call_async(bus_.get(), &slot, call, on_reply, st, timeout_usec);
  if (r < 0) {
    delete st;
    return make_error(std::string("D-Bus call: ") + strerror(-r));
  }
  sd_bus_slot_set_destroy_callback(slot, destroy_call);
  st->slot.reset(slot);
  kick();
  return Ok{};
}

Result<std::shared_ptr<void>> BusConnection::match_signal(const char* sender, const char* path,
                                                          const char* iface, const char* member,
                                                          SignalHandler handler) {
  return add_match(
      [&](sd_bus_slot** slot, void* st) {
        return sd_bus_match_signal_async(bus_.get(), slot, sender, path, iface, member, on_signal,
                                         nullptr, st);
      },
      std::move(handler));
}

Result<std::shared_ptr<void>> BusConnection::match_name_owner(const std::string& name,
                                                              SignalHandler handler) {
  const std::string rule =
      "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
      "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" +
      name + "'";
  return add_match(
      [&](sd_bus_slot** slot, void* st) {
        return sd_bus_add_match_async(bus_.get(), slot, rule.c_str(), on_signal, nullptr, st);
      },
      std::move(handler));
}

Result<std::shared_ptr<void>> BusConnection::add_match(
    const std::function<int(sd_bus_slot**, void*)>& install, SignalHandler handler) {
  auto* st = new SignalState{std::move(handler)};
  sd_bus_slot* slot = nullptr;
  if (int r = install(&slot, st); r < 0) {
    delete st;
    return make_error(std::string("D-Bus match: ") + strerror(-r));
  }
  sd_bus_slot_set_destroy_callback(slot, destroy_signal);
  kick();
  return std::shared_ptr<void>(slot,
                               [](void* s) { sd_bus_slot_unref(static_cast<sd_bus_slot*>(s)); });
}

}  // namespace rbee::sys
