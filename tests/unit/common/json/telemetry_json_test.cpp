#include <catch2/catch.hpp>

#include "common/json/decode.h"
#include "common/json/telemetry_json.h"

using namespace rbee;
using telemetry::WorkerState;

namespace {

telemetry::Snapshot sample_snapshot() {
  telemetry::Snapshot s;
  s.hive_id = "gpu-01";
  s.instance_id = "abc123";
  s.seq = 42;
  s.timestamp_ms = 1700000000000;
  s.interval_ms = 1000;
  s.backend = "cgroupfs";
  s.host = {"gpu-01", 2, 24ull << 30, 20ull << 30, 0.5, 0.25, 0.12};  // the writer keeps 2 decimals
  s.gpus.push_back({0, "GPU-1234", "NVIDIA H100 \"SXM\"", 80ull << 30, 1ull << 30, 12.5, 40.0});
  telemetry::Worker w;
  w.service = "llm";
  w.instance = "8080";
  w.port = 8080;
  w.cgroup = "rbee.slice/llm/8080";
  w.state = WorkerState::ready;
  w.cpu_usage_usec = 123456789;
  w.cpu_pct = 55.25;
  w.rss_bytes = 1 << 20;
  w.mem_source = telemetry::MemSource::proc;
  w.pids = {100, 101};
  w.pid_count = 2;
  w.main_pid = 100;
  w.started_at_ms = 1699999999000;
  w.spawned_by = telemetry::SpawnedBy::hive;
  w.vram_bytes = 5ull << 30;
  w.gpu_indices = {0};
  w.memory_events = telemetry::MemoryEvents{.low = 0, .high = 3, .max = 2, .oom = 1, .oom_kill = 1};
  w.memory_peak_bytes = 3ull << 30;
  w.memory_high_bytes = 2ull << 30;
  w.pids_max = 1024;
  w.cpu_max_cores = 1.5;
  w.cpu_nr_periods = 1000;
  w.cpu_nr_throttled = 250;
  w.cpu_throttled_usec = 12'000'000;
  telemetry::Pressure cpu{
      .some_avg10 = 12.5, .some_avg60 = 3.07, .some_avg300 = 0.66, .some_total_usec = 48213377};
  cpu.full_avg10 = 1;
  cpu.full_avg60 = 0.25;
  cpu.full_avg300 = 0.05;
  cpu.full_total_usec = 1053210;
  w.pressure = telemetry::PressureSet{.cpu = cpu, .io = telemetry::Pressure{.some_total_usec = 9}};
  s.workers.push_back(w);
  telemetry::Worker dead = w;
  dead.instance = "8081";
  dead.port = 8081;
  dead.state = WorkerState::failed;
  dead.cpu_pct.reset();
  dead.exit_code = 3;
  dead.pids.clear();
  dead.pid_count = 0;
  dead.main_pid.reset();
  dead.spawned_by = telemetry::SpawnedBy::external;
  s.workers.push_back(dead);
  return s;
}

}  // namespace

TEST_CASE("snapshot survives an encode/decode round trip unchanged") {
  auto s = sample_snapshot();
  auto json = json::encode_snapshot(s);
  auto back = json::decode_snapshot(json);
  REQUIRE(back);
  CHECK(*back == s);
}

