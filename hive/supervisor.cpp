#include "hive/supervisor.h"

#include <signal.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include <spdlog/spdlog.h>

#include "common/sys/cgroup.h"
#include "common/sys/sock_diag.h"
#include "common/sys/spawn.h"
#include "hive/cgroupfs_backend.h"
#include "hive/host_info.h"
#include "hive/port_allocator.h"
#include "hive/rates.h"
#include "hive/worker_accounts.h"

namespace rbee::hive {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using telemetry::WorkerState;

namespace {

constexpr std::size_t kMaxReportedPids = 4096;

std::optional<int64_t> parse_i64(std::optional<std::string> s) {
  if (!s) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc{} || p != s->data() + s->size()) return std::nullopt;
  return v;
}

std::string substitute_port(std::string arg, const std::string& port) {
  const std::string token = "{port}";
  for (auto pos = arg.find(token); pos != std::string::npos;
       pos = arg.find(token, pos + port.size()))
    arg.replace(pos, token.size(), port);
  return arg;
}

}  // namespace

std::chrono::milliseconds restart_backoff(uint32_t restarts) {
  return std::chrono::seconds(1u << std::min(restarts, 5u));
}

struct Supervisor::Tracked {
  WorkerId id;
  std::optional<WorkerCgroup> cg;
  telemetry::Worker view;
  telemetry::SpawnedBy spawned_by = telemetry::SpawnedBy::external;
  std::optional<int64_t> started_at_ms;
  std::optional<int32_t> main_pid;
  std::unique_ptr<asio::posix::stream_descriptor> main_watch;  // owns the main process's pidfd
  bool is_child = false;
  bool stop_requested = false;
  std::optional<int> exit_code, signal;
  bool oom = false;  // the backend said the kernel's OOM killer ended it
  std::optional<int64_t> exited_at_ms;
  std::optional<Clock::time_point> empty_since;
  std::optional<uint64_t> oom_base;
  uint32_t restarts = 0;
  // The base of the rates: the reading at least half an interval old.
  std::optional<uint64_t> base_cpu, base_io_r, base_io_w;
  Clock::time_point base_time{};
  std::vector<int> watches;               // inotify on cgroup.events and memory.events
  bool full_read_due = true;              // one of those changed, or the worker is new
  uint32_t phase = 0;                     // spreads the full reads of many workers over the ticks
  std::optional<uint64_t> proc_memory;    // /proc PSS sum, refreshed on full reads
  std::vector<int32_t> proc_memory_pids;  // and whenever the pid list moves
  std::vector<std::function<void(StopOutcome)>> stop_waiters;
  std::unique_ptr<asio::steady_timer> restart_timer;
  bool seen = true;
};

Supervisor::Supervisor(asio::io_context& io, const HiveConfig& config, sys::UniqueFd root_fd,
                       std::filesystem::path root_path, std::unique_ptr<Backend> backend,
                       SupervisorProbes probes)
    : io_(io),
      config_(config),
      root_fd_(std::move(root_fd)),
      root_path_(std::move(root_path)),
      backend_(std::move(backend)),
      probes_(std::move(probes)) {
  backend_->on_exit = [this](const WorkerId& id, const ExitInfo& info) {
    on_backend_exit(id, info);
  };
}

Supervisor::~Supervisor() = default;

Status Supervisor::start() {
  auto accounts = resolve_worker_accounts(config_);
  if (!accounts) return accounts.error();
  accounts_ = std::move(*accounts);
  if (auto st = backend_->prepare(); !st) return st;
  auto ino = sys::Inotify::create();
  if (!ino) return ino.error();
  inotify_.emplace(std::move(*ino));
  auto watch_fd = sys::dup_cloexec(inotify_->fd());
  if (!watch_fd) return make_error(std::string("dup inotify fd: ") + std::strerror(errno));
  inotify_watch_ = std::make_unique<asio::posix::stream_descriptor>(io_, watch_fd.release());
  on_inotify();
  walk_tree();
  return Ok{};
}

