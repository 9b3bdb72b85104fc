#include "common/sys/avahi.h"

#include <systemd/sd-bus.h>

#include <spdlog/spdlog.h>

#include <cctype>
#include <cstring>
#include <optional>
#include <tuple>
#include <utility>

#include "common/sys/bus_raw.h"

namespace rbee::sys {

namespace {

constexpr const char* kAvahi = "org.freedesktop.Avahi";
constexpr const char* kServer = "org.freedesktop.Avahi.Server";
constexpr const char* kServer2 = "org.freedesktop.Avahi.Server2";  // Avahi 0.8: *Prepare
constexpr const char* kEntryGroup = "org.freedesktop.Avahi.EntryGroup";
constexpr const char* kBrowser = "org.freedesktop.Avahi.ServiceBrowser";
constexpr int kIfUnspec = -1;
constexpr int kProtoUnspec = -1;
constexpr uint64_t kCallTimeoutUs = 10'000'000;
constexpr std::size_t kMaxTxtRecord = 255;
constexpr std::size_t kMaxTxtRecords = 64;

Result<raw::MessagePtr> method(BusConnection& bus, const char* path, const char* iface,
                               const char* member) {
  return raw::method_call(bus, kAvahi, path, iface, member);
}

// "Avahi is not running" rather than the bus's error name for the common case.
std::string explain(const std::string& error) {
  if (error.starts_with("org.freedesktop.DBus.Error.ServiceUnknown") ||
      error.starts_with("org.freedesktop.DBus.Error.NameHasNoOwner") ||
      error.starts_with("org.freedesktop.systemd1.NoSuchUnit"))
    return "the Avahi daemon is not running (" + error + ")";
  return error;
}

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

// A ServiceBrowser signal, read off the message while the bus still holds it.
struct AvahiBrowser::BrowserSignal {
  std::string path, member;
  // ItemNew, ItemRemove: name, type, domain, interface, protocol
  std::optional<std::tuple<std::string, std::string, std::string, int, int>> item;
  std::string error;  // Failure
};

namespace {

AvahiBrowser::BrowserSignal read_browser_signal(sd_bus_message* m) {
  AvahiBrowser::BrowserSignal sig;
  const char* path = sd_bus_message_get_path(m);
  const char* member = sd_bus_message_get_member(m);
  if (!path || !member) return sig;  // matches nothing: on_signal ignores it
  sig.path = path;
  sig.member = member;
  if (sig.member == "ItemNew" || sig.member == "ItemRemove") {
    int32_t interface = 0, protocol = 0;
    const char *name = nullptr, *type = nullptr, *domain = nullptr;
    uint32_t flags = 0;
    if (sd_bus_message_read(m, "iisssu", &interface, &protocol, &name, &type, &domain, &flags) >= 0)
      sig.item.emplace(name, type, domain, interface, protocol);
  } else if (sig.member == "Failure") {
    const char* error = nullptr;
    sd_bus_message_read(m, "s", &error);
    sig.error = error ? error : "browser failure";
  }
  return sig;
}

}  // namespace

Result<std::shared_ptr<void>> watch_avahi(BusConnection& bus,
                                          std::function<void(bool running)> on_change) {
  return raw::match_name_owner(bus, kAvahi, [on_change = std::move(on_change)](sd_bus_message* m) {
    const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return;
    if (old_owner && *old_owner) on_change(false);
    if (new_owner && *new_owner) on_change(true);
  });
}

Result<std::vector<std::string>> encode_txt(
    const std::vector<std::pair<std::string, std::string>>& records) {
  std::vector<std::string> out;
  for (const auto& [k, v] : records) {
    if (k.empty() || k.find('=') != std::string::npos)
      return make_error("TXT key \"" + k + "\" is empty or holds '='");
    for (unsigned char c : k) {
      if (c < 0x20 || c > 0x7e) return make_error("TXT key \"" + k + "\" is not printable ASCII");
    }
    std::string rec = k + "=" + v;
    if (rec.size() > kMaxTxtRecord)
      return make_error("TXT record " + k + " is longer than 255 bytes");
    out.push_back(std::move(rec));
  }
  return out;
}

std::map<std::string, std::string> decode_txt(const std::vector<std::string>& records) {
  std::map<std::string, std::string> out;
  std::size_t n = 0;
  for (const auto& rec : records) {
    if (++n > kMaxTxtRecords) break;
    if (rec.size() > kMaxTxtRecord) continue;
    auto eq = rec.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = rec.substr(0, eq);
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.emplace(std::move(key), rec.substr(eq + 1));
  }
  return out;
}

// --- publisher ---

AvahiPublisher::AvahiPublisher(BusConnection& bus, Service service)
    : bus_(bus), service_(std::move(service)) {}

AvahiPublisher::~AvahiPublisher() {
  stop();
  *alive_ = false;
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
    auto watch = watch_avahi(bus_, [this, alive = alive_](bool running) {
      if (*alive && !stopped_) on_avahi(running);
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
      [this, alive = alive_, attempt](sd_bus_message* reply, const std::string& error) {
        if (!*alive || stopped_ || attempt != attempt_) return;
        if (!error.empty()) return fail(error);
        const char* path = nullptr;
        if (int r = sd_bus_message_read(reply, "o", &path); r < 0 || !path)
          return fail("bad EntryGroupNew reply");
        group_path_ = path;
        auto match = raw::match_signal(
            bus_, nullptr, group_path_.c_str(), kEntryGroup, "StateChanged",
            [this, alive, attempt](sd_bus_message* sig) {
              if (!*alive || attempt != attempt_) return;
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
      [this, alive = alive_, attempt](sd_bus_message*, const std::string& error) {
        if (!*alive || stopped_ || attempt != attempt_) return;
        if (!error.empty()) return fail("AddService: " + error);
        auto commit = method(bus_, group_path_.c_str(), kEntryGroup, "Commit");
        if (!commit) return fail(commit.error().message);
        auto st = raw::call_async(
            bus_, commit->get(),
            [this, alive, attempt](sd_bus_message*, const std::string& error) {
              if (*alive && attempt == attempt_ && !error.empty()) fail("Commit: " + error);
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
  // Free withdraws the records: Avahi sends the goodbye (TTL 0) packets. No reply is awaited.
  sd_bus_message* m = nullptr;
  if (sd_bus_message_new_method_call(raw::bus(bus_), &m, kAvahi, group_path_.c_str(), kEntryGroup,
                                     "Free") < 0)
    return;
  raw::MessagePtr msg(m);
  sd_bus_message_set_expect_reply(m, 0);
  (void)raw::send(bus_, m);  // written by the loop, or by the connection's close
  group_path_.clear();
}

// --- browser ---

AvahiBrowser::AvahiBrowser(BusConnection& bus, std::string type)
    : bus_(bus), type_(std::move(type)) {}

AvahiBrowser::~AvahiBrowser() {
  *alive_ = false;
  match_.reset();
  owner_watch_.reset();
  if (browser_path_.empty()) return;
  sd_bus_message* m = nullptr;
  if (sd_bus_message_new_method_call(raw::bus(bus_), &m, kAvahi, browser_path_.c_str(), kBrowser,
                                     "Free") < 0)
    return;
  raw::MessagePtr msg(m);
  sd_bus_message_set_expect_reply(m, 0);
  sd_bus_send(raw::bus(bus_), m, nullptr);
}

void AvahiBrowser::fail(const std::string& what) {
  const std::string msg = explain(what);
  spdlog::warn("mDNS: cannot browse {}: {}; carrying on without it (browsing when Avahi starts)",
               type_, msg);
  if (on_error) on_error(msg);
}

void AvahiBrowser::start() {
  // One match for every browser signal, installed before the browser exists; signals for other
  // browsers are ignored by path. With ServiceBrowserPrepare + Start (Avahi 0.8) no item can be
  // sent before we know our browser's path.
  auto match = raw::match_signal(bus_, nullptr, nullptr, kBrowser, nullptr,
                                 [this, alive = alive_](sd_bus_message* m) {
                                   if (*alive) on_signal(read_browser_signal(m));
                                 });
  if (!match) return fail(match.error().message);
  match_ = std::move(*match);
  auto watch = watch_avahi(bus_, [this, alive = alive_](bool running) {
    if (*alive) on_avahi(running);
  });
  if (watch) owner_watch_ = std::move(*watch);
  browse();
}

void AvahiBrowser::on_avahi(bool running) {
  ++attempt_;
  browser_path_.clear();
  if (!running) {
    spdlog::warn("mDNS: Avahi left the bus; browsing {} again when it is back ({} found kept)",
                 type_, present_.size());
    return;
  }
  // A new Avahi knows nothing of the old browser: what it lists again is found again, the rest
  // is dropped once it has answered in full (AllForNow).
  stale_.insert(present_.begin(), present_.end());
  present_.clear();
  spdlog::info("mDNS: Avahi is on the bus; browsing {} again", type_);
  browse();
}

void AvahiBrowser::browse() {
  const uint64_t attempt = ++attempt_;
  auto m = method(bus_, "/", kServer2, "ServiceBrowserPrepare");
  if (!m) return fail(m.error().message);
  int r = sd_bus_message_append(m->get(), "iissu", kIfUnspec, kProtoUnspec, type_.c_str(), "", 0u);
  if (r < 0) return fail(std::string("D-Bus message: ") + strerror(-r));
  auto st = raw::call_async(
      bus_, m->get(),
      [this, alive = alive_, attempt](sd_bus_message* reply, const std::string& error) {
        if (!*alive || attempt != attempt_) return;
        if (!error.empty()) return fail(error);
        const char* path = nullptr;
        if (sd_bus_message_read(reply, "o", &path) < 0 || !path)
          return fail("bad ServiceBrowserPrepare reply");
        browser_path_ = path;
        auto start = method(bus_, browser_path_.c_str(), kBrowser, "Start");
        if (!start) return fail(start.error().message);
        auto st = raw::call_async(
            bus_, start->get(),
            [this, alive, attempt](sd_bus_message*, const std::string& error) {
              if (!*alive || attempt != attempt_) return;
              if (!error.empty()) return fail("ServiceBrowser.Start: " + error);
              spdlog::info("mDNS: browsing {}", type_);
            },
            kCallTimeoutUs);
        if (!st) fail(st.error().message);
      },
      kCallTimeoutUs);
  if (!st) fail(st.error().message);
}

// An item listed again has left stale_ on its ItemNew; what is left was not.
void AvahiBrowser::drop_stale() {
  for (const auto& [name, interface, protocol] : std::exchange(stale_, {})) {
    if (on_removed) on_removed(name, interface, protocol);
  }
}

void AvahiBrowser::on_signal(const BrowserSignal& sig) {
  if (browser_path_.empty() || browser_path_ != sig.path) return;
  if (sig.member == "ItemNew" || sig.member == "ItemRemove") {
    if (!sig.item) return;
    const auto& [name, type, domain, interface, protocol] = *sig.item;
    Item item{name, interface, protocol};
    if (sig.member == "ItemNew") {
      stale_.erase(item);
      present_.insert(std::move(item));
      resolve(interface, protocol, name, type, domain);
    } else if ((present_.erase(item) || stale_.erase(item)) && on_removed) {
      on_removed(name, interface, protocol);
    }
  } else if (sig.member == "AllForNow") {
    drop_stale();
  } else if (sig.member == "Failure") {
    fail(sig.error);
  }
}

void AvahiBrowser::resolve(int interface, int protocol, const std::string& name,
                           const std::string& type, const std::string& domain) {
  auto m = method(bus_, "/", kServer, "ResolveService");
  if (!m) return;
  if (sd_bus_message_append(m->get(), "iisssiu", interface, protocol, name.c_str(), type.c_str(),
                            domain.c_str(), protocol, 0u) < 0)
    return;
  auto st = raw::call_async(
      bus_, m->get(),
      [this, alive = alive_, name, interface, protocol](sd_bus_message* reply,
                                                        const std::string& error) {
        if (!*alive || !present_.count(Item{name, interface, protocol})) return;
        if (!error.empty()) {
          spdlog::debug("mDNS: cannot resolve {}: {}", name, error);
          return;
        }
        FoundService f;
        const char *rname = nullptr, *rtype = nullptr, *rdomain = nullptr, *host = nullptr,
                   *address = nullptr;
        int32_t ifi = 0, proto = 0, aproto = 0;
        uint16_t port = 0;
        if (sd_bus_message_read(reply, "iissssisq", &ifi, &proto, &rname, &rtype, &rdomain, &host,
                                &aproto, &address, &port) < 0)
          return;
        std::vector<std::string> records;
        if (sd_bus_message_enter_container(reply, 'a', "ay") > 0) {
          for (std::size_t i = 0; i < kMaxTxtRecords; ++i) {
            const void* data = nullptr;
            size_t size = 0;
            if (sd_bus_message_read_array(reply, 'y', &data, &size) <= 0) break;
            records.emplace_back(static_cast<const char*>(data), size);
          }
        }
        f.name = rname;
        f.type = rtype;
        f.domain = rdomain;
        f.host = host;
        f.address = address;
        f.port = port;
        f.interface = ifi;
        f.protocol = proto;
        f.txt = decode_txt(records);
        if (on_found) on_found(f);
      },
      kCallTimeoutUs);
  (void)st;
}

}  // namespace rbee::sys
