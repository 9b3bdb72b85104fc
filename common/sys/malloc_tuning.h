#pragma once
// glibc malloc settings for a long-running daemon with a small, steady heap.
//
// Left alone, glibc serves requests up to 32 MiB from the heap once a large free has raised its
// dynamic mmap threshold; a tick's snapshot of 1000 workers (~0.5 MiB of JSON, a few copies) then
// stays in the heap as free-but-resident memory. Capping the threshold sends such blocks to mmap,
// which unmaps them on free; one arena per thread the daemon has (two) avoids per-thread arenas
// that are each trimmed separately.
namespace rbee::sys {

// Call once at the start of main, before any thread is started.
void tune_malloc_for_daemon();

}  // namespace rbee::sys