void Supervisor::changed() {
  if (on_change) on_change();
}

void Supervisor::on_inotify() {
  inotify_watch_->async_wait(asio::posix::stream_descriptor::wait_read,
                             [this](boost::system::error_code ec) {
                               if (ec) return;
                               bool any = inotify_->read_events([this](const auto& e) {
                                 auto w = worker_watches_.find(e.wd);
                                 if (w == worker_watches_.end()) {
                                   tree_changed_ = true;
                                   return;
                                 }
                                 auto t = workers_.find(w->second);
                                 if (t != workers_.end()) t->second->full_read_due = true;
                                 // The cgroup went away and the kernel dropped the watch.
                                 if (e.mask & IN_IGNORED) {
                                   if (t != workers_.end()) std::erase(t->second->watches, e.wd);
                                   worker_watches_.erase(w);
                                 }
                               });
                               if (any) changed();
                               on_inotify();
                             });
}

void Supervisor::watch_dir(const std::string& rel) {
  if (watched_dirs_.count(rel)) return;
  auto wd = inotify_->add_watch((root_path_ / rel).string(), IN_CREATE | IN_DELETE | IN_ONLYDIR);
  if (wd) watched_dirs_.emplace(rel, *wd);
}

void Supervisor::watch_worker(Tracked& t, const std::string& rel) {
  t.phase = next_phase_++;
  for (const char* file : {"cgroup.events", "memory.events"}) {
    if (auto wd = inotify_->add_watch((root_path_ / rel / file).string(), IN_MODIFY)) {
      t.watches.push_back(*wd);
      worker_watches_[*wd] = t.id;
    }
  }
}

void Supervisor::unwatch_worker(Tracked& t) {
  for (int wd : t.watches) {
    inotify_->remove_watch(wd);
    worker_watches_.erase(wd);
  }
  t.watches.clear();
}

void Supervisor::walk_tree() {
  for (auto& [id, t] : workers_) t->seen = false;
  const std::string slice(kSliceDir);
  watch_dir(slice);
  std::set<std::string> dirs_seen = {slice};
  std::error_code ec;
  for (const auto& svc : std::filesystem::directory_iterator(root_path_ / slice, ec)) {
    if (!svc.is_directory(ec)) continue;
    auto service = service_from_dir(backend_->layout(), svc.path().filename().string());
    if (!service) continue;
    const std::string svc_rel = slice + "/" + svc.path().filename().string();
    watch_dir(svc_rel);
    dirs_seen.insert(svc_rel);
    std::error_code ec2;
    for (const auto& inst : std::filesystem::directory_iterator(svc.path(), ec2)) {
      if (!inst.is_directory(ec2)) continue;
      auto instance =
          instance_from_dir(backend_->layout(), *service, inst.path().filename().string());
      if (!instance) continue;
      WorkerId id{*service, *instance};
      auto it = workers_.find(id);
      if (it == workers_.end()) {
        adopt(id);
        it = workers_.find(id);
        if (it == workers_.end()) continue;
      }
      it->second->seen = true;
    }
  }
  // A service directory that went away drops its watch: one made again under the same name is
  // a new directory, to be watched afresh.
  for (auto it = watched_dirs_.begin(); it != watched_dirs_.end();) {
    if (dirs_seen.count(it->first)) {
      ++it;
      continue;
    }
    inotify_->remove_watch(it->second);
    it = watched_dirs_.erase(it);
  }
  // A cgroup that went away (systemd collects a finished unit's cgroup at once) leaves its
  // worker listed as exited, with its reason, for the retention period.
  for (auto& [id, t] : workers_) {
    if (t->seen || !t->cg) continue;
    t->cg.reset();
    unwatch_worker(*t);
  }
}

