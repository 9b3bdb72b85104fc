#include "hive/systemd_backend.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "common/sys/cgroup.h"

namespace rbee::hive {
namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

// sd-bus append calls return negative errno; collect the first failure.
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

std::optional<WorkerId> worker_of_unit(std::string_view unit) {
  constexpr std::string_view prefix = "rbee-", suffix = ".service";
  if (!unit.starts_with(prefix) || !unit.ends_with(suffix)) return std::nullopt;
  auto at = unit.find('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::string service(unit.substr(prefix.size(), at - prefix.size()));
  auto inst = instance_from_dir(Layout::systemd, service, unit);
  if (!inst) return std::nullopt;
  return WorkerId{service, *inst};
}

// The account and the sandbox of an inference server (docs/operations.md): it may read the
// system and home directories, write only /var, /srv, /opt, its private /tmp and the service's
// read_write_paths, keeps the GPU device nodes (no PrivateDevices), and can gain nothing.
void append_sandbox(Appender& a, const LaunchPlan& plan) {
  if (const sys::Credentials* c = plan.account) {
    const std::string uid = std::to_string(c->uid), gid = std::to_string(c->gid);
    a("(sv)", "User", "s", uid.c_str());
    a("(sv)", "Group", "s", gid.c_str());
    std::vector<std::string> groups;
    for (gid_t g : c->groups) groups.push_back(std::to_string(g));
    a.open('r', "sv");
    a("s", "SupplementaryGroups");
    a.open('v', "as");
    a.strv(groups);
    a.close();
    a.close();
    if (c->uid != 0) {
      a("(sv)", "CapabilityBoundingSet", "t", uint64_t{0});
      a("(sv)", "AmbientCapabilities", "t", uint64_t{0});
    }
  }
  for (const char* on :
       {"NoNewPrivileges", "PrivateTmp", "ProtectKernelTunables", "ProtectKernelModules",
        "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname",
        "RestrictSUIDSGID", "LockPersonality", "RestrictRealtime"})
    a("(sv)", on, "b", 1);
  a("(sv)", "ProtectSystem", "s", "full");
  a("(sv)", "ProtectHome", "s", "read-only");
  a("(sv)", "UMask", "u", uint32_t{0027});
  if (plan.service && !plan.service->read_write_paths.empty()) {
    a.open('r', "sv");
    a("s", "ReadWritePaths");
    a.open('v', "as");
    a.strv(plan.service->read_write_paths);
    a.close();
    a.close();
  }
}

}  // namespace

bool systemd_is_running() {
  return ::access("/run/systemd/system/", F_OK) == 0;
}

Result<std::unique_ptr<SystemdBackend>> SystemdBackend::connect(boost::asio::io_context& io,
                                                                int root_fd, Options options) {
  auto bus = sys::BusConnection::open_system(io);
  if (!bus) return bus.error();
  auto b =
      std::unique_ptr<SystemdBackend>(new SystemdBackend(io, std::move(*bus), root_fd, options));
  // One match for the Manager's JobRemoved: sd-bus cannot match on its unit argument (arg2) here.
  auto jobs = b->bus_->match_signal(kDest, kPath, kManager, "JobRemoved",
                                    [raw = b.get()](sd_bus_message* m) { raw->on_job_removed(m); });
  if (!jobs) return jobs.error();
  b->job_match_ = std::move(*jobs);
  // systemd only sends job and unit signals to clients that subscribed.
  sd_bus_message* call = nullptr;
  if (sd_bus_message_new_method_call(b->bus_->bus(), &call, kDest, kPath, kManager, "Subscribe") <
      0)
    return make_error("cannot build Subscribe call");
  sys::MessagePtr owned(call);
  if (auto st = b->bus_->call_async(call,
                                    [](sd_bus_message*, const std::string& err) {
                                      if (!err.empty()) spdlog::warn("systemd Subscribe: {}", err);
                                    });
      !st)
    return st.error();
  return b;
}

SystemdBackend::SystemdBackend(boost::asio::io_context& io, std::unique_ptr<sys::BusConnection> bus,
                               int root_fd, Options options)
    : bus_(std::move(bus)), root_fd_(root_fd), options_(options), off_loop_(io) {}

SystemdBackend::~SystemdBackend() {
  // The matches before the connection they belong to; pending replies and the deadlines go with
  // the connection, unrun.
  starts_.clear();
  followed_.clear();
  job_match_.reset();
}

Status SystemdBackend::prepare() {
  return Ok{};
}

Status SystemdBackend::follow(const std::string& unit) {
  if (followed_.count(unit)) return Ok{};
  char* path = nullptr;
  if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit.c_str(), &path) < 0)
    return make_error("cannot encode the object path of " + unit);
  const std::string rule = std::string("type='signal',sender='") + kDest + "',path='" + path +
                           "',interface='org.freedesktop.DBus.Properties',"
                           "member='PropertiesChanged',arg0='org.freedesktop.systemd1.Service'";
  free(path);
  auto match = bus_->match_rule(rule, [this](sd_bus_message* m) { on_properties_changed(m); });
  if (!match) return match.error();
  followed_.emplace(unit, std::move(*match));
  return Ok{};
}

