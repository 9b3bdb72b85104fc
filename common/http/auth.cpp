#include "common/http/auth.h"

#include <cstddef>

#include "common/http/header_text.h"

namespace rbee::http {

namespace {

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

bool constant_time_equals(std::string_view presented, std::string_view expected) {
  if (expected.empty()) return false;
  // Walk the expected token in full whatever was presented: the loop count, the memory touched
  // and the operations depend on expected.size() alone. A short or empty presented token is
  // read cyclically (or as zeros) so that the loop never branches on its content.
  const std::size_t n = presented.size();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(presented.data());
  static const unsigned char kZero = 0;
  volatile unsigned char diff = static_cast<unsigned char>(n != expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    unsigned char got = n == 0 ? kZero : p[i % n];
    diff = diff | static_cast<unsigned char>(got ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

bool bearer_token_matches(std::string_view authorization_header, std::string_view token) {
  if (token.empty()) return false;
  std::string_view h = trim_ows(authorization_header);
  constexpr std::string_view kScheme = "bearer";
  if (h.size() <= kScheme.size() || !is_ows(h[kScheme.size()])) return false;
  if (!iequals_ascii(h.substr(0, kScheme.size()), kScheme)) return false;
  return constant_time_equals(trim_ows(h.substr(kScheme.size())), token);
}

}  // namespace rbee::http
