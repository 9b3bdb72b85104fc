#include <catch2/catch.hpp>

#include "common/http/edge_policy.h"

using namespace rbee;
using namespace rbee::http;

TEST_CASE("only application/json is JSON, parameters aside", "[http][policy]") {
  CHECK(is_json_media_type("application/json"));
  CHECK(is_json_media_type("Application/JSON"));
  CHECK(is_json_media_type("application/json; charset=utf-8"));
  CHECK(is_json_media_type(" application/json ;charset=UTF-8"));
  CHECK_FALSE(is_json_media_type("application/jsonx"));
  CHECK_FALSE(is_json_media_type("application/json-seq"));
  CHECK_FALSE(is_json_media_type("text/plain"));
  CHECK_FALSE(is_json_media_type("application/x-www-form-urlencoded"));
  CHECK_FALSE(is_json_media_type("multipart/form-data; boundary=application/json"));
  CHECK_FALSE(is_json_media_type(""));
}

TEST_CASE("Host and Origin authorities parse with their ports", "[http][policy]") {
  CHECK(parse_authority("127.0.0.1:7835", 80) == Authority{"127.0.0.1", 7835});
  CHECK(parse_authority("LocalHost", 80) == Authority{"localhost", 80});
  CHECK(parse_authority("[::1]:7833", 80) == Authority{"::1", 7833});
  CHECK(parse_authority("[::1]", 443) == Authority{"::1", 443});
  CHECK_FALSE(parse_authority("", 80));
  CHECK_FALSE(parse_authority("::1", 80));
  CHECK_FALSE(parse_authority("[::1", 80));
  CHECK_FALSE(parse_authority("[nothex]:80", 80));
  CHECK_FALSE(parse_authority("host:0", 80));
  CHECK_FALSE(parse_authority("host:65536", 80));
  CHECK_FALSE(parse_authority("host:12x", 80));
  CHECK_FALSE(parse_authority("user@host", 80));
  CHECK_FALSE(parse_authority("host/path", 80));
}

TEST_CASE("a local Host is a loopback literal, localhost or an allowed name", "[http][policy]") {
  auto local = [](std::string_view text, std::vector<std::string> allowed = {}) {
    auto a = parse_authority(text, 80);
    return a && is_local_host(*a, allowed);
  };
  CHECK(local("127.0.0.1:7835"));
  CHECK(local("127.45.6.7"));
  CHECK(local("[::1]:7835"));
  CHECK(local("[::ffff:127.0.0.1]:7835"));
  CHECK(local("localhost:7835"));
  CHECK(local("localhost."));
  CHECK_FALSE(local("evil.example:7835"));
  CHECK_FALSE(local("localhost.evil.example"));
  CHECK_FALSE(local("10.0.0.1:7835"));
  CHECK_FALSE(local("[::2]"));
  CHECK_FALSE(local("0.0.0.0"));
  CHECK(local("GPU-box.lan:7835", {"gpu-box.lan"}));
  CHECK(local("gpu-box.lan", {"GPU-box.lan."}));
  CHECK_FALSE(local("other.lan", {"gpu-box.lan"}));
}

TEST_CASE("cross-origin means another scheme://host:port, null, or a cross-site fetch",
          "[http][policy]") {
  CHECK_FALSE(cross_origin_reason("", "", "127.0.0.1:7835"));
  CHECK_FALSE(cross_origin_reason("http://127.0.0.1:7835", "", "127.0.0.1:7835"));
  CHECK_FALSE(cross_origin_reason("HTTP://LOCALHOST:7835", "same-origin", "localhost:7835"));
  CHECK_FALSE(cross_origin_reason("http://gpu.lan", "none", "gpu.lan:80"));
  CHECK_FALSE(cross_origin_reason("", "same-origin", "127.0.0.1:7835"));
  CHECK(cross_origin_reason("http://evil.example", "", "127.0.0.1:7835"));
  CHECK(cross_origin_reason("http://127.0.0.1:8080", "", "127.0.0.1:7835"));
  CHECK(cross_origin_reason("https://127.0.0.1:7835", "", "127.0.0.1:7835"));
  CHECK(cross_origin_reason("null", "", "127.0.0.1:7835"));
  CHECK(cross_origin_reason("http://127.0.0.1:7835", "", ""));
  CHECK(cross_origin_reason("", "cross-site", "127.0.0.1:7835"));
  CHECK(cross_origin_reason("", "Same-Site", "127.0.0.1:7835"));
  auto why = cross_origin_reason("http://evil.example", "", "127.0.0.1:7835");
  REQUIRE(why);
  CHECK(why->find("http://evil.example") != std::string::npos);
}