void Supervisor::adopt(const WorkerId& id) {
  if (launching_.count(id)) return;  // ours, being started: launch() will track it
  const std::string rel = worker_cgroup_path(backend_->layout(), id);
  auto cg = WorkerCgroup::open(root_fd_.get(), rel);
  if (!cg) {
    // Vanished already is normal; a cgroup still there that cannot be opened (EMFILE, EACCES)
    // would otherwise go unwatched without a word.
    if (::faccessat(root_fd_.get(), rel.c_str(), F_OK, 0) == 0 && adopt_warned_.insert(id).second)
      spdlog::warn("cannot watch worker {}: {}", rel, cg.error().message);
    return;
  }
  adopt_warned_.erase(id);
  auto t = std::make_unique<Tracked>();
  t->id = id;
  watch_worker(*t, rel);  // before the first read: a change after it is then never missed
  int dfd = cg->dir_fd();
  const bool marks = backend_->owns_cgroups();
  std::optional<int64_t> marked_main;
  if (marks) {
    if (auto by = sys::get_xattr(dfd, kXattrSpawnedBy);
        by && *by == telemetry::to_string(telemetry::SpawnedBy::hive))
      t->spawned_by = telemetry::SpawnedBy::hive;
    t->started_at_ms = parse_i64(sys::get_xattr(dfd, kXattrStartedAt));
    if (auto exit = sys::get_xattr(dfd, kXattrExit)) {
      if (exit->starts_with("code ")) t->exit_code = parse_i64(exit->substr(5));
      if (exit->starts_with("signal ")) t->signal = parse_i64(exit->substr(7));
    }
    marked_main = parse_i64(sys::get_xattr(dfd, kXattrMainPid));
  }
  if (backend_->layout() == Layout::systemd) t->view.unit = systemd_unit_name(id);
  auto reading = cg->read();
  if (reading.memory_events) t->oom_base = reading.memory_events->oom_kill;
  const auto& pids = reading.pids;
  std::optional<int32_t> main;
  if (marked_main && std::find(pids.begin(), pids.end(), *marked_main) != pids.end()) {
    main = static_cast<int32_t>(*marked_main);
  } else if (!pids.empty()) {
    // No mark: the main process is the root of the cgroup's process tree (oldest on a tie).
    std::set<int32_t> members(pids.begin(), pids.end());
    for (int32_t pid : pids) {
      auto parent = process_parent(pid);
      if (parent && members.count(*parent)) continue;
      if (!main || process_start_ms(pid) < process_start_ms(*main)) main = pid;
    }
  }
  t->main_pid = main;
  if (!t->started_at_ms && main) t->started_at_ms = process_start_ms(*main);
  // systemd owns its cgroups, so no marks there: the Hive's own workers carry it in their
  // environment instead.
  if (!marks && main && process_spawned_by_hive(*main)) t->spawned_by = telemetry::SpawnedBy::hive;
  t->cg.emplace(std::move(*cg));
  if (main && t->spawned_by == telemetry::SpawnedBy::hive && marks) {
    if (auto fd = sys::open_pidfd(*main)) watch_main(*t, std::move(*fd), false);
  }
  workers_.emplace(id, std::move(t));
  backend_->watch(id);
}

void Supervisor::watch_main(Tracked& t, sys::UniqueFd pidfd, bool is_child) {
  t.is_child = is_child;
  t.main_watch = std::make_unique<asio::posix::stream_descriptor>(io_, pidfd.release());
  WorkerId id = t.id;
  t.main_watch->async_wait(asio::posix::stream_descriptor::wait_read,
                           [this, id](boost::system::error_code ec) {
                             if (!ec) on_main_exit(id);
                           });
}

void Supervisor::on_main_exit(const WorkerId& id) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  collect_main_exit(*it->second);
  changed();
}

