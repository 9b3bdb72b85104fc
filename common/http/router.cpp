#include "common/http/router.h"

#include <algorithm>

namespace rbee::http {

namespace beast_http = boost::beast::http;

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

void Router::add(beast_http::verb method, std::string pattern, Handler handler, Access access) {
  AccessRule rule;
  if (access != Access::open) rule = [access](const Request&) { return access; };
  add(method, std::move(pattern), std::move(handler), std::move(rule));
}

void Router::add(beast_http::verb method, std::string pattern, Handler handler, AccessRule access) {
  auto it = std::find_if(routes_.begin(), routes_.end(),
                         [&](const Route& r) { return r.pattern == pattern; });
  if (it == routes_.end()) {
    Route route;
    for (std::string_view part : split_path(pattern)) {
      if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
        route.segments.push_back({std::string(part.substr(1, part.size() - 2)), true});
      } else {
        route.segments.push_back({std::string(part), false});
      }
    }
    route.pattern = std::move(pattern);
    routes_.push_back(std::move(route));
    it = std::prev(routes_.end());
  }
  for (auto& m : it->methods) {
    if (m.verb == method) {
      m.handler = std::move(handler);
      m.access = std::move(access);
      return;
    }
  }
  it->methods.push_back({method, std::move(handler), std::move(access)});
}

bool Router::matches(const Route& route, const std::vector<std::string>& segments) {
  if (route.segments.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = route.segments[i];
    if (s.param ? segments[i].empty() : segments[i] != s.text) return false;
  }
  return true;
}

bool Router::more_specific(const Route& a, const Route& b) {
  for (std::size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i) {
    if (a.segments[i].param != b.segments[i].param) return !a.segments[i].param;
  }
  return false;
}

Router::Match Router::match(const Request& req) const {
  Match m;
  // Split the raw path so that an encoded '/' ("%2F") stays inside its segment.
  std::string_view raw = req.target.empty() ? std::string_view(req.path) : req.target;
  raw = raw.substr(0, raw.find_first_of("?#"));
  for (std::string_view part : split_path(raw)) {
    auto decoded = percent_decode(part, false);
    if (!decoded) {
      m.bad_path = true;
      return m;
    }
    m.segments.push_back(std::move(*decoded));
  }
  for (const Route& route : routes_) {
    if (!matches(route, m.segments)) continue;
    for (const Method& method : route.methods) {
      if (std::find(m.allowed.begin(), m.allowed.end(), method.verb) == m.allowed.end()) {
        m.allowed.push_back(method.verb);
      }
      if (method.verb == req.method && (m.route == nullptr || more_specific(route, *m.route))) {
        m.route = &route;
        m.method = &method;
      }
    }
  }
  return m;
}

Access Router::access(const Request& head) const {
  Match m = match(head);
  if (m.method == nullptr || !m.method->access) return Access::open;
  return m.method->access(head);
}

void Router::dispatch(Request& req, Reply reply) const {
  Match m = match(req);
  if (m.bad_path) return reply(json_error(400, "bad percent-encoding in path"));
  if (m.route == nullptr) {
    if (m.allowed.empty()) return reply(json_error(404, "not found"));
    std::sort(m.allowed.begin(), m.allowed.end());
    std::string allow;
    for (auto v : m.allowed) {
      if (!allow.empty()) allow += ", ";
      allow += beast_http::to_string(v);
    }
    Response r = json_error(405, "method not allowed");
    r.headers.emplace_back("Allow", std::move(allow));
    return reply(std::move(r));
  }
  req.params.clear();
  for (std::size_t i = 0; i < m.segments.size(); ++i) {
    if (m.route->segments[i].param)
      req.params[m.route->segments[i].text] = std::move(m.segments[i]);
  }
  m.method->handler(req, std::move(reply));
}

}  // namespace rbee::http
