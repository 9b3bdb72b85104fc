// Every decoder refuses a repeated member, at every level, with an error naming it: a member read
// twice would add its entries up past the count limits (three "workers" of 10,000 each).
#include <catch2/catch.hpp>

#include <string>

#include "common/json/decode.h"
#include "common/json/telemetry_json.h"

using namespace rbee;

namespace {

// The error of a decode that must fail, with the document and the message in the report.
template <class R>
std::string error_of(const R& r, const std::string& json) {
  INFO(json);
  REQUIRE_FALSE(r);
  return r.error().message;
}

const std::string kWorker = R"({"service":"e","instance":"1","state":"ready"})";

std::string snapshot_with(const std::string& top, const std::string& worker = kWorker) {
  return R"({"schema_version":1,"hive_id":"h","instance_id":"i","seq":1,)" + top +
         R"("workers":[)" + worker + "]}";
}

}  // namespace

TEST_CASE("a snapshot with a repeated member is refused, naming it, at every level") {
  auto refused = [](const std::string& json, const std::string& message) {
    CHECK(error_of(json::decode_snapshot(json), json) == message);
    telemetry::Snapshot reused;
    CHECK_FALSE(json::decode_snapshot_into(json, reused));
  };
  REQUIRE(json::decode_snapshot(snapshot_with("")));
  // Top level: the lists that the count limits bound, and plain values too.
  refused(snapshot_with(R"("workers":[],)"), "workers: is repeated");
  refused(snapshot_with(R"("gpus":[],"gpus":[],)"), "gpus: is repeated");
  refused(snapshot_with(R"("hive_id":"other",)"), "hive_id: is repeated");
  refused(snapshot_with(R"("host":{},"host":{},)"), "host: is repeated");
  refused(snapshot_with(R"("future":1,"future":2,)"), "future: is repeated");
  // The host, each GPU and each worker.
  refused(snapshot_with(R"("host":{"cpus":1,"cpus":2},)"), "host.cpus: is repeated");
  refused(snapshot_with(R"("host":{"x":1,"x":2},)"), "host.x: is repeated");
  refused(snapshot_with(R"("gpus":[{"index":0},{"uuid":"a","uuid":"b"}],)"),
          "gpus[1].uuid: is repeated");
  refused(
      snapshot_with("", R"({"service":"e","instance":"1","state":"ready","pids":[1],"pids":[2]})"),
      "workers[0].pids: is repeated");
  refused(snapshot_with("", kWorker + R"(,{"service":"e","service":"f","instance":"2"})"),
          "workers[1].service: is repeated");
  refused(snapshot_with("", R"({"service":"e","instance":"1","state":"ready","gpu_indices":[],)"
                            R"("gpu_indices":[]})"),
          "workers[0].gpu_indices: is repeated");
  refused(snapshot_with("", R"({"service":"e","instance":"1","state":"ready","new":1,"new":1})"),
          "workers[0].new: is repeated");
  // Escaped and unescaped spellings are the same key.
  refused(snapshot_with("", R"({"service":"e","instance":"1","state":"ready","pids":[],)"
                            R"("p\u0069ds":[]})"),
          "workers[0].pids: is repeated");
}

TEST_CASE("three workers lists of the limit each are one document over it, refused") {
  std::string list;
  for (int i = 0; i < 10; ++i) list += (i ? "," : "") + kWorker;
  json::DecodeLimits limits;
  limits.max_workers = 10;
  const std::string one = R"({"schema_version":1,"hive_id":"h","instance_id":"i","seq":1,)"
                          R"("workers":[)" +
                          list + "]}";
  REQUIRE(json::decode_snapshot(one, limits));
  std::string three = one.substr(0, one.size() - 1);
  three += R"(,"workers":[)" + list + R"(],"workers":[)" + list + "]}";
  CHECK(error_of(json::decode_snapshot(three, limits), three) == "workers: is repeated");
}

