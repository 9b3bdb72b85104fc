#pragma once
// http:// URLs as the clients and the configs take them. See docs/http.md.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace rbee::http {

struct Url {
  std::string scheme;  // "http"
  std::string host;    // a name or an address; IPv6 without brackets
  uint16_t port = 80;
  std::string target = "/";       // path and query, never empty
  std::string origin() const;     // "http://host:port" ("http://[::1]:port" for IPv6)
  std::string authority() const;  // "host:port" as the Host header has it ("[::1]:port")
};

// http only (https is refused with a clear error); "[::1]" literals; port 1-65535; no userinfo;
// the fragment is dropped; at most 2048 characters.
rbee::Result<Url> parse_url(std::string_view url);

// A host as a URL writes it: an IPv6 literal (it holds ':') in brackets, anything else as it is.
std::string url_host(const std::string& host);

}  // namespace rbee::http
