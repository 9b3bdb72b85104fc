// WorkerCgroup on a directory that looks like a cgroup: which files it reads on which reads.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/sys/cgroup.h"
#include "hive/worker_cgroup.h"

using namespace rbee::hive;
namespace fs = std::filesystem;

namespace {

struct FakeCgroup {
  fs::path root = fs::temp_directory_path() / ("rbee-cg-" + std::to_string(std::random_device{}()));
  fs::path dir = root / "w";
  FakeCgroup() {
    fs::create_directories(dir);
    put("cgroup.events", "populated 1\nfrozen 0\n");
    put("cgroup.procs", "42\n");
    put("cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\n");
  }
  ~FakeCgroup() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  void put(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
  }
  WorkerCgroup open() const {
    auto fd = rbee::sys::open_dir(root);
    REQUIRE(fd.ok());
    auto cg = WorkerCgroup::open(fd->get(), "w");
    REQUIRE(cg.ok());
    return std::move(*cg);
  }
};

}  // namespace

TEST_CASE("a full read takes pressure, limits and the peak, and a fast read keeps them",
          "[worker_cgroup][pressure]") {
  FakeCgroup fake;
  fake.put("cpu.stat", "usage_usec 10\nnr_periods 5\nnr_throttled 2\nthrottled_usec 300\n");
  fake.put("cpu.pressure",
           "some avg10=1.00 avg60=0.50 avg300=0.10 total=1000\n"
           "full avg10=0.00 avg60=0.00 avg300=0.00 total=20\n");
  fake.put("io.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=3\n");
  fake.put("memory.pressure", "some avg10=oops\n");
  fake.put("memory.peak", "8192\n");
  fake.put("memory.high", "max\n");
  fake.put("pids.max", "64\n");
  fake.put("cpu.max", "50000 100000\n");
  auto cg = fake.open();
  auto r = cg.read(ReadScope::full);
  CHECK(r.cpu.nr_periods == 5u);
  CHECK(r.cpu.nr_throttled == 2u);
  CHECK(r.cpu.throttled_usec == 300u);
  REQUIRE(r.slow.pressure);
  REQUIRE(r.slow.pressure->cpu);
  CHECK(r.slow.pressure->cpu->some_total_usec == 1000u);
  CHECK(r.slow.pressure->cpu->full_total_usec == 20u);
  REQUIRE(r.slow.pressure->io);
  CHECK_FALSE(r.slow.pressure->io->full_total_usec);
  CHECK_FALSE(r.slow.pressure->memory);  // malformed: absent, not zeros
  CHECK(r.slow.memory_peak == 8192u);
  CHECK(r.slow.memory_high == LimitValue{.unlimited = true});
  CHECK(r.slow.pids_max == LimitValue{.unlimited = false, .value = 64});
  CHECK(r.slow.cpu_max == CpuQuota{50000, 100000});

  // Between full reads the last values stand; cpu.stat is read every time.
  fake.put("cpu.pressure", "some avg10=9.00 avg60=9.00 avg300=9.00 total=9999\n");
  fake.put("cpu.stat", "usage_usec 20\nnr_periods 6\nnr_throttled 3\nthrottled_usec 400\n");
  auto fast = cg.read(ReadScope::fast);
  CHECK(fast.cpu.nr_throttled == 3u);
  CHECK(fast.slow.pressure->cpu->some_total_usec == 1000u);
  CHECK(cg.read(ReadScope::full).slow.pressure->cpu->some_total_usec == 9999u);
}

TEST_CASE("a cgroup without the controllers' files has none of their values",
          "[worker_cgroup][pressure]") {
  FakeCgroup fake;
  auto cg = fake.open();
  auto r = cg.read(ReadScope::full);
  CHECK(r.cpu.usage_usec == 10u);
  CHECK_FALSE(r.cpu.nr_periods);
  CHECK_FALSE(r.cpu.nr_throttled);
  CHECK_FALSE(r.cpu.throttled_usec);
  CHECK_FALSE(r.slow.pressure);
  CHECK_FALSE(r.slow.memory_peak);
  CHECK_FALSE(r.slow.memory_high);
  CHECK_FALSE(r.slow.pids_max);
  CHECK_FALSE(r.slow.cpu_max);
  CHECK_FALSE(r.memory_events);
}
