#include "common/sys/host.h"

#include <unistd.h>

namespace rbee::sys {

std::optional<std::string> host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return std::nullopt;
  return std::string(buf);
}

std::string host_name_or_localhost() {
  auto name = host_name();
  return name && !name->empty() ? *name : "localhost";
}

uint32_t online_cpus() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<uint32_t>(n) : 0;
}

uint64_t page_size() {
  return static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

uint64_t clock_ticks_per_second() {
  return static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
}

}  // namespace rbee::sys
