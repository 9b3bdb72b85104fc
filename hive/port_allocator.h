#pragma once
// Choosing a worker's port: from the service's base port upward, skipping ports any worker in
// the tree holds and ports something else on the host has bound.
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "common/result.h"

namespace rbee::hive {

struct PortError {
  bool conflict = false;  // an explicit port is taken (HTTP 409)
  std::string message;
};

using PortProbe = std::function<bool(uint16_t)>;  // true when the port can be bound

struct PortChoice {
  std::optional<uint16_t> port;
  PortError error;
};

PortChoice choose_port(uint16_t base, std::optional<uint16_t> requested,
                       const std::set<uint16_t>& held_by_workers, const PortProbe& can_bind,
                       unsigned max_tries = 1000);

// Binds 0.0.0.0:port (TCP) and closes it: true when nothing on the host holds the port.
bool tcp_port_free(uint16_t port);

}  // namespace rbee::hive
