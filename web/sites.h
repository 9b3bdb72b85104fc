#pragma once
// The pages built into the daemons (web/CMakeLists.txt generates their definitions).
#include <span>

#include "common/http/static_site.h"

namespace rbee::web {

// web/hive/ and web/common/: what the Hive serves at / and /ui/.
std::span<const http::StaticFile> hive_site();
// web/queen/ and web/common/: what the Queen serves at / and /ui/.
std::span<const http::StaticFile> queen_site();

}  // namespace rbee::web