void Supervisor::collect_main_exit(Tracked& t) {
  if (!t.main_watch) return;
  if (t.is_child) {
    auto st = sys::reap(t.main_watch->native_handle());
    if (!st || !st->exited) return;  // still running: the pidfd woke us for nothing
    if (st->signal)
      t.signal = st->signal;
    else
      t.exit_code = st->code;
  }
  t.main_watch.reset();
  t.exited_at_ms = probes_.now_ms();
  if (t.cg) {
    if (t.exit_code)
      (void)sys::set_xattr(t.cg->dir_fd(), kXattrExit, "code " + std::to_string(*t.exit_code));
    else if (t.signal)
      (void)sys::set_xattr(t.cg->dir_fd(), kXattrExit, "signal " + std::to_string(*t.signal));
    // As with a service unit: when the main process goes, the rest of the worker goes with it.
    backend_->kill_rest(t.cg->dir_fd());
  }
}

std::map<uint16_t, std::set<uint64_t>> Supervisor::listeners() const {
  std::map<uint16_t, std::set<uint64_t>> out;
  if (auto socks = probes_.listeners()) {
    for (const auto& s : *socks) out[s.port].insert(s.cgroup_id);
  } else {
    // Without sock_diag (tcp_diag not loadable) no worker can become ready: say so, once.
    static bool warned = false;
    if (!warned)
      spdlog::warn("cannot list listening sockets, workers stay starting: {}",
                   socks.error().message);
    warned = true;
  }
  return out;
}

