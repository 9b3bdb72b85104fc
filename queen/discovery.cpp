#include "queen/discovery.h"

#include <cstdlib>
#include <set>

#include "common/sys/credentials.h"
#include "common/sys/file.h"
#include "queen/ssh_config.h"

namespace rbee::queen {

namespace fs = std::filesystem;

fs::path default_ssh_config() {
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".ssh/config";
  if (auto home = sys::real_user_home()) return fs::path(*home) / ".ssh/config";
  return "/root/.ssh/config";
}

fs::path ssh_config_path(const QueenConfig& config) {
  return config.ssh_config.empty() ? default_ssh_config() : config.ssh_config;
}

bool names_hive(const QueenConfig& config, const std::string& alias, bool with_token) {
  std::vector<SshHostCandidate> one{{alias, {}}};
  if (filter_candidates(one, {}, config.exclude).empty()) return false;
  if (config.hives.count(alias)) return true;
  if (config.include.empty()) return !with_token;
  return !filter_candidates(one, config.include, {}).empty();
}

Status check_token_scope(const QueenConfig& config) {
  if (!config.include.empty() || !config.hives.empty()) return Ok{};
  return make_error(
      "queen.include is empty and no [hives.ALIAS] table names a Hive: with a token set, the "
      "Queen would send it to every host of " +
      ssh_config_path(config).string() +
      " (a bastion, a database host). Name the Hives, e.g. include = [\"gpu-*\"], or "
      "include = [\"*\"] to mean every alias");
}

DiscoveryResult discover_candidates(const QueenConfig& config, bool with_token) {
  DiscoveryResult out;
  const fs::path path = ssh_config_path(config);
  out.files.push_back(path);
  auto found = discover_ssh_hosts(path);
  if (!found) {
    out.error = found.error().message;
    return out;
  }
  out.warnings = std::move(found->warnings);
  for (auto& f : found->files) {
    if (f != path) out.files.push_back(std::move(f));
  }
  for (auto& host : found->hosts) {
    if (!names_hive(config, host.alias, with_token)) continue;
    Candidate c;
    c.alias = std::move(host.alias);
    c.hostname = std::move(host.hostname);
    c.port = config.hive_port;
    if (auto o = config.hives.find(c.alias); o != config.hives.end() && o->second.port)
      c.port = *o->second.port;
    c.source = HiveSource::ssh_config;
    out.candidates.push_back(std::move(c));
  }
  return out;
}

std::string watch_fingerprint(const fs::path& main_config, const std::vector<fs::path>& files) {
  std::set<fs::path> paths(files.begin(), files.end());
  paths.insert(main_config);
  std::set<fs::path> dirs;
  for (const auto& p : paths) dirs.insert(p.parent_path());
  paths.insert(dirs.begin(), dirs.end());
  std::string out;
  for (const auto& p : paths) {
    out += p.string();
    auto st = sys::stat_at(AT_FDCWD, p.c_str());
    if (!st) {
      out += " -\n";
      continue;
    }
    out += " " + std::to_string(st->st_ino) + " " + std::to_string(st->st_size) + " " +
           std::to_string(st->st_mtim.tv_sec) + "." + std::to_string(st->st_mtim.tv_nsec) + "\n";
  }
  return out;
}

}  // namespace rbee::queen
