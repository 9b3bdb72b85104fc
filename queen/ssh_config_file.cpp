#include "queen/ssh_config_file.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <system_error>

#include "common/sys/file.h"
#include "common/sys/path_glob.h"

namespace rbee::queen::ssh_detail {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kWhitespace = " \t\r\n";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void skip_whitespace(std::string_view& s) {
  std::size_t n = s.find_first_not_of(kWhitespace);
  s.remove_prefix(n == std::string_view::npos ? s.size() : n);
}

std::string where(const fs::path& file, int line) {
  return file.string() + ":" + std::to_string(line) + ": ";
}

struct ReadFailure {
  std::string message;
  bool too_big = false;
};

// Reads a whole file, refusing more than max_bytes.
bool read_bounded(const fs::path& path, std::size_t max_bytes, std::string& data,
                  ReadFailure& failure) {
  int err = 0;
  auto text = sys::read_regular_file(path.string(), max_bytes, 0, &err);
  if (!text) {
    failure.message = text.error().message;
    failure.too_big = err == EFBIG;
    return false;
  }
  data = std::move(*text);
  return true;
}

class Loader {
 public:
  explicit Loader(const SshConfigOptions& options) : options_(options) {
    ssh_dir_ = options.user_ssh_dir;
    if (ssh_dir_.empty()) {
      if (const char* home = std::getenv("HOME"); home && *home) ssh_dir_ = fs::path(home) / ".ssh";
    }
    if (!ssh_dir_.empty()) {
      ssh_dir_ = ssh_dir_.lexically_normal();
      if (!ssh_dir_.has_filename()) ssh_dir_ = ssh_dir_.parent_path();
      home_ = ssh_dir_.parent_path();
    }
  }

  Result<LoadedConfig> run(const fs::path& config) {
    auto main = load_file(config, true);
    if (!main) return main.error();
    std::size_t visited = 0;
    if (auto s = check_expansion(0, 0, visited); !s) return s.error();
    // Unreadable Includes are retried wherever they are named; report each problem once.
    std::set<std::string> seen;
    std::vector<std::string> unique;
    for (auto& w : out_.warnings) {
      if (seen.insert(w).second) unique.push_back(std::move(w));
    }
    out_.warnings = std::move(unique);
    return std::move(out_);
  }

 private:
  // Index of the parsed file; an unreadable Include yields SIZE_MAX and a warning.
  Result<std::size_t> load_file(const fs::path& path, bool is_main) {
    std::error_code ec;
    fs::path key = fs::weakly_canonical(path, ec);
    if (ec) key = path;
    if (auto it = index_.find(key.string()); it != index_.end()) return it->second;
    if (out_.files.size() >= options_.max_files)
      return make_error(path.string() + ": more than " + std::to_string(options_.max_files) +
                        " ssh config files through Include");
    std::string text;
    ReadFailure failure;
    if (!read_bounded(path, options_.max_file_bytes, text, failure)) {
      if (is_main || failure.too_big) return make_error(failure.message);
      out_.warnings.push_back(failure.message + "; Include skipped");
      return SIZE_MAX;
    }
    std::size_t index = out_.files.size();
    out_.files.push_back(ConfigFile{path, {}});
    index_.emplace(key.string(), index);
    std::vector<Directive> directives;
    if (auto s = parse(path, text, directives); !s) return s.error();
    out_.files[index].directives = std::move(directives);
    return index;
  }

  Status parse(const fs::path& path, std::string_view text, std::vector<Directive>& out) {
    int line_number = 0;
    while (!text.empty()) {
      std::size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
      ++line_number;
      if (auto s = parse_line(path, line_number, line.substr(0, line.find('\0')), out); !s)
        return s;
    }
    return Ok{};
  }

  void warn(const fs::path& path, int line, const std::string& message) {
    out_.warnings.push_back(where(path, line) + message);
  }

  // A Host line ssh would reject: keep it as a block that matches nothing, so the options
  // after it do not land in the block before.
  static Directive dead_block(int line) {
    Directive d;
    d.kind = Directive::Kind::match;
    d.line = line;
    d.never_matches = true;
    return d;
  }

