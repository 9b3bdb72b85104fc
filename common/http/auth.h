#pragma once
// Bearer-token check for the daemons' write endpoints.
#include <string_view>

namespace rbee::http {

// True when authorization_header is "Bearer <token>" (scheme case-insensitive, surrounding
// whitespace ignored) and the token equals `token`. The comparison takes time that depends only
// on the length of the configured token, never on where the tokens differ nor on the length of
// the presented one. An empty configured token never matches.
bool bearer_token_matches(std::string_view authorization_header, std::string_view token);

// Compares a presented secret with the expected one in time that depends only on expected.size().
bool constant_time_equals(std::string_view presented, std::string_view expected);

}  // namespace rbee::http
