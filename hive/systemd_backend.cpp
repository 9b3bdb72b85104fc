#include "hive/systemd_backend.h"

#include <spdlog/spdlog.h>

#include "common/sys/cgroup.h"
#include "common/sys/journal.h"

namespace rbee::hive {
namespace {

using sys::UnitProperty;

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
void add_sandbox(std::vector<UnitProperty>& p, const LaunchPlan& plan,
                 const sys::Credentials* hive_account) {
  if (const sys::Credentials* c = plan.account ? plan.account : hive_account) {
    p.push_back({"User", std::to_string(c->uid)});
    p.push_back({"Group", std::to_string(c->gid)});
    std::vector<std::string> groups;
    for (auto g : c->groups) groups.push_back(std::to_string(g));
    p.push_back({"SupplementaryGroups", std::move(groups)});
    if (c->uid != 0) {
      p.push_back({"CapabilityBoundingSet", uint64_t{0}});
      p.push_back({"AmbientCapabilities", uint64_t{0}});
    }
  }
  for (const char* on :
       {"NoNewPrivileges", "PrivateTmp", "ProtectKernelTunables", "ProtectKernelModules",
        "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname",
        "RestrictSUIDSGID", "LockPersonality", "RestrictRealtime"})
    p.push_back({on, true});
  p.push_back({"ProtectSystem", std::string("full")});
  p.push_back({"ProtectHome", std::string("read-only")});
  p.push_back({"UMask", uint32_t{0027}});
  if (plan.service && !plan.service->read_write_paths.empty())
    p.push_back({"ReadWritePaths", plan.service->read_write_paths});
}

// The transient unit of one launch: what runs, where, with which limits and sandbox.
sys::TransientUnit transient_unit(const LaunchPlan& plan, const sys::Credentials* hive_account) {
  sys::TransientUnit u;
  u.name = systemd_unit_name(plan.id);
  auto& p = u.properties;
  p.push_back({"Description", "rbee worker " + plan.id.key()});
  p.push_back({"Slice", "rbee-" + plan.id.service + ".slice"});
  // Type=exec: the job ends once exec succeeded, so a bad command fails the spawn itself.
  p.push_back({"Type", std::string("exec")});
  p.push_back({"ExecStart", std::vector<sys::ExecCommand>{{plan.argv.front(), plan.argv, false}}});
  p.push_back({"Environment", plan.env});
  if (!plan.working_directory.empty()) p.push_back({"WorkingDirectory", plan.working_directory});
  for (const char* acct : {"CPUAccounting", "IOAccounting", "MemoryAccounting", "TasksAccounting"})
    p.push_back({acct, true});
  add_sandbox(p, plan, hive_account);
  if (const ServiceSpec* s = plan.service) {
    if (s->memory_max) p.push_back({"MemoryMax", static_cast<uint64_t>(*s->memory_max)});
    if (s->pids_max) p.push_back({"TasksMax", static_cast<uint64_t>(*s->pids_max)});
    if (s->cpu_max)
      p.push_back({"CPUQuotaPerSecUSec",
                   static_cast<uint64_t>(s->cpu_max->quota_us * 1000000 / s->cpu_max->period_us)});
    p.push_back(
        {"Restart", std::string(s->restart == RestartPolicy::on_failure ? "on-failure" : "no")});
    p.push_back({"RestartUSec", uint64_t{1000000}});
  }
  p.push_back(
      {"TimeoutStopUSec",
       static_cast<uint64_t>(
           std::chrono::duration_cast<std::chrono::microseconds>(plan.stop_timeout).count())});
  p.push_back({"CollectMode", std::string("inactive-or-failed")});
  return u;
}

}  // namespace

bool systemd_is_running() {
  return sys::booted_with_systemd();
}

Result<std::unique_ptr<SystemdBackend>> SystemdBackend::connect(boost::asio::io_context& io,
                                                                int root_fd, Options options) {
  auto bus = sys::BusConnection::open_system(io);
  if (!bus) return bus.error();
  auto b =
      std::unique_ptr<SystemdBackend>(new SystemdBackend(io, std::move(*bus), root_fd, options));
  auto jobs = b->manager_.on_job_removed(
      [raw = b.get()](const sys::JobRemoved& job) { raw->on_job_removed(job); });
  if (!jobs) return jobs.error();
  b->job_match_ = std::move(*jobs);
  if (auto st = b->manager_.subscribe([](Status st) {
        if (!st) spdlog::warn("systemd Subscribe: {}", st.error().message);
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
  auto match = manager_.watch_service(
      unit, [this](const sys::ServiceProperties& p) { on_properties_changed(p); });
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
  const sys::TransientUnit unit =
      transient_unit(plan, options_.hive_account ? &*options_.hive_account : nullptr);
  const uint64_t serial = next_start_++;
  Start& start = starts_[serial];
  start.unit = unit.name;
  start.done = std::move(done);
  start.followed_before = followed_.count(unit.name) > 0;
  // The match goes out before the call, so an early exit is not missed.
  if (auto st = follow(unit.name); !st) return complete(serial, st.error());
  auto st = manager_.start_transient_unit(
      unit, [this, serial](Result<std::string> job) { on_start_reply(serial, std::move(job)); });
  if (!st) return complete(serial, st.error());
  start.deadline = std::max(plan.stop_timeout, options_.min_start_timeout);
  bus_->after(start.deadline, [this, serial] { on_start_deadline(serial); });
}

void SystemdBackend::on_start_reply(uint64_t serial, Result<std::string> job) {
  auto it = starts_.find(serial);
  if (it == starts_.end()) return;  // the deadline came first
  Start& start = it->second;
  if (!job)
    return complete(serial,
                    make_error("systemd refused " + start.unit + ": " + job.error().message));
  if (job->empty()) return complete(serial, make_error("systemd sent no job for " + start.unit));
  start.job = std::move(*job);
  if (auto early = start.early.find(start.job); early != start.early.end()) {
    const std::string result = early->second;
    return complete(
        serial, result == "done"
                    ? Result<Launched>(Launched{})
                    : make_error("unit " + start.unit + " failed to start (job result: " + result +
                                 "); see journalctl -u " + start.unit));
  }
}

void SystemdBackend::on_job_removed(const sys::JobRemoved& job) {
  // Only starts in flight wait for a job; a late signal (past its deadline) finds none.
  for (auto& [serial, start] : starts_) {
    if (start.unit != job.unit) continue;
    if (start.job.empty()) {
      // The signal beat our method reply (the unit's earlier jobs may end meanwhile: bounded).
      if (start.early.size() < 16) start.early.emplace(job.job, job.result);
      return;
    }
    if (start.job != job.job) continue;  // another job of the same unit
    const uint64_t done = serial;
    if (job.result == "done") return complete(done, Launched{});
    return complete(done, make_error("unit " + start.unit + " failed to start (job result: " +
                                     job.result + "); see journalctl -u " + start.unit));
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

void SystemdBackend::on_properties_changed(const sys::ServiceProperties& p) {
  spdlog::debug("systemd: PropertiesChanged of {}", p.unit);
  auto id = worker_of_unit(p.unit);
  if (!id) return;
  if (p.exec_main_code <= 0 && p.result != "oom-kill") return;  // still running
  ExitInfo info;
  info.exit_code = p.exit_code();
  info.signal = p.signal();
  info.oom = p.result == "oom-kill";
  if (on_exit) on_exit(*id, info);
}

void SystemdBackend::stop(const WorkerId& id, int, std::chrono::milliseconds) {
  // The unit's TimeoutStopUSec is the grace; KillMode=control-group ends the rest.
  stop_unit(systemd_unit_name(id));
}

void SystemdBackend::stop_unit(const std::string& unit) {
  (void)manager_.stop_unit(unit, [unit](Status st) {
    if (!st) spdlog::warn("StopUnit {}: {}", unit, st.error().message);
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

// The journal is a disk read of unbounded cost: off the loop.
void SystemdBackend::logs(const WorkerId& id, std::size_t lines, bool previous, LogsDone done) {
  off_loop_.run([unit = systemd_unit_name(id), lines,
                 previous] { return sys::read_unit_journal(unit, lines, previous); },
                std::move(done));
}

}  // namespace rbee::hive
