// Fuzz target: the cgroup v2 and /proc file parsers (hive/cgroup_files.h, hive/proc_files.h).
// The first byte picks the parser, the rest is the file's text; each parser must return a value
// or an Error for any text, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hive/cgroup_files.h"
#include "hive/proc_files.h"

using namespace rbee::hive;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 15) {
    case 0:
      (void)parse_cpu_stat(text);
      break;
    case 1:
      (void)parse_memory_stat(text);
      break;
    case 2:
      (void)parse_io_stat(text);
      break;
    case 3:
      (void)parse_cgroup_events(text);
      break;
    case 4:
      (void)parse_memory_events(text);
      break;
    case 5:
      (void)parse_limit(text);
      break;
    case 6:
      (void)parse_u64(text);
      break;
    case 7:
      (void)parse_pid_list(text);
      break;
    case 8:
      (void)parse_smaps_rollup(text);
      break;
    case 9:
      (void)parse_statm(text);
      break;
    case 10:
      (void)parse_proc_stat(text);
      break;
    case 11:
      (void)parse_meminfo(text);
      break;
    case 12:
      (void)parse_loadavg(text);
      break;
    case 13:
      (void)parse_btime(text);
      break;
    default:
      // All of them on the same text: a real file read from the wrong place.
      (void)parse_cpu_stat(text);
      (void)parse_memory_stat(text);
      (void)parse_io_stat(text);
      (void)parse_pid_list(text);
      (void)parse_proc_stat(text);
      (void)parse_meminfo(text);
      (void)parse_pressure(text);
      (void)parse_cpu_max(text);
      break;
  }
  return 0;
}
