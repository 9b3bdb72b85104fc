#pragma once
// A daemon's web page, served from memory: index.html at "/", every other file at
// "/ui/<name>", each with a Content-Security-Policy that allows nothing but the daemon itself.
// See docs/web.md.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/router.h"
#include "common/result.h"

namespace rbee::http {

struct StaticFile {
  std::string_view name;  // base name, e.g. "hive.js"
  std::string_view body;
};

// The frame-ancestors sources a daemon allows by default: only its own pages may frame it.
inline const std::vector<std::string> kDefaultFrameAncestors = {"'self'"};

// Each source must be 'self', 'none', or an http(s) origin ("https://keeper.example:8443",
// "http://localhost:5173"); 'none' only alone. `key` names the setting in the error.
Status validate_frame_ancestors(const std::vector<std::string>& sources, std::string_view key);

// The policy every page file is served with.
std::string content_security_policy(const std::vector<std::string>& frame_ancestors);

// "text/javascript; charset=utf-8" for "x.js", and so on; application/octet-stream otherwise.
std::string_view content_type_for(std::string_view name);

// GET / and GET /ui/{name}: open reads, like the rest of the read API.
void add_static_site(Router& router, std::span<const StaticFile> files,
                     std::vector<std::string> frame_ancestors);

}  // namespace rbee::http
