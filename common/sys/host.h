#pragma once
// Facts about the host the process runs on, from the kernel.
#include <cstdint>
#include <optional>
#include <string>

namespace rbee::sys {

// gethostname(); nullopt when the call fails.
std::optional<std::string> host_name();
// host_name(), or "localhost" when it fails or is empty: the name a daemon gives itself.
std::string host_name_or_localhost();
// CPUs online now (sysconf _SC_NPROCESSORS_ONLN); 0 when unknown.
uint32_t online_cpus();
// The memory page size in bytes.
uint64_t page_size();
// The unit of /proc/PID/stat's times (USER_HZ, sysconf _SC_CLK_TCK).
uint64_t clock_ticks_per_second();

}  // namespace rbee::sys
