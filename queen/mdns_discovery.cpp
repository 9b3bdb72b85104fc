#include "queen/mdns_discovery.h"

#include <cctype>
#include <set>

namespace rbee::queen {
namespace {

// Host names compare case-insensitively and without the root's trailing dot.
std::string normal_host(std::string_view h) {
  while (!h.empty() && h.back() == '.') h.remove_suffix(1);
  std::string out;
  for (char c : h) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

bool link_local_v6(const std::string& a) {
  return a.size() >= 4 && normal_host(a.substr(0, 4)) == "fe80";
}

}  // namespace

std::optional<MdnsHive> pick_mdns_hive(const std::vector<sys::FoundService>& items) {
  const sys::FoundService* best = nullptr;
  for (const auto& f : items) {
    if (f.address.empty() || f.port == 0) continue;
    const bool v4 = f.address.find(':') == std::string::npos;
    if (!v4 && link_local_v6(f.address)) continue;
    if (!best || (v4 && best->address.find(':') != std::string::npos)) best = &f;
  }
  if (!best) return std::nullopt;
  MdnsHive h;
  h.name = best->name;
  if (auto it = best->txt.find("hive_id"); it != best->txt.end()) h.hive_id = it->second;
  if (auto it = best->txt.find("version"); it != best->txt.end()) h.version = it->second;
  h.host = best->host;
  h.address = best->address;
  h.port = best->port;
  return h;
}

MdnsMerge merge_mdns_candidates(const std::vector<Candidate>& ssh,
                                const std::vector<MdnsHive>& found,
                                const std::map<std::string, std::string>& ssh_ids) {
  MdnsMerge out;
  out.candidates = ssh;
  std::map<std::string, std::string> by_host;  // normalised HostName -> alias
  std::map<std::string, std::string> by_id;    // alias or learned hive_id -> alias
  for (const auto& c : ssh) {
    by_host.emplace(normal_host(c.hostname), c.alias);
    by_id.emplace(c.alias, c.alias);
  }
  for (const auto& [alias, id] : ssh_ids) {
    if (!id.empty()) by_id.emplace(id, alias);
  }
  std::set<std::string> taken;
  for (const auto& c : ssh) taken.insert(c.alias);
  for (const auto& h : found) {
    const std::string alias = h.hive_id.empty() ? h.name : h.hive_id;
    if (alias.empty()) continue;
    const std::string what = "mDNS Hive " + alias + " at " + h.address;
    if (auto it = by_host.find(normal_host(h.address)); it != by_host.end()) {
      out.skipped.push_back(what + " is ssh config alias " + it->second + " (same address)");
      continue;
    }
    if (auto it = by_host.find(normal_host(h.host)); !h.host.empty() && it != by_host.end()) {
      out.skipped.push_back(what + " is ssh config alias " + it->second + " (same host name " +
                            h.host + ")");
      continue;
    }
    if (auto it = by_id.find(alias); it != by_id.end()) {
      out.skipped.push_back(what + " is ssh config alias " + it->second + " (same hive id)");
      continue;
    }
    if (!taken.insert(alias).second) {
      out.skipped.push_back(what + ": another mDNS Hive already uses the name " + alias);
      continue;
    }
    Candidate c;
    c.alias = alias;
    c.hostname = h.address;
    c.port = h.port;
    c.source = HiveSource::mdns;
    out.candidates.push_back(std::move(c));
  }
  return out;
}

}  // namespace rbee::queen
