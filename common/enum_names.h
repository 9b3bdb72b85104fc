#pragma once
// Enums named on the wire (JSON, metrics labels, SSE event names). Each such enum spells its
// names once, in declaration order, in a specialization of EnumNames; to_string and parse_enum
// then work for it and for no other type.
//
// The enum's own namespace must say `using rbee::to_string; using rbee::parse_enum;` so that an
// unqualified to_string(e) finds these by argument-dependent lookup from anywhere; an enum class
// never converts to an integer, so std::to_string is not a candidate either way.
#include <cstddef>
#include <iterator>
#include <optional>
#include <string_view>
#include <type_traits>

namespace rbee {

// Specialize with `static constexpr std::string_view names[] = {...};`, one per enumerator,
// in declaration order; the enumerators take their default values 0, 1, 2...
template <class E>
struct EnumNames;

template <class E>
concept NamedEnum = std::is_enum_v<E> && requires {
  EnumNames<E>::names;
};

template <NamedEnum E>
constexpr std::size_t enum_count() {
  return std::size(EnumNames<E>::names);
}

// "?" for a value outside the enumerators (only a cast can make one).
template <NamedEnum E>
constexpr std::string_view to_string(E e) {
  const auto i = static_cast<std::size_t>(e);
  return i < enum_count<E>() ? EnumNames<E>::names[i] : std::string_view("?");
}

template <NamedEnum E>
constexpr std::optional<E> parse_enum(std::string_view s) {
  for (std::size_t i = 0; i < enum_count<E>(); ++i)
    if (EnumNames<E>::names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

}  // namespace rbee
