#include "common/http/edge_policy.h"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <charconv>

#include "common/http/auth.h"
#include "common/http/header_text.h"

namespace rbee::http {

EdgePolicy EdgePolicy::for_daemon(std::string token, std::vector<std::string> allowed_hosts) {
  EdgePolicy p;
  p.token = std::move(token);
  p.allowed_hosts = std::move(allowed_hosts);
  p.own_euid = sys::effective_uid();
  return p;
}

namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool host_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

std::optional<uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

std::string strip_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

Response refuse(unsigned status, std::string message) {
  auto r = json_error(status, message);
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace

bool is_json_media_type(std::string_view content_type) {
  std::string_view type = trim_ows(content_type.substr(0, content_type.find(';')));
  return to_lower(type) == "application/json";
}

Result<std::string> normalize_origin(std::string_view origin) {
  origin = trim_ows(origin);
  auto sep = origin.find("://");
  if (sep == std::string_view::npos) return make_error("not scheme://host[:port]");
  const std::string scheme = to_lower(origin.substr(0, sep));
  if (scheme != "http" && scheme != "https") return make_error("the scheme must be http or https");
  std::string_view rest = origin.substr(sep + 3);
  if (rest.find_first_of("/?#@") != std::string_view::npos)
    return make_error("an origin has no path, query or user");
  auto a = parse_authority(rest, scheme == "https" ? 443 : 80);
  if (!a) return make_error("bad host or port");
  const bool v6 = a->host.find(':') != std::string::npos;
  return scheme + "://" + (v6 ? "[" + a->host + "]" : strip_dot(a->host)) + ":" +
         std::to_string(a->port);
}

bool EdgePolicy::is_cors_origin(std::string_view origin) const {
  if (cors_origins.empty() || origin.empty()) return false;
  auto o = normalize_origin(origin);
  return o && std::find(cors_origins.begin(), cors_origins.end(), *o) != cors_origins.end();
}

Result<std::vector<std::string>> parse_cors_origins(const std::vector<std::string>& origins,
                                                    std::string_view key) {
  std::vector<std::string> out;
  for (const auto& o : origins) {
    auto n = normalize_origin(o);
    if (!n)
      return make_error(std::string(key) + ": \"" + o +
                        "\" must be an origin such as https://keeper.example:8443 (" +
                        n.error().message + ")");
    out.push_back(std::move(*n));
  }
  return out;
}

Response preflight_response(const EdgePolicy& policy, const Request& head) {
  if (!policy.is_cors_origin(head.origin))
    return refuse(403, "cross-origin request refused (Origin " + head.origin +
                           " is not in this daemon's cors_origins)");
  Response r;
  r.status = 204;
  r.headers = {{"Access-Control-Allow-Methods", "GET, POST, DELETE"},
               {"Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID"},
               {"Access-Control-Max-Age", "600"}};
  add_cors_headers(policy, head.origin, r);
  return r;
}

void add_cors_headers(const EdgePolicy& policy, std::string_view origin, Response& r) {
  if (!policy.is_cors_origin(origin)) return;
  // Once only: a browser refuses an Access-Control-Allow-Origin given twice.
  for (const auto& [name, value] : r.headers)
    if (name == "Access-Control-Allow-Origin") return;
  r.headers.emplace_back("Access-Control-Allow-Origin", std::string(trim_ows(origin)));
  r.headers.emplace_back("Vary", "Origin");
  r.headers.emplace_back("Access-Control-Expose-Headers", "Location, Retry-After");
}

std::optional<Authority> parse_authority(std::string_view text, uint16_t default_port) {
  text = trim_ows(text);
  if (text.empty()) return std::nullopt;
  Authority a;
  a.port = default_port;
  std::string_view host = text;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    // A zone id ("%eth0") is nothing a browser sends, and the address parser takes anything
    // after the '%'.
    if (host.find('%') != std::string_view::npos) return std::nullopt;
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(std::string(host), ec);
    if (ec) return std::nullopt;
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      auto port = parse_port(rest.substr(1));
      if (!port) return std::nullopt;
      a.port = *port;
    }
  } else {
    auto colon = text.find(':');
    if (colon != std::string_view::npos) {
      host = text.substr(0, colon);
      auto port = parse_port(text.substr(colon + 1));
      if (!port) return std::nullopt;  // also a second ':' (an unbracketed IPv6 literal)
      a.port = *port;
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), host_name_char)) return std::nullopt;
  }
  a.host = to_lower(host);
  return a;
}

