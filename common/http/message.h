#pragma once
// Plain HTTP request/response values shared by the server, the router and the handlers.
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace rbee::http {

class EventStream;

// What a route asks of a request, decided from its head before the body is read
// (common/http/edge_policy.h, docs/security.md).
enum class Access {
  open,         // anyone who reaches the port
  secret_read,  // a read that can hold secrets: the token, or (no-token mode) root or the
                // daemon's own uid and a local Host; never cross-origin
  guarded,      // a mutation or subscription: the token, or (no-token mode) root or the
                // daemon's own uid and a local Host; never cross-origin; bodies only as JSON
};

struct Request {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target;                         // raw target
  std::string path;                           // percent-decoded path, no query
  std::map<std::string, std::string> query;   // percent-decoded query params ('+' = space)
  std::map<std::string, std::string> params;  // filled by the Router from "{name}" segments
  std::string body;
  std::string authorization;  // raw Authorization header value
  std::string content_type;
  std::string host;                      // Host header
  std::string origin;                    // Origin header
  std::string sec_fetch_site;            // Sec-Fetch-Site header
  std::string last_event_id;             // Last-Event-ID header (an EventSource reconnecting)
  bool has_body = false;                 // Content-Length > 0 or chunked
  boost::asio::ip::address remote;       // peer address
  boost::asio::ip::tcp::endpoint peer;   // peer address and port
  boost::asio::ip::tcp::endpoint local;  // our address and port on this connection
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // When set, the connection becomes a Server-Sent Events stream on this hub; `body` is sent
  // first as-is (already SSE-formatted initial events).
  std::shared_ptr<EventStream> stream;
};

Response json_response(unsigned status, std::string body);
// {"error":"<message>"}
Response json_error(unsigned status, std::string_view message);

// Must be called exactly once, on the io_context thread; may be called later (async handlers).
// Calls after the first are ignored.
using Reply = std::function<void(Response)>;
// The Request is only valid during the call: an async handler copies what it needs.
using Handler = std::function<void(const Request&, Reply)>;

// Percent-decodes s; '+' becomes a space when plus_as_space. nullopt on a bad escape or a
// decoded NUL byte.
std::optional<std::string> percent_decode(std::string_view s, bool plus_as_space);

// Sets target, path and query of req from a raw origin-form target ("/a/b?x=1").
// Duplicate query keys: the last one wins; a key without '=' gets "".
rbee::Status set_target(Request& req, std::string target);

}  // namespace rbee::http