void Supervisor::measure(Tracked& t, const std::map<uint16_t, std::set<uint64_t>>& listening,
                         Clock::time_point now, ReadScope scope) {
  auto& v = t.view;
  const bool was_terminal = telemetry::is_terminal(v.state) && v.state != WorkerState::unknown &&
                            t.empty_since.has_value();
  v.service = t.id.service;
  v.instance = t.id.instance;
  v.port = port_of(t.id.instance);
  v.cgroup = logical_cgroup(t.id);
  v.spawned_by = t.spawned_by;
  v.started_at_ms = t.started_at_ms;
  v.restarts = t.restarts;
  CgroupReading r;
  if (t.cg) r = t.cg->read(scope);
  const bool gone = !t.cg || r.gone;
  if (gone) {
    // The cgroup is gone: nothing to measure, only the exit to report.
    r = CgroupReading{};
    v.cpu_usage_usec.reset();
    v.rss_bytes.reset();
    v.working_set_bytes.reset();
    v.mem_source.reset();
  }

  v.cpu_usage_usec = r.cpu.usage_usec;
  const uint64_t wall = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now - t.base_time).count());
  // Rates over a window of at least half an interval: an event-driven resample moments after a
  // tick would otherwise give a noisy figure.
  const bool window_ok = t.base_time == Clock::time_point{} ||
                         wall * 2 >= static_cast<uint64_t>(config_.interval_ms) * 1000;
  if (window_ok) {
    v.cpu_pct = cpu_percent(t.base_cpu, r.cpu.usage_usec, wall);
    std::optional<uint64_t> io_r, io_w;
    if (r.io) io_r = r.io->rbytes, io_w = r.io->wbytes;
    v.io_read_bps = byte_rate(t.base_io_r, io_r, wall);
    v.io_write_bps = byte_rate(t.base_io_w, io_w, wall);
    t.base_cpu = r.cpu.usage_usec;
    t.base_io_r = io_r;
    t.base_io_w = io_w;
    t.base_time = now;
  }
  if (r.io) {
    v.io_read_bytes = r.io->rbytes;
    v.io_write_bytes = r.io->wbytes;
  } else {
    v.io_read_bytes.reset();
    v.io_write_bytes.reset();
  }

  if (r.memory_current) {
    const auto& ms = r.memory_stat;
    if (ms && ms->anon) v.rss_bytes = *ms->anon + ms->file_mapped.value_or(0);
    v.working_set_bytes = working_set(r.memory_current, ms ? ms->inactive_file : std::nullopt);
    v.mem_source = telemetry::MemSource::cgroup;
  } else if (!r.pids.empty()) {
    // No memory controller here (hybrid hosts): sum the processes' proportional set sizes. It
    // costs more than all the cgroup files together, so only on full reads or new pids.
    if (scope == ReadScope::full || r.pids != t.proc_memory_pids) {
      uint64_t sum = 0;
      bool any = false;
      for (int32_t pid : r.pids) {
        if (auto b = process_memory_bytes(pid)) sum += *b, any = true;
      }
      t.proc_memory = any ? std::optional<uint64_t>(sum) : std::nullopt;
      t.proc_memory_pids = r.pids;
    }
    v.rss_bytes = t.proc_memory;
    v.working_set_bytes.reset();
    v.mem_source = t.proc_memory ? std::optional(telemetry::MemSource::proc) : std::nullopt;
  } else {
    v.rss_bytes.reset();
    v.working_set_bytes.reset();
    v.mem_source.reset();
  }
  if (r.memory_max && !r.memory_max->unlimited)
    v.memory_max_bytes = r.memory_max->value;
  else
    v.memory_max_bytes.reset();
  if (r.memory_events) {
    v.oom_kills = r.memory_events->oom_kill;
    if (!t.oom_base) t.oom_base = r.memory_events->oom_kill;
  } else if (!gone) {
    v.oom_kills.reset();
  }
  // A cgroup that is gone keeps its last count. systemd removes a unit's cgroup as soon as it
  // ends, often before a tick saw the kill; its Result=oom-kill says there was at least one.
  if (gone && t.oom) v.oom_kills = std::max<uint64_t>(v.oom_kills.value_or(0), 1);

  v.pid_count = static_cast<uint32_t>(r.pids.size());
  v.pids.assign(r.pids.begin(), r.pids.begin() + std::min(r.pids.size(), kMaxReportedPids));
  if (t.main_pid && std::find(r.pids.begin(), r.pids.end(), *t.main_pid) == r.pids.end() &&
      t.spawned_by == telemetry::SpawnedBy::external)
    t.main_pid.reset();
  if (!t.main_pid && !r.pids.empty() && t.spawned_by == telemetry::SpawnedBy::external)
    t.main_pid = r.pids.front();
  v.main_pid = r.events.populated ? t.main_pid : std::nullopt;

  // The cgroup emptied before the pidfd's wake-up ran: take the exit status now, so the state
  // and the restart decision see the real reason.
  if (!r.events.populated && t.main_watch) collect_main_exit(t);
  StateInputs in;
  in.populated = r.events.populated;
  in.stopping = t.stop_requested;
  in.stopped_by_request = t.stop_requested;
  in.has_port = v.port.has_value();
  if (v.port) {
    auto it = listening.find(*v.port);
    in.listening = t.cg && it != listening.end() &&
                   (it->second.count(t.cg->id()) > 0 || it->second.count(0) > 0);
  }
  in.exit_code = t.exit_code;
  in.signal = t.signal;
  if (r.memory_events && t.oom_base)
    in.oom_kills_since_start = r.memory_events->oom_kill - *t.oom_base;
  if (t.oom) in.oom_kills_since_start = std::max<uint64_t>(in.oom_kills_since_start, 1);
  v.state = derive_state(in);

  if (telemetry::is_terminal(v.state)) {
    v.exit_code = t.exit_code;
    v.signal = t.signal;
    if (!t.exited_at_ms) t.exited_at_ms = probes_.now_ms();
    v.exited_at_ms = t.exited_at_ms;
    v.cpu_pct.reset();
    v.io_read_bps.reset();
    v.io_write_bps.reset();
    if (!t.empty_since) t.empty_since = now;
    if (!was_terminal) after_exit(t);
  } else {
    v.exit_code.reset();
    v.signal.reset();
    v.exited_at_ms.reset();
    t.empty_since.reset();
  }
}

void Supervisor::after_exit(Tracked& t) {
  // Posted, not called: a reply runs after the snapshot being built now is published.
  for (auto& w : std::exchange(t.stop_waiters, {}))
    asio::post(io_, [w = std::move(w), view = t.view] { w(StopOutcome{view, std::nullopt}); });
  if (!t.stop_requested &&
      (t.view.state == WorkerState::failed || t.view.state == WorkerState::oom))
    schedule_restart(t);
}