TEST_CASE("decoding into a used snapshot gives what a fresh decode gives") {
  auto full = sample_snapshot();
  full.workers[0].unit = "rbee-llm@8080.service";
  full.workers[0].io_read_bps = 10.5;
  full.workers[0].exited_at_ms = 1700000000500;
  full.workers[0].restarts = 4;
  full.gpus_stale = true;
  for (int i = 0; i < 3; ++i) full.workers.push_back(full.workers[0]);
  telemetry::Snapshot used;
  REQUIRE(json::decode_snapshot_into(json::encode_snapshot(full), used));
  CHECK(used == full);

  // Fewer workers with fewer fields, no GPUs, no host: nothing of the first may remain.
  telemetry::Snapshot small;
  small.hive_id = "gpu-02";
  small.instance_id = "def";
  small.seq = 7;
  small.workers.push_back(sample_snapshot().workers[1]);
  small.workers[0].gpu_indices.clear();
  small.workers[0].vram_bytes.reset();
  const auto text = json::encode_snapshot(small);
  auto fresh = json::decode_snapshot(text);
  REQUIRE(fresh);
  REQUIRE(json::decode_snapshot_into(text, used));
  CHECK(used == *fresh);
  CHECK(used.workers.size() == 1);

  // A bad document is an error, and the next good one still decodes in full.
  CHECK_FALSE(json::decode_snapshot_into("{\"seq\":1}", used));
  REQUIRE(json::decode_snapshot_into(json::encode_snapshot(full), used));
  CHECK(used == full);

  // So does one that fails half-way through the workers, after some were decoded into.
  auto cut = json::encode_snapshot(full);
  cut.replace(cut.rfind("\"state\":\"ready\""), 15, "\"state\":7");
  CHECK_FALSE(json::decode_snapshot_into(cut, used));
  REQUIRE(json::decode_snapshot_into(text, used));
  CHECK(used == *fresh);
  REQUIRE(json::decode_snapshot_into(json::encode_snapshot(full), used));
  CHECK(used == full);
}

TEST_CASE("absent measurements are omitted, not written as zero") {
  auto s = sample_snapshot();
  auto json = json::encode_worker(s.workers[1]);
  CHECK(json.find("cpu_pct") == std::string::npos);
  CHECK(json.find("io_read_bytes") == std::string::npos);
  CHECK(json.find("\"exit_code\":3") != std::string::npos);
}

TEST_CASE("snapshot decoding rejects bad documents with the field named") {
  auto bad = [](std::string json, const char* needle, json::DecodeLimits limits = {}) {
    auto r = json::decode_snapshot(json, limits);
    REQUIRE_FALSE(r);
    INFO(r.error().message);
    CHECK(r.error().message.find(needle) != std::string::npos);
  };
  auto good = json::encode_snapshot(sample_snapshot());
  bad("{", "malformed");
  bad("[]", "must be an object");
  auto v2 = good;
  v2.replace(v2.find("\"schema_version\":1"), 18, "\"schema_version\":2");
  bad(v2, "not supported");
  auto neg = good;
  neg.replace(neg.find("\"rss_bytes\":"), 12, "\"rss_bytes\":-");
  bad(neg, "rss_bytes");
  auto port = good;
  port.replace(port.find("\"port\":8080"), 11, "\"port\":99999");
  bad(port, "workers[0].port");
  auto state = good;
  state.replace(state.find("\"ready\""), 7, "\"dancing\"");
  bad(state, "workers[0].state: is not one of: starting ready");
  json::DecodeLimits tiny;
  tiny.max_workers = 1;
  bad(good, "more than 1", tiny);
  tiny = {};
  tiny.max_bytes = 100;
  bad(good, "over the limit", tiny);
  tiny = {};
  tiny.max_string = 8;
  bad(good, "longer than 8", tiny);
  bad(R"({"schema_version":1,"hive_id":"x","instance_id":"y","seq":1})", "must have");
  std::string deep(100, '[');
  bad(deep, "malformed");
}

