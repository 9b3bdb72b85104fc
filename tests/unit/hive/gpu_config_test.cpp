// The Hive's NVML config keys and the gpus_stale snapshot flag.
#include <catch2/catch.hpp>

#include "common/json/decode.h"
#include "common/json/telemetry_json.h"
#include "hive/hive_config.h"

using namespace rbee;

TEST_CASE("nvml_library and nvml_keep_open default to the system NVML, kept open", "[gpu]") {
  auto c = hive::parse_hive_config("[hive]\n", "t.toml");
  REQUIRE(c);
  CHECK(c->nvml_library == "libnvidia-ml.so.1");
  CHECK(c->nvml_keep_open);
  c = hive::parse_hive_config(
      "[hive]\nnvml_library = \"/opt/nv/libnvidia-ml.so.1\"\nnvml_keep_open = false\n", "t.toml");
  REQUIRE(c);
  CHECK(c->nvml_library == "/opt/nv/libnvidia-ml.so.1");
  CHECK_FALSE(c->nvml_keep_open);
}

TEST_CASE("nvml_keep_open must be a boolean and nvml_library a non-empty string", "[gpu]") {
  auto c = hive::parse_hive_config("[hive]\nnvml_keep_open = \"no\"\n", "t.toml");
  REQUIRE_FALSE(c);
  CHECK(c.error().message == "hive.nvml_keep_open must be true or false");
  CHECK_FALSE(hive::parse_hive_config("[hive]\nnvml_library = \"\"\n", "t.toml"));
  CHECK_FALSE(hive::parse_hive_config("[hive]\nnvml_library = 3\n", "t.toml"));
}

TEST_CASE("gpus_stale is written only when true and survives a round trip", "[gpu]") {
  telemetry::Snapshot s;
  s.hive_id = "h";
  s.instance_id = "i";
  s.seq = 1;
  s.gpus.push_back({0, "GPU-1", "X", 1ull << 30, 1ull << 20, 5.0, 40.0});
  auto text = json::encode_snapshot(s);
  CHECK(text.find("gpus_stale") == std::string::npos);
  auto back = json::decode_snapshot(text);
  REQUIRE(back);
  CHECK_FALSE(back->gpus_stale);
  s.gpus_stale = true;
  text = json::encode_snapshot(s);
  CHECK(text.find("\"gpus_stale\":true") != std::string::npos);
  back = json::decode_snapshot(text);
  REQUIRE(back);
  CHECK(*back == s);
}
