#include <catch2/catch.hpp>

#include "hive/proc_files.h"

using namespace rbee::hive;

// Copied from `cat /proc/self/smaps_rollup` on a build machine (kernel 6.x).
constexpr const char* kSmapsRollup =
    "55b58dbe9000-7ffd50f9f000 ---p 00000000 00:00 0                          [rollup]\n"
    "Rss:                1668 kB\n"
    "Pss:                 460 kB\n"
    "Pss_Dirty:           112 kB\n"
    "Pss_Anon:            112 kB\n"
    "Pss_File:            348 kB\n"
    "Pss_Shmem:             0 kB\n"
    "Shared_Clean:       1484 kB\n"
    "Shared_Dirty:          0 kB\n"
    "Private_Clean:        72 kB\n"
    "Private_Dirty:       112 kB\n"
    "Referenced:         1668 kB\n"
    "Anonymous:           112 kB\n"
    "KSM:                   0 kB\n"
    "LazyFree:              0 kB\n"
    "AnonHugePages:         0 kB\n"
    "ShmemPmdMapped:        0 kB\n"
    "FilePmdMapped:         0 kB\n"
    "Shared_Hugetlb:        0 kB\n"
    "Private_Hugetlb:       0 kB\n"
    "Swap:                  0 kB\n"
    "SwapPss:               0 kB\n"
    "Locked:                0 kB\n";

// `cat /proc/self/stat` from the same machine.
constexpr const char* kProcStat =
    "4261 (cat) R 4257 4257 3128 0 -1 4194304 100 0 0 0 7 3 0 0 20 0 1 0 46714 3133440 408 "
    "18446744073709551615 94662031495168 94662031515049 140736706004000 0 0 0 0 0 0 0 0 0 17 0 0 "
    "0 0 0 0 94662031531056 94662031532672 94662650732544 140736706005449 140736706005469 "
    "140736706005469 140736706007019 0\n";

TEST_CASE("smaps_rollup: Rss, Pss and its parts, Anonymous, in bytes") {
  const auto r = parse_smaps_rollup(kSmapsRollup);
  CHECK(r.rss_bytes == 1668u * 1024);
  CHECK(r.pss_bytes == 460u * 1024);
  CHECK(r.pss_anon_bytes == 112u * 1024);
  CHECK(r.pss_file_bytes == 348u * 1024);
  CHECK(r.pss_shmem_bytes == 0u);
  CHECK(r.anonymous_bytes == 112u * 1024);
}

TEST_CASE("smaps_rollup: an older kernel without Pss_Anon leaves those fields absent") {
  const auto r = parse_smaps_rollup(
      "00400000-7fff ---p 00000000 00:00 0 [rollup]\nRss: 100 kB\nPss: 50 kB\nAnonymous: 8 kB");
  CHECK(r.rss_bytes == 102400u);
  CHECK(r.pss_bytes == 51200u);
  CHECK_FALSE(r.pss_anon_bytes);
  CHECK_FALSE(r.pss_file_bytes);
  CHECK_FALSE(r.pss_shmem_bytes);
  CHECK(r.anonymous_bytes == 8192u);
}

TEST_CASE("smaps_rollup: junk values, wrong units and an empty file stay absent") {
  CHECK(parse_smaps_rollup("") == SmapsRollup{});
  const auto r =
      parse_smaps_rollup("Rss: lots kB\nPss: 10 MB\nAnonymous: 99999999999999999999 kB\n");
  CHECK_FALSE(r.rss_bytes);
  CHECK_FALSE(r.pss_bytes);
  CHECK_FALSE(r.anonymous_bytes);
  CHECK_FALSE(parse_smaps_rollup("Rss: 18014398509481984 kB\n").rss_bytes);  // * 1024 overflows
}

