#pragma once
// The telemetry schema, written once: a table per object names each JSON member, binds it to
// its C++ member and gives its bounds and, for workers, the Prometheus series it feeds. The JSON
// writer, the decoder, /metrics and the check of docs/telemetry.md all walk these tables, so a
// new field is one line here (plus its row in the docs, which a unit test holds to the table).
#include <array>
#include <boost/pfr/core.hpp>
#include <cstddef>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include "common/telemetry.h"

namespace rbee::telemetry::schema {

template <class M>
struct ValueOf {
  using type = M;
};
template <class T>
struct ValueOf<std::optional<T>> {
  using type = T;
};
template <class T>
struct ValueOf<std::vector<T>> {
  using type = T;
};
// The JSON value a member holds: T for T, optional<T> and (per entry) vector<T>.
template <class M>
using value_t = typename ValueOf<M>::type;

template <class M>
inline constexpr bool is_list = false;
template <class T>
inline constexpr bool is_list<std::vector<T>> = true;
template <class M>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

// Strings and enums have no numeric bounds.
struct NoBound {};
template <class V>
using bound_t = std::conditional_t<std::is_arithmetic_v<V>, V, NoBound>;
template <class V>
constexpr bound_t<V> lowest() {
  if constexpr (std::is_arithmetic_v<V>)
    return std::numeric_limits<V>::lowest();
  else
    return {};
}
template <class V>
constexpr bound_t<V> highest() {
  if constexpr (std::is_arithmetic_v<V>)
    return std::numeric_limits<V>::max();
  else
    return {};
}

// Lists whose length a decoder bounds by one of its limits (json::DecodeLimits).
enum class ListLimit { none, pids, gpus };

// A Prometheus series fed by a member: the value times `scale`, omitted while it is absent.
// `label`: the member's name becomes the value of this label on its series, or, on a member that
// is an object, on the series of every member inside it (resource="cpu", event="oom_kill").
struct Series {
  std::string_view name{};  // empty: the member feeds no series
  std::string_view type{};
  std::string_view help{};
  double scale = 1;
  std::string_view label{};
};

template <class V>
struct Options {
  bound_t<V> min = lowest<V>();  // a decoded value outside [min, max] is an error naming it
  bound_t<V> max = highest<V>();
  bool required = false;
  ListLimit limit = ListLimit::none;
  Series series = {};
};

template <class T, class M>
struct Field {
  using Object = T;
  using Member = M;
  using Value = value_t<M>;
  std::string_view name;
  M T::*member;
  Options<Value> options;
};

template <class T, class M>
constexpr Field<T, M> field(std::string_view name, M T::*member, Options<value_t<M>> o = {}) {
  return {name, member, o};
}

// A member that is a JSON object of its own: TableOf<V>::table lists its members.
template <class V>
struct TableOf;
template <class V>
concept Object = requires {
  TableOf<V>::table;
};

// The type column of docs/telemetry.md.
template <class M>
constexpr std::string_view json_type() {
  using V = value_t<M>;
  constexpr bool text = std::is_same_v<V, std::string> || std::is_enum_v<V>;
  if constexpr (Object<V>)
    return "object";
  else if constexpr (is_list<M>)
    return std::is_signed_v<V> ? "[int]" : "[uint]";
  else if constexpr (text)
    return "string";
  else if constexpr (std::is_same_v<V, bool>)
    return "bool";
  else if constexpr (std::is_floating_point_v<V>)
    return "number";
  else
    return std::is_signed_v<V> ? "int" : "uint";
}

inline constexpr std::size_t kMaxGpuIndex = 1023;
inline constexpr uint32_t kMaxCount = 1u << 30;
inline constexpr auto kMaxInt32 = std::numeric_limits<int32_t>::max();
inline constexpr double kMaxCores = 1 << 20;

using P = Pressure;
inline constexpr Series kWaiting{"rbee_worker_pressure_waiting_seconds_total", "counter",
                                 "Time some of the worker's tasks waited for the resource (PSI).",
                                 1e-6};
inline constexpr Series kStalled{"rbee_worker_pressure_stalled_seconds_total", "counter",
                                 "Time all of the worker's tasks waited for the resource (PSI).",
                                 1e-6};
inline constexpr auto kPressure = std::tuple{
    field("some_avg10", &P::some_avg10, {.min = 0, .max = 100, .required = true}),
    field("some_avg60", &P::some_avg60, {.min = 0, .max = 100, .required = true}),
    field("some_avg300", &P::some_avg300, {.min = 0, .max = 100, .required = true}),
    field("some_total_usec", &P::some_total_usec, {.required = true, .series = kWaiting}),
    field("full_avg10", &P::full_avg10, {.min = 0, .max = 100}),
    field("full_avg60", &P::full_avg60, {.min = 0, .max = 100}),
    field("full_avg300", &P::full_avg300, {.min = 0, .max = 100}),
    field("full_total_usec", &P::full_total_usec, {.series = kStalled}),
};
inline constexpr auto kPressureSet = std::tuple{
    field("cpu", &PressureSet::cpu, {.series = {.label = "resource"}}),
    field("memory", &PressureSet::memory, {.series = {.label = "resource"}}),
    field("io", &PressureSet::io, {.series = {.label = "resource"}}),
};
inline constexpr Series kMemoryEvent{"rbee_worker_memory_events_total", "counter",
                                     "memory.events counters of the worker's cgroup.", 1, "event"};
inline constexpr auto kMemoryEvents = std::tuple{
    field("low", &MemoryEvents::low, {.series = kMemoryEvent}),
    field("high", &MemoryEvents::high, {.series = kMemoryEvent}),
    field("max", &MemoryEvents::max, {.series = kMemoryEvent}),
    field("oom", &MemoryEvents::oom, {.series = kMemoryEvent}),
    field("oom_kill", &MemoryEvents::oom_kill, {.series = kMemoryEvent}),
};
template <>
struct TableOf<Pressure> {
  static constexpr const auto& table = kPressure;
};
template <>
struct TableOf<PressureSet> {
  static constexpr const auto& table = kPressureSet;
};
template <>
struct TableOf<MemoryEvents> {
  static constexpr const auto& table = kMemoryEvents;
};

using W = Worker;
inline constexpr auto kWorker = std::tuple{
    field("service", &W::service, {.required = true}),
    field("instance", &W::instance, {.required = true}),
    field("port", &W::port, {.min = 1}),
    field("cgroup", &W::cgroup),
    field("unit", &W::unit),
    field("state", &W::state, {.required = true}),
    field("cpu_usage_usec", &W::cpu_usage_usec,
          {.series = {"rbee_worker_cpu_usage_seconds_total", "counter",
                      "CPU time used by the worker's cgroup.", 1e-6}}),
    field("cpu_pct", &W::cpu_pct,
          {.min = 0,
           .max = 1e6,
           .series = {"rbee_worker_cpu_percent", "gauge",
                      "CPU use over the last interval; 100 = one core."}}),
    field("rss_bytes", &W::rss_bytes,
          {.series = {"rbee_worker_rss_bytes", "gauge",
                      "Resident memory (see mem_source in telemetry)."}}),
    field("working_set_bytes", &W::working_set_bytes,
          {.series = {"rbee_worker_working_set_bytes", "gauge",
                      "memory.current minus inactive_file."}}),
    field("mem_source", &W::mem_source),
    field("memory_max_bytes", &W::memory_max_bytes,
          {.series = {"rbee_worker_memory_max_bytes", "gauge", "memory.max, where limited."}}),
    field("pids", &W::pids, {.min = 1, .max = kMaxInt32, .limit = ListLimit::pids}),
    field("pid_count", &W::pid_count,
          {.max = kMaxCount,
           .series = {"rbee_worker_pids", "gauge", "Processes in the worker's cgroup."}}),
    field("main_pid", &W::main_pid, {.min = 1}),
    field("io_read_bytes", &W::io_read_bytes,
          {.series = {"rbee_worker_io_read_bytes_total", "counter", "Bytes read (io.stat)."}}),
    field("io_write_bytes", &W::io_write_bytes,
          {.series = {"rbee_worker_io_write_bytes_total", "counter", "Bytes written (io.stat)."}}),
    field("io_read_bps", &W::io_read_bps, {.min = 0, .max = 1e15}),
    field("io_write_bps", &W::io_write_bps, {.min = 0, .max = 1e15}),
    field("oom_kills", &W::oom_kills,
          {.series = {"rbee_worker_oom_kills_total", "counter",
                      "OOM kills in the worker's cgroup."}}),
    field("memory_events", &W::memory_events),
    field("memory_peak_bytes", &W::memory_peak_bytes,
          {.series = {"rbee_worker_memory_peak_bytes", "gauge", "memory.peak of the worker."}}),
    field("memory_high_bytes", &W::memory_high_bytes,
          {.series = {"rbee_worker_memory_high_bytes", "gauge", "memory.high, where limited."}}),
    field("pids_max", &W::pids_max,
          {.series = {"rbee_worker_pids_max", "gauge", "pids.max, where limited."}}),
    field("cpu_max_cores", &W::cpu_max_cores,
          {.min = 0,
           .max = kMaxCores,
           .series = {"rbee_worker_cpu_max_cores", "gauge", "cpu.max quota / period."}}),
    field("cpu_nr_periods", &W::cpu_nr_periods,
          {.series = {"rbee_worker_cpu_periods_total", "counter", "cpu.stat nr_periods."}}),
    field("cpu_nr_throttled", &W::cpu_nr_throttled,
          {.series = {"rbee_worker_cpu_throttled_periods_total", "counter",
                      "Periods in which the worker was throttled by cpu.max."}}),
    field("cpu_throttled_usec", &W::cpu_throttled_usec,
          {.series = {"rbee_worker_cpu_throttled_seconds_total", "counter",
                      "Time the worker was throttled by cpu.max.", 1e-6}}),
    field("pressure", &W::pressure),
    field("exit_code", &W::exit_code, {.min = 0, .max = 255}),
    field("signal", &W::signal, {.min = 1, .max = 128}),
    field("started_at_ms", &W::started_at_ms, {.min = 0}),
    field("exited_at_ms", &W::exited_at_ms, {.min = 0}),
    field("spawned_by", &W::spawned_by),
    field("restarts", &W::restarts,
          {.max = kMaxCount,
           .series = {"rbee_worker_restarts_total", "counter", "Restarts by the restart policy."}}),
    field("vram_bytes", &W::vram_bytes,
          {.series = {"rbee_worker_vram_bytes", "gauge",
                      "GPU memory used by the worker's processes."}}),
    field("gpu_indices", &W::gpu_indices, {.max = kMaxGpuIndex, .limit = ListLimit::gpus}),
    field("gpu_util_pct", &W::gpu_util_pct,
          {.min = 0,
           .max = 1e6,
           .series = {"rbee_worker_gpu_utilization_percent", "gauge",
                      "SM utilisation of the worker's processes, summed over them and their "
                      "GPUs."}}),
};

inline constexpr auto kHost = std::tuple{
    field("hostname", &Host::hostname),
    field("cpus", &Host::cpus, {.max = 1u << 20}),
    field("memory_total_bytes", &Host::memory_total_bytes),
    field("memory_available_bytes", &Host::memory_available_bytes),
    field("load1", &Host::load1, {.min = 0, .max = 1e6}),
    field("load5", &Host::load5, {.min = 0, .max = 1e6}),
    field("load15", &Host::load15, {.min = 0, .max = 1e6}),
};

// Per-GPU series are labelled gpu (index) and uuid.
inline constexpr auto kGpu = std::tuple{
    field("index", &Gpu::index, {.max = kMaxGpuIndex}),
    field("uuid", &Gpu::uuid),
    field("name", &Gpu::name),
    field("memory_total_bytes", &Gpu::memory_total_bytes,
          {.series = {"rbee_gpu_memory_total_bytes", "gauge", "GPU memory, total."}}),
    field("memory_used_bytes", &Gpu::memory_used_bytes,
          {.series = {"rbee_gpu_memory_used_bytes", "gauge", "GPU memory in use, all of it."}}),
    field("util_pct", &Gpu::util_pct,
          {.min = 0,
           .max = 100,
           .series = {"rbee_gpu_utilization_percent", "gauge",
                      "Percent of the last sample period in which a kernel ran."}}),
    field("temperature_c", &Gpu::temperature_c,
          {.min = -100,
           .max = 300,
           .series = {"rbee_gpu_temperature_celsius", "gauge", "GPU core temperature."}}),
    field("power_w", &Gpu::power_w,
          {.min = 0,
           .max = 1e5,
           .series = {"rbee_gpu_power_watts", "gauge", "Power drawn by the GPU board."}}),
    field("vram_other_bytes", &Gpu::vram_other_bytes,
          {.series = {"rbee_gpu_memory_other_bytes", "gauge",
                      "GPU memory of processes that are no worker of this Hive."}}),
};

// Every member of each struct is in its table (a unit test checks they are in member order).
static_assert(boost::pfr::tuple_size_v<Worker> == std::tuple_size_v<decltype(kWorker)>,
              "a member of telemetry::Worker is missing from schema::kWorker");
static_assert(boost::pfr::tuple_size_v<Host> == std::tuple_size_v<decltype(kHost)>,
              "a member of telemetry::Host is missing from schema::kHost");
static_assert(boost::pfr::tuple_size_v<Gpu> == std::tuple_size_v<decltype(kGpu)>,
              "a member of telemetry::Gpu is missing from schema::kGpu");
static_assert(boost::pfr::tuple_size_v<Pressure> == std::tuple_size_v<decltype(kPressure)>);
static_assert(boost::pfr::tuple_size_v<PressureSet> == std::tuple_size_v<decltype(kPressureSet)>);
static_assert(boost::pfr::tuple_size_v<MemoryEvents> == std::tuple_size_v<decltype(kMemoryEvents)>);

template <class Table, class F>
constexpr void for_each_field(const Table& table, F&& f) {
  std::apply([&](const auto&... x) { (f(x), ...); }, table);
}

// f(the field at `index`) for a run-time index.
template <class Table, class F>
void visit_field(const Table& table, std::size_t index, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (void)((index == I ? (f(std::get<I>(table)), true) : false) || ...);
  }
  (std::make_index_sequence<std::tuple_size_v<Table>>{});
}

template <class Table>
constexpr auto names_of(const Table& table) {
  return std::apply([](const auto&... x) { return std::array{x.name...}; }, table);
}

}  // namespace rbee::telemetry::schema
