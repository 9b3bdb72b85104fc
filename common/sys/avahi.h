#pragma once
// mDNS/DNS-SD through the host's Avahi daemon (org.freedesktop.Avahi on the system bus), on the
// daemon's io_context through BusConnection: an EntryGroup to announce a service, a
// ServiceBrowser and ResolveService to find them. Every call is asynchronous; nothing blocks the
// loop. See docs/operations.md ("mDNS").
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/sys/bus.h"

namespace rbee::sys {

// The DNS-SD service type Hives announce and Queens browse.
inline constexpr std::string_view kMdnsServiceType = "_rbee-hive._tcp";

// TXT records: one "key=value" byte string each (RFC 6763 section 6). Keys are case-insensitive
// and at most 9 bytes would be polite; a record is at most 255 bytes.
Result<std::vector<std::string>> encode_txt(
    const std::vector<std::pair<std::string, std::string>>& records);
// Keys lowercased; the first record of a key wins; records without '=' or with an empty key are
// skipped (a bare key is a boolean attribute we do not use).
std::map<std::string, std::string> decode_txt(const std::vector<std::string>& records);

// Calls on_change(false) when Avahi leaves the bus (stopped, crashed, restarting) and
// on_change(true) when it takes its name again. Dropping the result ends the watch.
Result<std::shared_ptr<void>> watch_avahi(BusConnection& bus,
                                          std::function<void(bool running)> on_change);

// Announces one service while it lives; stop() (or the destructor) withdraws it, which makes
// Avahi send the goodbye packets. Announces again whenever Avahi (re)starts: a restarted daemon
// has forgotten every entry group.
class AvahiPublisher {
 public:
  struct Service {
    std::string name;  // instance name, e.g. the hive id
    std::string type;  // "_rbee-hive._tcp"
    uint16_t port = 0;
    std::vector<std::string> txt;  // from encode_txt
  };
  AvahiPublisher(BusConnection& bus, Service service);
  ~AvahiPublisher();
  // Creates the entry group, adds the service and commits it. Errors are logged (once per
  // attempt); without Avahi, the announcement waits for it to start.
  void start();
  // Frees the entry group (the goodbye) and flushes the bus.
  void stop();
  // established, registering, collision, failure, or "" before the first state.
  const std::string& state() const { return state_; }

 private:
  void announce();
  void add_service(uint64_t attempt);
  void fail(const std::string& what);
  void on_avahi(bool running);

  BusConnection& bus_;
  Service service_;
  std::string group_path_;
  std::shared_ptr<void> state_match_, owner_watch_;
  std::string state_;
  uint64_t attempt_ = 0;  // replies to an earlier attempt (an Avahi since gone) are ignored
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

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
class AvahiBrowser {
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

  struct BrowserSignal;  // one ServiceBrowser signal, read (avahi.cpp)

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
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace rbee::sys
