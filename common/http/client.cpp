#include "common/http/client.h"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "common/sys/tcp.h"
#include "common/sys/unique_fd.h"

namespace rbee::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kMaxUrlLength = 2048;
constexpr std::size_t kMaxEventBytes = 16 * 1024 * 1024;
constexpr std::string_view kUserAgent = "rbee/" RBEE_VERSION;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// One line describing a transport error, with the timeout spelled out.
std::string describe(const error_code& ec, std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout)
    return "timed out after " + std::to_string(timeout.count()) + " ms";
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
      ec == net::error::eof) {
    return "connection closed by the server";
  }
  return ec.message();
}

bool is_idempotent(bhttp::verb v) {
  return v == bhttp::verb::get || v == bhttp::verb::head || v == bhttp::verb::put ||
         v == bhttp::verb::delete_ || v == bhttp::verb::options;
}

// A kept-alive connection the server closed while idle shows up as one of these.
bool is_stale_connection_error(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

std::string host_header(const Url& u) {
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  return host + ":" + std::to_string(u.port);
}

}  // namespace

// --- URLs ---------------------------------------------------------------------------------------

std::string Url::origin() const {
  return scheme + "://" + host_header(*this);
}

rbee::Result<Url> parse_url(std::string_view s) {
  if (s.size() > kMaxUrlLength) {
    return make_error("URL longer than " + std::to_string(kMaxUrlLength) + " characters");
  }
  std::string quoted = "'" + std::string(s) + "'";
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return make_error("URL contains a space or control character");
  }
  auto sep = s.find("://");
  if (sep == std::string_view::npos) {
    return make_error("URL " + quoted + " has no scheme (expected http://host:port)");
  }
  Url u;
  u.scheme = lower(s.substr(0, sep));
  if (u.scheme == "https") return make_error("URL " + quoted + ": https is not supported yet");
  if (u.scheme != "http") {
    return make_error("URL " + quoted + ": unsupported scheme '" + u.scheme + "'");
  }
  std::string_view rest = s.substr(sep + 3);
  rest = rest.substr(0, rest.find('#'));
  auto end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  if (end != std::string_view::npos) {
    u.target = std::string(rest.substr(end));
    if (u.target.front() == '?') u.target.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) {
    return make_error("URL " + quoted + ": user info is not supported");
  }

  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error("URL " + quoted + ": unclosed '['");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return make_error("URL " + quoted + ": junk after ']'");
      port = after.substr(1);
    }
    error_code ec;
    net::ip::make_address_v6(std::string(host), ec);
    if (ec) return make_error("URL " + quoted + ": bad IPv6 address");
  } else {
    auto colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (!std::all_of(host.begin(), host.end(), valid_host_char)) {
      return make_error("URL " + quoted + ": bad host (IPv6 addresses need [brackets])");
    }
  }
  if (host.empty()) return make_error("URL " + quoted + " has no host");
  u.host = std::string(host);

  if (port) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
    if (port->empty() || port->size() > 5 || ec != std::errc{} ||
        ptr != port->data() + port->size() || value == 0 || value > 65535) {
      return make_error("URL " + quoted + ": bad port");
    }
    u.port = static_cast<uint16_t>(value);
  }
  return u;
}

// --- Connection ---------------------------------------------------------------------------------

Connection::Connection(net::io_context& ioc, Url origin, ClientOptions options)
    : ioc_(ioc),
      origin_(std::move(origin)),
      options_(options),
      resolver_(ioc),
      resolve_timer_(ioc) {}

void Connection::request(bhttp::verb method, std::string target, std::string body,
                         std::string bearer_token, Done done) {
  if (closed_) {
    return complete_later(std::move(done), make_error(origin_.origin() + ": connection closed"));
  }
  Pending p;
  p.req.method(method);
  p.req.target(target.empty() ? "/" : target);
  p.req.version(11);
  p.req.set(bhttp::field::host, host_header(origin_));
  p.req.set(bhttp::field::user_agent, kUserAgent);
  if (!bearer_token.empty()) p.req.set(bhttp::field::authorization, "Bearer " + bearer_token);
  if (!body.empty()) p.req.set(bhttp::field::content_type, "application/json");
  p.req.body() = std::move(body);
  p.req.keep_alive(true);
  p.req.prepare_payload();
  p.done = std::move(done);
  queue_.push_back(std::move(p));
  if (queue_.size() > kMaxPending) {
    Pending oldest = std::move(queue_.front());
    queue_.pop_front();
    complete_later(std::move(oldest.done),
                   make_error(std::string(bhttp::to_string(oldest.req.method())) + " " +
                              origin_.origin() + std::string(oldest.req.target()) +
                              ": queue full (" + std::to_string(kMaxPending) + " pending)"));
  }
  start_next();
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  resolver_.cancel();
  resolve_timer_.cancel();
  drop_socket();
  // Handlers still in flight see closed_ and return; they may still use current_->req.
  if (current_ && current_->done) {
    complete_later(std::exchange(current_->done, nullptr),
                   make_error(origin_.origin() + ": connection closed"));
  }
  while (!queue_.empty()) {
    complete_later(std::move(queue_.front().done),
                   make_error(origin_.origin() + ": connection closed"));
    queue_.pop_front();
  }
}

