#include "common/cli_support.h"

#include <cstdio>

#include "common/json/decode.h"

namespace rbee::cli {

Result<http::ClientResponse> request(boost::beast::http::verb method, const std::string& url,
                                     std::string body, const std::string& token) {
  auto r = http::fetch(method, url, std::move(body), token);
  if (!r) return r.error();
  if (r->status >= 400)
    return make_error(std::to_string(r->status) + ": " + json::decode_error_message(r->body));
  return r;
}

std::string human_bytes(std::optional<uint64_t> b) {
  if (!b) return "-";
  const char* units[] = {"B", "K", "M", "G", "T"};
  double v = static_cast<double>(*b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f%s" : "%.0f%s", v, units[u]);
  return buf;
}

}  // namespace rbee::cli
