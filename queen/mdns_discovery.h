#pragma once
// Hives found over mDNS (_rbee-hive._tcp through Avahi) as discovery candidates with source
// "mdns", deduplicated against the SSH config. Pure logic; the daemon feeds it what Avahi
// reports. See docs/queen.md and docs/operations.md.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/sys/avahi.h"
#include "queen/registry.h"

namespace rbee::queen {

struct MdnsHive {
  std::string name;     // the DNS-SD instance name
  std::string hive_id;  // TXT hive_id (empty when absent)
  std::string version;  // TXT version
  std::string host;     // the announcer's host name, e.g. "gpu-07.local"
  std::string address;  // where to reach it
  uint16_t port = 0;
};

// One instance as Avahi reported it on each interface and protocol: the IPv4 item if any, else
// a non-link-local IPv6 one (a link-local address would need its interface in the URL). nullopt
// when none is usable.
std::optional<MdnsHive> pick_mdns_hive(const std::vector<sys::FoundService>& items);

struct MdnsMerge {
  std::vector<Candidate> candidates;  // the SSH candidates, then the mDNS ones kept
  std::vector<std::string> skipped;   // why an mDNS Hive was not added (one line each)
};

// The SSH candidates plus every mDNS Hive that is not one of them. An mDNS Hive is the same as
// an SSH candidate when its address or host name is that candidate's HostName (by address), or
// when its hive_id is the candidate's alias or the hive_id the candidate's handshake returned
// (ssh_ids: alias -> hive_id). Its alias is its hive_id (the instance name without one).
MdnsMerge merge_mdns_candidates(const std::vector<Candidate>& ssh,
                                const std::vector<MdnsHive>& found,
                                const std::map<std::string, std::string>& ssh_ids);

}  // namespace rbee::queen