void SystemdBackend::watch(const WorkerId& id) {
  const std::string unit = systemd_unit_name(id);
  if (auto st = follow(unit); !st)
    spdlog::warn("cannot follow {}: its exit reason will be unknown: {}", unit, st.error().message);
}

std::vector<std::string> SystemdBackend::controllers() const {
  return sys::available_controllers(root_fd_);
}

void SystemdBackend::launch(const LaunchPlan& plan, int64_t,
                            std::function<void(Result<Launched>)> done) {
  const std::string unit = systemd_unit_name(plan.id);
  const std::string slice = "rbee-" + plan.id.service + ".slice";
  sd_bus_message* raw = nullptr;
  if (sd_bus_message_new_method_call(bus_->bus(), &raw, kDest, kPath, kManager,
                                     "StartTransientUnit") < 0)
    return done(make_error("cannot build StartTransientUnit call"));
  sys::MessagePtr call(raw);
  Appender a{raw};
  a("ss", unit.c_str(), "fail");
  a.open('a', "(sv)");
  const std::string description = "rbee worker " + plan.id.key();
  a("(sv)", "Description", "s", description.c_str());
  a("(sv)", "Slice", "s", slice.c_str());
  // Type=exec: the job ends once exec succeeded, so a bad command fails the spawn itself.
  a("(sv)", "Type", "s", "exec");
  a.open('r', "sv");
  a("s", "ExecStart");
  a.open('v', "a(sasb)");
  a.open('a', "(sasb)");
  a.open('r', "sasb");
  a("s", plan.argv.front().c_str());
  a.strv(plan.argv);
  a("b", 0);
  a.close();
  a.close();
  a.close();
  a.close();
  a.open('r', "sv");
  a("s", "Environment");
  a.open('v', "as");
  a.strv(plan.env);
  a.close();
  a.close();
  if (!plan.working_directory.empty())
    a("(sv)", "WorkingDirectory", "s", plan.working_directory.c_str());
  for (const char* acct : {"CPUAccounting", "IOAccounting", "MemoryAccounting", "TasksAccounting"})
    a("(sv)", acct, "b", 1);
  append_sandbox(a, plan);
  if (const ServiceSpec* s = plan.service) {
    if (s->memory_max) a("(sv)", "MemoryMax", "t", static_cast<uint64_t>(*s->memory_max));
    if (s->pids_max) a("(sv)", "TasksMax", "t", static_cast<uint64_t>(*s->pids_max));
    if (s->cpu_max)
      a("(sv)", "CPUQuotaPerSecUSec", "t",
        static_cast<uint64_t>(s->cpu_max->quota_us * 1000000 / s->cpu_max->period_us));
    a("(sv)", "Restart", "s", s->restart == RestartPolicy::on_failure ? "on-failure" : "no");
    a("(sv)", "RestartUSec", "t", uint64_t{1000000});
  }
  a("(sv)", "TimeoutStopUSec", "t",
    static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(plan.stop_timeout).count()));
  a("(sv)", "CollectMode", "s", "inactive-or-failed");
  a.close();
  a("a(sa(sv))", 0);
  if (a.r < 0) return done(make_error(std::string("building the unit: ") + strerror(-a.r)));

  const uint64_t serial = next_start_++;
  Start& start = starts_[serial];
  start.unit = unit;
  start.done = std::move(done);
  start.followed_before = followed_.count(unit) > 0;
  // The match goes out before the call, so an early exit is not missed.
  if (auto st = follow(unit); !st) return complete(serial, st.error());
  auto st = bus_->call_async(raw, [this, serial](sd_bus_message* reply, const std::string& err) {
    on_start_reply(serial, reply, err);
  });
  if (!st) return complete(serial, st.error());
  start.deadline = std::max(plan.stop_timeout, options_.min_start_timeout);
  bus_->after(start.deadline, [this, serial] { on_start_deadline(serial); });
}

