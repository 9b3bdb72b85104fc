#include "common/token.h"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rbee {

Result<std::string> load_token(const std::filesystem::path& token_file) {
  if (const char* env = std::getenv("RBEE_TOKEN"); env && *env) return std::string(env);
  if (token_file.empty()) return std::string();
  std::ifstream in(token_file);
  if (!in) return make_error("cannot read token file " + token_file.string());
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return make_error("token file " + token_file.string() + " is empty");
  if (token.size() > 4096) return make_error("token in " + token_file.string() + " is too long");
  return token;
}

Result<ListenAddress> parse_listen(std::string_view text, uint16_t default_port) {
  ListenAddress out;
  std::string_view host = text, port;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return make_error("bad listen address " + std::string(text));
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return make_error("bad listen address " + std::string(text));
      port = text.substr(close + 2);
    }
  } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return make_error("listen address \"" + std::string(text) + "\" needs an IP address");
  out.host = std::string(host);
  out.port = default_port;
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, e] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (e != std::errc{} || p != port.data() + port.size() || v > 65535)
      return make_error("bad port in listen address \"" + std::string(text) + "\"");
    out.port = static_cast<uint16_t>(v);
  }
  return out;
}

bool is_loopback_host(const std::string& host) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

}  // namespace rbee
