#include <catch2/catch.hpp>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>

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

TEST_CASE("cpu.stat: throttling lines with the cpu controller, absent without it",
          "[cgroup_files]") {
  const auto s = parse_cpu_stat(
      "usage_usec 9\nnr_periods 1200\nnr_throttled 310\nthrottled_usec 18446744073709551615\n");
  CHECK(s.nr_periods == 1200u);
  CHECK(s.nr_throttled == 310u);
  CHECK(s.throttled_usec == UINT64_MAX);
  const auto full = parse_cpu_stat(kCpuStatFull);
  CHECK(full.nr_periods == 0u);  // the line is there: a real zero
  CHECK(full.nr_throttled == 0u);
  const auto basic = parse_cpu_stat("usage_usec 12\nuser_usec 7\nsystem_usec 5\n");
  CHECK_FALSE(basic.nr_periods);
  CHECK_FALSE(basic.nr_throttled);
  CHECK_FALSE(basic.throttled_usec);
  CHECK_FALSE(parse_cpu_stat("nr_throttled -1\nnr_periods 1e3\n").nr_throttled);
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

TEST_CASE("memory.events: every counter, absent where the file has no line", "[cgroup_files]") {
  const auto e =
      parse_memory_events("low 0\nhigh 12\nmax 40\noom 2\noom_kill 1\noom_group_kill 0\n");
  CHECK(e == MemoryEvents{.low = 0, .high = 12, .max = 40, .oom = 2, .oom_kill = 1});
  const auto partial = parse_memory_events("oom_kill 18446744073709551615\nhigh x\n");
  CHECK(partial.oom_kill == UINT64_MAX);
  CHECK_FALSE(partial.high);
  CHECK_FALSE(partial.low);
  CHECK_FALSE(parse_memory_events("oom_kill 18446744073709551616\n").oom_kill);
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

// From a 6.x kernel: every v2 cgroup's cpu.pressure, memory.pressure and io.pressure.
constexpr const char* kPressure =
    "some avg10=12.50 avg60=3.07 avg300=0.66 total=48213377\n"
    "full avg10=1.00 avg60=0.25 avg300=0.05 total=1053210\n";

TEST_CASE("pressure: some and full lines", "[cgroup_files][pressure]") {
  const auto p = parse_pressure(kPressure);
  REQUIRE(p);
  CHECK(p->some_avg10 == 12.5);
  CHECK(p->some_avg60 == 3.07);  // the double nearest the decimal, as from_chars gives it
  CHECK(p->some_avg300 == 0.66);
  CHECK(p->some_total_usec == 48213377u);
  CHECK(p->full_avg10 == 1.0);
  CHECK(p->full_avg60 == 0.25);
  CHECK(p->full_avg300 == 0.05);
  CHECK(p->full_total_usec == 1053210u);
}

TEST_CASE("pressure: without a full line the full members are absent", "[cgroup_files][pressure]") {
  // Kernels before 5.13 write no full line in cpu.pressure; no trailing newline, keys reordered.
  const auto p =
      parse_pressure("some total=18446744073709551615 avg300=0.00 avg60=0.00 avg10=100.00");
  REQUIRE(p);
  CHECK(p->some_avg10 == 100.0);
  CHECK(p->some_total_usec == UINT64_MAX);
  CHECK_FALSE(p->full_avg10);
  CHECK_FALSE(p->full_avg60);
  CHECK_FALSE(p->full_avg300);
  CHECK_FALSE(p->full_total_usec);
}

TEST_CASE("pressure: malformed files are absent, a malformed full line costs only full",
          "[cgroup_files][pressure]") {
  const char* absent[] = {
      "",
      "\n\n",
      "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",                     // no some line
      "some avg10=0.00 avg60=0.00 avg300=0.00\n",                             // no total
      "some avg10=0.00 avg60=0.00 avg300=0.00 total=-1\n",                    // negative
      "some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551616\n",  // overflow
      "some avg10=100.01 avg60=0.00 avg300=0.00 total=0\n",                   // over 100 %
      "some avg10=nan avg60=0.00 avg300=0.00 total=0\n",
      "some avg10=inf avg60=0.00 avg300=0.00 total=0\n",
      "some avg10=1e400 avg60=0.00 avg300=0.00 total=0\n",
      "some avg10=-0.50 avg60=0.00 avg300=0.00 total=0\n",
      "some avg10=.5 avg60=0.00 avg300=0.00 total=0\n",
      "some avg10=5. avg60=0.00 avg300=0.00 total=0\n",
      "some avg10=0100 avg60=0.00 avg300=0.00 total=0\n",
      "some avg10=1.0000000001 avg60=0.00 avg300=0.00 total=0\n",
      "some avg10=1.2.3 avg60=0.00 avg300=0.00 total=0\n",
      "some avg10=0.00 avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",  // a key twice
      "some avg10 avg60=0.00 avg300=0.00 total=0\n",
      "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nsome avg10=0.00 avg60=0.00 avg300=0.00 "
      "total=2\n",  // two some lines
  };
  for (const char* text : absent) {
    INFO(text);
    CHECK_FALSE(parse_pressure(text));
  }
  const auto p = parse_pressure(
      "some avg10=0.10 avg60=0.00 avg300=0.00 total=7 extra=1\nfull avg10=x avg60=0 avg300=0 "
      "total=1\nsomething else\n");
  REQUIRE(p);
  CHECK(p->some_total_usec == 7u);
  CHECK_FALSE(p->full_total_usec);
  CHECK_FALSE(p->full_avg10);
}

TEST_CASE("cpu.max: quota and period, \"max\" is no limit", "[cgroup_files]") {
  CHECK(parse_cpu_max("max 100000\n").value() == CpuQuota{std::nullopt, 100000});
  CHECK(parse_cpu_max("150000 100000\n").value() == CpuQuota{150000, 100000});
  CHECK(parse_cpu_max("18446744073709551615 1000").value() == CpuQuota{UINT64_MAX, 1000});
  for (const char* bad :
       {"", "max", "150000", "150000 0", "150000 100000 7", "-1 100000", "max max", "1.5 100000"}) {
    INFO(bad);
    CHECK_FALSE(parse_cpu_max(bad).ok());
  }
}

TEST_CASE("memory.peak, memory.high, pids.max: a number, or \"max\" for no limit",
          "[cgroup_files]") {
  CHECK(parse_u64("1073741824\n").value() == 1073741824u);  // memory.peak
  CHECK(parse_limit("max\n").value() == LimitValue{.unlimited = true});
  CHECK(parse_limit("4096\n").value() == LimitValue{.unlimited = false, .value = 4096});
  CHECK_FALSE(parse_limit("max 100000\n").ok());  // a cpu.max line is no single limit
}

TEST_CASE("pressure: every average the kernel can write reads as the double nearest it",
          "[cgroup_files][pressure]") {
  for (int hundredths = 0; hundredths <= 10000; ++hundredths) {
    char avg[16];
    std::snprintf(avg, sizeof avg, "%d.%02d", hundredths / 100, hundredths % 100);
    const auto p = parse_pressure(std::string("some avg10=") + avg + " avg60=0 avg300=0 total=0");
    REQUIRE(p);
    double expected = -1;
    std::from_chars(avg, avg + std::strlen(avg), expected);
    if (p->some_avg10 != expected) FAIL(avg);
  }
}
