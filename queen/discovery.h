#pragma once
// Candidate Hives from the operator's SSH config, filtered and with port overrides applied, and
// a cheap fingerprint of the files read so the Queen notices edits. See docs/queen.md.
#include <filesystem>
#include <string>
#include <vector>

#include "queen/queen_config.h"
#include "queen/registry.h"

namespace rbee::queen {

struct DiscoveryResult {
  std::vector<Candidate> candidates;
  std::vector<std::string> warnings;
  std::vector<std::filesystem::path> files;  // every file read (to watch)
  std::string error;                         // the config could not be read at all
};

// $HOME/.ssh/config (the passwd entry's home when HOME is unset).
std::filesystem::path default_ssh_config();
// The file discovery reads: config.ssh_config, or the default.
std::filesystem::path ssh_config_path(const QueenConfig& config);

// Whether the operator named this alias: it matches no `exclude` element, and it matches an
// `include` element or has a [hives.ALIAS] table. An empty `include` names every alias without a
// token (a loopback-only Queen) and only the [hives.ALIAS] ones with a token.
bool names_hive(const QueenConfig& config, const std::string& alias, bool with_token);

// With a token, the Queen sends it to every Hive it contacts: refuses a config that names none
// (empty include, no [hives.ALIAS]), which would send it to every host of the SSH config.
Status check_token_scope(const QueenConfig& config);

// Reads the SSH config (and its Includes), keeps the aliases names_hive() accepts and gives
// each its port: [hives.ALIAS] port, else queen.hive_port.
DiscoveryResult discover_candidates(const QueenConfig& config, bool with_token);

// Changes when any watched file, or a directory holding one, is created, removed, replaced or
// modified (mtime, size, inode). Missing files are part of the fingerprint.
std::string watch_fingerprint(const std::filesystem::path& main_config,
                              const std::vector<std::filesystem::path>& files);

}  // namespace rbee::queen