TEST_CASE("nested objects: written as objects, decoded with their bounds, errors name the path",
          "[pressure]") {
  auto s = sample_snapshot();
  const auto good = json::encode_snapshot(s);
  CHECK(good.find(R"("memory_events":{"low":0,"high":3,"max":2,"oom":1,"oom_kill":1})") !=
        std::string::npos);
  CHECK(good.find(R"("pressure":{"cpu":{"some_avg10":12.5,)") != std::string::npos);
  // io has no full line: no full_* member, no memory member at all.
  CHECK(good.find(R"("io":{"some_avg10":0,"some_avg60":0,"some_avg300":0,"some_total_usec":9}})") !=
        std::string::npos);
  CHECK(good.find(R"("memory":{)") == std::string::npos);
  auto bad = [](std::string json, const char* needle) {
    auto r = json::decode_snapshot(json);
    REQUIRE_FALSE(r);
    INFO(r.error().message);
    CHECK(r.error().message.find(needle) != std::string::npos);
  };
  auto with = [&](const std::string& from, const std::string& to) {
    auto json = good;
    const auto at = json.find(from);
    REQUIRE(at != std::string::npos);
    return json.replace(at, from.size(), to);
  };
  bad(with(R"("some_avg10":12.5)", R"("some_avg10":100.5)"), "workers[0].pressure.cpu.some_avg10");
  bad(with(R"("some_avg10":12.5,)", ""), "workers[0].pressure.cpu: must have some_avg10");
  bad(with(R"("oom_kill":1})", R"("oom_kill":-1})"), "workers[0].memory_events.oom_kill");
  bad(with(R"("oom_kill":1})", R"("oom_kill":1,"oom":2})"), "workers[0].memory_events.oom");
  bad(with(R"("pressure":{"cpu":{)", R"("pressure":{"cpu":[],"x":{)"), "workers[0].pressure.cpu");
  bad(with(R"("pressure":{)", R"("pressure":{"io":{},)"), "workers[0].pressure.io");
  bad(with(R"("cpu_max_cores":1.5)", R"("cpu_max_cores":-1)"), "workers[0].cpu_max_cores");
  // A member a newer Hive adds inside an object is ignored, like one at the top.
  auto newer = json::decode_snapshot(with(R"("pressure":{)", R"("pressure":{"irq":{"a":1},)"));
  REQUIRE(newer);
  CHECK(*newer == s);
}

