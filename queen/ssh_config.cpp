#include "queen/ssh_config.h"

#include <set>
#include <unordered_set>

#include "queen/ssh_config_file.h"

namespace rbee::queen {
namespace {

using ssh_detail::Directive;
using ssh_detail::LoadedConfig;
using ssh_detail::MatchCriterion;

// HostName's tokens, as ssh expands them: %h is the name given to ssh, %% a percent sign.
Result<std::string> expand_hostname(std::string_view value, std::string_view alias) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out.push_back(value[i]);
      continue;
    }
    if (++i == value.size())
      return make_error("HostName " + std::string(value) + ": lone '%' at the end");
    if (value[i] == '%') {
      out.push_back('%');
    } else if (value[i] == 'h') {
      out.append(alias);
    } else {
      return make_error("HostName " + std::string(value) + ": unknown token %" + value[i]);
    }
  }
  return out;
}

// ssh lowercases the final host name unless it looks like an address with a scope or port
// (':' or '%'); checked against `ssh -G` in tests/integration/ssh_g_compare_test.cpp.
std::string finish_hostname(std::string name) {
  if (name.find_first_of(":%") != std::string::npos) return name;
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return name;
}

// Replays the config for one name the way ssh reads it, keeping only what decides HostName.
class Evaluator {
 public:
  Evaluator(const LoadedConfig& config, std::string_view alias, bool need_defined)
      : config_(config), alias_(alias), need_defined_(need_defined) {}

  Status run() {
    bool active = true;
    walk(0, false, active);
    if (error_) return *error_;
    return Ok{};
  }

  // True when a Host line naming the alias literally applied (not only wildcards).
  bool defined() const { return defined_; }

  Result<std::string> hostname() const {
    if (!hostname_) return finish_hostname(std::string(alias_));
    auto expanded = expand_hostname(*hostname_, alias_);
    if (!expanded) return expanded.error();
    return finish_hostname(std::move(*expanded));
  }

 private:
  bool done() const { return error_ || (hostname_ && (defined_ || !need_defined_)); }

  // `never`: read through an Include from a block that did not match, where ssh lets no
  // Host or Match line apply (its SSHCONF_NEVERMATCH).
  void walk(std::size_t file, bool never, bool& active) {
    for (const auto& d : config_.files[file].directives) {
      switch (d.kind) {
        case Directive::Kind::host:
          active = !never && host_matches(d);
          if (active && !defined_) {
            for (const auto& p : d.args) defined_ = defined_ || p == alias_;
          }
          break;
        case Directive::Kind::match:
          active = !never && !d.never_matches && match_matches(d);
          break;
        case Directive::Kind::hostname:
          if (active && !hostname_) hostname_ = d.args[0];
          break;
        case Directive::Kind::include:
          for (std::size_t f : d.files) {
            bool inner = active;
            walk(f, never || !active, inner);
            if (done()) return;
          }
          break;
      }
      if (done()) return;
    }
  }

  bool host_matches(const Directive& d) const {
    // Host patterns are whitespace-separated and, unlike Match host, case-sensitive.
    bool matched = false;
    for (std::string_view p : d.args) {
      bool negated = p.front() == '!';
      if (negated) p.remove_prefix(1);
      if (ssh_pattern_match(p, alias_, SshCase::sensitive)) {
        if (negated) return false;
        matched = true;
      }
    }
    return matched;
  }

  bool match_matches(const Directive& d) {
    bool result = true;
    for (const auto& c : d.criteria) {
      bool hit = false;
      switch (c.kind) {
        case MatchCriterion::Kind::all:
          result = result && !c.negate;
          continue;
        case MatchCriterion::Kind::canonical:
        case MatchCriterion::Kind::final_pass:
          hit = false;  // first pass, no canonicalization: the final pass cannot change HostName
          break;
        case MatchCriterion::Kind::host: {
          // After HostName is set, "host" tests the expanded HostName, as ssh does.
          std::string target(alias_);
          if (hostname_) {
            auto expanded = expand_hostname(*hostname_, alias_);
            if (!expanded) {
              error_ = expanded.error();
              return false;
            }
            target = std::move(*expanded);
          }
          hit = ssh_pattern_list_match(c.patterns, target);
          break;
        }
        case MatchCriterion::Kind::originalhost:
          hit = ssh_pattern_list_match(c.patterns, alias_);
          break;
      }
      if (hit == c.negate) result = false;
    }
    return result;
  }

