#pragma once
// Random bytes from the kernel (getrandom), for identifiers, not for keys that must never repeat
// under a starved entropy pool.
#include <cstddef>

namespace rbee::sys {

// Fills all n bytes of out; false when the kernel gave fewer (the caller picks a fallback).
bool random_bytes(void* out, std::size_t n);

}  // namespace rbee::sys