void Connection::start_next() {
  if (busy_ || queue_.empty() || closed_) return;
  if (watching_) {
    stream_->cancel();  // on_watch_idle comes back here
    return;
  }
  current_.emplace(std::move(queue_.front()));
  queue_.pop_front();
  busy_ = true;
  reused_ = connected_;
  if (connected_) return do_write();
  do_resolve();
}

void Connection::do_resolve() {
  error_code ec;
  auto address = net::ip::make_address(origin_.host, ec);
  if (!ec) return do_connect({tcp::endpoint(address, origin_.port)});
  resolve_timer_.expires_after(options_.timeout);
  resolve_timer_.async_wait([weak = weak_from_this()](error_code wait_ec) {
    if (auto self = weak.lock(); self && !wait_ec) self->resolver_.cancel();
  });
  resolver_.async_resolve(origin_.host, std::to_string(origin_.port),
                          beast::bind_front_handler(&Connection::on_resolve, shared_from_this()));
}

void Connection::on_resolve(error_code ec, tcp::resolver::results_type results) {
  if (closed_) return;
  bool timed_out = resolve_timer_.expiry() <= std::chrono::steady_clock::now();
  resolve_timer_.cancel();
  if (ec == net::error::operation_aborted && timed_out) ec = beast::error::timeout;
  if (ec) return fail(Step::resolve, ec);
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  do_connect(std::move(endpoints));
}

void Connection::do_connect(std::vector<tcp::endpoint> endpoints) {
  stream_.emplace(ioc_);
  buffer_.clear();
  stream_->expires_after(options_.timeout);
  if (endpoints.empty()) return on_connect(net::error::host_not_found, {});
  connect_next(std::make_shared<std::vector<tcp::endpoint>>(std::move(endpoints)), 0);
}

// Each address in turn, on a socket opened here with SOCK_CLOEXEC (Asio's own lacks it), within
// the one timeout set above.
void Connection::connect_next(std::shared_ptr<std::vector<tcp::endpoint>> endpoints,
                              std::size_t i) {
  const auto& ep = (*endpoints)[i];
  auto& socket = stream_->socket();
  error_code ec;
  if (socket.is_open()) socket.close(ec);
  int err = 0;
  sys::UniqueFd fd =
      sys::open_stream_socket(ep.protocol().family(), ep.protocol().protocol(), &err);
  if (!fd) return on_connect(error_code(err, boost::system::system_category()), ep);
  socket.assign(ep.protocol(), fd.get(), ec);
  if (ec) return on_connect(ec, ep);
  fd.release();  // the socket owns it now
  stream_->async_connect(ep, [self = shared_from_this(), endpoints, i](error_code ec) {
    const bool more = i + 1 < endpoints->size();
    if (ec && more && !self->closed_ && ec != beast::error::timeout &&
        ec != net::error::operation_aborted)
      return self->connect_next(endpoints, i + 1);
    self->on_connect(ec, (*endpoints)[i]);
  });
}

void Connection::on_connect(error_code ec, const tcp::endpoint&) {
  if (closed_) return;
  if (ec) return fail(Step::connect, ec);
  connected_ = true;
  stream_->socket().set_option(tcp::no_delay(true), ec);
  do_write();
}

void Connection::do_write() {
  parser_.reset();
  stream_->expires_after(options_.timeout);
  bhttp::async_write(*stream_, current_->req,
                     beast::bind_front_handler(&Connection::on_write, shared_from_this()));
}

void Connection::on_write(error_code ec, std::size_t) {
  if (closed_) return;
  if (ec) return fail(Step::send, ec);
  do_read();
}

void Connection::do_read() {
  parser_.emplace();
  parser_->body_limit(static_cast<std::uint64_t>(options_.max_response_bytes));
  stream_->expires_after(options_.timeout);
  bhttp::async_read(*stream_, buffer_, *parser_,
                    beast::bind_front_handler(&Connection::on_read, shared_from_this()));
}

void Connection::on_read(error_code ec, std::size_t) {
  if (closed_) return;
  if (ec) return fail(Step::read, ec);
  auto msg = parser_->release();
  ClientResponse r;
  r.status = msg.result_int();
  r.content_type = std::string(msg[bhttp::field::content_type]);
  r.body = std::move(msg.body());
  if (!msg.keep_alive()) drop_socket();
  finish(std::move(r));
}

