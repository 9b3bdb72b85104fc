// The TOML checks both daemons' configs share.
#include <catch2/catch.hpp>

#include "common/toml_config.h"

using namespace rbee;

TEST_CASE("a TOML syntax error names the source and the line") {
  auto t = parse_toml("[hive]\nlisten = \n", "hive.toml");
  REQUIRE_FALSE(t);
  CHECK(t.error().message.starts_with("hive.toml:2: "));
}

TEST_CASE("an unknown table or key is refused by its name") {
  auto t = parse_toml("[hive]\nlisten = \"x\"\nlisen = \"y\"\n[extra]\n", "t");
  REQUIRE(t);
  auto tables = check_tables(*t, {"hive"});
  REQUIRE_FALSE(tables);
  CHECK(tables.error().message == "unknown table [extra]");
  auto keys = check_keys(*(*t)["hive"].as_table(), "hive", {"listen"});
  REQUIRE_FALSE(keys);
  CHECK(keys.error().message == "unknown key hive.lisen");
  CHECK(check_keys(*(*t)["hive"].as_table(), "hive", {"listen", "lisen"}));
}