  Status parse_line(const fs::path& path, int n, std::string_view line,
                    std::vector<Directive>& out) {
    while (!line.empty() &&
           std::string_view(" \t\r\n\f").find(line.back()) != std::string_view::npos)
      line.remove_suffix(1);
    bool too_long = line.size() > kMaxLineBytes;
    StrDelim words{too_long ? line.substr(0, 64) : line};
    auto keyword = words.next();
    if (keyword && keyword->empty()) keyword = words.next();
    if (!keyword || keyword->empty() || (*keyword)[0] == '#') return Ok{};
    std::string key = lower(*keyword);
    bool opens_block = key == "host" || key == "match";
    if (too_long) {
      warn(path, n, "line longer than " + std::to_string(kMaxLineBytes) + " bytes skipped");
      if (opens_block) out.push_back(dead_block(n));
      return Ok{};
    }
    std::string_view rest = words.exhausted ? std::string_view() : words.rest;
    skip_whitespace(rest);
    if (rest.empty()) {
      warn(path, n, "no argument after keyword \"" + *keyword + "\"; line skipped");
      if (opens_block) out.push_back(dead_block(n));
      return Ok{};
    }
    if (key == "match") {
      out.push_back(parse_match(path, n, rest));
      return Ok{};
    }
    if (key != "host" && key != "hostname" && key != "include" && key != "canonicalizehostname")
      return Ok{};
    std::vector<std::string> args;
    bool bad = !split_args(rest, args) || args.empty();
    for (const auto& a : args) bad = bad || a.empty();
    if (bad) {
      warn(path, n, *keyword + ": invalid quotes or empty argument; line skipped");
      if (opens_block) out.push_back(dead_block(n));
      return Ok{};
    }
    Directive d;
    d.line = n;
    if (key == "host") {
      d.kind = Directive::Kind::host;
      d.args = std::move(args);
    } else if (key == "hostname") {
      d.kind = Directive::Kind::hostname;
      if (args.size() > 1) warn(path, n, "HostName: extra arguments ignored");
      args.resize(1);
      d.args = std::move(args);
    } else if (key == "canonicalizehostname") {
      if (lower(args[0]) != "no")
        warn(path, n,
             "CanonicalizeHostname is not emulated; ssh may rewrite host names through DNS");
      return Ok{};
    } else {
      d.kind = Directive::Kind::include;
      for (const auto& arg : args) {
        auto files = expand_include(path, n, arg);
        if (!files) return files.error();
        d.files.insert(d.files.end(), files->begin(), files->end());
      }
    }
    out.push_back(std::move(d));
    return Ok{};
  }

  Directive parse_match(const fs::path& path, int n, std::string_view rest) {
    Directive d;
    d.kind = Directive::Kind::match;
    d.line = n;
    StrDelim words{rest};
    int attributes = 0;
    bool saw_all = false;
    auto reject = [&](const std::string& why) {
      warn(path, n, why + "; block treated as not matching");
      d.never_matches = true;
      return d;
    };
    while (auto word = words.next()) {
      if (word->empty() || (*word)[0] == '#') break;
      MatchCriterion c;
      std::string name = *word;
      c.negate = name[0] == '!';
      if (c.negate) name.erase(0, 1);
      std::string attr = lower(name);
      if (attr == "all") {
        auto next = words.next();
        if (attributes > 1 || (next && !next->empty() && (*next)[0] != '#'))
          return reject("Match all cannot be combined with other criteria");
        c.kind = MatchCriterion::Kind::all;
        d.criteria.push_back(std::move(c));
        saw_all = true;
        break;
      }
      ++attributes;
      if (attr == "canonical" || attr == "final") {
        c.kind =
            attr == "final" ? MatchCriterion::Kind::final_pass : MatchCriterion::Kind::canonical;
        d.criteria.push_back(std::move(c));
        continue;
      }
      auto arg = words.next();
      if (!arg || arg->empty() || (*arg)[0] == '#')
        return reject("Match " + name + " needs an argument");
      if (attr == "host" || attr == "originalhost") {
        c.kind = attr == "host" ? MatchCriterion::Kind::host : MatchCriterion::Kind::originalhost;
        c.patterns = std::move(*arg);
        d.criteria.push_back(std::move(c));
      } else {
        static const std::set<std::string, std::less<>> known = {
            "exec",   "user",    "localuser", "localnetwork",
            "tagged", "command", "version",   "sessiontype"};
        warn(path, n,
             (known.count(attr) ? "Match " : "unknown Match criterion ") + name +
                 " skipped; block treated as not matching");
        d.never_matches = true;
      }
    }
    if (attributes == 0 && !saw_all) return reject("Match without criteria");
    return d;
  }

