// The edge's config keys, the same in [hive] and [queen]: allowed_hosts and the stream caps.
#include <catch2/catch.hpp>

#include "common/http/server.h"
#include "hive/hive_config.h"
#include "queen/queen_config.h"

using namespace rbee;

TEST_CASE("allowed_hosts and the stream caps parse in [hive] and [queen] with their defaults",
          "[http][policy]") {
  auto h = hive::parse_hive_config("", "hive.toml");
  REQUIRE(h);
  CHECK(h->allowed_hosts.empty());
  CHECK(h->max_streams == 64);
  CHECK(h->max_streams_per_address == 8);
  auto q = queen::parse_queen_config("", "queen.toml");
  REQUIRE(q);
  CHECK(q->allowed_hosts.empty());
  CHECK(q->max_streams == 64);
  CHECK(q->max_streams_per_address == 8);

  h = hive::parse_hive_config(
      "[hive]\nallowed_hosts = [\"gpu-box.lan\"]\nmax_streams = 5\nmax_streams_per_address = 2\n",
      "hive.toml");
  REQUIRE(h);
  CHECK(h->allowed_hosts == std::vector<std::string>{"gpu-box.lan"});
  CHECK(h->max_streams == 5);
  CHECK(h->max_streams_per_address == 2);
  q = queen::parse_queen_config(
      "[queen]\nallowed_hosts = [\"a\", \"b\"]\nmax_streams = 7\nmax_streams_per_address = 3\n",
      "queen.toml");
  REQUIRE(q);
  CHECK(q->allowed_hosts == std::vector<std::string>{"a", "b"});
  CHECK(q->max_streams == 7);
  CHECK(q->max_streams_per_address == 3);
}

TEST_CASE("bad edge config values are errors naming the key", "[http][policy]") {
  auto h = hive::parse_hive_config("[hive]\nallowed_hosts = \"gpu-box\"\n", "hive.toml");
  REQUIRE_FALSE(h);
  CHECK(h.error().message == "hive.allowed_hosts must be an array of strings");
  h = hive::parse_hive_config("[hive]\nallowed_hosts = [1]\n", "hive.toml");
  REQUIRE_FALSE(h);
  CHECK(h.error().message == "hive.allowed_hosts must be an array of strings");
  h = hive::parse_hive_config("[hive]\nmax_streams = 0\n", "hive.toml");
  REQUIRE_FALSE(h);
  CHECK(h.error().message.find("hive.max_streams") == 0);
  auto q = queen::parse_queen_config("[queen]\nallowed_hosts = [true]\n", "queen.toml");
  REQUIRE_FALSE(q);
  CHECK(q.error().message == "queen.allowed_hosts must be an array of strings");
  q = queen::parse_queen_config("[queen]\nmax_streams_per_address = 0\n", "queen.toml");
  REQUIRE_FALSE(q);
  CHECK(q.error().message.find("queen.max_streams_per_address") == 0);
}

TEST_CASE("a daemon's connections fit in its open-file limit beside its own files",
          "[http][limits]") {
  using rbee::http::connection_budget;
  auto fits = connection_budget(12000, 1048576, 256);
  CHECK(fits.connections == 12000);
  CHECK_FALSE(fits.lowered);
  auto lowered = connection_budget(12000, 1024, 256);
  CHECK(lowered.connections == 768);
  CHECK(lowered.lowered);
  CHECK(connection_budget(12000, std::nullopt, 256).connections == 12000);
  // A limit below the reserve still leaves a few connections rather than none.
  CHECK(connection_budget(1024, 100, 256).connections == 16);
  CHECK(connection_budget(10, 100, 256).connections == 10);
}

TEST_CASE("connection limits, decode threads and the web settings parse with their defaults",
          "[http][limits][web]") {
  auto h = hive::parse_hive_config("", "hive.toml");
  REQUIRE(h);
  CHECK(h->max_connections == 1024);
  CHECK(h->frame_ancestors == std::vector<std::string>{"'self'"});
  CHECK(h->cors_origins.empty());
  auto q = queen::parse_queen_config("", "queen.toml");
  REQUIRE(q);
  CHECK(q->max_connections == 12000);
  CHECK_FALSE(q->decode_threads);
  CHECK(q->events_kept == 1000);

  h = hive::parse_hive_config(
      "[hive]\nmax_connections = 64\nframe_ancestors = [\"'none'\"]\n"
      "cors_origins = [\"https://Keeper.lan\"]\n",
      "hive.toml");
  REQUIRE(h);
  CHECK(h->max_connections == 64);
  CHECK(h->frame_ancestors == std::vector<std::string>{"'none'"});
  CHECK(h->cors_origins == std::vector<std::string>{"https://keeper.lan:443"});
  q = queen::parse_queen_config(
      "[queen]\nmax_connections = 20000\ndecode_threads = 0\nevents_kept = 10\n"
      "frame_ancestors = [\"'self'\", \"http://k.lan:3000\"]\n",
      "queen.toml");
  REQUIRE(q);
  CHECK(q->max_connections == 20000);
  CHECK(q->decode_threads == 0u);
  CHECK(q->events_kept == 10);
  CHECK(q->frame_ancestors.size() == 2);

  for (const char* bad : {"[queen]\ndecode_threads = 65\n", "[queen]\ndecode_threads = -1\n",
                          "[queen]\nmax_connections = 0\n", "[queen]\ncors_origins = [\"*\"]\n",
                          "[queen]\nframe_ancestors = [\"'none'\", \"'self'\"]\n"}) {
    INFO(bad);
    auto r = queen::parse_queen_config(bad, "queen.toml");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("queen.") == 0);
  }
  auto r = hive::parse_hive_config("[hive]\nmax_connections = 8\n", "hive.toml");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("hive.max_connections") == 0);
}