namespace {

Request head(std::string host, std::string content_type = "application/json") {
  Request r;
  r.method = boost::beast::http::verb::post;
  r.path = "/v1/workers";
  r.host = std::move(host);
  r.content_type = std::move(content_type);
  r.has_body = true;
  r.remote = boost::asio::ip::make_address("127.0.0.1");
  return r;
}

std::function<Result<uid_t>()> uid_is(uid_t uid) {
  return [uid]() -> Result<uid_t> { return uid; };
}

unsigned status_of(const Verdict& v) {
  return v.refusal ? v.refusal->status : 0;
}

}  // namespace

TEST_CASE("no-token mode: guarded routes for root or the daemon's uid on a local Host",
          "[http][policy]") {
  EdgePolicy p;
  p.own_euid = 1000;
  std::vector<std::string> reasons;
  p.on_refused = [&](const Request&, std::string_view why) { reasons.emplace_back(why); };
  CHECK(status_of(check_request(p, Access::guarded, head("127.0.0.1:7835"), uid_is(0))) == 0);
  CHECK(status_of(check_request(p, Access::guarded, head("localhost"), uid_is(1000))) == 0);
  auto other = check_request(p, Access::guarded, head("127.0.0.1:7835"), uid_is(65534));
  CHECK(status_of(other) == 403);
  CHECK(other.refusal->body.find("uid 65534") != std::string::npos);
  CHECK(status_of(check_request(p, Access::guarded, head("127.0.0.1"),
                                [] { return Result<uid_t>(make_error("gone")); })) == 403);
  CHECK(status_of(check_request(p, Access::guarded, head("rebound.example:7835"), uid_is(0))) ==
        403);
  CHECK(status_of(check_request(p, Access::secret_read, head("rebound.example"), uid_is(0))) ==
        403);
  // A log read holds other workers' output: another uid (a worker) is refused it too.
  CHECK(status_of(check_request(p, Access::secret_read, head("127.0.0.1"), uid_is(1000))) == 0);
  CHECK(status_of(check_request(p, Access::secret_read, head("127.0.0.1"), uid_is(65534))) == 403);
  CHECK(status_of(check_request(p, Access::open, head("rebound.example"), uid_is(0))) == 0);
  CHECK(status_of(check_request(p, Access::guarded, head("127.0.0.1", "text/plain"), uid_is(0))) ==
        415);
  auto cross = head("127.0.0.1:7835");
  cross.origin = "http://evil.example";
  CHECK(status_of(check_request(p, Access::guarded, cross, uid_is(0))) == 403);
  CHECK(reasons ==
        std::vector<std::string>{"peer", "peer", "host", "host", "peer", "content_type", "origin"});
}

TEST_CASE("no-token mode asks the peer's uid only where a route needs it", "[http][policy]") {
  EdgePolicy p;
  int asked = 0;
  auto counting = [&]() -> Result<uid_t> {
    ++asked;
    return uid_t{0};
  };
  CHECK(status_of(check_request(p, Access::open, head("127.0.0.1"), counting)) == 0);
  CHECK(asked == 0);
  CHECK(status_of(check_request(p, Access::secret_read, head("127.0.0.1"), counting)) == 0);
  CHECK(asked == 1);
  CHECK(status_of(check_request(p, Access::guarded, head("127.0.0.1"), counting)) == 0);
  CHECK(asked == 2);
}

TEST_CASE("token mode: the token first, then the Origin and Content-Type rules", "[http][policy]") {
  EdgePolicy p;
  p.token = "s3cret";
  auto never = []() -> Result<uid_t> {
    FAIL("peer uid asked in token mode");
    return uid_t{0};
  };
  auto r = head("gpu-box.lan:7835");
  auto v = check_request(p, Access::guarded, r, never);
  CHECK(status_of(v) == 401);
  CHECK(v.refusal->body.find("bearer token") != std::string::npos);
  r.authorization = "Bearer s3cret";
  v = check_request(p, Access::guarded, r, never);
  CHECK(status_of(v) == 0);
  CHECK(v.authenticated);
  r.content_type = "application/jsonx";
  CHECK(status_of(check_request(p, Access::guarded, r, never)) == 415);
  r.content_type = "application/json";
  r.sec_fetch_site = "cross-site";
  CHECK(status_of(check_request(p, Access::guarded, r, never)) == 403);
  // A page holding the token (say, from a leaked config) still cannot use it from its origin.
  r.sec_fetch_site.clear();
  r.origin = "http://evil.example";
  v = check_request(p, Access::guarded, r, never);
  CHECK(status_of(v) == 403);
  CHECK(v.reason == "origin");
  r.origin = "http://gpu-box.lan:7835";
  CHECK(status_of(check_request(p, Access::guarded, r, never)) == 0);
  // An open route still tells the server whether the token came (streams rank by it).
  CHECK(check_request(p, Access::open, r, never).authenticated);
}

