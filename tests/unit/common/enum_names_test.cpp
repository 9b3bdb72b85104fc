// The one mechanism that names enums on the wire, and the telemetry enums' names through it.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <type_traits>

#include "common/enum_names.h"
#include "common/telemetry.h"

using namespace rbee;

namespace {

// Every value from 0 to `last` has a name, the names are unique and non-empty, and each value
// comes back from its name; there is no name beyond `last`.
template <NamedEnum E>
void check_names(E last) {
  const auto count = static_cast<std::size_t>(last) + 1;
  REQUIRE(enum_count<E>() == count);
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < count; ++i) {
    const auto e = static_cast<E>(i);
    const auto name = to_string(e);
    INFO("value " << i << " named \"" << name << "\"");
    CHECK_FALSE(name.empty());
    CHECK(name != "?");
    CHECK(seen.insert(name).second);
    CHECK(parse_enum<E>(name) == e);
  }
  CHECK(to_string(static_cast<E>(count)) == "?");
}

enum class Colour { red, green };
enum class Unnamed { a };

}  // namespace

template <>
struct rbee::EnumNames<Colour> {
  static constexpr std::string_view names[] = {"red", "green"};
};

TEST_CASE("enum names: to_string and parse_enum follow the declaration order", "[enum]") {
  STATIC_REQUIRE(to_string(Colour::green) == "green");
  STATIC_REQUIRE(parse_enum<Colour>("red") == Colour::red);
  CHECK_FALSE(parse_enum<Colour>("blue"));
  CHECK_FALSE(parse_enum<Colour>(""));
  CHECK_FALSE(parse_enum<Colour>("Red"));
  check_names(Colour::green);
  // Only an enum with names takes part: the others, and integers, are not NamedEnum.
  STATIC_REQUIRE_FALSE(NamedEnum<Unnamed>);
  STATIC_REQUIRE_FALSE(NamedEnum<int>);
}

TEST_CASE("enum names: every telemetry enum round-trips through its unique names", "[enum]") {
  check_names(telemetry::WorkerState::unknown);
  check_names(telemetry::SpawnedBy::hive);
  check_names(telemetry::MemSource::proc);
}

TEST_CASE("enum names: an unqualified to_string of a telemetry enum is never std::to_string",
          "[enum]") {
  using std::to_string;
  // Argument-dependent lookup finds rbee::to_string through telemetry's using-declaration.
  STATIC_REQUIRE(
      std::is_same_v<decltype(to_string(telemetry::WorkerState::oom)), std::string_view>);
  CHECK(to_string(telemetry::WorkerState::oom) == "oom");
  CHECK(to_string(telemetry::MemSource::cgroup) == "cgroup");
}
