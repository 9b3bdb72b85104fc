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
  w.mem_source = "proc";
  w.pids = {100, 101};
  w.pid_count = 2;
  w.main_pid = 100;
  w.started_at_ms = 1699999999000;
  w.spawned_by = "hive";
  w.vram_bytes = 5ull << 30;
  w.gpu_indices = {0};
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
  dead.spawned_by = "external";
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
  bad(state, "not a known state");
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