TEST_CASE("statm: size, resident and shared pages") {
  auto s = parse_statm("765 443 415 5 0 123 0\n");
  REQUIRE(s.ok());
  CHECK(*s == Statm{765, 443, 415});
  CHECK_FALSE(parse_statm("765 443").ok());
  CHECK_FALSE(parse_statm("").ok());
  CHECK_FALSE(parse_statm("a b c").ok());
}

TEST_CASE("proc stat: state, ppid, utime, stime and starttime") {
  auto s = parse_proc_stat(kProcStat);
  REQUIRE(s.ok());
  CHECK(s->state == 'R');
  CHECK(s->ppid == 4257);
  CHECK(s->utime_ticks == 7u);
  CHECK(s->stime_ticks == 3u);
  CHECK(s->starttime_ticks == 46714u);
}

TEST_CASE("proc stat: a comm holding spaces, parentheses and \") (\" is skipped whole") {
  auto s = parse_proc_stat(
      "77 (evil) (S 1 2 3) (x) Z 12 77 77 0 -1 4194560 5 0 0 0 100 200 0 0 20 0 1 0 999 0 0\n");
  REQUIRE(s.ok());
  CHECK(s->state == 'Z');
  CHECK(s->ppid == 12);
  CHECK(s->utime_ticks == 100u);
  CHECK(s->stime_ticks == 200u);
  CHECK(s->starttime_ticks == 999u);
  // Kernel threads have ppid 0 (kthreadd) and an idle state.
  auto k = parse_proc_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0");
  REQUIRE(k.ok());
  CHECK(k->ppid == 0);
}

TEST_CASE("proc stat: truncated or malformed text is an error") {
  CHECK_FALSE(parse_proc_stat("").ok());
  CHECK_FALSE(parse_proc_stat("12 cat R 1").ok());
  CHECK_FALSE(parse_proc_stat("12 (cat) R 1 2 3").ok());
  CHECK_FALSE(
      parse_proc_stat("12 (cat) RR 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20").ok());
  CHECK_FALSE(
      parse_proc_stat("12 (cat) R x 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20").ok());
  CHECK_FALSE(parse_proc_stat("12 )cat( R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19").ok());
}

TEST_CASE("meminfo: MemTotal and MemAvailable in bytes") {
  const auto m = parse_meminfo(
      "MemTotal:       24683620 kB\nMemFree:        24198852 kB\n"
      "MemAvailable:   24334244 kB\nBuffers:            1972 kB\nCached:           307852 kB\n"
      "HugePages_Total:       0\n");
  CHECK(m.total_bytes == 24683620ull * 1024);
  CHECK(m.available_bytes == 24334244ull * 1024);
  CHECK_FALSE(parse_meminfo("MemFree: 1 kB\n").available_bytes);
  CHECK_FALSE(parse_meminfo("MemTotal: x kB\n").total_bytes);
}

TEST_CASE("loadavg: the three averages") {
  auto l = parse_loadavg("0.63 0.41 0.20 1/85 4263\n");
  REQUIRE(l.ok());
  CHECK(l->load1 == Approx(0.63));
  CHECK(l->load5 == Approx(0.41));
  CHECK(l->load15 == Approx(0.20));
  CHECK_FALSE(parse_loadavg("0.63 0.41").ok());
  CHECK_FALSE(parse_loadavg("nan 1 1").ok());
}

TEST_CASE("btime: the boot time line of /proc/stat") {
  constexpr const char* kStat =
      "cpu  12 0 34 5000 0 0 1 0 0 0\n"
      "cpu0 12 0 34 5000 0 0 1 0 0 0\n"
      "intr 1000 0 0\n"
      "ctxt 45321\n"
      "btime 1795317155\n"
      "processes 4300\n"
      "procs_running 1\n";
  CHECK(parse_btime(kStat).value() == 1795317155u);
  CHECK_FALSE(parse_btime("cpu 1 2 3\n").ok());
  CHECK_FALSE(parse_btime("btime soon\n").ok());
  CHECK(parse_btime("btime 42").value() == 42u);
}
