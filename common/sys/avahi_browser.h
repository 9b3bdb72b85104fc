#pragma once
// Finding services through Avahi's ServiceBrowser and ResolveService. See avahi.h.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>

#include "common/sys/bus.h"

namespace rbee::sys {

// One resolved service instance.
struct FoundService {
  std::string name;
  std::string type;
  std::string domain;
  std::string host;     // the announcer's host name, e.g. "gpu-07.local"
  std::string address;  // the resolved address, e.g. "10.0.0.7"
  uint16_t port = 0;
  int interface = -1;
  int protocol = -1;  // 0 IPv4, 1 IPv6
  std::map<std::string, std::string> txt;
};

// Browses one service type on every interface Avahi uses; each item is resolved once. When Avahi
// restarts, browses again: items seen before are kept until the new browser's first full answer
// (AllForNow) and only those it does not list again are reported removed.
class AvahiBrowser : public std::enable_shared_from_this<AvahiBrowser> {
 public:
  AvahiBrowser(BusConnection& bus, std::string type);
  ~AvahiBrowser();
  // A service instance appeared on an interface/protocol (and resolved).
  std::function<void(const FoundService&)> on_found;
  // It left that interface/protocol: goodbye packet or TTL expiry.
  std::function<void(const std::string& name, int interface, int protocol)> on_removed;
  // The browser could not be created or failed later (logged already).
  std::function<void(const std::string& error)> on_error;
  void start();

  struct BrowserSignal;  // one ServiceBrowser signal, read (avahi_browser.cpp)

 private:
  using Item = std::tuple<std::string, int, int>;  // name, interface, protocol

  void browse();
  void on_signal(const BrowserSignal& sig);
  void on_avahi(bool running);
  void drop_stale();
  void resolve(int interface, int protocol, const std::string& name, const std::string& type,
               const std::string& domain);
  void fail(const std::string& what);

  BusConnection& bus_;
  std::string type_;
  std::string browser_path_;
  std::shared_ptr<void> match_, owner_watch_;
  std::set<Item> present_;  // items announced and not yet removed
  std::set<Item> stale_;    // items of the browser of an Avahi that has gone
  uint64_t attempt_ = 0;
};

}  // namespace rbee::sys
