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

void Router::add(beast_http::verb method, std::string pattern, Handler handler) {
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
      return;
    }
  }
  it->methods.push_back({method, std::move(handler)});
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

void Router::dispatch(Request& req, Reply reply) const {
  // Split the raw path so that an encoded '/' ("%2F") stays inside its segment.
  std::string_view raw = req.target.empty() ? std::string_view(req.path) : req.target;
  raw = raw.substr(0, raw.find_first_of("?#"));
  std::vector<std::string> segments;
  for (std::string_view part : split_path(raw)) {
    auto decoded = percent_decode(part, false);
    if (!decoded) return reply(json_error(400, "bad percent-encoding in path"));
    segments.push_back(std::move(*decoded));
  }

  const Route* best = nullptr;
  const Handler* handler = nullptr;
  std::vector<beast_http::verb> allowed;
  for (const Route& route : routes_) {
    if (!matches(route, segments)) continue;
    for (const Method& m : route.methods) {
      if (std::find(allowed.begin(), allowed.end(), m.verb) == allowed.end()) {
        allowed.push_back(m.verb);
      }
      if (m.verb == req.method && (best == nullptr || more_specific(route, *best))) {
        best = &route;
        handler = &m.handler;
      }
    }
  }
  if (best == nullptr) {
    if (allowed.empty()) return reply(json_error(404, "not found"));
    std::sort(allowed.begin(), allowed.end());
    std::string allow;
    for (auto v : allowed) {
      if (!allow.empty()) allow += ", ";
      allow += beast_http::to_string(v);
    }
    Response r = json_error(405, "method not allowed");
    r.headers.emplace_back("Allow", std::move(allow));
    return reply(std::move(r));
  }
  req.params.clear();
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (best->segments[i].param) req.params[best->segments[i].text] = std::move(segments[i]);
  }
  (*handler)(req, std::move(reply));
}

}  // namespace rbee::http