void SystemdBackend::on_start_reply(uint64_t serial, sd_bus_message* reply,
                                    const std::string& err) {
  auto it = starts_.find(serial);
  if (it == starts_.end()) return;  // the deadline came first
  Start& start = it->second;
  if (!err.empty())
    return complete(serial, make_error("systemd refused " + start.unit + ": " + err));
  const char* job = nullptr;
  if (sd_bus_message_read(reply, "o", &job) < 0 || !job)
    return complete(serial, make_error("systemd sent no job for " + start.unit));
  start.job = job;
  if (auto early = start.early.find(start.job); early != start.early.end()) {
    const std::string result = early->second;
    return complete(
        serial, result == "done"
                    ? Result<Launched>(Launched{})
                    : make_error("unit " + start.unit + " failed to start (job result: " + result +
                                 "); see journalctl -u " + start.unit));
  }
}

void SystemdBackend::on_job_removed(sd_bus_message* m) {
  uint32_t id = 0;
  const char *job = nullptr, *unit = nullptr, *result = nullptr;
  if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0) return;
  // Only starts in flight wait for a job; a late signal (past its deadline) finds none.
  for (auto& [serial, start] : starts_) {
    if (start.unit != unit) continue;
    if (start.job.empty()) {
      // The signal beat our method reply (the unit's earlier jobs may end meanwhile: bounded).
      if (start.early.size() < 16) start.early.emplace(job, result);
      return;
    }
    if (start.job != job) continue;  // another job of the same unit
    const uint64_t done = serial;
    if (std::string_view(result) == "done") return complete(done, Launched{});
    return complete(done, make_error("unit " + start.unit + " failed to start (job result: " +
                                     result + "); see journalctl -u " + start.unit));
  }
}

void SystemdBackend::on_start_deadline(uint64_t serial) {
  auto it = starts_.find(serial);
  if (it == starts_.end()) return;
  const Start& start = it->second;
  std::string what =
      start.job.empty() ? "no reply to StartTransientUnit" : "job " + start.job + " did not finish";
  const std::string unit = start.unit;
  const auto deadline = start.deadline;
  // The unit may yet come up: stopping it cancels the job, or ends what started.
  stop_unit(unit);
  complete(serial, make_error("systemd did not start " + unit + " within " +
                              std::to_string(deadline.count()) + " ms (" + what + "); stopped it"));
}

void SystemdBackend::complete(uint64_t serial, Result<Launched> outcome) {
  auto it = starts_.find(serial);
  if (it == starts_.end()) return;
  Start start = std::move(it->second);
  starts_.erase(it);  // a late JobRemoved for it now finds nothing
  if (outcome)
    outcome->unit = start.unit;
  else if (!start.followed_before)
    followed_.erase(start.unit);
  start.done(std::move(outcome));
}

void SystemdBackend::on_properties_changed(sd_bus_message* m) {
  const char* path = sd_bus_message_get_path(m);
  char* unit_raw = nullptr;
  if (!path || sd_bus_path_decode(path, "/org/freedesktop/systemd1/unit", &unit_raw) <= 0) return;
  std::string unit(unit_raw);
  free(unit_raw);
  spdlog::debug("systemd: PropertiesChanged of {}", unit);
  auto id = worker_of_unit(unit);
  if (!id) return;
  const char* iface = nullptr;
  if (sd_bus_message_read(m, "s", &iface) < 0 ||
      std::string_view(iface) != "org.freedesktop.systemd1.Service")
    return;
  int32_t code = 0, status = 0;
  std::string result;
  if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0) return;
  while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
    const char* key = nullptr;
    if (sd_bus_message_read(m, "s", &key) < 0) return;
    std::string_view k(key);
    if (k == "ExecMainCode" || k == "ExecMainStatus") {
      int32_t v = 0;
      if (sd_bus_message_read(m, "v", "i", &v) < 0) return;
      (k == "ExecMainCode" ? code : status) = v;
    } else if (k == "Result") {
      const char* r = nullptr;
      if (sd_bus_message_read(m, "v", "s", &r) < 0) return;
      result = r;
    } else if (sd_bus_message_skip(m, "v") < 0) {
      return;
    }
    sd_bus_message_exit_container(m);
  }
  if (code <= 0 && result != "oom-kill") return;  // still running
  ExitInfo info;
  if (code == CLD_EXITED)
    info.exit_code = status;
  else if (code == CLD_KILLED || code == CLD_DUMPED)
    info.signal = status;
  info.oom = result == "oom-kill";
  if (on_exit) on_exit(*id, info);
}

