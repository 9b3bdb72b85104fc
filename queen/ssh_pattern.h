#pragma once
// OpenSSH wildcard patterns, as ssh_config(5) "PATTERNS" describes them.
#include <string_view>

namespace rbee::queen {

enum class SshCase { insensitive, sensitive };

// One pattern: '*' matches any run of characters, '?' exactly one; no comma or negation.
bool ssh_pattern_match(std::string_view pattern, std::string_view name,
                       SshCase match_case = SshCase::insensitive);

// A comma-separated list; a pattern starting with '!' excludes. A negated match excludes even if
// another pattern matches, and a list holding only negations matches nothing.
bool ssh_pattern_list_match(std::string_view pattern_list, std::string_view name,
                            SshCase match_case = SshCase::insensitive);

// True for a pattern that can only match itself: no '*', '?' or leading '!'.
bool ssh_pattern_is_literal(std::string_view pattern);

}  // namespace rbee::queen
