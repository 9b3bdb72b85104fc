#include <catch2/catch.hpp>

#include "common/http/auth.h"

using rbee::http::bearer_token_matches;
using rbee::http::constant_time_equals;

TEST_CASE("bearer token matches with any case of the scheme") {
  CHECK(bearer_token_matches("Bearer s3cret", "s3cret"));
  CHECK(bearer_token_matches("bearer s3cret", "s3cret"));
  CHECK(bearer_token_matches("BEARER s3cret", "s3cret"));
  CHECK(bearer_token_matches("  Bearer   s3cret  ", "s3cret"));
}

TEST_CASE("bearer token does not match another token, a prefix or a longer token") {
  CHECK_FALSE(bearer_token_matches("Bearer s3cres", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer s3cre", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer s3crets", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer s3crets3cret", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer ", "s3cret"));
}

TEST_CASE("bearer token needs the Bearer scheme followed by a space") {
  CHECK_FALSE(bearer_token_matches("s3cret", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Basic s3cret", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearers3cret", "s3cret"));
  CHECK_FALSE(bearer_token_matches("", "s3cret"));
}

TEST_CASE("an empty configured token never matches") {
  CHECK_FALSE(bearer_token_matches("Bearer ", ""));
  CHECK_FALSE(bearer_token_matches("Bearer x", ""));
  CHECK_FALSE(bearer_token_matches("", ""));
}

TEST_CASE("constant-time compare handles empty and cyclic inputs") {
  CHECK(constant_time_equals("abc", "abc"));
  CHECK_FALSE(constant_time_equals("", "abc"));
  // A presented token that repeats a prefix of the real one must not match.
  CHECK_FALSE(constant_time_equals("a", "aaa"));
  CHECK_FALSE(constant_time_equals("ab", "abab"));
  CHECK_FALSE(constant_time_equals(std::string_view("abc\0", 4), "abc"));
}
