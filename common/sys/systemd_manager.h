#pragma once
// systemd's Manager (org.freedesktop.systemd1) over a BusConnection, in C++ types: transient
// units described as typed properties, the Manager's JobRemoved, a service unit's exit
// properties. Every call is asynchronous and its reply runs on the loop; nothing blocks.
//
// What runs later (replies, signal handlers) runs only while the BusConnection lives, as
// everything handed to it (bus.h).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "common/sys/bus.h"

namespace rbee::sys {

// One ExecStart= command: the program, its argv (argv[0] included), and whether a failing exit
// status is ignored.
struct ExecCommand {
  std::string path;
  std::vector<std::string> argv;
  bool ignore_failure = false;
};

// One property of a unit to be, by its D-Bus name (e.g. "MemoryMax"). The value's C++ type picks
// the D-Bus type: bool b, uint32_t u, uint64_t t, string s, strings as, commands a(sasb).
struct UnitProperty {
  using Value = std::variant<bool, uint32_t, uint64_t, std::string, std::vector<std::string>,
                             std::vector<ExecCommand>>;
  std::string name;
  Value value;
};

// StartTransientUnit's arguments: the unit's name and its properties, sent in this order. The
// job mode is "fail" and there are no auxiliary units.
struct TransientUnit {
  std::string name;
  std::vector<UnitProperty> properties;
};

// The Manager's JobRemoved signal: a job ended (done, canceled, timeout, failed, dependency,
// skipped).
struct JobRemoved {
  uint32_t id = 0;
  std::string job;  // its object path, as StartTransientUnit's reply named it
  std::string unit;
  std::string result;
};

// What a PropertiesChanged of a unit's org.freedesktop.systemd1.Service interface said about the
// main process. A property the signal left out keeps its default.
struct ServiceProperties {
  std::string unit;  // from the signal's object path
  // ExecMainCode: a CLD_* code (exited, killed, dumped), 0 while the main process runs.
  int32_t exec_main_code = 0;
  int32_t exec_main_status = 0;  // the exit status, or the signal
  std::string result;            // Result: "success", "exit-code", "oom-kill", ...

  // ExecMainCode decoded: the exit status when it exited, the signal when one ended it.
  std::optional<int> exit_code() const;
  std::optional<int> signal() const;
};

class SystemdManager {
 public:
  explicit SystemdManager(BusConnection& bus) : bus_(bus) {}

  // Subscribe: systemd sends job and unit signals only to clients that asked for them.
  Status subscribe(std::function<void(Status)> done);
  // JobRemoved of every job until the returned handle is dropped (the signal's unit argument
  // cannot be matched on here).
  Result<std::shared_ptr<void>> on_job_removed(std::function<void(const JobRemoved&)> handler);
  // PropertiesChanged of one unit's Service interface until the returned handle is dropped: only
  // that unit's, never every unit's on the host.
  Result<std::shared_ptr<void>> watch_service(
      const std::string& unit, std::function<void(const ServiceProperties&)> handler);
  // StartTransientUnit; done gets the job's object path (empty when the reply named none), or
  // systemd's error ("org.freedesktop.systemd1.UnitExists: ...").
  Status start_transient_unit(const TransientUnit& unit,
                              std::function<void(Result<std::string> job)> done);
  // StopUnit with mode "replace"; done gets systemd's error, if any.
  Status stop_unit(const std::string& unit, std::function<void(Status)> done);

 private:
  BusConnection& bus_;
};

// True when PID 1 is systemd (the test sd_booted() makes: /run/systemd/system exists).
bool booted_with_systemd();

}  // namespace rbee::sys
