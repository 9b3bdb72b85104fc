#pragma once
// Shell-style wildcard expansion of paths (glob(3)), as ssh expands an Include.
#include <string>
#include <vector>

#include "common/result.h"

namespace rbee::sys {

// The paths matching pattern, sorted; none is an empty list, not an error. The error is a read
// failure or an out-of-memory of glob itself.
Result<std::vector<std::string>> expand_glob(const std::string& pattern);

}  // namespace rbee::sys
