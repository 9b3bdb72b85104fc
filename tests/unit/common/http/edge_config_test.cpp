// The edge's config keys, the same in [hive] and [queen]: allowed_hosts and the stream caps.
#include <catch2/catch.hpp>

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
