#include "common/sys/random_bytes.h"

#include <sys/random.h>

namespace rbee::sys {

bool random_bytes(void* out, std::size_t n) {
  return ::getrandom(out, n, 0) == static_cast<ssize_t>(n);
}

}  // namespace rbee::sys
