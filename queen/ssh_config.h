#pragma once
// Finds candidate Hives in the operator's OpenSSH client config: every concrete Host alias,
// reached at the HostName `ssh -G ALIAS` would print. docs/discovery.md describes the rules.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "queen/ssh_pattern.h"

namespace rbee::queen {

struct SshConfigOptions {
  // Base for relative Include paths; its parent stands for "~" in "~/..." paths.
  // Empty: $HOME/.ssh.
  std::filesystem::path user_ssh_dir;
  std::size_t max_file_bytes = 1 << 20;  // per file
  std::size_t max_files = 256;           // distinct files, the Include fan-out bound
  int max_include_depth = 16;            // OpenSSH's limit
  std::size_t max_hosts = 10000;
};

struct SshHostCandidate {
  std::string alias;
  std::string hostname;
  bool operator==(const SshHostCandidate&) const = default;
};

struct SshDiscovery {
  std::vector<SshHostCandidate> hosts;  // concrete aliases in file order, first occurrence wins
  std::vector<std::string> warnings;    // "FILE:LINE: what was skipped and why"
  std::vector<std::filesystem::path> files;  // every file read, for the Queen to watch
};

// Reads the config and all its Includes; returns every concrete Host alias with its HostName.
// Errors: the main config unreadable, a file over max_file_bytes, more than max_files files,
// Includes nested deeper than max_include_depth (a cycle).
Result<SshDiscovery> discover_ssh_hosts(const std::filesystem::path& config,
                                        const SshConfigOptions& options = {});

// The hostname `ssh -G -F CONFIG ALIAS` prints: first HostName obtained wins, %h and %% expanded,
// lowercased unless it holds ':' or '%'.
Result<std::string> resolve_ssh_hostname(const std::filesystem::path& config,
                                         std::string_view alias,
                                         const SshConfigOptions& options = {});

// Keeps candidates whose alias matches an `include` element (all when empty) and no `exclude`
// element. Each element is an ssh pattern list, matched case-insensitively.
std::vector<SshHostCandidate> filter_candidates(std::vector<SshHostCandidate> candidates,
                                                const std::vector<std::string>& include,
                                                const std::vector<std::string>& exclude);

}  // namespace rbee::queen