  const LoadedConfig& config_;
  std::string_view alias_;
  bool need_defined_;
  std::optional<std::string> hostname_;
  bool defined_ = false;
  std::optional<Error> error_;
};

struct Candidate {
  std::string alias;
  std::string where;
};

// Every literal Host pattern in read order, whether or not its block can apply.
// False once max_hosts is reached.
bool collect(const LoadedConfig& config, std::size_t file, std::vector<Candidate>& out,
             std::unordered_set<std::string>& seen, std::vector<std::string>& warnings,
             std::size_t max_hosts) {
  const auto& f = config.files[file];
  for (const auto& d : f.directives) {
    if (d.kind == Directive::Kind::include) {
      for (std::size_t inc : d.files) {
        if (!collect(config, inc, out, seen, warnings, max_hosts)) return false;
      }
      continue;
    }
    if (d.kind != Directive::Kind::host) continue;
    for (const auto& p : d.args) {
      if (!ssh_pattern_is_literal(p) || seen.count(p)) continue;
      std::string where = f.path.string() + ":" + std::to_string(d.line) + ": ";
      seen.insert(p);
      if (p.find_first_of(",@ \t") != std::string::npos) {
        warnings.push_back(where + "Host " + p + " is not a usable host name; skipped");
        continue;
      }
      if (out.size() == max_hosts) {
        warnings.push_back(where + "more than " + std::to_string(max_hosts) +
                           " hosts; the rest skipped");
        return false;
      }
      out.push_back(Candidate{p, std::move(where)});
    }
  }
  return true;
}

}  // namespace

Result<SshDiscovery> discover_ssh_hosts(const std::filesystem::path& config,
                                        const SshConfigOptions& options) {
  auto loaded = ssh_detail::load_ssh_config(config, options);
  if (!loaded) return loaded.error();
  SshDiscovery out;
  out.warnings = std::move(loaded->warnings);
  for (const auto& f : loaded->files) out.files.push_back(f.path);

  std::vector<Candidate> candidates;
  std::unordered_set<std::string> seen;
  (void)collect(*loaded, 0, candidates, seen, out.warnings, options.max_hosts);
  for (auto& c : candidates) {
    Evaluator eval(*loaded, c.alias, true);
    Status s = eval.run();
    Result<std::string> hostname = s ? eval.hostname() : Result<std::string>(s.error());
    if (!hostname) {
      out.warnings.push_back(c.where + "Host " + c.alias + ": " + hostname.error().message +
                             "; skipped");
      continue;
    }
    if (!eval.defined()) {
      out.warnings.push_back(
          c.where + "Host " + c.alias +
          " never applies (its Include sits in a block that does not match it); skipped");
      continue;
    }
    out.hosts.push_back(SshHostCandidate{std::move(c.alias), std::move(*hostname)});
  }
  return out;
}

Result<std::string> resolve_ssh_hostname(const std::filesystem::path& config,
                                         std::string_view alias, const SshConfigOptions& options) {
  auto loaded = ssh_detail::load_ssh_config(config, options);
  if (!loaded) return loaded.error();
  Evaluator eval(*loaded, alias, false);
  if (auto s = eval.run(); !s) return s.error();
  return eval.hostname();
}

std::vector<SshHostCandidate> filter_candidates(std::vector<SshHostCandidate> candidates,
                                                const std::vector<std::string>& include,
                                                const std::vector<std::string>& exclude) {
  auto any = [](const std::vector<std::string>& lists, const std::string& alias) {
    for (const auto& l : lists) {
      if (ssh_pattern_list_match(l, alias)) return true;
    }
    return false;
  };
  std::vector<SshHostCandidate> out;
  for (auto& c : candidates) {
    if ((include.empty() || any(include, c.alias)) && !any(exclude, c.alias))
      out.push_back(std::move(c));
  }
  return out;
}

}  // namespace rbee::queen
