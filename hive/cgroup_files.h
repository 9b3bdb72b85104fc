#pragma once
// Pure parsers of cgroup v2 interface files: text in, values out. No I/O here.
//
// All parsers accept keys in any order, ignore keys they do not know, and tolerate a missing
// trailing newline or '\r'. A malformed number never crashes: a flat-keyed file leaves that
// field absent (std::optional) or at its default; a single-value file returns an Error.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/telemetry.h"

namespace rbee::hive {

// cpu.stat. Present in every v2 cgroup even without the cpu controller; the throttling lines
// only with it.
struct CpuStat {
  std::optional<uint64_t> usage_usec, user_usec, system_usec;
  std::optional<uint64_t> nr_periods, nr_throttled, throttled_usec;
  bool operator==(const CpuStat&) const = default;
};
CpuStat parse_cpu_stat(std::string_view text);

// memory.stat (bytes). Absent on hosts whose v2 tree lacks the memory controller.
struct MemoryStat {
  std::optional<uint64_t> anon, file, file_mapped, inactive_file, shmem;
  bool operator==(const MemoryStat&) const = default;
};
MemoryStat parse_memory_stat(std::string_view text);

// io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N ..." per device, summed over devices.
// Malformed or unknown tokens are skipped.
struct IoStat {
  uint64_t rbytes = 0, wbytes = 0;
  bool operator==(const IoStat&) const = default;
};
IoStat parse_io_stat(std::string_view text);

// cgroup.events: "populated 0|1", "frozen 0|1".
struct CgroupEvents {
  bool populated = false;
  bool frozen = false;
  bool operator==(const CgroupEvents&) const = default;
};
CgroupEvents parse_cgroup_events(std::string_view text);

// memory.events (also memory.events.local): counters since the cgroup was created.
using MemoryEvents = telemetry::MemoryEvents;
MemoryEvents parse_memory_events(std::string_view text);

// memory.max, pids.max, memory.high, ...: a number or "max" (unlimited, not an error).
struct LimitValue {
  bool unlimited = false;
  uint64_t value = 0;  // meaningful only when !unlimited
  bool operator==(const LimitValue&) const = default;
};
Result<LimitValue> parse_limit(std::string_view text);

// cpu.max: "$QUOTA $PERIOD" in µs, the quota "max" when unlimited.
struct CpuQuota {
  std::optional<uint64_t> quota_usec;  // nullopt: no limit
  uint64_t period_usec = 0;
  bool operator==(const CpuQuota&) const = default;
};
Result<CpuQuota> parse_cpu_max(std::string_view text);

// cpu.pressure, memory.pressure, io.pressure (and /proc/pressure/*):
//   some avg10=0.12 avg60=0.05 avg300=0.01 total=123456
//   full avg10=0.00 avg60=0.00 avg300=0.00 total=789
// nullopt unless there is one well-formed `some` line; the full_* members only from one
// well-formed `full` line. An average outside 0..100 is malformed.
std::optional<telemetry::Pressure> parse_pressure(std::string_view text);

// A single unsigned decimal (memory.current, pids.current, ...). Leading and trailing
// whitespace/newlines are trimmed; anything else, an empty text or overflow is an Error.
Result<uint64_t> parse_u64(std::string_view text);

// cgroup.procs / cgroup.threads: one PID per line. Blank, junk and non-positive lines are skipped.
std::vector<int32_t> parse_pid_list(std::string_view text);

}  // namespace rbee::hive
