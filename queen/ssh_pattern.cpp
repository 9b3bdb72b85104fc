#include "queen/ssh_pattern.h"

namespace rbee::queen {
namespace {

char fold(char c, SshCase match_case) {
  if (match_case == SshCase::insensitive && c >= 'A' && c <= 'Z')
    return static_cast<char>(c - 'A' + 'a');
  return c;
}

}  // namespace

bool ssh_pattern_match(std::string_view pattern, std::string_view name, SshCase match_case) {
  // Greedy scan that remembers the last '*' and retries one character further on a mismatch:
  // linear in practice, never exponential.
  std::size_t p = 0, n = 0;
  std::size_t star = std::string_view::npos, star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_n = n;
    } else if (p < pattern.size() &&
               (pattern[p] == '?' || fold(pattern[p], match_case) == fold(name[n], match_case))) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool ssh_pattern_list_match(std::string_view pattern_list, std::string_view name,
                            SshCase match_case) {
  bool matched = false;
  std::size_t start = 0;
  while (start <= pattern_list.size()) {
    std::size_t comma = pattern_list.find(',', start);
    if (comma == std::string_view::npos) comma = pattern_list.size();
    std::string_view pattern = pattern_list.substr(start, comma - start);
    bool negated = !pattern.empty() && pattern.front() == '!';
    if (negated) pattern.remove_prefix(1);
    if (ssh_pattern_match(pattern, name, match_case)) {
      if (negated) return false;
      matched = true;
    }
    start = comma + 1;
  }
  return matched;
}

bool ssh_pattern_is_literal(std::string_view pattern) {
  return !pattern.empty() && pattern.front() != '!' &&
         pattern.find_first_of("*?") == std::string_view::npos;
}

}  // namespace rbee::queen
