#include "hive/supervisor.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "common/sys/cgroup.h"
#include "common/sys/file.h"
#include "common/sys/spawn.h"
#include "hive/worker_accounts.h"
#include "hive/worker_marks.h"

namespace rbee::hive {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using telemetry::WorkerState;

// What the Supervisor holds for one worker: its open cgroup, the facts of its life, the sampling
// state (rates' base, full-read phase, the /proc memory cache), its last view, and the
// operations waiting on it.
struct Supervisor::Tracked {
  WorkerId id;
  std::optional<WorkerCgroup> cg;  // reset once the cgroup is gone
  WorkerLife life;
  telemetry::Worker view;
  std::unique_ptr<asio::posix::stream_descriptor> main_watch;  // owns the main process's pidfd
  bool is_child = false;
  std::optional<Clock::time_point> empty_since;
  std::optional<uint64_t> oom_base;  // memory.events' oom_kill when first seen
  RateBase rate_base;
  bool full_read_due = true;              // an event file changed, or the worker is new
  uint32_t phase = 0;                     // spreads the full reads of many workers over the ticks
  std::optional<uint64_t> proc_memory;    // /proc PSS sum, refreshed on full reads
  std::vector<int32_t> proc_memory_pids;  // and whenever the pid list moves
  std::vector<std::function<void(StopOutcome)>> stop_waiters;
  std::unique_ptr<asio::steady_timer> restart_timer;
  bool seen = true;
  bool emptied = false;  // it ran and ended, and its cgroup was seen empty or gone since
};

Supervisor::Supervisor(asio::io_context& io, const HiveConfig& config, sys::UniqueFd root_fd,
                       std::filesystem::path root_path, std::unique_ptr<Backend> backend,
                       SupervisorProbes probes)
    : io_(io),
      config_(config),
      root_fd_(std::move(root_fd)),
      root_path_(std::move(root_path)),
      backend_(std::move(backend)),
      probes_(std::move(probes)),
      tree_(io, root_path_) {
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
  auto st = tree_.start(
      [this](const WorkerId& id) {
        if (auto t = workers_.find(id); t != workers_.end()) t->second->full_read_due = true;
      },
      [this] { changed(); });
  if (!st) return st;
  walk_tree();
  return Ok{};
}

void Supervisor::changed() {
  if (on_change) on_change();
}

void Supervisor::walk_tree() {
  for (auto& [id, t] : workers_) t->seen = false;
  const std::string slice(kSliceDir);
  tree_.watch_dir(slice);
  std::set<std::string> dirs_seen = {slice};
  std::error_code ec;
  for (const auto& svc : std::filesystem::directory_iterator(root_path_ / slice, ec)) {
    if (!svc.is_directory(ec)) continue;
    auto service = service_from_dir(backend_->layout(), svc.path().filename().string());
    if (!service) continue;
    const std::string svc_rel = slice + "/" + svc.path().filename().string();
    tree_.watch_dir(svc_rel);
    dirs_seen.insert(svc_rel);
    std::error_code ec2;
    for (const auto& inst : std::filesystem::directory_iterator(svc.path(), ec2)) {
      if (!inst.is_directory(ec2)) continue;
      auto instance =
          instance_from_dir(backend_->layout(), *service, inst.path().filename().string());
      if (!instance) continue;
      WorkerId id{*service, *instance};
      auto it = workers_.find(id);
      if (it != workers_.end() && ran_again(*it->second)) {
        // The new run replaces the ended one once its cgroup is open (same id).
        const WorkerLife before = it->second->life;
        adopt(id, &before);
        it = workers_.find(id);
      }
      if (it == workers_.end()) {
        adopt(id);
        it = workers_.find(id);
        if (it == workers_.end()) continue;
      }
      it->second->seen = true;
    }
  }
  tree_.keep_dirs(dirs_seen);
  // A cgroup that went away (systemd collects a finished unit's cgroup at once) leaves its
  // worker listed as exited, with its reason, for the retention period.
  for (auto& [id, t] : workers_) {
    if (t->seen || !t->cg) continue;
    t->cg.reset();
    tree_.unwatch_worker(id);
  }
}

// systemd started the unit of an ended worker again (its Restart=), in the cgroup the unit kept
// or in a new one of the same name: a new run, to adopt as such. Where the Hive owns the cgroups
// it starts workers again itself, and launch() replaces the run.
bool Supervisor::ran_again(Tracked& t) {
  if (backend_->owns_cgroups() || !t.emptied) return false;
  if (t.cg) {
    const auto r = t.cg->read(ReadScope::fast);
    if (!r.gone) return !r.pids.empty();
  }
  // Its cgroup went: a new one of that name, once a process is in it (systemd makes the
  // directory before it moves the process there).
  auto now = WorkerCgroup::open(root_fd_.get(), worker_cgroup_path(backend_->layout(), t.id));
  return now && !now->read(ReadScope::fast).pids.empty();
}

Supervisor::Tracked& Supervisor::track(const WorkerId& id, WorkerCgroup cg, WorkerLife life) {
  auto t = std::make_unique<Tracked>();
  t->id = id;
  t->life = std::move(life);
  t->phase = next_phase_++;
  auto reading = cg.read();
  if (reading.memory_events) t->oom_base = reading.memory_events->oom_kill;
  t->cg.emplace(std::move(cg));
  Tracked& ref = *t;
  workers_[id] = std::move(t);
  return ref;
}

void Supervisor::forget(std::map<WorkerId, std::unique_ptr<Tracked>>::iterator it) {
  if (it->second->restart_timer) it->second->restart_timer->cancel();
  tree_.unwatch_worker(it->first);
  workers_.erase(it);
}

void Supervisor::adopt(const WorkerId& id, const WorkerLife* before) {
  if (launching_.count(id)) return;  // ours, being started: launch() will track it
  const std::string rel = worker_cgroup_path(backend_->layout(), id);
  // Watch before the first read: a change after it is then never missed.
  tree_.watch_worker(id, rel);
  auto cg = WorkerCgroup::open(root_fd_.get(), rel);
  if (!cg) {
    tree_.unwatch_worker(id);
    // Vanished already is normal; a cgroup still there that cannot be opened (EMFILE, EACCES)
    // would otherwise go unwatched without a word.
    if (sys::exists_at(root_fd_.get(), rel.c_str()) && adopt_warned_.insert(id).second)
      spdlog::warn("cannot watch worker {}: {}", rel, cg.error().message);
    return;
  }
  adopt_warned_.erase(id);
  const bool marked = backend_->owns_cgroups();
  const WorkerMarks marks = marked ? read_marks(cg->dir_fd()) : WorkerMarks{};
  const auto pids = cg->read(ReadScope::fast).pids;
  auto main = find_main_process(pids, marks.main_pid);
  auto by = marks.spawned_by;
  // systemd owns its cgroups, so no marks there: the Hive's own workers carry it in their
  // environment instead.
  if (!marked && main && process_spawned_by_hive(*main)) by = telemetry::SpawnedBy::hive;
  // A unit systemd started again is still the Hive's (its first process may not have exec'd yet,
  // and has systemd's environment until then).
  if (before && before->ours()) by = telemetry::SpawnedBy::hive;
  auto started = marks.started_at_ms;
  if (!started && main) started = process_start_ms(*main);
  Tracked& t = track(id, std::move(*cg),
                     WorkerLife::adopted(by, started, main, marks.exit, marks.stop_requested,
                                         before ? before->restarts() + 1 : 0));
  if (backend_->layout() == Layout::systemd) t.view.unit = systemd_unit_name(id);
  if (main && t.life.ours() && marked) {
    if (auto fd = sys::open_pidfd(*main)) watch_main(t, std::move(*fd), false);
  }
  backend_->watch(id);
  // A stop the last Hive asked for and did not see through: its grace timer died with it.
  if (marks.stop_requested && !pids.empty())
    backend_->stop(id, t.cg->dir_fd(), std::chrono::milliseconds(config_.stop_timeout_ms));
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
    ExitReason reason;
    if (st->signal)
      reason.signal = st->signal;
    else
      reason.code = st->code;
    t.life.record_exit(reason);
  }
  t.main_watch.reset();
  t.life.mark_exited(probes_.now_ms());
  if (t.cg) {
    mark_exit(t.cg->dir_fd(), t.life.exit());
    // As with a service unit: when the main process goes, the rest of the worker goes with it.
    backend_->kill_rest(t.cg->dir_fd());
  }
}

