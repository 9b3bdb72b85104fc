#include "common/sys/avahi_browser.h"

#include <systemd/sd-bus.h>

#include <spdlog/spdlog.h>

#include <cstring>
#include <optional>
#include <utility>

#include "common/sys/avahi.h"
#include "common/sys/avahi_bus.h"

namespace rbee::sys {

using namespace avahi;

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

AvahiBrowser::AvahiBrowser(BusConnection& bus, std::string type)
    : bus_(bus), type_(std::move(type)) {}

AvahiBrowser::~AvahiBrowser() {
  match_.reset();
  owner_watch_.reset();
  if (!browser_path_.empty()) free_object(bus_, browser_path_, kBrowser);
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
                                 [this, weak = weak_from_this()](sd_bus_message* m) {
                                   if (!weak.expired()) on_signal(read_browser_signal(m));
                                 });
  if (!match) return fail(match.error().message);
  match_ = std::move(*match);
  auto watch = watch_avahi(bus_, [this, weak = weak_from_this()](bool running) {
    if (!weak.expired()) on_avahi(running);
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
      [this, weak = weak_from_this(), attempt](sd_bus_message* reply, const std::string& error) {
        if (weak.expired() || attempt != attempt_) return;
        if (!error.empty()) return fail(error);
        const char* path = nullptr;
        if (sd_bus_message_read(reply, "o", &path) < 0 || !path)
          return fail("bad ServiceBrowserPrepare reply");
        browser_path_ = path;
        auto start = method(bus_, browser_path_.c_str(), kBrowser, "Start");
        if (!start) return fail(start.error().message);
        auto st = raw::call_async(
            bus_, start->get(),
            [this, weak, attempt](sd_bus_message*, const std::string& error) {
              if (weak.expired() || attempt != attempt_) return;
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
      [this, weak = weak_from_this(), name, interface, protocol](sd_bus_message* reply,
                                                                 const std::string& error) {
        if (weak.expired() || !present_.count(Item{name, interface, protocol})) return;
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
