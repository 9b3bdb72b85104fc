#pragma once
// TCP sockets as the kernel sees them (NETLINK_SOCK_DIAG): listening sockets with the cgroup that
// created each one (how the Hive learns that a worker's port listens without asking the worker),
// and the uid owning one connected socket (who a loopback HTTP client is).
#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace rbee::sys {

struct ListeningSocket {
  uint16_t port = 0;       // local port, host byte order
  uint64_t cgroup_id = 0;  // cgroup v2 id of the creating process's cgroup; 0 if the kernel
                           // (< 5.7) does not report it
  uint64_t inode = 0;      // socket inode (matches /proc/PID/fd/N -> socket:[inode])
  int family = 0;          // AF_INET or AF_INET6
  bool operator==(const ListeningSocket&) const = default;
};

// Every TCP socket in state LISTEN in this network namespace, IPv4 then IPv6: one
// SOCK_DIAG_BY_FAMILY dump per family. The cgroup is the one the socket was created in
// (socket(), not listen(), time), which is what a worker's cgroup is when it starts inside it.
// Cost: one netlink socket and two dumps; about tens of microseconds for a few hundred sockets.
Result<std::vector<ListeningSocket>> list_tcp_listeners();

// The uid owning the TCP socket of this network namespace whose own address is `local` and whose
// peer is `remote` (both AF_INET or both AF_INET6, the same family): for a connection a server
// accepted, local = the client's address and port, remote = the server's. One exact lookup,
// no dump; an error when no such socket exists (the client went away, or is not on this host).
Result<uid_t> tcp_socket_uid(const sockaddr* local, const sockaddr* remote);

// The cgroup v2 id of a cgroup directory: its inode number on the cgroup2 file system, the value
// sock_diag's INET_DIAG_CGROUP_ID and bpf report. cgroup_dir_path is absolute, e.g.
// "/sys/fs/cgroup/unified/rbee.slice/llm/8080".
Result<uint64_t> cgroup_id_of(const std::string& cgroup_dir_path);

}  // namespace rbee::sys
