#pragma once
// The scanning shared by the parsers of cgroup files (cgroup_files.cpp) and /proc files
// (proc_files.cpp): trimming, whitespace-separated tokens, exact numbers.
#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>

namespace rbee::hive::scan {

inline constexpr std::string_view kSpace = " \t\r\n\v\f";

inline std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(kSpace);
  return s.substr(b, e - b + 1);
}

// Pops the next whitespace-separated token off s; empty when none is left.
inline std::string_view next_token(std::string_view& s) {
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) {
    s = {};
    return {};
  }
  s.remove_prefix(b);
  const auto e = s.find_first_of(kSpace);
  const auto tok = s.substr(0, e);
  s = e == std::string_view::npos ? std::string_view{} : s.substr(e);
  return tok;
}

// Exact parse of a whole (already trimmed) token; nullopt on anything else.
template <class T>
std::optional<T> to_num(std::string_view s) {
  if (s.empty()) return std::nullopt;
  T v{};
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace rbee::hive::scan
