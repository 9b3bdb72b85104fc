#include <catch2/catch.hpp>

#include <optional>

#include "common/http/message.h"
#include "common/http/router.h"

using namespace rbee::http;
using boost::beast::http::verb;

namespace {

Request make_request(verb method, std::string target) {
  Request req;
  req.method = method;
  REQUIRE(set_target(req, std::move(target)).ok());
  return req;
}

// Dispatches synchronously and returns the reply.
Response run(const Router& router, Request& req) {
  std::optional<Response> out;
  router.dispatch(req, [&out](Response r) { out = std::move(r); });
  REQUIRE(out.has_value());
  return *out;
}

std::string header(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace

TEST_CASE("router fills path parameters from {name} segments") {
  Router router;
  std::map<std::string, std::string> seen;
  router.add(verb::get, "/v1/workers/{service}/{instance}", [&](const Request& req, Reply reply) {
    seen = req.params;
    reply(json_response(200, "{}"));
  });
  auto req = make_request(verb::get, "/v1/workers/llm/3");
  CHECK(run(router, req).status == 200);
  CHECK(seen == std::map<std::string, std::string>{{"service", "llm"}, {"instance", "3"}});
}

TEST_CASE("router percent-decodes each segment and keeps an encoded slash inside it") {
  Router router;
  std::string service;
  router.add(verb::get, "/v1/workers/{service}", [&](const Request& req, Reply reply) {
    service = req.params.at("service");
    reply(json_response(200, "{}"));
  });
  auto req = make_request(verb::get, "/v1/workers/a%20b%2Fc");
  CHECK(run(router, req).status == 200);
  CHECK(service == "a b/c");
  CHECK(req.path == "/v1/workers/a b/c");
}

TEST_CASE("router does not match an empty parameter segment nor extra segments") {
  Router router;
  router.add(verb::get, "/v1/workers/{id}",
             [](const Request&, Reply reply) { reply(json_response(200, "{}")); });
  auto empty = make_request(verb::get, "/v1/workers/");
  CHECK(run(router, empty).status == 404);
  auto extra = make_request(verb::get, "/v1/workers/a/b");
  CHECK(run(router, extra).status == 404);
}

TEST_CASE("router answers 404 with a JSON error for an unknown path") {
  Router router;
  router.add(verb::get, "/v1/status",
             [](const Request&, Reply reply) { reply(json_response(200, "{}")); });
  auto req = make_request(verb::get, "/v1/nope");
  auto r = run(router, req);
  CHECK(r.status == 404);
  CHECK(r.content_type == "application/json");
  CHECK(r.body == R"({"error":"not found"})");
}

TEST_CASE("router answers 405 with an Allow header for a known path and another method") {
  Router router;
  auto ok = [](const Request&, Reply reply) { reply(json_response(200, "{}")); };
  router.add(verb::get, "/v1/workers/{id}", ok);
  router.add(verb::delete_, "/v1/workers/{id}", ok);
  auto req = make_request(verb::post, "/v1/workers/7");
  auto r = run(router, req);
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "DELETE, GET");
}

TEST_CASE("router prefers a literal segment over a parameter") {
  Router router;
  std::string hit;
  router.add(verb::get, "/v1/workers/{id}", [&](const Request&, Reply reply) {
    hit = "param";
    reply(json_response(200, "{}"));
  });
  router.add(verb::get, "/v1/workers/stats", [&](const Request&, Reply reply) {
    hit = "literal";
    reply(json_response(200, "{}"));
  });
  auto req = make_request(verb::get, "/v1/workers/stats");
  run(router, req);
  CHECK(hit == "literal");
  auto other = make_request(verb::get, "/v1/workers/9");
  run(router, other);
  CHECK(hit == "param");
}

TEST_CASE("set_target splits the path from percent-decoded query parameters") {
  Request req;
  REQUIRE(set_target(req, "/v1/logs?since=10&q=a+b%26c&flag&=x&empty=").ok());
  CHECK(req.path == "/v1/logs");
  CHECK(req.target == "/v1/logs?since=10&q=a+b%26c&flag&=x&empty=");
  CHECK(req.query.at("since") == "10");
  CHECK(req.query.at("q") == "a b&c");
  CHECK(req.query.at("flag").empty());
  CHECK(req.query.at("empty").empty());
  CHECK(req.query.at("") == "x");
}

TEST_CASE("set_target keeps '+' literal in the path and lets the last duplicate key win") {
  Request req;
  REQUIRE(set_target(req, "/a+b?k=1&k=2").ok());
  CHECK(req.path == "/a+b");
  CHECK(req.query.at("k") == "2");
}

TEST_CASE("set_target rejects bad escapes, NUL bytes and targets without a leading slash") {
  Request req;
  CHECK_FALSE(set_target(req, "/a%2").ok());
  CHECK_FALSE(set_target(req, "/a%zz").ok());
  CHECK_FALSE(set_target(req, "/a%00b").ok());
  CHECK_FALSE(set_target(req, "/a?x=%G1").ok());
  CHECK_FALSE(set_target(req, "http://host/a").ok());
  CHECK_FALSE(set_target(req, "*").ok());
}

TEST_CASE("json_error builds an escaped error object") {
  auto r = json_error(400, "bad \"thing\"");
  CHECK(r.status == 400);
  CHECK(r.body == R"({"error":"bad \"thing\""})");
}
