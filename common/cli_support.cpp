#include "common/cli_support.h"

#include <cstdio>
#include <iostream>

#include "common/json/decode.h"
#include "common/log.h"

namespace rbee::cli {

Result<http::ClientResponse> request(boost::beast::http::verb method, const std::string& url,
                                     std::string body, const std::string& token) {
  auto r = http::fetch(method, url, std::move(body), token);
  if (!r) return r.error();
  if (r->status >= 400)
    return make_error(std::to_string(r->status) + ": " + json::decode_error_message(r->body));
  return r;
}

int fail(std::string_view prog, const std::string& what) {
  std::cerr << prog << ": " << escape_for_log(what) << "\n";
  return 1;
}

std::optional<http::ClientResponse> call(std::string_view prog, boost::beast::http::verb method,
                                         const std::string& url, std::string body,
                                         const std::string& token, int& rc) {
  auto r = request(method, url, std::move(body), token);
  if (!r) {
    rc = fail(prog, r.error().message);
    return std::nullopt;
  }
  return std::move(*r);
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
