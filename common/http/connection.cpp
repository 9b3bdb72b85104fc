#include "common/http/connection.h"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/http/client_transport.h"
#include "common/sys/tcp.h"
#include "common/sys/unique_fd.h"

namespace rbee::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

bool is_idempotent(bhttp::verb v) {
  return v == bhttp::verb::get || v == bhttp::verb::head || v == bhttp::verb::put ||
         v == bhttp::verb::delete_ || v == bhttp::verb::options;
}

}  // namespace

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
  p.req.set(bhttp::field::host, origin_.authority());
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
                    describe_transport_error(ec, options_.timeout)));
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

}  // namespace rbee::http
