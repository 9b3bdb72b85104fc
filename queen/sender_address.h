#pragma once
// Which sender may speak for which Hive, and which senders count as one for the cap on Hives
// known only from their pushes. Pure functions of addresses; nothing is resolved.
#include <cstdint>
#include <string>

namespace rbee::queen {

// Whether a snapshot from `sender` may speak for a Hive known at `host`. Every Hive holds the
// same token, so the token alone does not say which Hive is talking: where the Hive's address is
// an IP literal, its snapshots must come from that address. A host name is not resolved here,
// so such Hives are not pinned.
bool sender_matches(const std::string& host, const std::string& sender);

// The address range a sender belongs to: "10.1.2.0/24", "2001:db8::/64" for the given prefix
// lengths. A v4-mapped IPv6 address counts as IPv4; a name (never sent by the server, which
// passes the peer's address) is its own range.
std::string sender_range(const std::string& address, uint32_t prefix_v4, uint32_t prefix_v6);

}  // namespace rbee::queen
