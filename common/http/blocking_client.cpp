#include "common/http/blocking_client.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <optional>
#include <vector>

#include "common/http/client_transport.h"
#include "common/http/sse_parser.h"
#include "common/sys/tcp.h"

namespace rbee::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kMaxEventBytes = 16 * 1024 * 1024;

// Runs one async operation on a private io_context to its end and returns its error.
template <class Start>
error_code run_op(net::io_context& ioc, Start&& start) {
  error_code result;
  start([&result](error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

}  // namespace

rbee::Result<ClientResponse> fetch(bhttp::verb method, std::string_view url, std::string body,
                                   std::string_view bearer_token, ClientOptions options) {
  auto parsed = parse_url(url);
  if (!parsed) return parsed.error();
  net::io_context ioc;
  auto connection = std::make_shared<Connection>(ioc, *parsed, options);
  std::optional<rbee::Result<ClientResponse>> out;
  connection->request(method, parsed->target, std::move(body), std::string(bearer_token),
                      [&out, &connection](rbee::Result<ClientResponse> r) {
                        out.emplace(std::move(r));
                        connection->close();
                      });
  ioc.run();
  if (!out) return make_error("request to " + parsed->origin() + " did not complete");
  return std::move(*out);
}

rbee::Status read_event_stream(
    std::string_view url, std::string_view bearer_token, std::chrono::milliseconds timeout,
    const std::function<bool(std::string_view event, std::string_view data)>& on_event) {
  auto parsed = parse_url(url);
  if (!parsed) return parsed.error();
  const Url& u = *parsed;
  const std::string where = u.origin() + u.target;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto failed = [&](std::string_view step, const error_code& ec) {
    return make_error(std::string(step) + " " + where + ": " +
                      describe_transport_error(ec, timeout));
  };

  net::io_context ioc;
  tcp::resolver resolver(ioc);
  error_code ec;
  std::vector<tcp::endpoint> endpoints;
  if (auto address = net::ip::make_address(u.host, ec); !ec) {
    endpoints.emplace_back(address, u.port);
  } else {
    auto results = resolver.resolve(u.host, std::to_string(u.port), ec);
    if (ec) return failed("resolve", ec);
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }

  beast::tcp_stream stream(ioc);
  stream.expires_at(deadline);
  ec = run_op(ioc, [&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
  if (ec) return failed("connect to", ec);
  sys::set_cloexec(stream.socket().native_handle());

  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, u.target, 11};
  req.set(bhttp::field::host, u.authority());
  req.set(bhttp::field::user_agent, kUserAgent);
  req.set(bhttp::field::accept, "text/event-stream");
  if (!bearer_token.empty()) {
    req.set(bhttp::field::authorization, "Bearer " + std::string(bearer_token));
  }
  ec = run_op(ioc, [&](auto handler) { bhttp::async_write(stream, req, std::move(handler)); });
  if (ec) return failed("send request to", ec);

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(boost::none);  // a stream has no end
  ec = run_op(ioc, [&](auto h) { bhttp::async_read_header(stream, buffer, parser, std::move(h)); });
  if (ec) return failed("read events from", ec);
  const auto& head = parser.get();
  if (head.result_int() != 200) {
    return make_error("GET " + where + ": HTTP " + std::to_string(head.result_int()));
  }
  if (!head[bhttp::field::content_type].starts_with("text/event-stream")) {
    return make_error("GET " + where + ": not an event stream (Content-Type: " +
                      std::string(head[bhttp::field::content_type]) + ")");
  }

  SseParser sse;
  std::array<char, 16 * 1024> chunk;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    ec = run_op(ioc, [&](auto h) { bhttp::async_read_some(stream, buffer, parser, std::move(h)); });
    if (ec == bhttp::error::need_buffer) ec = {};
    std::size_t n = chunk.size() - parser.get().body().size;
    if (!sse.feed(std::string_view(chunk.data(), n), on_event)) return Ok{};
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof) return Ok{};
    if (ec) return failed("read events from", ec);
    if (sse.buffered() > kMaxEventBytes) {
      return make_error("read events from " + where + ": event larger than " +
                        std::to_string(kMaxEventBytes) + " bytes");
    }
  }
  return Ok{};
}

}  // namespace rbee::http
