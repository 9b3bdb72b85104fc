#include "common/sys/systemd_manager.h"

#include <signal.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

#include "common/sys/bus_raw.h"

namespace rbee::sys {
namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr const char* kUnitPrefix = "/org/freedesktop/systemd1/unit";
constexpr const char* kService = "org.freedesktop.systemd1.Service";

Result<raw::MessagePtr> manager_call(BusConnection& bus, const char* member) {
  auto m = raw::method_call(bus, kDest, kPath, kManager, member);
  if (!m) return make_error(std::string("cannot build ") + member + " call");
  return m;
}

// sd-bus append calls return negative errno; the first failure is kept, the rest skipped.
struct Appender {
  sd_bus_message* m;
  int r = 0;
  template <class... A>
  void operator()(const char* types, A... args) {
    if (r >= 0) r = sd_bus_message_append(m, types, args...);
  }
  void strv(const std::vector<std::string>& v) {
    if (r < 0) return;
    std::vector<char*> p;
    for (const auto& s : v) p.push_back(const_cast<char*>(s.c_str()));
    p.push_back(nullptr);
    r = sd_bus_message_append_strv(m, p.data());
  }
  void open(char type, const char* contents) {
    if (r >= 0) r = sd_bus_message_open_container(m, type, contents);
  }
  void close() {
    if (r >= 0) r = sd_bus_message_close_container(m);
  }
};

// One (sv) of StartTransientUnit's property array.
struct AppendValue {
  Appender& a;
  void operator()(bool v) { a("v", "b", static_cast<int>(v)); }
  void operator()(uint32_t v) { a("v", "u", v); }
  void operator()(uint64_t v) { a("v", "t", v); }
  void operator()(const std::string& v) { a("v", "s", v.c_str()); }
  void operator()(const std::vector<std::string>& v) {
    a.open('v', "as");
    a.strv(v);
    a.close();
  }
  void operator()(const std::vector<ExecCommand>& commands) {
    a.open('v', "a(sasb)");
    a.open('a', "(sasb)");
    for (const auto& c : commands) {
      a.open('r', "sasb");
      a("s", c.path.c_str());
      a.strv(c.argv);
      a("b", static_cast<int>(c.ignore_failure));
      a.close();
    }
    a.close();
    a.close();
  }
};

// PropertiesChanged(s interface, a{sv} changed, as invalidated) of a unit's Service interface;
// nullopt for another interface or a message that does not read.
std::optional<ServiceProperties> read_service_properties(sd_bus_message* m) {
  const char* path = sd_bus_message_get_path(m);
  char* unit = nullptr;
  if (!path || sd_bus_path_decode(path, kUnitPrefix, &unit) <= 0) return std::nullopt;
  ServiceProperties p;
  p.unit = unit;
  free(unit);
  const char* iface = nullptr;
  if (sd_bus_message_read(m, "s", &iface) < 0 || std::string_view(iface) != kService)
    return std::nullopt;
  if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0) return std::nullopt;
  while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
    const char* key = nullptr;
    if (sd_bus_message_read(m, "s", &key) < 0) return std::nullopt;
    std::string_view k(key);
    if (k == "ExecMainCode" || k == "ExecMainStatus") {
      int32_t v = 0;
      if (sd_bus_message_read(m, "v", "i", &v) < 0) return std::nullopt;
      (k == "ExecMainCode" ? p.exec_main_code : p.exec_main_status) = v;
    } else if (k == "Result") {
      const char* r = nullptr;
      if (sd_bus_message_read(m, "v", "s", &r) < 0) return std::nullopt;
      p.result = r;
    } else if (sd_bus_message_skip(m, "v") < 0) {
      return std::nullopt;
    }
    sd_bus_message_exit_container(m);
  }
  return p;
}

}  // namespace

std::optional<int> ServiceProperties::exit_code() const {
  if (exec_main_code == CLD_EXITED) return exec_main_status;
  return std::nullopt;
}

std::optional<int> ServiceProperties::signal() const {
  if (exec_main_code == CLD_KILLED || exec_main_code == CLD_DUMPED) return exec_main_status;
  return std::nullopt;
}

Status SystemdManager::subscribe(std::function<void(Status)> done) {
  auto call = manager_call(bus_, "Subscribe");
  if (!call) return call.error();
  return raw::call_async(bus_, call->get(),
                         [done = std::move(done)](sd_bus_message*, const std::string& error) {
                           done(error.empty() ? Status(Ok{}) : Status(make_error(error)));
                         });
}

Result<std::shared_ptr<void>> SystemdManager::on_job_removed(
    std::function<void(const JobRemoved&)> handler) {
  return raw::match_signal(bus_, kDest, kPath, kManager, "JobRemoved",
                           [handler = std::move(handler)](sd_bus_message* m) {
                             JobRemoved j;
                             const char *job = nullptr, *unit = nullptr, *result = nullptr;
                             if (sd_bus_message_read(m, "uoss", &j.id, &job, &unit, &result) < 0)
                               return;
                             j.job = job;
                             j.unit = unit;
                             j.result = result;
                             handler(j);
                           });
}

Result<std::shared_ptr<void>> SystemdManager::watch_service(
    const std::string& unit, std::function<void(const ServiceProperties&)> handler) {
  char* path = nullptr;
  if (sd_bus_path_encode(kUnitPrefix, unit.c_str(), &path) < 0)
    return make_error("cannot encode the object path of " + unit);
  const std::string rule = std::string("type='signal',sender='") + kDest + "',path='" + path +
                           "',interface='org.freedesktop.DBus.Properties',"
                           "member='PropertiesChanged',arg0='" +
                           kService + "'";
  free(path);
  return raw::match_rule(bus_, rule, [handler = std::move(handler)](sd_bus_message* m) {
    if (auto p = read_service_properties(m)) handler(*p);
  });
}

Status SystemdManager::start_transient_unit(const TransientUnit& unit,
                                            std::function<void(Result<std::string>)> done) {
  auto call = manager_call(bus_, "StartTransientUnit");
  if (!call) return call.error();
  Appender a{call->get()};
  a("ss", unit.name.c_str(), "fail");
  a.open('a', "(sv)");
  for (const auto& p : unit.properties) {
    a.open('r', "sv");
    a("s", p.name.c_str());
    std::visit(AppendValue{a}, p.value);
    a.close();
  }
  a.close();
  a("a(sa(sv))", 0);
  if (a.r < 0) return make_error(std::string("building the unit: ") + strerror(-a.r));
  return raw::call_async(bus_, call->get(),
                         [done = std::move(done)](sd_bus_message* reply, const std::string& error) {
                           if (!error.empty()) return done(make_error(error));
                           const char* job = nullptr;
                           if (sd_bus_message_read(reply, "o", &job) < 0 || !job)
                             return done(std::string());
                           done(std::string(job));
                         });
}

Status SystemdManager::stop_unit(const std::string& unit, std::function<void(Status)> done) {
  auto call = manager_call(bus_, "StopUnit");
  if (!call) return call.error();
  if (int r = sd_bus_message_append(call->get(), "ss", unit.c_str(), "replace"); r < 0)
    return make_error(std::string("StopUnit: ") + strerror(-r));
  return raw::call_async(bus_, call->get(),
                         [done = std::move(done)](sd_bus_message*, const std::string& error) {
                           done(error.empty() ? Status(Ok{}) : Status(make_error(error)));
                         });
}

bool booted_with_systemd() {
  return ::access("/run/systemd/system/", F_OK) == 0;
}

}  // namespace rbee::sys
