#pragma once
// The decoders' shared reading layer over simdjson: the limits, the path of a bad value in the
// error ("workers[3].port: must be 1-65535"), the repeated-member check. Included only by the
// decoders' .cpp files in common/json: no other code sees simdjson.
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json/decode.h"
#include "common/result.h"

namespace rbee::json::detail {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// A decode error that names the field: "workers[3].port: must be 1-65535".
struct Fail {
  std::string message;
};

// Where a value sits, put into words only when there is an error to report:
// {"workers", 3, "port"} is "workers[3].port". Decoding a valid document builds no path string.
struct Path {
  static constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);
  std::string_view base;
  std::size_t index = kNoIndex;
  std::string_view key;
  const Path* parent = nullptr;  // the object's own path, for a member of a nested object

  // A member of a member ("workers[3].pressure.cpu") names the path it is in, which outlives it.
  Path field(std::string_view k) const {
    if (key.empty()) return {base, index, k, parent};
    return {{}, kNoIndex, k, this};
  }
  std::string str() const {
    std::string out = parent ? parent->str() : std::string();
    out += base;
    if (index != kNoIndex) out += "[" + std::to_string(index) + "]";
    if (!key.empty()) {
      if (!out.empty()) out += '.';
      out += key;
    }
    return out;
  }
};

inline std::string path_text(const std::string& p) {
  return p;
}
inline std::string path_text(const Path& p) {
  return p.str();
}
// The path of the member `key` of the object at `path`.
inline std::string member_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
inline Path member_path(const Path& path, std::string_view key) {
  return path.field(key);
}

// Each member of one JSON object at most once. A decoder reads a repeated member again, so its
// entries would add up past every count limit (three "workers" of 10,000 each). The members a
// decoder reads are a bit each, by their place in its table, checked before their value is
// decoded; any other name (ignored, or a free-form key such as an env variable) is kept and
// checked by sorting when the object ends: it adds nothing up on the way.
class Members {
 public:
  static constexpr std::size_t kOther = 64;

  // False when the member was seen before in this object.
  bool first(std::size_t index, std::string_view key) {
    if (index >= kOther) {
      others_.push_back(key);
      return true;
    }
    const uint64_t bit = uint64_t{1} << index;
    if (seen_ & bit) return false;
    seen_ |= bit;
    return true;
  }

  // A name among the others that came more than once.
  std::optional<std::string_view> repeated_other() {
    if (others_.size() < 2) return std::nullopt;
    std::sort(others_.begin(), others_.end());
    auto it = std::adjacent_find(others_.begin(), others_.end());
    if (it == others_.end()) return std::nullopt;
    return *it;
  }

 private:
  uint64_t seen_ = 0;
  std::vector<std::string_view> others_;
};

// The place of `key` in a decoder's table of member names, or Members::kOther.
template <std::size_t N>
constexpr std::size_t index_in(const std::string_view (&names)[N], std::string_view key) {
  static_assert(N <= Members::kOther);
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == key) return i;
  return Members::kOther;
}

// For objects whose members are all free-form or all looked up by name later.
constexpr std::size_t no_table(std::string_view) {
  return Members::kOther;
}

class Reader {
 public:
  explicit Reader(const DecodeLimits& l) : limits_(l) {}

  std::optional<Fail> fail;

  void error(std::string path, std::string what) {
    if (path.empty()) path = "document";
    if (!fail) fail = Fail{std::move(path) + ": " + std::move(what)};
  }

  // The string as it sits in the parsed document: valid until the parser's next document.
  // The readers below are on the hot path of every decode; their error messages are built in
  // the cold helpers further down so that the readers stay small enough to be inlined.
  template <class P>
  std::optional<std::string_view> str(element e, const P& path) {
    std::string_view v;
    if (e.get_string().get(v)) return error_at(path, "must be a string"), std::nullopt;
    if (v.size() > limits_.max_string) return error_longer(path, limits_.max_string), std::nullopt;
    return v;
  }

