#include "common/http/static_site.h"

#include <algorithm>
#include <array>
#include <memory>
#include <utility>

#include "common/http/edge_policy.h"

namespace rbee::http {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The headers that go with every page file.
std::vector<std::pair<std::string, std::string>> page_headers(const std::string& csp) {
  return {
      {"Content-Security-Policy", csp},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
  };
}

}  // namespace

Status validate_frame_ancestors(const std::vector<std::string>& sources, std::string_view key) {
  for (const auto& s : sources) {
    if (s == "'self'") continue;
    if (s == "'none'") {
      if (sources.size() != 1)
        return make_error(std::string(key) + ": 'none' cannot be listed with other sources");
      continue;
    }
    auto origin = normalize_origin(s);
    // The source is written into the policy as given: nothing that could end it or start
    // another may pass, whatever the origin parser accepts.
    if (origin && s.find_first_of(" \t\r\n;,'\"*%\\") != std::string::npos)
      origin = make_error("separators are not allowed");
    if (!origin)
      return make_error(std::string(key) + ": \"" + s +
                        "\" must be 'self', 'none' or an origin such as "
                        "https://keeper.example:8443 (" +
                        origin.error().message + ")");
  }
  return Ok{};
}

std::string content_security_policy(const std::vector<std::string>& frame_ancestors) {
  std::string ancestors;
  for (const auto& s : frame_ancestors.empty() ? kDefaultFrameAncestors : frame_ancestors) {
    if (!ancestors.empty()) ancestors += ' ';
    ancestors += s;
  }
  return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
         "frame-ancestors " +
         ancestors;
}

std::string_view content_type_for(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
  }};
  for (const auto& [ext, type] : kTypes)
    if (ends_with(name, ext)) return type;
  return "application/octet-stream";
}

void add_static_site(Router& router, std::span<const StaticFile> files,
                     std::vector<std::string> frame_ancestors) {
  auto headers = std::make_shared<const std::vector<std::pair<std::string, std::string>>>(
      page_headers(content_security_policy(frame_ancestors)));
  auto serve = [headers](const StaticFile& f, Reply reply) {
    Response r;
    r.content_type = std::string(content_type_for(f.name));
    r.body = std::string(f.body);
    r.headers = *headers;
    reply(std::move(r));
  };
  auto find = [files](std::string_view name) -> const StaticFile* {
    auto it = std::find_if(files.begin(), files.end(),
                           [&](const StaticFile& f) { return f.name == name; });
    return it == files.end() ? nullptr : &*it;
  };
  const StaticFile* index = find("index.html");
  if (index)
    router.add(boost::beast::http::verb::get, "/",
               [serve, index](const Request&, Reply reply) { serve(*index, std::move(reply)); });
  router.add(boost::beast::http::verb::get, "/ui/{name}",
             [serve, find](const Request& req, Reply reply) {
               const StaticFile* f = find(req.params.at("name"));
               if (!f) return reply(json_error(404, "no file " + req.params.at("name")));
               serve(*f, std::move(reply));
             });
}

}  // namespace rbee::http