void SystemdBackend::stop(const WorkerId& id, int, std::chrono::milliseconds) {
  // The unit's TimeoutStopUSec is the grace; KillMode=control-group ends the rest.
  stop_unit(systemd_unit_name(id));
}

void SystemdBackend::stop_unit(const std::string& unit) {
  sd_bus_message* raw = nullptr;
  if (sd_bus_message_new_method_call(bus_->bus(), &raw, kDest, kPath, kManager, "StopUnit") < 0)
    return;
  sys::MessagePtr call(raw);
  if (sd_bus_message_append(raw, "ss", unit.c_str(), "replace") < 0) return;
  (void)bus_->call_async(raw, [unit](sd_bus_message*, const std::string& err) {
    if (!err.empty()) spdlog::warn("StopUnit {}: {}", unit, err);
  });
}

void SystemdBackend::remove(const WorkerId& id) {
  // CollectMode=inactive-or-failed: systemd unloads the unit and removes its cgroup itself. Only
  // the match goes, unless the unit is being started again.
  const std::string unit = systemd_unit_name(id);
  for (const auto& [serial, start] : starts_)
    if (start.unit == unit) return;
  followed_.erase(unit);
}

namespace {

// The journal's last lines of one unit's current (or previous) invocation. A blocking read of
// journal files, touching nothing of the backend: it can run on any thread.
std::optional<std::string> read_unit_journal(const std::string& unit, std::size_t lines,
                                             bool previous) {
  sd_journal* raw = nullptr;
  if (sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY) < 0) return std::nullopt;
  std::unique_ptr<sd_journal, decltype(&sd_journal_close)> j(raw, sd_journal_close);
  const std::string match = "_SYSTEMD_UNIT=" + unit;
  if (sd_journal_add_match(j.get(), match.data(), match.size()) < 0) return std::nullopt;
  if (sd_journal_seek_tail(j.get()) < 0) return std::nullopt;
  auto field = [&](const char* name) {
    const void* data = nullptr;
    size_t len = 0;
    if (sd_journal_get_data(j.get(), name, &data, &len) < 0) return std::string_view{};
    std::string_view f(static_cast<const char*>(data), len);
    return f.substr(std::min(f.size(), std::strlen(name) + 1));  // after "NAME="
  };
  // Newest first. A run is one invocation id: the newest is the current run, the one before it
  // the previous run.
  const int wanted = previous ? 1 : 0;
  int run = -1;
  std::string invocation;
  std::vector<std::string> newest_first;
  std::size_t bytes = 0;
  while (newest_first.size() < lines && bytes < 1024 * 1024 && sd_journal_previous(j.get()) > 0) {
    if (auto inv = field("_SYSTEMD_INVOCATION_ID");
        run < 0 || (!inv.empty() && inv != invocation)) {
      invocation = inv;
      if (++run > wanted) break;
    }
    if (run < wanted) continue;
    newest_first.emplace_back(field("MESSAGE"));
    bytes += newest_first.back().size() + 1;
  }
  if (run < wanted) return previous ? std::nullopt : std::optional<std::string>(std::string());
  std::string out;
  for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) out.append(*it) += '\n';
  return out;
}

}  // namespace

// The journal is a disk read of unbounded cost: off the loop.
void SystemdBackend::logs(const WorkerId& id, std::size_t lines, bool previous, LogsDone done) {
  off_loop_.run([unit = systemd_unit_name(id), lines,
                 previous] { return read_unit_journal(unit, lines, previous); },
                std::move(done));
}

}  // namespace rbee::hive