  template <class P>
  std::optional<uint64_t> u64(element e, const P& path,
                              uint64_t max = std::numeric_limits<uint64_t>::max()) {
    uint64_t v;
    if (e.get_uint64().get(v))
      return error_at(path, "must be a non-negative integer"), std::nullopt;
    if (v > max) return error_at_most(path, max), std::nullopt;
    return v;
  }

  template <class P>
  std::optional<int64_t> i64(element e, const P& path, int64_t min, int64_t max) {
    int64_t v;
    if (e.get_int64().get(v) || v < min || v > max)
      return error_range(path, "an integer", min, max), std::nullopt;
    return v;
  }

  template <class P>
  std::optional<double> num(element e, const P& path, double min, double max) {
    double v;
    if (e.get_double().get(v) || !std::isfinite(v) || v < min || v > max)
      return error_range(path, "a number", min, max), std::nullopt;
    return v;
  }

  template <class P>
  std::optional<array> arr(element e, const P& path, std::size_t max) {
    array a;
    if (e.get_array().get(a)) return error_at(path, "must be an array"), std::nullopt;
    if (a.size() > max) return error_count(path, max), std::nullopt;
    return a;
  }

  template <class P>
  std::optional<object> obj(element e, const P& path) {
    object o;
    if (e.get_object().get(o)) return error(path_text(path), "must be an object"), std::nullopt;
    return o;
  }

  // f(key, value, path of the member, index) for each member of `o` in document order, where
  // index is index_of(key); stops at the first error. A repeated member is an error naming it
  // (every object decoder goes through here, so every count limit holds per document).
  template <class P, class IndexOf, class F>
  void each_member(object o, const P& path, IndexOf index_of, F&& f) {
    Members seen;
    for (auto [key, v] : o) {
      if (fail) return;
      const auto p = member_path(path, key);
      const std::size_t index = index_of(key);
      if (!seen.first(index, key)) return error(path_text(p), "is repeated");
      f(key, v, p, index);
    }
    if (fail) return;
    if (auto k = seen.repeated_other()) error(path_text(member_path(path, *k)), "is repeated");
  }

  // The object at `e` when it has no repeated member, for decoders that look members up by
  // name (at_key finds only the first of a repeated one).
  template <class P>
  std::optional<object> unique_obj(element e, const P& path) {
    auto o = obj(e, path);
    if (!o) return std::nullopt;
    each_member(*o, path, no_table, [](std::string_view, element, const auto&, std::size_t) {});
    if (fail) return std::nullopt;
    return o;
  }

  template <class P>
  [[gnu::cold, gnu::noinline]] void error_at(const P& path, const char* what) {
    error(path_text(path), what);
  }
  template <class P>
  [[gnu::cold, gnu::noinline]] void error_longer(const P& path, std::size_t max) {
    error(path_text(path), "is longer than " + std::to_string(max) + " bytes");
  }
  template <class P>
  [[gnu::cold, gnu::noinline]] void error_at_most(const P& path, uint64_t max) {
    error(path_text(path), "must be at most " + std::to_string(max));
  }
  template <class P>
  [[gnu::cold, gnu::noinline]] void error_count(const P& path, std::size_t max) {
    error(path_text(path), "has more than " + std::to_string(max) + " entries");
  }
  template <class P, class N>
  [[gnu::cold, gnu::noinline]] void error_range(const P& path, const char* kind, N min, N max) {
    error(path_text(path), std::string("must be ") + kind + " from " + std::to_string(min) +
                               " to " + std::to_string(max));
  }

  const DecodeLimits& limits_;
};

template <class T>
void set(std::optional<T>& out, std::optional<T> v) {
  if (v) out = std::move(v);
}

inline void set(std::optional<std::string>& out, std::optional<std::string_view> v) {
  if (v) out.emplace(*v);
}

// Parses a whole document with the size and depth limits; one parser per thread, reused.
Result<element> parse(std::string_view json, const DecodeLimits& limits);

}  // namespace rbee::json::detail
