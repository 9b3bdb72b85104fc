#include "common/sys/malloc_tuning.h"

#include <malloc.h>

namespace rbee::sys {

void tune_malloc_for_daemon() {
  // Blocks of 128 KiB and more come from mmap and go back to the kernel on free. Setting it also
  // turns off the dynamic threshold, which would otherwise grow to the largest block freed.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  // Give free memory at the top of the heap back once 128 KiB of it accumulate.
  ::mallopt(M_TRIM_THRESHOLD, 128 * 1024);
  // The event loop and the NVML thread: two arenas, not 8 × cores.
  ::mallopt(M_ARENA_MAX, 2);
}

}  // namespace rbee::sys
