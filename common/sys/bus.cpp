#include "common/sys/bus.h"

#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>

#include "common/sys/bus_raw.h"

namespace rbee::sys {

namespace asio = boost::asio;

struct BusUnref {
  void operator()(sd_bus* b) const { sd_bus_close_unref(b); }
};
using BusPtr = std::unique_ptr<sd_bus, BusUnref>;

// What the loop's handlers reach: they hold it weakly and do nothing once `closed` is set or it
// is gone. The bus itself lives here, so a reply handler that destroys the BusConnection leaves the
// sd_bus_process() call it runs in intact.
class BusConnection::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(asio::io_context& io, BusPtr bus, int fd)
      : io_(io), bus_(std::move(bus)), fd_(io, fd), timer_(io) {}

  sd_bus* bus() { return bus_.get(); }
  void kick() {
    asio::post(io_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->process();
    });
  }
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  void close();

 private:
  void process();
  void arm();
  // Waits up to `limit` for the socket to take what is still queued: a goodbye sent just before
  // the connection goes. Only at close, never while serving.
  void flush_queued(std::chrono::milliseconds limit);

  asio::io_context& io_;
  BusPtr bus_;
  asio::posix::stream_descriptor fd_;  // a CLOEXEC duplicate of the bus fd, to wait on
  asio::steady_timer timer_;           // sd-bus's own next timeout (method call timeouts)
  std::map<asio::steady_timer*, std::unique_ptr<asio::steady_timer>> timers_;  // after()
  bool waiting_read_ = false, waiting_write_ = false;
  bool closed_ = false;
};

void BusConnection::Core::process() {
  if (closed_) return;
  auto keep = shared_from_this();  // a handler may destroy the BusConnection
  // Dispatches queued messages (replies and signals run their handlers here) and writes what the
  // socket takes; a handler that closes the connection stops the loop.
  int r = 1;
  for (int i = 0; i < 256 && r > 0 && !closed_; ++i) r = sd_bus_process(bus_.get(), nullptr);
  if (closed_) return;
  if (r > 0) return kick();  // more to do: let the rest of the loop run first
  arm();
}

void BusConnection::Core::arm() {
  int events = sd_bus_get_events(bus_.get());
  if (events < 0) return;  // the connection is gone
  auto weak = weak_from_this();
  if ((events & POLLIN) && !waiting_read_) {
    waiting_read_ = true;
    fd_.async_wait(asio::posix::stream_descriptor::wait_read, [weak](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self) return;
      self->waiting_read_ = false;
      if (!ec) self->process();
    });
  }
  // POLLOUT: sd-bus has messages the socket did not take; they go when it is writable.
  if ((events & POLLOUT) && !waiting_write_) {
    waiting_write_ = true;
    fd_.async_wait(asio::posix::stream_descriptor::wait_write,
                   [weak](boost::system::error_code ec) {
                     auto self = weak.lock();
                     if (!self) return;
                     self->waiting_write_ = false;
                     if (!ec) self->process();
                   });
  }
  uint64_t until = 0;
  if (sd_bus_get_timeout(bus_.get(), &until) >= 0 && until != UINT64_MAX) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const uint64_t now_us = static_cast<uint64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
    timer_.expires_after(std::chrono::microseconds(until > now_us ? until - now_us : 0));
    timer_.async_wait([weak](boost::system::error_code ec) {
      auto self = weak.lock();
      if (self && !ec) self->process();
    });
  }
}

void BusConnection::Core::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  if (closed_) return;
  auto timer = std::make_unique<asio::steady_timer>(io_, delay);
  auto* raw = timer.get();
  timers_.emplace(raw, std::move(timer));
  raw->async_wait([weak = weak_from_this(), raw, fn = std::move(fn)](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    self->timers_.erase(raw);
    if (!ec) fn();
  });
}

void BusConnection::Core::flush_queued(std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const int events = sd_bus_get_events(bus_.get());
    if (events < 0 || !(events & POLLOUT)) return;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    pollfd p{sd_bus_get_fd(bus_.get()), POLLOUT, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    // Writable: sd_bus_flush writes until the queue is empty, which a goodbye fits into.
    if (sd_bus_flush(bus_.get()) < 0) return;
  }
}

void BusConnection::Core::close() {
  if (closed_) return;
  closed_ = true;
  flush_queued(std::chrono::seconds(1));
  boost::system::error_code ec;
  fd_.cancel(ec);
  timer_.cancel();
  timers_.clear();  // their handlers see closed_ (or nothing) and return
}