Listening Supervisor::listeners() const {
  Listening out;
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

std::optional<uint64_t> Supervisor::proc_memory(Tracked& t, const CgroupReading& r,
                                                ReadScope scope) {
  if (r.memory_current || r.pids.empty()) return std::nullopt;
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
  return t.proc_memory;
}

void Supervisor::measure(Tracked& t, const Listening& listening, Clock::time_point now,
                         ReadScope scope) {
  const bool was_terminal = telemetry::is_terminal(t.view.state) &&
                            t.view.state != WorkerState::unknown && t.empty_since.has_value();
  CgroupReading r;
  if (t.cg) r = t.cg->read(scope);
  // Its last processes are gone: memory.events and memory.peak, read now, are the exit report,
  // and they vanish with the cgroup.
  if (t.cg && !r.gone && scope == ReadScope::fast && r.pids.empty() && !was_terminal) {
    scope = ReadScope::full;
    r = t.cg->read(scope);
  }
  const bool gone = !t.cg || r.gone;
  if (gone) r = CgroupReading{};  // nothing to measure, only the exit to report
  if (r.memory_events && !t.oom_base) t.oom_base = r.memory_events->oom_kill;
  t.life.follow_processes(r.pids);
  // The cgroup emptied before the pidfd's wake-up ran: take the exit status now, so the state
  // and the restart decision see the real reason.
  if (!r.events.populated && t.main_watch) collect_main_exit(t);

  const ViewInputs in{
      .id = t.id,
      .life = t.life,
      .reading = r,
      .gone = gone,
      .listening = worker_listening(listening, port_of(t.id.instance),
                                    t.cg ? std::optional(t.cg->id()) : std::nullopt),
      .oom_kills_at_start = t.oom_base,
      .proc_memory = proc_memory(t, r, scope),
      .rates = advance_rates(t.rate_base, r, now, config_.interval_ms),
      .now_ms = probes_.now_ms(),
  };
  update_view(t.view, in);

  if (telemetry::is_terminal(t.view.state)) {
    t.life.mark_exited(in.now_ms);
    // Only a worker that ran (a cgroup adopted before its first process came is none).
    if (r.pids.empty() && t.life.started_at_ms()) t.emptied = true;
    if (!t.empty_since) t.empty_since = now;
    if (!was_terminal) after_exit(t);
  } else {
    t.empty_since.reset();
  }
}

void Supervisor::after_exit(Tracked& t) {
  // Posted, not called: a reply runs after the snapshot being built now is published.
  for (auto& w : std::exchange(t.stop_waiters, {}))
    asio::post(io_, [w = std::move(w), view = t.view] { w(StopOutcome{view, std::nullopt}); });
  schedule_restart(t);
}

void Supervisor::schedule_restart(Tracked& t) {
  auto spec = config_.services.find(t.id.service);
  if (!should_restart(t.life, t.view.state,
                      spec == config_.services.end() ? nullptr : &spec->second,
                      last_requests_.count(t.id) > 0, backend_->owns_cgroups()))
    return;
  t.restart_timer =
      std::make_unique<asio::steady_timer>(io_, probes_.restart_delay(t.life.restarts()));
  WorkerId id = t.id;
  t.restart_timer->async_wait([this, id](boost::system::error_code ec) {
    if (ec) return;
    auto it = workers_.find(id);
    if (it == workers_.end() || it->second->life.stop_requested() ||
        !telemetry::is_terminal(it->second->view.state))
      return;
    auto spec = config_.services.find(id.service);
    auto req = last_requests_.find(id);
    if (spec == config_.services.end() || req == last_requests_.end()) return;
    uint32_t restarts = it->second->life.restarts() + 1;
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
        t.restart_timer && !t.life.stop_requested() && t.restart_timer->expiry() > Clock::now();
    if (!t.empty_since || now - *t.empty_since < keep || restart_pending) {
      ++it;
      continue;
    }
    WorkerId id = it->first;
    forget(it++);
    backend_->remove(id);
    last_requests_.erase(id);
    // The backend takes the service's directory with its last worker: the walk drops its watch.
    tree_.mark_tree_changed();
  }
}

std::vector<telemetry::Worker> Supervisor::sample() {
  const auto now = probes_.now();
  expire(now);
  const uint64_t n = samples_++;
  const uint32_t every = std::max<uint32_t>(config_.full_read_every, 1);
  // The tree is watched; a walk every few samples anyway catches an event the queue dropped.
  if (tree_.take_tree_changed() || n % every == 0) walk_tree();
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
    if (t->view.state == WorkerState::starting && t->cg &&
        worker_listening(listening, t->view.port, t->cg->id()))
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
  if (auto err = check_spawn_request(spec->second, req)) {
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
  // An exited worker kept for its retention period gives way to the new one.
  if (auto it = workers_.find(id); it != workers_.end()) forget(it);
  launch(spec->second, id, req, 0, std::move(done));
}

void Supervisor::launch(const ServiceSpec& spec, const WorkerId& id, const api::SpawnRequest& req,
                        uint32_t restarts, std::function<void(SpawnOutcome)> done) {
  auto account = accounts_.find(spec.name);
  LaunchPlan plan = make_launch_plan(
      spec, id, req, account == accounts_.end() ? nullptr : &account->second, inherited_env());
  plan.stop_timeout = std::chrono::milliseconds(config_.stop_timeout_ms);
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
        // The run before this one (a restart), and its watches, give way.
        if (auto old = workers_.find(id); old != workers_.end()) forget(old);
        const std::string rel = worker_cgroup_path(backend_->layout(), id);
        tree_.watch_worker(id, rel);
        auto cg = WorkerCgroup::open(root_fd_.get(), rel);
        if (!cg) {
          tree_.unwatch_worker(id);
          out.error = ApiError{500, "started, but its cgroup is gone: " + cg.error().message};
          return done(std::move(out));
        }
        std::optional<int32_t> main;
        if (launched->child)
          main = launched->child->pid;
        else if (auto pids = cg->read(ReadScope::fast).pids; !pids.empty())
          main = pids.front();
        Tracked& t = track(id, std::move(*cg), WorkerLife::launched(started, restarts, main));
        t.view.unit = launched->unit;
        if (launched->child) watch_main(t, std::move(launched->child->pidfd), true);
        measure(t, {}, probes_.now());
        out.worker = t.view;
        out.warnings = std::move(launched->warnings);
        changed();
        done(std::move(out));
      });
}

void Supervisor::on_backend_exit(const WorkerId& id, const ExitInfo& info) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  it->second->life.record_exit(ExitReason{info.exit_code, info.signal, info.oom});
  changed();
}

void Supervisor::stop(const WorkerId& id, std::function<void(StopOutcome)> done) {
  auto finish = [this, &done](StopOutcome out) {
    asio::post(io_, [done = std::move(done), out = std::move(out)] { done(out); });
  };
  auto it = workers_.find(id);
  if (it == workers_.end()) return finish({std::nullopt, ApiError{404, "no worker " + id.key()}});
  Tracked& t = *it->second;
  t.life.request_stop();
  if (t.restart_timer) t.restart_timer->cancel();
  if (telemetry::is_terminal(t.view.state) || !t.cg) return finish({t.view, std::nullopt});
  t.stop_waiters.push_back(std::move(done));
  if (backend_->owns_cgroups()) mark_stop(t.cg->dir_fd());
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