// What a snapshot decoder must reject even where it does not read (unknown members, trailing
// content, nesting) and which field an error names: pinned here so that a decoder that parses as
// it reads (simdjson On-Demand) cannot loosen it unnoticed.
TEST_CASE("snapshot decoding checks the whole document, also what it does not read") {
  auto bad = [](const std::string& json, const char* needle) {
    auto r = json::decode_snapshot(json);
    REQUIRE_FALSE(r);
    INFO(json);
    INFO(r.error().message);
    CHECK(r.error().message.find(needle) != std::string::npos);
  };
  const auto s = sample_snapshot();
  const auto good = json::encode_snapshot(s);
  // Inserts `member` as the first member of the object that starts at `at`.
  auto with = [&](const std::string& at, const std::string& member) {
    auto out = good;
    out.insert(out.find(at) + at.size(), member + ",");
    return out;
  };

  SECTION("trailing content and truncation") {
    for (const char* tail : {" x", "}", "]", ",", "{}", "[]", "1", "\"s\"", "null", "{"})
      bad(good + tail, "malformed");
    auto ok = json::decode_snapshot(good + " \n\t\r ");
    REQUIRE(ok);
    CHECK(*ok == s);
    for (std::size_t n = 0; n < good.size(); ++n) {
      INFO("first " << n << " bytes");
      CHECK_FALSE(json::decode_snapshot(good.substr(0, n)));
    }
  }

  SECTION("unknown members are ignored, but must be well-formed") {
    const std::string future = R"("future":{"a":[1,2.5,-0,"x\u00e9",true,false,null,{},[]]})";
    for (const char* at : {"{", "\"host\":{", "\"gpus\":[{", "\"workers\":[{"}) {
      auto ok = json::decode_snapshot(with(at, future));
      REQUIRE(ok);
      CHECK(*ok == s);
      for (const char* broken : {"tru", "nul", "fals", "01", "1.", "-", "1e", "\"\\x\"",
                                 "\"\\u12\"", "[1,]", "{\"a\"}", "{\"a\":}", "[1 2]", "\"\x01\""}) {
        INFO(broken);
        bad(with(at, std::string("\"future\":") + broken), "malformed");
        bad(with(at, std::string("\"future\":[[") + broken + "]]"), "malformed");
      }
    }
    bad(with("{", "\"\\x\":1"), "malformed");  // a bad escape in an unknown key
  }

  SECTION("nesting is limited in unknown members too") {
    auto nested = [](int depth) {
      std::string v = "1";
      for (int i = 0; i < depth; ++i) v = "{\"a\":" + v + "}";
      return v;
    };
    // The root, "workers", a worker: 3 levels; 16 (max_depth) is too deep.
    REQUIRE(json::decode_snapshot(with("\"workers\":[{", "\"u\":" + nested(12))));
    bad(with("\"workers\":[{", "\"u\":" + nested(13)), "malformed");
    bad(with("{", "\"u\":" + nested(15)), "malformed");
    bad(with("{", "\"u\":" + std::string(10000, '[')), "malformed");
  }

  SECTION("wrong types and numbers out of range name the field") {
    bad(with("\"workers\":[{", R"("port":"80")"), "workers[0].port");
    bad(with("\"workers\":[{", R"("port":80.0)"), "workers[0].port");
    bad(with("\"workers\":[{", R"("pids":5)"), "workers[0].pids: must be an array");
    bad(with("\"workers\":[{", R"("pids":[2147483648])"), "workers[0].pids");
    bad(with("\"workers\":[{", R"("cpu_pct":1e400)"),
        "malformed");  // simdjson refuses it while parsing
    bad(with("\"workers\":[{", R"("cpu_pct":1e7)"), "workers[0].cpu_pct");
    bad(with("\"workers\":[{", R"("service":null)"), "workers[0].service: must be a string");
    bad(with("{", R"("seq":18446744073709551616)"), "malformed");  // likewise
    bad(with("{", R"("seq":-1)"), "seq: must be a non-negative integer");
    bad(with("{", R"("timestamp_ms":1.0)"), "timestamp_ms");
    bad(with("{", R"("host":[])"), "host: must be an object");
    bad(with("{", R"("gpus":{})"), "gpus: must be an array");
    bad(with("{", R"("workers":[1])"), "workers[0]: must be an object");
    bad(with("{", R"("gpus_stale":1)"), "gpus_stale: must be true or false");
    // "-0" is the integer 0, as it always was.
    auto zero = json::decode_snapshot(with("\"workers\":[{", R"("exit_code":-0)"));
    REQUIRE(zero);
    CHECK(zero->workers[0].exit_code == 0);
  }

  SECTION("repeated and escaped keys") {
    // A repeated member is refused, even where both copies are valid (json_members_test.cpp).
    bad(good.substr(0, good.size() - 1) + R"(,"seq":43})", "seq: is repeated");
    bad(good.substr(0, good.size() - 1) + R"(,"seq":"43"})", "seq");
    // Keys are compared unescaped, for repeats too.
    bad(with("{", R"("s\u0065q":43)"), "seq: is repeated");
    // Keys are compared unescaped.
    bad(with("\"workers\":[{", R"("p\u006frt":99999)"), "workers[0].port");
  }
}

TEST_CASE("spawn requests are validated field by field") {
  auto ok = json::decode_spawn_request(
      R"({"service":"llm","port":8080,"args":["-m","x"],"env":{"A":"b"},"gpus":[1]})");
  REQUIRE(ok);
  CHECK(ok->service == "llm");
  CHECK(ok->port == 8080);
  CHECK(ok->args.size() == 2);
  CHECK(ok->env.at("A") == "b");
  CHECK(ok->gpus == std::vector<uint32_t>{1});
  CHECK_FALSE(json::decode_spawn_request(R"({"port":8080})"));
  CHECK_FALSE(json::decode_spawn_request(R"({"service":"llm","port":0})"));
  CHECK_FALSE(json::decode_spawn_request(R"({"service":"llm","args":[1]})"));
  CHECK_FALSE(json::decode_spawn_request(R"({"service":"llm","env":{"A=B":"c"}})"));
  CHECK_FALSE(json::decode_spawn_request(R"({"service":"llm","command":"rm -rf /"})"));
  CHECK(json::decode_error_message(R"({"error":"nope"})") == "nope");
}
