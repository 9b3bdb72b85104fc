#include "common/sys/path_glob.h"

#include <glob.h>

namespace rbee::sys {
namespace {

struct GlobGuard {
  glob_t g{};
  GlobGuard() = default;
  GlobGuard(const GlobGuard&) = delete;
  GlobGuard& operator=(const GlobGuard&) = delete;
  ~GlobGuard() { globfree(&g); }
};

}  // namespace

Result<std::vector<std::string>> expand_glob(const std::string& pattern) {
  GlobGuard g;
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &g.g);
  if (rc == GLOB_NOMATCH) return std::vector<std::string>{};
  if (rc != 0) return make_error("glob " + pattern + " failed");
  std::vector<std::string> out;
  out.reserve(g.g.gl_pathc);
  for (std::size_t i = 0; i < g.g.gl_pathc; ++i) out.emplace_back(g.g.gl_pathv[i]);
  return out;
}

}  // namespace rbee::sys
