#include <catch2/catch.hpp>

#include "hive/cgroup_files.h"

using namespace rbee::hive;

// Copied from a cgroup v2 cpu.stat with the cpu controller enabled (kernel 6.x).
constexpr const char* kCpuStatFull =
    "usage_usec 122916000\n"
    "user_usec 81836000\n"
    "system_usec 41080000\n"
    "core_sched.force_idle_usec 0\n"
    "nr_periods 0\n"
    "nr_throttled 0\n"
    "throttled_usec 0\n"
    "nr_bursts 0\n"
    "burst_usec 0\n";

// From Documentation/admin-guide/cgroup-v2.rst and a pure-v2 host (kernel 6.1).
constexpr const char* kMemoryStat =
    "anon 1126400\n"
    "file 4554752\n"
    "kernel 1236992\n"
    "kernel_stack 49152\n"
    "pagetables 143360\n"
    "sec_pagetables 0\n"
    "percpu 0\n"
    "sock 0\n"
    "vmalloc 0\n"
    "shmem 8192\n"
    "zswap 0\n"
    "zswapped 0\n"
    "file_mapped 2568192\n"
    "file_dirty 0\n"
    "file_writeback 0\n"
    "swapcached 0\n"
    "anon_thp 0\n"
    "file_thp 0\n"
    "shmem_thp 0\n"
    "inactive_anon 1105920\n"
    "active_anon 20480\n"
    "inactive_file 3096576\n"
    "active_file 1458176\n"
    "unevictable 0\n"
    "slab_reclaimable 755208\n"
    "slab_unreclaimable 135656\n"
    "slab 890864\n"
    "workingset_refault_anon 0\n"
    "workingset_refault_file 0\n"
    "pgfault 9361\n"
    "pgmajfault 21\n"
    "thp_fault_alloc 0\n";

TEST_CASE("cpu.stat: reads usage, user and system, ignores the rest") {
  const auto s = parse_cpu_stat(kCpuStatFull);
  CHECK(s.usage_usec == 122916000u);
  CHECK(s.user_usec == 81836000u);
  CHECK(s.system_usec == 41080000u);
}

TEST_CASE("cpu.stat: the basic form without the cpu controller, any order, no trailing newline") {
  const auto s = parse_cpu_stat("system_usec 5\nnice_usec 0\nuser_usec 7\r\nusage_usec 12");
  CHECK(s == CpuStat{12, 7, 5});
}

TEST_CASE("cpu.stat: a malformed or missing value leaves the field absent") {
  const auto s = parse_cpu_stat("usage_usec 12x\nuser_usec -3\nsystem_usec\n\ngarbage\n");
  CHECK_FALSE(s.usage_usec);
  CHECK_FALSE(s.user_usec);
  CHECK_FALSE(s.system_usec);
  CHECK(parse_cpu_stat("") == CpuStat{});
  CHECK_FALSE(parse_cpu_stat("usage_usec 99999999999999999999999\n").usage_usec);
}

TEST_CASE("memory.stat: reads anon, file, file_mapped, inactive_file and shmem") {
  const auto m = parse_memory_stat(kMemoryStat);
  CHECK(m.anon == 1126400u);
  CHECK(m.file == 4554752u);
  CHECK(m.file_mapped == 2568192u);
  CHECK(m.inactive_file == 3096576u);
  CHECK(m.shmem == 8192u);
}

TEST_CASE("memory.stat: keys missing on older kernels stay absent, not zero") {
  const auto m = parse_memory_stat("anon 4096\nfile 0\n");
  CHECK(m.anon == 4096u);
  CHECK(m.file == 0u);
  CHECK_FALSE(m.file_mapped);
  CHECK_FALSE(m.inactive_file);
  CHECK_FALSE(m.shmem);
  // A key that only starts like a known one is not taken for it.
  CHECK_FALSE(parse_memory_stat("anon_thp 4096\nfile_thp 1\n").anon);
}

TEST_CASE("io.stat: sums rbytes and wbytes over devices") {
  const auto io = parse_io_stat(
      "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n"
      "8:0 rbytes=90430464 wbytes=299008000 rios=8950 wios=1252 dbytes=50331648 dios=3021\n");
  CHECK(io.rbytes == 1459200u + 90430464u);
  CHECK(io.wbytes == 314773504u + 299008000u);
}

TEST_CASE("io.stat: empty, reordered keys and junk tokens") {
  CHECK(parse_io_stat("") == IoStat{});
  const auto io = parse_io_stat(
      "259:0 wios=1 wbytes=10 rbytes=oops junk rbytes\n"
      "not-a-device rbytes=1000\n"
      "253:1 rbytes=5 wbytes=7");
  CHECK(io.rbytes == 5u);
  CHECK(io.wbytes == 17u);
}

TEST_CASE("cgroup.events: populated and frozen") {
  CHECK(parse_cgroup_events("populated 1\nfrozen 0\n") == CgroupEvents{true, false});
  CHECK(parse_cgroup_events("frozen 1\npopulated 0") == CgroupEvents{false, true});
  CHECK(parse_cgroup_events("populated x\n") == CgroupEvents{});
  CHECK(parse_cgroup_events("") == CgroupEvents{});
}

TEST_CASE("memory.events: oom and oom_kill counters") {
  const auto e =
      parse_memory_events("low 0\nhigh 12\nmax 40\noom 2\noom_kill 1\noom_group_kill 0\n");
  CHECK(e.oom == 2u);
  CHECK(e.oom_kill == 1u);
  CHECK(parse_memory_events("oom_group_kill 5\n") == MemoryEvents{});
  CHECK(parse_memory_events("oom_kill -1\n") == MemoryEvents{});
}

TEST_CASE("limits: \"max\" is unlimited, numbers are values, junk is an error") {
  auto max = parse_limit("max\n");
  REQUIRE(max.ok());
  CHECK(max->unlimited);
  auto n = parse_limit("1073741824\n");
  REQUIRE(n.ok());
  CHECK_FALSE(n->unlimited);
  CHECK(n->value == 1073741824u);
  CHECK_FALSE(parse_limit("").ok());
  CHECK_FALSE(parse_limit("maximum").ok());
  CHECK_FALSE(parse_limit("-1").ok());
  CHECK_FALSE(parse_limit("12 34").ok());
}

TEST_CASE("single numbers: trimmed, strict, no overflow") {
  CHECK(parse_u64("  4096\n").value() == 4096u);
  CHECK(parse_u64("18446744073709551615").value() == UINT64_MAX);
  CHECK_FALSE(parse_u64("18446744073709551616").ok());
  CHECK_FALSE(parse_u64("\n").ok());
  CHECK_FALSE(parse_u64("0x10").ok());
  CHECK_FALSE(parse_u64("+5").ok());
  auto bad = parse_u64("abc");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("abc") != std::string::npos);
}

TEST_CASE("cgroup.procs: one pid a line, junk skipped") {
  CHECK(parse_pid_list("") == std::vector<int32_t>{});
  CHECK(parse_pid_list("4257\n4261\n") == std::vector<int32_t>{4257, 4261});
  CHECK(parse_pid_list("12\n\nabc\n-3\n0\n 77 \n99999999999\n13") ==
        std::vector<int32_t>{12, 77, 13});
}