void Supervisor::schedule_restart(Tracked& t) {
  // Under systemd the unit's own Restart= does this.
  if (t.spawned_by != telemetry::SpawnedBy::hive || !backend_->owns_cgroups()) return;
  auto spec = config_.services.find(t.id.service);
  if (spec == config_.services.end() || spec->second.restart != RestartPolicy::on_failure) return;
  auto req = last_requests_.find(t.id);
  if (req == last_requests_.end()) return;  // adopted: the request that made it is not known
  t.restart_timer = std::make_unique<asio::steady_timer>(io_, probes_.restart_delay(t.restarts));
  WorkerId id = t.id;
  t.restart_timer->async_wait([this, id](boost::system::error_code ec) {
    if (ec) return;
    auto it = workers_.find(id);
    if (it == workers_.end() || it->second->stop_requested ||
        !telemetry::is_terminal(it->second->view.state))
      return;
    auto spec = config_.services.find(id.service);
    auto req = last_requests_.find(id);
    if (spec == config_.services.end() || req == last_requests_.end()) return;
    uint32_t restarts = it->second->restarts + 1;
    if (!probes_.port_free(*port_of(id.instance))) return;  // someone took the port meanwhile
    launch(spec->second, id, req->second, restarts, [](SpawnOutcome) {});
  });
}

void Supervisor::expire(Clock::time_point now) {
  const auto keep = std::chrono::seconds(config_.retention_s);
  for (auto it = workers_.begin(); it != workers_.end();) {
    Tracked& t = *it->second;
    // The timer runs on the real clock, whatever the injected one says.
    bool restart_pending =
        t.restart_timer && !t.stop_requested && t.restart_timer->expiry() > Clock::now();
    if (t.empty_since && now - *t.empty_since >= keep && !restart_pending) {
      WorkerId id = it->first;
      unwatch_worker(t);
      it = workers_.erase(it);
      backend_->remove(id);
      last_requests_.erase(id);
      // The backend takes the service's directory with its last worker: its watch goes too.
      const std::string svc_rel =
          std::string(kSliceDir) + "/" + service_dir_name(backend_->layout(), id.service);
      auto w = watched_dirs_.find(svc_rel);
      if (w != watched_dirs_.end() && ::faccessat(root_fd_.get(), svc_rel.c_str(), F_OK, 0) != 0) {
        inotify_->remove_watch(w->second);
        watched_dirs_.erase(w);
      }
    } else {
      ++it;
    }
  }
}

std::vector<telemetry::Worker> Supervisor::sample() {
  const auto now = probes_.now();
  expire(now);
  const uint64_t n = samples_++;
  const uint32_t every = std::max<uint32_t>(config_.full_read_every, 1);
  // The tree is watched; a walk every few samples anyway catches an event the queue dropped.
  if (tree_changed_ || n % every == 0) {
    tree_changed_ = false;
    walk_tree();
  }
  const auto listening = listeners();
  std::vector<telemetry::Worker> out;
  out.reserve(workers_.size());
  for (auto& [id, t] : workers_) {
    const bool full = t->full_read_due || (n + t->phase) % every == 0;
    t->full_read_due = false;
    measure(*t, listening, now, full ? ReadScope::full : ReadScope::fast);
    out.push_back(t->view);
  }
  return out;
}

bool Supervisor::any_starting() const {
  for (const auto& [id, t] : workers_) {
    if (t->view.state == WorkerState::starting) return true;
  }
  return false;
}

bool Supervisor::readiness_changed() {
  const auto listening = listeners();
  for (const auto& [id, t] : workers_) {
    if (t->view.state != WorkerState::starting || !t->view.port || !t->cg) continue;
    auto it = listening.find(*t->view.port);
    if (it != listening.end() && (it->second.count(t->cg->id()) || it->second.count(0)))
      return true;
  }
  return false;
}

