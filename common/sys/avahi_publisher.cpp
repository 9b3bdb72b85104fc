#include "common/sys/avahi_publisher.h"

#include <systemd/sd-bus.h>

#include <spdlog/spdlog.h>

#include <cstring>

#include "common/sys/avahi.h"
#include "common/sys/avahi_bus.h"

namespace rbee::sys {

using namespace avahi;

namespace {

std::string entry_group_state(int32_t s) {
  switch (s) {
    case 0:
      return "uncommitted";
    case 1:
      return "registering";
    case 2:
      return "established";
    case 3:
      return "collision";
    case 4:
      return "failure";
  }
  return "unknown";
}

}  // namespace

AvahiPublisher::AvahiPublisher(BusConnection& bus, Service service)
    : bus_(bus), service_(std::move(service)) {}

AvahiPublisher::~AvahiPublisher() {
  stop();
}

void AvahiPublisher::fail(const std::string& what) {
  if (stopped_) return;
  spdlog::warn(
      "mDNS: cannot announce {} {}: {}; carrying on without it (announcing when Avahi "
      "starts)",
      service_.type, service_.name, explain(what));
  state_ = "failure";
}

void AvahiPublisher::start() {
  if (!owner_watch_) {
    auto watch = watch_avahi(bus_, [this, weak = weak_from_this()](bool running) {
      if (!weak.expired() && !stopped_) on_avahi(running);
    });
    if (watch) owner_watch_ = std::move(*watch);
  }
  announce();
}

void AvahiPublisher::on_avahi(bool running) {
  if (!running) {
    spdlog::warn("mDNS: Avahi left the bus; {} is not announced until it is back", service_.name);
    ++attempt_;
    group_path_.clear();
    state_match_.reset();
    state_.clear();
    return;
  }
  spdlog::info("mDNS: Avahi is on the bus; announcing {} again", service_.name);
  announce();
}

void AvahiPublisher::announce() {
  const uint64_t attempt = ++attempt_;
  auto m = method(bus_, "/", kServer, "EntryGroupNew");
  if (!m) return fail(m.error().message);
  auto st = raw::call_async(
      bus_, m->get(),
      [this, weak = weak_from_this(), attempt](sd_bus_message* reply, const std::string& error) {
        if (weak.expired() || stopped_ || attempt != attempt_) return;
        if (!error.empty()) return fail(error);
        const char* path = nullptr;
        if (int r = sd_bus_message_read(reply, "o", &path); r < 0 || !path)
          return fail("bad EntryGroupNew reply");
        group_path_ = path;
        auto match = raw::match_signal(
            bus_, nullptr, group_path_.c_str(), kEntryGroup, "StateChanged",
            [this, weak, attempt](sd_bus_message* sig) {
              if (weak.expired() || attempt != attempt_) return;
              int32_t s = 0;
              const char* err = nullptr;
              if (sd_bus_message_read(sig, "is", &s, &err) < 0) return;
              state_ = entry_group_state(s);
              if (s == 2)
                spdlog::info("mDNS: announcing {} {} on port {}", service_.type, service_.name,
                             service_.port);
              else if (s == 3)
                spdlog::warn(
                    "mDNS: the name {} is already announced by another host; not "
                    "announcing (set a unique hive_id)",
                    service_.name);
              else if (s == 4)
                spdlog::warn("mDNS: Avahi failed to announce {}: {}", service_.name,
                             err && *err ? err : "no reason given");
            });
        if (!match) return fail(match.error().message);
        state_match_ = std::move(*match);
        add_service(attempt);
      },
      kCallTimeoutUs);
  if (!st) fail(st.error().message);
}

void AvahiPublisher::add_service(uint64_t attempt) {
  auto m = method(bus_, group_path_.c_str(), kEntryGroup, "AddService");
  if (!m) return fail(m.error().message);
  sd_bus_message* msg = m->get();
  int r = sd_bus_message_append(msg, "iiussssq", kIfUnspec, kProtoUnspec, 0u, service_.name.c_str(),
                                service_.type.c_str(), "", "", service_.port);
  if (r >= 0) r = sd_bus_message_open_container(msg, 'a', "ay");
  for (const auto& rec : service_.txt) {
    if (r >= 0) r = sd_bus_message_append_array(msg, 'y', rec.data(), rec.size());
  }
  if (r >= 0) r = sd_bus_message_close_container(msg);
  if (r < 0) return fail(std::string("D-Bus message: ") + strerror(-r));
  auto st = raw::call_async(
      bus_, msg,
      [this, weak = weak_from_this(), attempt](sd_bus_message*, const std::string& error) {
        if (weak.expired() || stopped_ || attempt != attempt_) return;
        if (!error.empty()) return fail("AddService: " + error);
        auto commit = method(bus_, group_path_.c_str(), kEntryGroup, "Commit");
        if (!commit) return fail(commit.error().message);
        auto st = raw::call_async(
            bus_, commit->get(),
            [this, weak, attempt](sd_bus_message*, const std::string& error) {
              if (!weak.expired() && attempt == attempt_ && !error.empty())
                fail("Commit: " + error);
            },
            kCallTimeoutUs);
        if (!st) fail(st.error().message);
      },
      kCallTimeoutUs);
  if (!st) fail(st.error().message);
}

void AvahiPublisher::stop() {
  if (stopped_) return;
  stopped_ = true;
  state_match_.reset();
  owner_watch_.reset();
  if (group_path_.empty()) return;  // Avahi frees what a client left when its connection closes
  // The goodbye is written by the loop, or by the connection's close.
  free_object(bus_, group_path_, kEntryGroup);
  group_path_.clear();
}

}  // namespace rbee::sys