namespace {

struct CallState {
  raw::ReplyHandler done;
};

int on_reply(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto* st = static_cast<CallState*>(userdata);
  const sd_bus_error* e = sd_bus_message_get_error(m);
  std::string error;
  if (e) error = std::string(e->name) + ": " + (e->message ? e->message : "");
  // The floating slot is released after this returns, and with it st (destroy_call).
  auto done = std::move(st->done);
  done(m, error);
  return 0;
}

void destroy_call(void* userdata) {
  delete static_cast<CallState*>(userdata);
}

struct SignalState {
  raw::SignalHandler handler;
};

int on_signal(sd_bus_message* m, void* userdata, sd_bus_error*) {
  static_cast<SignalState*>(userdata)->handler(m);
  return 0;
}

void destroy_signal(void* userdata) {
  delete static_cast<SignalState*>(userdata);
}

Result<std::shared_ptr<void>> add_match(BusConnection& conn,
                                        const std::function<int(sd_bus_slot**, void*)>& install,
                                        raw::SignalHandler handler) {
  auto* st = new SignalState{std::move(handler)};
  sd_bus_slot* slot = nullptr;
  if (int r = install(&slot, st); r < 0) {
    delete st;
    return make_error(std::string("D-Bus match: ") + strerror(-r));
  }
  sd_bus_slot_set_destroy_callback(slot, destroy_signal);
  conn.kick();
  return std::shared_ptr<void>(slot,
                               [](void* s) { sd_bus_slot_unref(static_cast<sd_bus_slot*>(s)); });
}

}  // namespace

Result<std::unique_ptr<BusConnection>> BusConnection::open_system(asio::io_context& io) {
  sd_bus* raw = nullptr;
  int r = sd_bus_open_system(&raw);
  if (r < 0) return make_error(std::string("cannot connect to the system bus: ") + strerror(-r));
  BusPtr bus(raw);
  const int fd = sd_bus_get_fd(raw);
  if (fd < 0) return make_error(std::string("system bus fd: ") + strerror(-fd));
  // A duplicate to wait on (the stream_descriptor closes its own); never inherited by workers.
  const int wait_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (wait_fd < 0) return make_error(std::string("system bus fd: ") + strerror(errno));
  auto conn = std::unique_ptr<BusConnection>(
      new BusConnection(std::make_shared<Core>(io, std::move(bus), wait_fd)));
  conn->kick();
  return conn;
}

BusConnection::BusConnection(std::shared_ptr<Core> core) : core_(std::move(core)) {}

BusConnection::~BusConnection() {
  core_->close();
}

void BusConnection::kick() {
  core_->kick();
}

void BusConnection::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  core_->after(delay, std::move(fn));
}

namespace raw {

void MessageUnref::operator()(sd_bus_message* m) const {
  sd_bus_message_unref(m);
}

void SlotUnref::operator()(sd_bus_slot* s) const {
  sd_bus_slot_unref(s);
}

sd_bus* bus(BusConnection& conn) {
  return conn.core().bus();
}

Result<MessagePtr> method_call(BusConnection& conn, const char* destination, const char* path,
                               const char* interface, const char* member) {
  sd_bus_message* m = nullptr;
  if (int r = sd_bus_message_new_method_call(bus(conn), &m, destination, path, interface, member);
      r < 0)
    return make_error(std::string("D-Bus message: ") + strerror(-r));
  return MessagePtr(m);
}

Status call_async(BusConnection& conn, sd_bus_message* call, ReplyHandler done,
                  uint64_t timeout_usec) {
  auto* st = new CallState{std::move(done)};
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_call_async(bus(conn), &slot, call, on_reply, st, timeout_usec);
  if (r < 0) {
    delete st;
    return make_error(std::string("D-Bus call: ") + strerror(-r));
  }
  // Floating: the bus owns the pending call, so one whose reply never comes goes with the bus
  // (destroy_call frees st, done never runs) instead of keeping the bus alive.
  sd_bus_slot_set_destroy_callback(slot, destroy_call);
  sd_bus_slot_set_floating(slot, 1);
  sd_bus_slot_unref(slot);
  conn.kick();
  return Ok{};
}

Status send(BusConnection& conn, sd_bus_message* m) {
  if (int r = sd_bus_send(bus(conn), m, nullptr); r < 0)
    return make_error(std::string("D-Bus send: ") + strerror(-r));
  conn.kick();  // what the socket did not take waits for POLLOUT
  return Ok{};
}

Result<std::shared_ptr<void>> match_signal(BusConnection& conn, const char* sender,
                                           const char* path, const char* iface, const char* member,
                                           SignalHandler handler) {
  return add_match(
      conn,
      [&](sd_bus_slot** slot, void* st) {
        return sd_bus_match_signal_async(bus(conn), slot, sender, path, iface, member, on_signal,
                                         nullptr, st);
      },
      std::move(handler));
}

Result<std::shared_ptr<void>> match_rule(BusConnection& conn, const std::string& rule,
                                         SignalHandler handler) {
  return add_match(
      conn,
      [&](sd_bus_slot** slot, void* st) {
        return sd_bus_add_match_async(bus(conn), slot, rule.c_str(), on_signal, nullptr, st);
      },
      std::move(handler));
}

Result<std::shared_ptr<void>> match_name_owner(BusConnection& conn, const std::string& name,
                                               SignalHandler handler) {
  return match_rule(conn,
                    "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                    "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" +
                        name + "'",
                    std::move(handler));
}

}  // namespace raw

}  // namespace rbee::sys
