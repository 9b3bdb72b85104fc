// Fuzz target: an HTTP request's path through the server up to the handler: Beast's request
// parser with the server's header and body limits (common/http/server.h Limits), the fields the
// session copies out, set_target, then the Router over the Hive's and the Queen's route patterns.
// The handlers do what the real ones do with untrusted input before touching daemon state:
// the edge policy on the request head, the bearer-token check, the worker key from the path, the
// JSON body decoders. Input: the first byte sets the size of the pieces the bytes arrive in (as
// from a socket), the rest is the byte stream of one connection; pipelined requests are all
// handled.
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "common/http/auth.h"
#include "common/http/edge_policy.h"
#include "common/http/message.h"
#include "common/http/router.h"
#include "common/http/server.h"
#include "common/json/decode.h"
#include "hive/layout.h"

namespace bhttp = boost::beast::http;
using bhttp::verb;
using rbee::http::Reply;
using rbee::http::Request;
using rbee::http::Response;

namespace {

const rbee::http::Limits kLimits;  // the server's defaults, as both daemons use them

Response ok() {
  return rbee::http::json_response(200, "{}");
}

void check_token(const Request& req) {
  (void)rbee::http::bearer_token_matches(req.authorization, "fuzz-token-0123456789");
}

rbee::http::Handler worker_handler() {
  return [](const Request& req, Reply reply) {
    check_token(req);
    auto s = req.params.find("service");
    auto i = req.params.find("instance");
    if (s == req.params.end() || i == req.params.end()) __builtin_trap();  // router broke it
    if (!rbee::hive::parse_worker_key(s->second + "/" + i->second))
      return reply(rbee::http::json_error(400, "bad worker name"));
    reply(ok());
  };
}

rbee::http::Router make_router() {
  rbee::http::Router r;
  auto plain = [](const Request&, Reply reply) { reply(ok()); };
  // Hive (hive/hive_api.cpp).
  r.add(verb::get, "/health", plain);
  r.add(verb::get, "/capabilities", [](const Request& req, Reply reply) {
    if (req.query.count("queen_url")) check_token(req);
    reply(ok());
  });
  r.add(verb::get, "/v1/workers", plain);
  r.add(verb::post, "/v1/workers", [](const Request& req, Reply reply) {
    check_token(req);
    auto spawn = rbee::json::decode_spawn_request(req.body);
    if (!spawn) return reply(rbee::http::json_error(400, spawn.error().message));
    reply(ok());
  });
  r.add(verb::get, "/v1/workers/{service}/{instance}", worker_handler());
  r.add(verb::delete_, "/v1/workers/{service}/{instance}", worker_handler());
  r.add(verb::get, "/v1/workers/{service}/{instance}/logs", worker_handler());
  r.add(verb::get, "/v1/telemetry", plain);
  r.add(verb::get, "/v1/telemetry/stream", plain);
  r.add(verb::get, "/metrics", plain);
  // Queen (queen/queen_api.cpp).
  r.add(verb::get, "/v1/hives", plain);
  r.add(verb::get, "/v1/prometheus/targets", plain);
  r.add(verb::get, "/v1/hives/{id}", [](const Request& req, Reply reply) {
    if (req.params.find("id") == req.params.end()) __builtin_trap();
    reply(ok());
  });
  r.add(verb::post, "/v1/hives/refresh", [](const Request& req, Reply reply) {
    check_token(req);
    reply(ok());
  });
  r.add(verb::get, "/v1/events", plain);
  r.add(verb::post, "/v1/hive-telemetry", [](const Request& req, Reply reply) {
    check_token(req);
    auto snap = rbee::json::decode_snapshot(req.body);
    if (!snap) return reply(rbee::http::json_error(400, snap.error().message));
    reply(ok());
  });
  return r;
}

const rbee::http::Router& router() {
  static const rbee::http::Router r = make_router();
  return r;
}

// What Session::on_read does with a parsed message.
void handle(bhttp::request<bhttp::string_body>&& msg) {
  Request req;
  req.method = msg.method();
  req.body = std::move(msg.body());
  req.authorization = std::string(msg[bhttp::field::authorization]);
  req.content_type = std::string(msg[bhttp::field::content_type]);
  req.host = std::string(msg[bhttp::field::host]);
  req.origin = std::string(msg["Origin"]);
  req.sec_fetch_site = std::string(msg["Sec-Fetch-Site"]);
  req.has_body = !req.body.empty();
  req.remote = boost::asio::ip::make_address_v4("127.0.0.1");
  (void)msg.keep_alive();
  if (auto st = rbee::http::set_target(req, std::string(msg.target())); !st) return;
  // What Session::on_header decides from the head, in both modes, for every Access.
  static const rbee::http::EdgePolicy no_token{.allowed_hosts = {"gpu-box.lan"}, .own_euid = 1000};
  static const rbee::http::EdgePolicy with_token{.token = "fuzz-token"};
  const auto uid = []() -> rbee::Result<uid_t> { return uid_t{65534}; };
  for (auto access :
       {rbee::http::Access::open, rbee::http::Access::secret_read, rbee::http::Access::guarded}) {
    for (const auto* policy : {&no_token, &with_token}) {
      auto v = rbee::http::check_request(*policy, access, req, uid);
      if (v.refusal && (v.refusal->status < 400 || v.refusal->status > 499)) __builtin_trap();
    }
  }
  (void)router().access(req);
  int replies = 0;
  unsigned status = 0;
  router().dispatch(req, [&](Response r) {
    ++replies;
    status = r.status;
  });
  if (replies != 1 || status < 100 || status > 599) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64 * 16;  // 1, 17, ..., 1009 bytes per read
  const char* p = reinterpret_cast<const char*>(data) + 1;
  std::size_t left = size - 1;
  std::string buffer;  // bytes read from the "socket" and not yet consumed by the parser
  for (int requests = 0; requests < 16; ++requests) {
    std::optional<bhttp::request_parser<bhttp::string_body>> parser;
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        kLimits.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser->body_limit(static_cast<std::uint64_t>(kLimits.max_body_bytes));
    boost::beast::error_code ec;
    while (!parser->is_done()) {
      if (!buffer.empty()) {
        std::size_t used = parser->put(boost::asio::buffer(buffer), ec);
        buffer.erase(0, used);
        if (ec == bhttp::error::need_more) {
          ec = {};
        } else if (ec) {
          return 0;  // 400, 413 or 431 and the connection closes
        } else if (used > 0) {
          continue;
        }
      }
      if (parser->is_done()) break;
      if (left == 0) {
        parser->put_eof(ec);  // the peer closed
        if (ec || !parser->is_done()) return 0;
        break;
      }
      const std::size_t n = std::min(piece, left);
      buffer.append(p, n);
      p += n;
      left -= n;
    }
    handle(parser->release());
  }
  return 0;
}