bool is_local_host(const Authority& host, const std::vector<std::string>& allowed) {
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(host.host, ec);
  if (!ec) {
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
      addr = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6());
    return addr.is_loopback();
  }
  const std::string name = strip_dot(host.host);
  if (name == "localhost") return true;
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& a) { return strip_dot(to_lower(a)) == name; });
}

std::optional<std::string> cross_origin_reason(std::string_view origin,
                                               std::string_view sec_fetch_site,
                                               std::string_view host) {
  const std::string site = to_lower(trim_ows(sec_fetch_site));
  if (site == "cross-site" || site == "same-site")
    return "cross-origin request refused (Sec-Fetch-Site: " + site + ")";
  origin = trim_ows(origin);
  if (origin.empty()) return std::nullopt;
  const std::string quoted = "Origin " + std::string(origin);
  auto sep = origin.find("://");
  if (sep == std::string_view::npos) return "cross-origin request refused (" + quoted + ")";
  const std::string scheme = to_lower(origin.substr(0, sep));
  std::string_view rest = origin.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  auto from = parse_authority(rest, scheme == "https" ? 443 : 80);
  auto self = parse_authority(host, 80);
  if (scheme != "http" || !from || !self || strip_dot(from->host) != strip_dot(self->host) ||
      from->port != self->port)
    return "cross-origin request refused (" + quoted + " is not http://" + std::string(host) + ")";
  return std::nullopt;
}

Verdict check_request(const EdgePolicy& policy, Access access, const Request& head,
                      const std::function<Result<uid_t>()>& peer_uid) {
  Verdict v;
  const bool token_mode = !policy.token.empty();
  if (token_mode && !head.authorization.empty())
    v.authenticated = bearer_token_matches(head.authorization, policy.token);
  if (access == Access::open) return v;
  auto refused = [&](unsigned status, const char* reason, std::string message) {
    v.refusal = refuse(status, std::move(message));
    v.reason = reason;
    if (policy.on_refused) policy.on_refused(head, reason);
    return v;
  };

  if (token_mode) {
    if (!v.authenticated) return refused(401, "auth", "missing or wrong bearer token");
  } else {
    auto host = parse_authority(head.host, 80);
    if (!host || !is_local_host(*host, policy.allowed_hosts))
      return refused(403, "host",
                     "Host \"" + head.host +
                         "\" is not a loopback address or localhost; without a token only those "
                         "and the names in allowed_hosts are served");
  }
  if (auto why = cross_origin_reason(head.origin, head.sec_fetch_site, head.host);
      why && !policy.is_cors_origin(head.origin))
    return refused(403, "origin", *why);

  // Secret reads ask the uid too: a worker is a local process under another uid, and it must
  // not read other workers' logs.
  if (!token_mode) {
    auto uid =
        head.remote.is_loopback() ? peer_uid() : Result<uid_t>(make_error("not a loopback peer"));
    if (!uid)
      return refused(403, "peer",
                     "without a token only local root or uid " + std::to_string(policy.own_euid) +
                         " may do this (cannot tell the client's uid: " + uid.error().message +
                         ")");
    if (*uid != 0 && *uid != policy.own_euid)
      return refused(403, "peer",
                     "without a token only root or uid " + std::to_string(policy.own_euid) +
                         " may do this; the client is uid " + std::to_string(*uid) +
                         " (configure a token to serve other users)");
  }
  if (access != Access::guarded) return v;
  if ((head.has_body || !head.content_type.empty()) && !is_json_media_type(head.content_type))
    return refused(415, "content_type", "Content-Type must be application/json");
  return v;
}

}  // namespace rbee::http
