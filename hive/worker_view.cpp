#include "hive/worker_view.h"

#include <algorithm>

#include "common/telemetry_schema.h"

namespace rbee::hive {

namespace {

constexpr std::size_t kMaxReportedPids = 4096;

std::optional<uint64_t> limited(const std::optional<LimitValue>& l) {
  return l && !l->unlimited ? std::optional(l->value) : std::nullopt;
}

void update_limits(telemetry::Worker& v, const CgroupReading& r) {
  v.memory_high_bytes = limited(r.slow.memory_high);
  v.pids_max = limited(r.slow.pids_max);
  v.cpu_max_cores.reset();
  if (const auto& m = r.slow.cpu_max; m && m->quota_usec) {
    const double cores = static_cast<double>(*m->quota_usec) / static_cast<double>(m->period_usec);
    // Beyond any host: a Queen's decoder would refuse the snapshot for it.
    if (cores <= telemetry::schema::kMaxCores) v.cpu_max_cores = cores;
  }
}

}  // namespace

std::optional<Rates> advance_rates(RateBase& base, const CgroupReading& r,
                                   std::chrono::steady_clock::time_point now,
                                   uint32_t interval_ms) {
  const uint64_t wall = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now - base.at).count());
  const bool first = base.at == std::chrono::steady_clock::time_point{};
  if (!first && wall * 2 < uint64_t{interval_ms} * 1000) return std::nullopt;
  std::optional<uint64_t> io_r, io_w;
  if (r.io) io_r = r.io->rbytes, io_w = r.io->wbytes;
  Rates out{cpu_percent(base.cpu_usec, r.cpu.usage_usec, wall), byte_rate(base.io_read, io_r, wall),
            byte_rate(base.io_write, io_w, wall)};
  base = RateBase{r.cpu.usage_usec, io_r, io_w, now};
  return out;
}

bool worker_listening(const Listening& listening, std::optional<uint16_t> port,
                      std::optional<uint64_t> cgroup_id) {
  if (!port || !cgroup_id) return false;
  auto it = listening.find(*port);
  return it != listening.end() && (it->second.count(*cgroup_id) > 0 || it->second.count(0) > 0);
}

StateInputs state_inputs(const ViewInputs& in) {
  StateInputs s;
  const auto& r = in.reading;
  s.populated = r.events.populated;
  s.stopping = in.life.stop_requested();
  s.stopped_by_request = in.life.stop_requested();
  s.has_port = port_of(in.id.instance).has_value();
  s.listening = in.listening;
  s.exit_code = in.life.exit().code;
  s.signal = in.life.exit().signal;
  const auto oom_kills = r.memory_events ? r.memory_events->oom_kill : std::nullopt;
  if (oom_kills && in.oom_kills_at_start && *oom_kills >= *in.oom_kills_at_start)
    s.oom_kills_since_start = *oom_kills - *in.oom_kills_at_start;
  if (in.life.exit().oom) s.oom_kills_since_start = std::max<uint64_t>(s.oom_kills_since_start, 1);
  return s;
}

void update_view(telemetry::Worker& v, const ViewInputs& in) {
  const auto& r = in.reading;
  const auto& life = in.life;
  v.service = in.id.service;
  v.instance = in.id.instance;
  v.port = port_of(in.id.instance);
  v.cgroup = logical_cgroup(in.id);
  v.spawned_by = life.spawned_by();
  v.started_at_ms = life.started_at_ms();
  v.restarts = life.restarts();

  v.cpu_usage_usec = r.cpu.usage_usec;
  v.cpu_nr_periods = r.cpu.nr_periods;
  v.cpu_nr_throttled = r.cpu.nr_throttled;
  v.cpu_throttled_usec = r.cpu.throttled_usec;
  v.pressure = r.slow.pressure;
  if (in.rates) {
    v.cpu_pct = in.rates->cpu_pct;
    v.io_read_bps = in.rates->io_read_bps;
    v.io_write_bps = in.rates->io_write_bps;
  }
  v.io_read_bytes = r.io ? std::optional(r.io->rbytes) : std::nullopt;
  v.io_write_bytes = r.io ? std::optional(r.io->wbytes) : std::nullopt;

  v.rss_bytes.reset();
  v.working_set_bytes.reset();
  v.mem_source.reset();
  if (r.memory_current) {
    const auto& ms = r.memory_stat;
    if (ms && ms->anon) v.rss_bytes = *ms->anon + ms->file_mapped.value_or(0);
    v.working_set_bytes = working_set(r.memory_current, ms ? ms->inactive_file : std::nullopt);
    v.mem_source = telemetry::MemSource::cgroup;
  } else if (!r.pids.empty() && in.proc_memory) {
    v.rss_bytes = in.proc_memory;
    v.mem_source = telemetry::MemSource::proc;
  }
  if (r.memory_max && !r.memory_max->unlimited)
    v.memory_max_bytes = r.memory_max->value;
  else
    v.memory_max_bytes.reset();
  // A cgroup that is gone keeps its last count. systemd removes a unit's cgroup as soon as it
  // ends, often before a tick saw the kill; its Result=oom-kill says there was at least one.
  if (r.memory_events)
    v.oom_kills = r.memory_events->oom_kill;
  else if (!in.gone)
    v.oom_kills.reset();
  if (in.gone && life.exit().oom) v.oom_kills = std::max<uint64_t>(v.oom_kills.value_or(0), 1);
  // The exit report: what memory.events and memory.peak said last outlives the cgroup.
  if (r.memory_events || !in.gone) v.memory_events = r.memory_events;
  if (r.slow.memory_peak || !in.gone) v.memory_peak_bytes = r.slow.memory_peak;
  update_limits(v, r);

  v.pid_count = static_cast<uint32_t>(r.pids.size());
  v.pids.assign(r.pids.begin(), r.pids.begin() + std::min(r.pids.size(), kMaxReportedPids));
  v.main_pid = r.events.populated ? life.main_pid() : std::nullopt;

  v.state = derive_state(state_inputs(in));
  if (telemetry::is_terminal(v.state)) {
    v.exit_code = life.exit().code;
    v.signal = life.exit().signal;
    v.exited_at_ms = life.exited_at_ms().value_or(in.now_ms);
    v.cpu_pct.reset();
    v.io_read_bps.reset();
    v.io_write_bps.reset();
  } else {
    v.exit_code.reset();
    v.signal.reset();
    v.exited_at_ms.reset();
  }
}

}  // namespace rbee::hive