TEST_CASE("a spawn request with a repeated member is refused, naming it") {
  auto refused = [](const std::string& json, const std::string& message) {
    CHECK(error_of(json::decode_spawn_request(json), json) == message);
  };
  REQUIRE(json::decode_spawn_request(R"({"service":"s","args":["a"],"env":{"A":"1","B":"2"}})"));
  refused(R"({"service":"s","service":"t"})", "service: is repeated");
  refused(R"({"service":"s","port":8080,"port":8081})", "port: is repeated");
  refused(R"({"service":"s","args":["a"],"args":["b"]})", "args: is repeated");
  refused(R"({"service":"s","gpus":[0],"gpus":[1]})", "gpus: is repeated");
  refused(R"({"service":"s","env":{},"env":{}})", "env: is repeated");
  // Within env: a variable given twice (also spelled with an escape).
  refused(R"({"service":"s","env":{"A":"1","B":"2","A":"3"}})", "env.A: is repeated");
  refused(R"({"service":"s","env":{"PATH":"/x","P\u0041TH":"/y"}})", "env.PATH: is repeated");
}

TEST_CASE("the Queen's and the CLI's decoders refuse a repeated member, naming it") {
  const std::string caps = R"({"hive_id":"h","instance_id":"i",)";
  auto caps_refused = [&](const std::string& members, const std::string& message) {
    const std::string json = caps + members + "}";
    CHECK(error_of(json::decode_capabilities(json), json) == message);
  };
  REQUIRE(json::decode_capabilities(caps + R"("services":[{"name":"a"}]})"));
  caps_refused(R"("hive_id":"x")", "hive_id: is repeated");
  caps_refused(R"("services":[],"services":[])", "services: is repeated");
  caps_refused(R"("controllers":[],"controllers":[])", "controllers: is repeated");
  caps_refused(R"("services":[{"name":"a"},{"name":"b","name":"c"}])",
               "services[1].name: is repeated");
  caps_refused(R"("subscription":{"queen_url":"http://a","queen_url":"http://b"})",
               "subscription.queen_url: is repeated");
  caps_refused(R"("extra":1,"extra":2)", "extra: is repeated");

  const std::string w = R"({"service":"e","instance":"1","state":"ready")";
  auto list = R"({"workers":[)" + w + "}]}";
  REQUIRE(json::decode_worker_list(list));
  auto twice = R"({"workers":[],"workers":[)" + w + "}]}";
  CHECK(error_of(json::decode_worker_list(twice), twice) == "workers: is repeated");
  auto inner = R"({"workers":[)" + w + R"(,"state":"ready"}]})";
  CHECK(error_of(json::decode_worker_list(inner), inner) == "workers[0].state: is repeated");
  auto single = w + R"(,"port":1,"port":2})";
  CHECK(error_of(json::decode_worker(single), single) == "worker.port: is repeated");

  auto hosted = R"({"workers":[)" + w + R"(,"hive_id":"a","hive_id":"b"}]})";
  CHECK(error_of(json::decode_hosted_workers(hosted), hosted) == "workers[0].hive_id: is repeated");
  CHECK(error_of(json::decode_hosted_workers(twice), twice) == "workers: is repeated");

  const std::string hives = R"({"hives":[{"id":"a","status":"up","status":"down"}]})";
  CHECK(error_of(json::decode_hive_list(hives), hives) == "hives[0].status: is repeated");
  const std::string hives_twice = R"({"hives":[],"hives":[{"id":"a"}]})";
  CHECK(error_of(json::decode_hive_list(hives_twice), hives_twice) == "hives: is repeated");

  // An error body with two messages is shown as it is, not as one of them.
  CHECK(json::decode_error_message(R"({"error":"a"})") == "a");
  CHECK(json::decode_error_message(R"({"error":"a","error":"b"})") ==
        R"({"error":"a","error":"b"})");
}
