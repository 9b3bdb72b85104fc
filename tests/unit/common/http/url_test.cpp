#include <catch2/catch.hpp>

#include "common/http/client.h"

using rbee::http::parse_url;

TEST_CASE("parse_url reads host, port and target") {
  auto u = parse_url("http://127.0.0.1:7835/v1/status?x=1");
  REQUIRE(u.ok());
  CHECK(u->scheme == "http");
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 7835);
  CHECK(u->target == "/v1/status?x=1");
  CHECK(u->origin() == "http://127.0.0.1:7835");
}

TEST_CASE("parse_url defaults the port to 80 and the target to /") {
  auto u = parse_url("HTTP://localhost");
  REQUIRE(u.ok());
  CHECK(u->scheme == "http");
  CHECK(u->port == 80);
  CHECK(u->target == "/");
  auto q = parse_url("http://localhost?x=1#frag");
  REQUIRE(q.ok());
  CHECK(q->target == "/?x=1");
}

TEST_CASE("parse_url accepts bracketed IPv6 literals") {
  auto u = parse_url("http://[::1]:9000/a");
  REQUIRE(u.ok());
  CHECK(u->host == "::1");
  CHECK(u->port == 9000);
  CHECK(u->origin() == "http://[::1]:9000");
  CHECK_FALSE(parse_url("http://::1:9000/").ok());
  CHECK_FALSE(parse_url("http://[::1/").ok());
  CHECK_FALSE(parse_url("http://[nothex]:80/").ok());
}

TEST_CASE("parse_url refuses https with a clear message") {
  auto u = parse_url("https://example.org/");
  REQUIRE_FALSE(u.ok());
  CHECK(u.error().message.find("https is not supported") != std::string::npos);
}

TEST_CASE("parse_url validates the port") {
  CHECK_FALSE(parse_url("http://h:0/").ok());
  CHECK_FALSE(parse_url("http://h:65536/").ok());
  CHECK_FALSE(parse_url("http://h:/").ok());
  CHECK_FALSE(parse_url("http://h:12ab/").ok());
  CHECK_FALSE(parse_url("http://h:000080/").ok());
  CHECK(parse_url("http://h:65535/").ok());
}

TEST_CASE("parse_url rejects junk: no scheme, no host, userinfo, spaces, overlong") {
  CHECK_FALSE(parse_url("127.0.0.1:80").ok());
  CHECK_FALSE(parse_url("ftp://h/").ok());
  CHECK_FALSE(parse_url("http:///x").ok());
  CHECK_FALSE(parse_url("http://user:pw@h/").ok());
  CHECK_FALSE(parse_url("http://h/a b").ok());
  CHECK_FALSE(parse_url("http://h\r\nX: y/").ok());
  CHECK_FALSE(parse_url("http://" + std::string(2048, 'a')).ok());
  CHECK(parse_url("http://h/" + std::string(2000, 'a')).ok());
}