  Result<std::vector<std::size_t>> expand_include(const fs::path& path, int n,
                                                  const std::string& arg) {
    std::vector<std::size_t> files;
    std::string pattern;
    if (arg[0] == '~') {
      if (arg.size() > 1 && arg[1] != '/') {
        warn(path, n, "Include " + arg + ": ~user paths are not supported; skipped");
        return files;
      }
      if (home_.empty()) {
        warn(path, n, "Include " + arg + ": no home directory known; skipped");
        return files;
      }
      pattern = home_.string() + arg.substr(1);
    } else if (arg[0] != '/') {
      if (ssh_dir_.empty()) {
        warn(path, n, "Include " + arg + ": no ~/.ssh directory known; skipped");
        return files;
      }
      pattern = ssh_dir_.string() + "/" + arg;
    } else {
      pattern = arg;
    }
    // Like ssh: an Include that matches nothing is fine (an empty list).
    auto matches = sys::expand_glob(pattern);
    if (!matches) {
      warn(path, n, "Include " + arg + ": glob failed; skipped");
      return files;
    }
    for (const std::string& match : *matches) {
      auto index = load_file(match, false);
      if (!index) return index.error();
      if (*index != SIZE_MAX) files.push_back(*index);
    }
    return files;
  }

  // Unrolls the Include graph as ssh reads it: depth bounds cycles, a count bounds fan-out.
  Status check_expansion(std::size_t file, int depth, std::size_t& visited) {
    const auto& directives = out_.files[file].directives;
    visited += directives.size() + 1;
    if (visited > kMaxExpandedDirectives)
      return make_error(out_.files[0].path.string() + ": Includes expand to more than " +
                        std::to_string(kMaxExpandedDirectives) + " directives");
    for (const auto& d : directives) {
      if (d.kind != Directive::Kind::include) continue;
      for (std::size_t f : d.files) {
        if (depth + 1 > options_.max_include_depth)
          return make_error(where(out_.files[file].path, d.line) + "Includes nested deeper than " +
                            std::to_string(options_.max_include_depth) +
                            " levels (an Include cycle?)");
        if (auto s = check_expansion(f, depth + 1, visited); !s) return s;
      }
    }
    return Ok{};
  }

  const SshConfigOptions& options_;
  fs::path ssh_dir_;
  fs::path home_;
  LoadedConfig out_;
  std::map<std::string, std::size_t> index_;
};

}  // namespace

std::optional<std::string> StrDelim::next() {
  if (exhausted) return std::nullopt;
  std::size_t i = rest.find_first_of(" \t\r\n\"=");
  if (i == std::string_view::npos) {
    exhausted = true;
    return std::string(rest);
  }
  if (rest[i] == '"') {
    std::string token(rest.substr(0, i));
    std::string_view quoted = rest.substr(i + 1);
    std::size_t close = quoted.find('"');
    if (close == std::string_view::npos) {
      exhausted = true;
      return std::nullopt;
    }
    token.append(quoted.substr(0, close));
    rest = quoted.substr(close + 1);
    skip_whitespace(rest);
    return token;
  }
  bool was_equals = rest[i] == '=';
  std::string token(rest.substr(0, i));
  rest.remove_prefix(i + 1);
  skip_whitespace(rest);
  if (!was_equals && !rest.empty() && rest[0] == '=') {
    rest.remove_prefix(1);
    skip_whitespace(rest);
  }
  return token;
}

bool split_args(std::string_view s, std::vector<std::string>& out) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ' || s[i] == '\t') {
      ++i;
      continue;
    }
    if (s[i] == '#') break;
    std::string arg;
    char quote = 0;
    for (; i < s.size(); ++i) {
      char c = s[i];
      char next = i + 1 < s.size() ? s[i + 1] : '\0';
      if (c == '\\' &&
          (next == '\'' || next == '"' || next == '\\' || (quote == 0 && next == ' '))) {
        arg.push_back(next);
        ++i;
      } else if (quote == 0 && (c == ' ' || c == '\t')) {
        break;
      } else if (quote == 0 && (c == '"' || c == '\'')) {
        quote = c;
      } else if (quote != 0 && c == quote) {
        quote = 0;
      } else {
        arg.push_back(c);
      }
    }
    if (quote != 0) return false;
    out.push_back(std::move(arg));
  }
  return true;
}

Result<LoadedConfig> load_ssh_config(const std::filesystem::path& config,
                                     const SshConfigOptions& options) {
  return Loader(options).run(config);
}

}  // namespace rbee::queen::ssh_detail