std::set<uint16_t> Supervisor::ports_held() const {
  std::set<uint16_t> held;
  for (const auto& [id, t] : workers_) {
    auto port = port_of(id.instance);
    if (port && !telemetry::is_terminal(t->view.state)) held.insert(*port);
  }
  return held;
}

void Supervisor::spawn(const api::SpawnRequest& req, std::function<void(SpawnOutcome)> done) {
  SpawnOutcome out;
  auto spec = config_.services.find(req.service);
  if (spec == config_.services.end()) {
    std::string known;
    for (const auto& [name, s] : config_.services) known += (known.empty() ? "" : ", ") + name;
    out.error = ApiError{404, "unknown service \"" + req.service + "\" (the catalog has: " +
                                  (known.empty() ? "nothing" : known) + ")"};
    return done(std::move(out));
  }
  if (auto err = check_request(spec->second, req)) {
    out.error = std::move(err);
    return done(std::move(out));
  }
  auto held = ports_held();
  for (const auto& id : launching_) {
    if (auto p = port_of(id.instance)) held.insert(*p);
  }
  auto choice = choose_port(spec->second.base_port, req.port, held, probes_.port_free,
                            spec->second.port_count);
  if (!choice.port) {
    out.error = ApiError{choice.error.conflict ? 409u : 503u, choice.error.message};
    return done(std::move(out));
  }
  WorkerId id{req.service, std::to_string(*choice.port)};
  if (auto it = workers_.find(id); it != workers_.end()) {
    // An exited worker kept for its retention period gives way to the new one.
    if (it->second->restart_timer) it->second->restart_timer->cancel();
    unwatch_worker(*it->second);
    workers_.erase(it);
  }
  launch(spec->second, id, req, 0, std::move(done));
}

// A request may only choose what its service's catalog entry leaves open.
std::optional<ApiError> Supervisor::check_request(const ServiceSpec& spec,
                                                  const api::SpawnRequest& req) const {
  for (const auto& [name, value] : req.env) {
    if (!env_allowed(spec, name))
      return ApiError{400, "env." + name + " may not be set by a request: it is not in services." +
                               spec.name + ".allowed_env"};
  }
  if (!req.args.empty() && !spec.allow_args)
    return ApiError{400, "args may not be given: services." + spec.name + ".allow_args is not set"};
  const uint32_t last = uint32_t{spec.base_port} + spec.port_count - 1;
  if (req.port && (*req.port < spec.base_port || *req.port > last))
    return ApiError{400, "port " + std::to_string(*req.port) + " is outside the range of service " +
                             spec.name + " (" + std::to_string(spec.base_port) + "-" +
                             std::to_string(last) + ")"};
  return std::nullopt;
}

