#pragma once
// Pure parsers of /proc files: text in, values out. No I/O here.
//
// Unknown keys are ignored, order does not matter, malformed numbers never crash: a keyed file
// leaves that field absent, a fixed-format file returns an Error.
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/result.h"

namespace rbee::hive {

// /proc/PID/smaps_rollup (kernel >= 4.14). The file says kB; these are bytes.
// Pss_Anon/Pss_File/Pss_Shmem exist from kernel 5.7 on.
struct SmapsRollup {
  std::optional<uint64_t> rss_bytes, pss_bytes, pss_anon_bytes, pss_file_bytes, pss_shmem_bytes,
      anonymous_bytes;
  bool operator==(const SmapsRollup&) const = default;
};
SmapsRollup parse_smaps_rollup(std::string_view text);

// /proc/PID/statm: the first three fields, in pages (multiply by sysconf(_SC_PAGESIZE)).
struct Statm {
  uint64_t size_pages = 0, resident_pages = 0, shared_pages = 0;
  bool operator==(const Statm&) const = default;
};
Result<Statm> parse_statm(std::string_view text);

// /proc/PID/stat. comm (field 2) may hold spaces and ')': the fields after it are found after
// the LAST ')'. Times are in clock ticks (sysconf(_SC_CLK_TCK)); starttime counts from boot.
struct ProcStat {
  char state = '?';
  int32_t ppid = 0;
  uint64_t starttime_ticks = 0;
  uint64_t utime_ticks = 0, stime_ticks = 0;
  bool operator==(const ProcStat&) const = default;
};
Result<ProcStat> parse_proc_stat(std::string_view text);

// /proc/meminfo MemTotal and MemAvailable, in bytes.
struct MemInfo {
  std::optional<uint64_t> total_bytes, available_bytes;
  bool operator==(const MemInfo&) const = default;
};
MemInfo parse_meminfo(std::string_view text);

// /proc/loadavg: the three load averages.
struct LoadAvg {
  double load1 = 0, load5 = 0, load15 = 0;
  bool operator==(const LoadAvg&) const = default;
};
Result<LoadAvg> parse_loadavg(std::string_view text);

// The "btime" line of /proc/stat: boot time in seconds since the epoch.
Result<uint64_t> parse_btime(std::string_view proc_stat_text);

}  // namespace rbee::hive
