#pragma once
// Small text rules of HTTP header values that the server's checks share.
#include <string_view>

namespace rbee::http {

// Optional white space between a header's tokens (RFC 9110 "OWS"): a space or a tab.
inline bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

// The value without optional white space at either end.
inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace rbee::http