TEST_CASE("origins normalize to scheme://host:port, and nothing else is an origin",
          "[http][policy][cors]") {
  CHECK(normalize_origin("http://Keeper.LAN:3000").value() == "http://keeper.lan:3000");
  CHECK(normalize_origin("http://keeper.lan").value() == "http://keeper.lan:80");
  CHECK(normalize_origin("https://keeper.lan.").value() == "https://keeper.lan:443");
  CHECK(normalize_origin("http://[::1]:5173").value() == "http://[::1]:5173");
  for (const char* bad : {"*", "null", "keeper.lan", "ftp://keeper.lan", "http://a.lan/",
                          "http://a.lan/x", "http://u@a.lan", "http://a.lan?x", "http://a.lan:0",
                          "http://a lan", "http://a.lan:80; script-src *"}) {
    INFO(bad);
    CHECK_FALSE(normalize_origin(bad));
  }
  CHECK(parse_cors_origins({"http://a.lan", "https://b.lan:8443"}, "hive.cors_origins").value() ==
        std::vector<std::string>{"http://a.lan:80", "https://b.lan:8443"});
  auto bad = parse_cors_origins({"http://a.lan", "*"}, "hive.cors_origins");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("hive.cors_origins: \"*\"") != std::string::npos);
}

TEST_CASE("an origin in cors_origins passes the cross-origin rule, and only that one",
          "[http][policy][cors]") {
  EdgePolicy p;
  p.token = "tok";
  p.cors_origins = {"http://keeper.lan:3000"};
  Request head;
  head.method = boost::beast::http::verb::post;
  head.host = "127.0.0.1:7835";
  head.content_type = "application/json";
  head.authorization = "Bearer tok";
  head.sec_fetch_site = "cross-site";
  auto no_uid = []() -> Result<uid_t> { return make_error("not asked"); };

  head.origin = "http://keeper.lan:3000";
  CHECK_FALSE(check_request(p, Access::guarded, head, no_uid).refusal);
  head.origin = "http://KEEPER.lan:3000";
  CHECK_FALSE(check_request(p, Access::guarded, head, no_uid).refusal);
  head.origin = "http://keeper.lan:3001";
  CHECK(check_request(p, Access::guarded, head, no_uid).refusal->status == 403);
  head.origin = "https://keeper.lan:3000";
  CHECK(check_request(p, Access::guarded, head, no_uid).refusal->status == 403);
  // The token is still asked of the keeper.
  head.origin = "http://keeper.lan:3000";
  head.authorization = "Bearer wrong";
  CHECK(check_request(p, Access::guarded, head, no_uid).refusal->status == 401);
}

TEST_CASE("preflights are answered for cors_origins only, and answers carry the origin",
          "[http][policy][cors]") {
  EdgePolicy p;
  p.cors_origins = {"http://keeper.lan:3000"};
  Request head;
  head.method = boost::beast::http::verb::options;
  head.origin = "http://keeper.lan:3000";
  auto ok = preflight_response(p, head);
  CHECK(ok.status == 204);
  auto header = [](const Response& r, std::string_view name) {
    for (const auto& [n, v] : r.headers)
      if (n == name) return v;
    return std::string();
  };
  CHECK(header(ok, "Access-Control-Allow-Origin") == "http://keeper.lan:3000");
  CHECK(header(ok, "Access-Control-Allow-Methods") == "GET, POST, DELETE");
  CHECK(header(ok, "Vary") == "Origin");
  head.origin = "http://evil.example";
  auto refused = preflight_response(p, head);
  CHECK(refused.status == 403);
  CHECK(header(refused, "Access-Control-Allow-Origin").empty());

  Response r;
  add_cors_headers(p, "http://evil.example", r);
  CHECK(r.headers.empty());
  add_cors_headers(EdgePolicy{}, "http://keeper.lan:3000", r);
  CHECK(r.headers.empty());
}
