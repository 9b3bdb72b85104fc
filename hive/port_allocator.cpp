#include "hive/port_allocator.h"

#include <string>

#include "common/sys/tcp.h"

namespace rbee::hive {

PortChoice choose_port(uint16_t base, std::optional<uint16_t> requested,
                       const std::set<uint16_t>& held, const PortProbe& can_bind,
                       unsigned max_tries) {
  PortChoice out;
  if (requested) {
    if (held.count(*requested)) {
      out.error = {true, "port " + std::to_string(*requested) + " is held by another worker"};
    } else if (!can_bind(*requested)) {
      out.error = {true, "port " + std::to_string(*requested) + " is in use on this host"};
    } else {
      out.port = *requested;
    }
    return out;
  }
  unsigned port = base;
  for (unsigned i = 0; i < max_tries && port <= 65535; ++i, ++port) {
    auto p = static_cast<uint16_t>(port);
    if (!held.count(p) && can_bind(p)) {
      out.port = p;
      return out;
    }
  }
  out.error = {false, "no free port from " + std::to_string(base) + " within " +
                          std::to_string(max_tries) + " ports"};
  return out;
}

bool tcp_port_free(uint16_t port) {
  return sys::can_bind_tcp_port(port);
}

}  // namespace rbee::hive