void Supervisor::launch(const ServiceSpec& spec, const WorkerId& id, const api::SpawnRequest& req,
                        uint32_t restarts, std::function<void(SpawnOutcome)> done) {
  LaunchPlan plan;
  plan.id = id;
  plan.service = &spec;
  plan.stop_timeout = std::chrono::milliseconds(config_.stop_timeout_ms);
  for (const auto& a : spec.command) plan.argv.push_back(substitute_port(a, id.instance));
  for (const auto& a : req.args) plan.argv.push_back(substitute_port(a, id.instance));
  std::map<std::string, std::string> env;
  for (const char* name : {"PATH", "HOME", "LANG", "TZ", "USER"}) {
    if (const char* v = ::getenv(name)) env[name] = v;
  }
  if (!env.count("PATH")) env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& [k, v] : spec.env) env[k] = v;
  for (const auto& [k, v] : req.env) env[k] = v;
  env["RBEE_SERVICE"] = id.service;
  env["RBEE_INSTANCE"] = id.instance;
  env["RBEE_PORT"] = id.instance;
  env[kSpawnedByEnv] = "hive";
  const auto& gpus = req.gpus ? *req.gpus : spec.gpus;
  if (!gpus.empty()) {
    std::string list;
    for (auto g : gpus) list += (list.empty() ? "" : ",") + std::to_string(g);
    env["CUDA_VISIBLE_DEVICES"] = list;
    // NVML numbers GPUs in PCI bus order; make CUDA agree so gpu_indices match.
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID";
  }
  if (auto a = accounts_.find(spec.name); a != accounts_.end()) {
    plan.account = &a->second;
    env["HOME"] = a->second.home;
    env["USER"] = a->second.user_name;
  }
  for (const auto& [k, v] : env) plan.env.push_back(k + "=" + v);
  plan.working_directory = spec.working_directory;

  const int64_t started = probes_.now_ms();
  launching_.insert(id);
  last_requests_[id] = req;
  backend_->launch(
      plan, started,
      [this, id, started, restarts, done = std::move(done)](Result<Launched> launched) {
        launching_.erase(id);
        SpawnOutcome out;
        if (!launched) {
          out.error = ApiError{500, launched.error().message};
          return done(std::move(out));
        }
        const std::string rel = worker_cgroup_path(backend_->layout(), id);
        auto cg = WorkerCgroup::open(root_fd_.get(), rel);
        if (!cg) {
          out.error = ApiError{500, "started, but its cgroup is gone: " + cg.error().message};
          return done(std::move(out));
        }
        auto t = std::make_unique<Tracked>();
        t->id = id;
        t->spawned_by = telemetry::SpawnedBy::hive;
        t->started_at_ms = started;
        t->restarts = restarts;
        t->view.unit = launched->unit;
        if (auto old = workers_.find(id); old != workers_.end()) unwatch_worker(*old->second);
        watch_worker(*t, rel);
        auto reading = cg->read();
        if (reading.memory_events) t->oom_base = reading.memory_events->oom_kill;
        if (launched->child) {
          t->main_pid = launched->child->pid;
          t->cg.emplace(std::move(*cg));
          watch_main(*t, std::move(launched->child->pidfd), true);
        } else {
          if (!reading.pids.empty()) t->main_pid = reading.pids.front();
          t->cg.emplace(std::move(*cg));
        }
        Tracked& ref = *t;
        workers_[id] = std::move(t);
        measure(ref, {}, probes_.now());
        out.worker = ref.view;
        out.warnings = std::move(launched->warnings);
        changed();
        done(std::move(out));
      });
}

void Supervisor::on_backend_exit(const WorkerId& id, const ExitInfo& info) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  Tracked& t = *it->second;
  if (info.exit_code) t.exit_code = info.exit_code;
  if (info.signal) t.signal = info.signal;
  t.oom = t.oom || info.oom;
  changed();
}

void Supervisor::stop(const WorkerId& id, std::function<void(StopOutcome)> done) {
  auto finish = [this, &done](StopOutcome out) {
    asio::post(io_, [done = std::move(done), out = std::move(out)] { done(out); });
  };
  auto it = workers_.find(id);
  if (it == workers_.end()) return finish({std::nullopt, ApiError{404, "no worker " + id.key()}});
  Tracked& t = *it->second;
  t.stop_requested = true;
  if (t.restart_timer) t.restart_timer->cancel();
  if (telemetry::is_terminal(t.view.state) || !t.cg) return finish({t.view, std::nullopt});
  t.stop_waiters.push_back(std::move(done));
  backend_->stop(id, t.cg->dir_fd(), std::chrono::milliseconds(config_.stop_timeout_ms));
  changed();
}

void Supervisor::logs(const WorkerId& id, std::size_t lines, bool previous,
                      Backend::LogsDone done) {
  // Only workers the Hive knows: the log directory is no file browser.
  if (!knows(id)) return done(std::nullopt);
  backend_->logs(id, lines, previous, std::move(done));
}

}  // namespace rbee::hive
