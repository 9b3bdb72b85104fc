#pragma once
// Internal to ssh_config.cpp: the config files parsed once into the few directives that decide
// a HostName (Host, Match, HostName, Include), with each Include's glob already expanded.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "queen/ssh_config.h"

namespace rbee::queen::ssh_detail {

struct MatchCriterion {
  enum class Kind { all, canonical, final_pass, host, originalhost };
  Kind kind = Kind::all;
  bool negate = false;
  std::string patterns;  // host and originalhost only
};

struct Directive {
  enum class Kind { host, match, hostname, include };
  Kind kind = Kind::host;
  int line = 0;
  std::vector<std::string> args;         // host: patterns; hostname: the value
  std::vector<MatchCriterion> criteria;  // match
  bool never_matches = false;            // match with a skipped criterion or a syntax error
  std::vector<std::size_t> files;        // include: indices into LoadedConfig::files
};

struct ConfigFile {
  std::filesystem::path path;
  std::vector<Directive> directives;
};

struct LoadedConfig {
  std::vector<ConfigFile> files;  // [0] is the main config; each file once
  std::vector<std::string> warnings;
};

// Upper bound on directives visited when Includes are unrolled, so evaluation stays cheap.
inline constexpr std::size_t kMaxExpandedDirectives = 1 << 20;
inline constexpr std::size_t kMaxLineBytes = 4096;

Result<LoadedConfig> load_ssh_config(const std::filesystem::path& config,
                                     const SshConfigOptions& options);

// ssh's keyword tokenizer: splits on whitespace or one '=' and honours double quotes.
struct StrDelim {
  std::string_view rest;
  bool exhausted = false;
  // The next token ("" at leading blanks), or nullopt when exhausted or at an unmatched quote.
  std::optional<std::string> next();
};

// ssh's argument splitter: splits on blanks, joins quoted runs ("..." or '...'), removes
// backslash escapes and stops at an unquoted '#' starting a word. False on an open quote.
bool split_args(std::string_view text, std::vector<std::string>& out);

}  // namespace rbee::queen::ssh_detail
