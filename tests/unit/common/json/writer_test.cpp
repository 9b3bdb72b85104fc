#include <catch2/catch.hpp>

#include "common/json/writer.h"

using rbee::json::Writer;

TEST_CASE("json writer escapes strings and separates members") {
  Writer w;
  w.begin_object()
      .field("a", "x\"y\n")
      .field("n", 3)
      .key("l")
      .begin_array()
      .value(1)
      .value(true)
      .end_array();
  w.field("o", std::optional<int>{}).end_object();
  CHECK(w.str() == R"({"a":"x\"y\n","n":3,"l":[1,true]})");
}

TEST_CASE("json writer writes control characters as unicode escapes and NaN as null") {
  Writer w;
  w.begin_array().value(std::string_view("\x01", 1)).value(0.0 / 0.0).value(12.345).end_array();
  CHECK(w.str() == "[\"\\u0001\",null,12.35]");
}
