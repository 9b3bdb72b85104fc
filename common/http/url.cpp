#include "common/http/url.h"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

namespace rbee::http {

namespace {

constexpr std::size_t kMaxUrlLength = 2048;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string Url::authority() const {
  return url_host(host) + ":" + std::to_string(port);
}

std::string Url::origin() const {
  return scheme + "://" + authority();
}

rbee::Result<Url> parse_url(std::string_view s) {
  if (s.size() > kMaxUrlLength) {
    return make_error("URL longer than " + std::to_string(kMaxUrlLength) + " characters");
  }
  std::string quoted = "'" + std::string(s) + "'";
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return make_error("URL contains a space or control character");
  }
  auto sep = s.find("://");
  if (sep == std::string_view::npos) {
    return make_error("URL " + quoted + " has no scheme (expected http://host:port)");
  }
  Url u;
  u.scheme = lower(s.substr(0, sep));
  if (u.scheme == "https") return make_error("URL " + quoted + ": https is not supported yet");
  if (u.scheme != "http") {
    return make_error("URL " + quoted + ": unsupported scheme '" + u.scheme + "'");
  }
  std::string_view rest = s.substr(sep + 3);
  rest = rest.substr(0, rest.find('#'));
  auto end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  if (end != std::string_view::npos) {
    u.target = std::string(rest.substr(end));
    if (u.target.front() == '?') u.target.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) {
    return make_error("URL " + quoted + ": user info is not supported");
  }

  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error("URL " + quoted + ": unclosed '['");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return make_error("URL " + quoted + ": junk after ']'");
      port = after.substr(1);
    }
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(std::string(host), ec);
    if (ec) return make_error("URL " + quoted + ": bad IPv6 address");
  } else {
    auto colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (!std::all_of(host.begin(), host.end(), valid_host_char)) {
      return make_error("URL " + quoted + ": bad host (IPv6 addresses need [brackets])");
    }
  }
  if (host.empty()) return make_error("URL " + quoted + " has no host");
  u.host = std::string(host);

  if (port) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
    if (port->empty() || port->size() > 5 || ec != std::errc{} ||
        ptr != port->data() + port->size() || value == 0 || value > 65535) {
      return make_error("URL " + quoted + ": bad port");
    }
    u.port = static_cast<uint16_t>(value);
  }
  return u;
}

}  // namespace rbee::http