void Connection::do_watch_idle() {
  if (!connected_ || busy_ || watching_ || closed_) return;
  watching_ = true;
  stream_->expires_never();
  // Only a weak reference: an idle Connection its owner dropped goes away (closing the socket).
  auto byte = std::make_shared<char>();
  stream_->async_read_some(net::buffer(byte.get(), 1),
                           [weak = weak_from_this(), byte](error_code ec, std::size_t n) {
                             if (auto self = weak.lock()) self->on_watch_idle(ec, n);
                           });
}

void Connection::on_watch_idle(error_code ec, std::size_t) {
  watching_ = false;
  if (closed_) return;
  // EOF, a reset or bytes nobody asked for: this connection is done; the next request reconnects.
  if (ec != net::error::operation_aborted) drop_socket();
  start_next();
}

std::string_view Connection::step_words(Step step) {
  switch (step) {
    case Step::resolve:
      return "resolve";
    case Step::connect:
      return "connect to";
    case Step::send:
      return "send request to";
    case Step::read:
      return "read response from";
  }
  return "request";
}

void Connection::fail(Step step, error_code ec) {
  bool nothing_received = !parser_ || !parser_->got_some();
  bool retry = reused_ && !current_->retried && nothing_received && is_stale_connection_error(ec) &&
               (step == Step::send || is_idempotent(current_->req.method()));
  drop_socket();
  if (retry) {
    current_->retried = true;
    reused_ = false;
    return do_resolve();
  }
  finish(make_error(std::string(step_words(step)) + " " + origin_.origin() + ": " +
                    describe(ec, options_.timeout)));
}

void Connection::finish(rbee::Result<ClientResponse> result) {
  Done done = std::move(current_->done);
  current_.reset();
  parser_.reset();
  busy_ = false;
  if (done) done(std::move(result));
  start_next();
  do_watch_idle();
}

void Connection::drop_socket() {
  if (stream_) {
    error_code ec;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_->close();
  }
  connected_ = false;
  buffer_.clear();
}

void Connection::complete_later(Done done, rbee::Result<ClientResponse> result) {
  if (!done) return;
  net::post(ioc_, [done = std::move(done), result = std::move(result)]() mutable {
    done(std::move(result));
  });
}

// --- Blocking helpers ---------------------------------------------------------------------------

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

namespace {

// Runs one async operation on a private io_context to its end and returns its error.
template <class Start>
error_code run_op(net::io_context& ioc, Start&& start) {
  error_code result;
  start([&result](error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

// Incremental text/event-stream parser (WHATWG "event stream interpretation", minus id/retry).
class SseParser {
 public:
  using Emit = std::function<bool(std::string_view, std::string_view)>;

  // Returns false once emit() has returned false.
  bool feed(std::string_view bytes, const Emit& emit) {
    pending_.append(bytes);
    std::size_t start = 0;
    bool go_on = true;
    while (go_on) {
      auto eol = pending_.find_first_of("\r\n", start);
      if (eol == std::string::npos) break;
      std::size_t next = eol + 1;
      if (pending_[eol] == '\r') {
        if (next == pending_.size()) break;  // wait: a '\n' may follow
        if (pending_[next] == '\n') ++next;
      }
      go_on = line(std::string_view(pending_).substr(start, eol - start), emit);
      start = next;
    }
    pending_.erase(0, start);
    return go_on;
  }

  std::size_t buffered() const { return pending_.size() + data_.size(); }

 private:
  bool line(std::string_view l, const Emit& emit) {
    if (l.empty()) {
      bool go_on = true;
      if (has_data_) {
        std::string_view data = data_;
        if (!data.empty()) data.remove_suffix(1);  // the last '\n'
        go_on = emit(event_.empty() ? std::string_view("message") : std::string_view(event_), data);
      }
      event_.clear();
      data_.clear();
      has_data_ = false;
      return go_on;
    }
    if (l.front() == ':') return true;  // comment (keep-alive)
    auto colon = l.find(':');
    std::string_view field = l.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "event") {
      event_ = std::string(value);
    } else if (field == "data") {
      data_.append(value);
      data_.push_back('\n');
      has_data_ = true;
    }
    return true;
  }

  std::string pending_;
  std::string event_;
  std::string data_;
  bool has_data_ = false;
};

}  // namespace

rbee::Status read_event_stream(
    std::string_view url, std::string_view bearer_token, std::chrono::milliseconds timeout,
    const std::function<bool(std::string_view event, std::string_view data)>& on_event) {
  auto parsed = parse_url(url);
  if (!parsed) return parsed.error();
  const Url& u = *parsed;
  const std::string where = u.origin() + u.target;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto failed = [&](std::string_view step, const error_code& ec) {
    return make_error(std::string(step) + " " + where + ": " + describe(ec, timeout));
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
  req.set(bhttp::field::host, host_header(u));
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
