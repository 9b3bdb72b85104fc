#include "common/http/server.h"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <limits>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "common/http/event_stream.h"
#include "common/sys/sock_diag.h"
#include "common/sys/tcp.h"
#include "common/sys/unique_fd.h"

namespace rbee::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

class Session;

struct Server::State {
  State(net::io_context& c, Router& r, Limits l, EdgePolicy p)
      : ioc(c), router(r), limits(l), policy(std::move(p)), acceptor(c), retry_timer(c) {}

  net::io_context& ioc;
  Router& router;
  Limits limits;
  EdgePolicy policy;
  tcp::acceptor acceptor;
  net::steady_timer retry_timer;  // backs off after accept errors such as EMFILE
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::atomic<std::size_t> count{0};
  std::size_t kept_bytes = 0;  // under kKeptTotalBytes; the io_context's thread only
  std::size_t streams = 0;     // event streams; the io_context's thread only
  std::unordered_map<std::string, std::size_t> streams_per_address;
  bool stopped = false;
};

namespace {

constexpr std::string_view kServerName = "rbee/" RBEE_VERSION;
// After an error response we stop sending and read (and drop) what the client still sends, for
// a short while, so that closing does not reset the connection before it has read the response.
constexpr std::size_t kLingerBytes = 256 * 1024;
constexpr std::chrono::milliseconds kLingerTime{1000};
// Reads start at 4 KiB. A connection that has sent a body bigger than that (a Hive pushing a
// snapshot of tens of KiB every tick) gets a 64 KiB buffer from then on, so that a body takes a
// read or two instead of one per 4 KiB.
constexpr std::size_t kSmallReadBytes = 4096;
constexpr std::size_t kLargeReadBytes = 64 * 1024;
// A request body's storage is kept for the connection's next request up to this size: a Hive
// sends bodies of about the same size each tick, and reusing the storage saves an allocation
// (and a free) of that size per request.
constexpr std::size_t kKeptBodyBytes = 1024 * 1024;
// What all connections together may keep between requests (large read buffers and kept body
// storage): beyond it a connection reads and allocates as a new one does. Without this cap 1024
// connections that each sent one large body would pin a gigabyte.
constexpr std::size_t kKeptTotalBytes = 32 * 1024 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

using Clock = std::chrono::steady_clock;

// What the per-address stream cap counts: an IPv4 address, or an IPv6 /64 (one host can hold a
// whole /64).
std::string address_key(const net::ip::address& a) {
  if (a.is_v4()) return a.to_string();
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return net::ip::address_v6(bytes).to_string() + "/64";
}

// The uid owning the client's end of this connection (both ends are on this host).
Result<uid_t> peer_socket_uid(tcp::endpoint peer, tcp::endpoint local) {
  if (peer.address().is_v6() && peer.address().to_v6().is_v4_mapped()) {
    peer = {net::ip::make_address_v4(net::ip::v4_mapped, peer.address().to_v6()), peer.port()};
    if (local.address().is_v6() && local.address().to_v6().is_v4_mapped())
      local = {net::ip::make_address_v4(net::ip::v4_mapped, local.address().to_v6()), local.port()};
  }
  return sys::tcp_socket_uid(peer.data(), local.data());
}

bool is_parse_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category();
}

bool status_has_no_body(unsigned status) {
  return status / 100 == 1 || status == 204 || status == 304;
}

std::shared_ptr<const std::string> keepalive_frame() {
  static const auto frame = std::make_shared<const std::string>(": keep-alive\n\n");
  return frame;
}

}  // namespace

// One connection: HTTP/1.1 requests one at a time, then optionally an SSE stream.
// Single-threaded io_context, so no strand: every handler and every Reply runs on its thread.
class Session : public EventSink, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Server::State> state)
      : stream_(std::move(socket)), state_(std::move(state)), keepalive_timer_(state_->ioc) {
    error_code ec;
    peer_ = stream_.socket().remote_endpoint(ec);
    local_ = stream_.socket().local_endpoint(ec);
    remote_ = peer_.address();
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }
  ~Session() override { close(); }

  void start() {
    state_->sessions.emplace(this, weak_from_this());
    ++state_->count;
    registered_ = true;
    do_read();
  }

  // Which connection to close when the cap is reached: only idle ones and unauthenticated
  // streams qualify; the smaller rank goes first (nullopt: keep).
  std::optional<std::pair<int, Clock::time_point>> eviction_rank() const {
    if (closed_) return std::nullopt;
    const bool idle =
        phase_ == Phase::idle || phase_ == Phase::reading_head || phase_ == Phase::lingering;
    const bool weak_stream = phase_ == Phase::streaming && !authenticated_;
    if (!idle && !weak_stream) return std::nullopt;
    return std::pair{ever_authenticated_ ? 1 : 0, phase_since_};
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    release_kept(kept_bytes_);
    spare_body_ = std::string();
    if (registered_) {
      state_->sessions.erase(this);
      --state_->count;
    }
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    keepalive_timer_.cancel();
    if (hub_) hub_->detach(this);
    if (counted_stream_) {
      counted_stream_ = false;
      --state_->streams;
      auto it = state_->streams_per_address.find(address_key(remote_));
      if (it != state_->streams_per_address.end() && --it->second == 0)
        state_->streams_per_address.erase(it);
    }
  }

  bool deliver(const std::shared_ptr<const std::string>& frame) override {
    if (closed_) return false;
    if (queued_bytes_ + frame->size() > state_->limits.sse_max_queued_bytes) {
      spdlog::debug("http: dropping SSE client {}: {} bytes queued", remote_.to_string(),
                    queued_bytes_);
      close();
      return false;
    }
    queue_.push_back({frame, true});
    queued_bytes_ += frame->size();
    do_sse_write();
    return true;
  }

 private:
  struct Frame {
    std::shared_ptr<const std::string> data;
    bool counted;  // counts against sse_max_queued_bytes (the initial snapshot does not)
  };

  enum class Phase { reading_head, reading_body, handling, writing, idle, lingering, streaming };

  const Limits& limits() const { return state_->limits; }

  void enter(Phase p) {
    phase_ = p;
    phase_since_ = Clock::now();
  }

  // --- HTTP requests -------------------------------------------------------------------------

  bool take_kept(std::size_t bytes) {
    if (state_->kept_bytes + bytes > kKeptTotalBytes) return false;
    state_->kept_bytes += bytes;
    kept_bytes_ += bytes;
    return true;
  }
  void release_kept(std::size_t bytes) {
    bytes = std::min(bytes, kept_bytes_);
    state_->kept_bytes -= bytes;
    kept_bytes_ -= bytes;
  }

  void do_read() {
    cors_origin_.clear();  // an error before the next head must not carry this one's origin
    parser_.emplace();
    if (spare_body_.capacity()) {
      release_kept(spare_body_.capacity());
      parser_->get().body() = std::move(spare_body_);
    }
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        limits().max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(static_cast<std::uint64_t>(limits().max_body_bytes));
    if (first_request_ || buffer_.size() > 0) {
      first_request_ = false;
      return do_read_request();
    }
    // Between keep-alive requests wait idle_timeout for the first byte; from then on the whole
    // request must arrive within read_timeout.
    enter(Phase::idle);
    stream_.expires_after(limits().idle_timeout);
    stream_.async_read_some(buffer_.prepare(std::max(kSmallReadBytes, buffer_.capacity())),
                            beast::bind_front_handler(&Session::on_idle, shared_from_this()));
  }

  void on_idle(error_code ec, std::size_t n) {
    if (ec || closed_) return close();
    buffer_.commit(n);
    do_read_request();
  }

  void do_read_request() {
    enter(Phase::reading_head);
    stream_.expires_after(limits().read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  // The head is complete: decide what the edge policy can from it, before any body is read.
  void on_header(error_code ec, std::size_t n) {
    if (closed_) return;
    if (ec) return on_read(ec, n);
    const auto& msg = parser_->get();
    req_ = Request{};
    req_.method = msg.method();
    req_.authorization = std::string(msg[bhttp::field::authorization]);
    req_.content_type = std::string(msg[bhttp::field::content_type]);
    req_.host = std::string(msg[bhttp::field::host]);
    req_.origin = std::string(msg["Origin"]);
    req_.sec_fetch_site = std::string(msg["Sec-Fetch-Site"]);
    req_.last_event_id = std::string(msg["Last-Event-ID"]);
    cors_origin_ = state_->policy.is_cors_origin(req_.origin) ? req_.origin : std::string();
    req_.has_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    req_.remote = remote_;
    req_.peer = peer_;
    req_.local = local_;
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    if (auto st = set_target(req_, std::string(msg.target())); !st) {
      keep_alive_ = false;
      return on_reply(json_error(400, st.error().message));
    }
    if (req_.method == bhttp::verb::options && !req_.origin.empty()) {
      auto r = preflight_response(state_->policy, req_);
      keep_alive_ = keep_alive_ && !req_.has_body && r.status == 204;
      return on_reply(std::move(r));
    }
    const Access access = state_->router.access(req_);
    Verdict verdict = check_request(state_->policy, access, req_, [this]() -> Result<uid_t> {
      if (!peer_uid_) peer_uid_ = peer_socket_uid(peer_, local_);
      return *peer_uid_;
    });
    authenticated_ = verdict.authenticated;
    ever_authenticated_ = ever_authenticated_ || authenticated_;
    if (verdict.refusal) {
      spdlog::debug("http: {} {} from {} refused ({}): {}", bhttp::to_string(req_.method),
                    req_.path, remote_.to_string(), verdict.reason, verdict.refusal->body);
      keep_alive_ = false;
      return on_reply(std::move(*verdict.refusal));
    }
    if (parser_->is_done()) return on_read({}, 0);
    enter(Phase::reading_body);
    if (beast::iequals(msg[bhttp::field::expect], "100-continue")) {
      return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                              [self = shared_from_this()](error_code wec, std::size_t) {
                                if (wec || self->closed_) return self->close();
                                self->do_read_body();
                              });
    }
    do_read_body();
  }

  void do_read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (closed_) return;
    if (ec == bhttp::error::body_limit) return reply_and_close(413, "request body too large");
    if (ec == bhttp::error::header_limit) return reply_and_close(431, "request header too large");
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) return close();
    if (ec && is_parse_error(ec)) return reply_and_close(400, "malformed request");
    if (ec) return close();  // timeout, reset, ...

    auto msg = parser_->release();
    if (msg.body().size() > kSmallReadBytes && buffer_.capacity() < kLargeReadBytes &&
        take_kept(kLargeReadBytes))
      buffer_.reserve(kLargeReadBytes);
    Request req = std::move(req_);
    req.body = std::move(msg.body());
    enter(Phase::handling);
    dispatch(req);
    // Handlers copy what they keep: the body's storage can serve the next request.
    if (req.body.capacity() > kSmallReadBytes && req.body.capacity() <= kKeptBodyBytes &&
        take_kept(req.body.capacity())) {
      spare_body_ = std::move(req.body);
      spare_body_.clear();
    }
  }

  void dispatch(Request& req) {
    auto called = std::make_shared<bool>(false);
    Reply reply = [self = shared_from_this(), called](Response r) {
      if (std::exchange(*called, true)) return;
      self->on_reply(std::move(r));
    };
    try {
      state_->router.dispatch(req, reply);
    } catch (const std::exception& e) {
      spdlog::debug("http: handler for {} threw: {}", req.path, e.what());
      reply(json_error(500, "internal error"));
    } catch (...) {
      spdlog::debug("http: handler for {} threw", req.path);
      reply(json_error(500, "internal error"));
    }
  }

  void on_reply(Response r) {
    if (closed_) return;
    if (!cors_origin_.empty()) add_cors_headers(state_->policy, cors_origin_, r);
    if (r.stream) return start_sse(std::move(r));
    enter(Phase::writing);
    res_ = {};
    res_.version(version_);
    res_.result(r.status);
    res_.set(bhttp::field::server, kServerName);
    res_.set(bhttp::field::content_type, r.content_type);
    res_.set(bhttp::field::cache_control, "no-store");
    for (auto& [name, value] : r.headers) res_.insert(name, value);
    if (!status_has_no_body(r.status)) res_.body() = std::move(r.body);
    res_.keep_alive(keep_alive_);
    res_.prepare_payload();
    do_write(!keep_alive_);
  }

  void reply_and_close(unsigned status, std::string_view message) {
    reply_and_close(json_error(status, message));
  }
  void reply_and_close(Response r) {
    keep_alive_ = false;
    version_ = 11;
    on_reply(std::move(r));
  }

  void do_write(bool close_after) {
    stream_.expires_after(limits().write_timeout);
    bhttp::async_write(
        stream_, res_,
        beast::bind_front_handler(&Session::on_write, shared_from_this(), close_after));
  }

  void on_write(bool close_after, error_code ec, std::size_t) {
    if (ec || closed_) return close();
    res_ = {};
    if (close_after) return do_linger();
    do_read();
  }

  void do_linger() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    enter(Phase::lingering);
    stream_.expires_after(std::min(kLingerTime, limits().read_timeout));
    on_linger({}, 0);
  }

  void on_linger(error_code ec, std::size_t n) {
    lingered_ += n;
    // A body refused from its head may still be on its way: drop up to a body's worth (within
    // kLingerTime) so that the client reads the answer rather than a reset.
    if (ec || closed_ || lingered_ > std::max(kLingerBytes, limits().max_body_bytes))
      return close();
    stream_.async_read_some(net::buffer(scratch_),
                            beast::bind_front_handler(&Session::on_linger, shared_from_this()));
  }

  // --- Server-Sent Events --------------------------------------------------------------------

  // The stream caps (Limits::max_streams*): nullopt when this stream may start.
  std::optional<Response> stream_refusal() {
    const std::string key = address_key(remote_);
    if (state_->streams >= limits().max_streams && !(authenticated_ && evict_stream(nullptr))) {
      auto r = json_error(503, "too many event streams (" + std::to_string(limits().max_streams) +
                                   " open, the server's max_streams); try again later");
      r.headers.emplace_back("Retry-After", "10");
      return r;
    }
    auto it = state_->streams_per_address.find(key);
    if (it != state_->streams_per_address.end() && it->second >= limits().max_streams_per_address &&
        !(authenticated_ && evict_stream(&key))) {
      auto r = json_error(429, "too many event streams from " + key + " (" +
                                   std::to_string(limits().max_streams_per_address) +
                                   ", the server's max_streams_per_address); close one first");
      r.headers.emplace_back("Retry-After", "10");
      return r;
    }
    return std::nullopt;
  }

  // Ends the oldest stream without the token (from address `key` when given).
  bool evict_stream(const std::string* key) {
    std::shared_ptr<Session> oldest;
    for (auto& [ptr, weak] : state_->sessions) {
      auto s = weak.lock();
      if (!s || s->closed_ || !s->counted_stream_ || s->authenticated_) continue;
      if (key && address_key(s->remote_) != *key) continue;
      if (!oldest || s->phase_since_ < oldest->phase_since_) oldest = s;
    }
    if (!oldest) return false;
    spdlog::debug("http: closing the event stream of {} for one with the token",
                  oldest->remote_.to_string());
    oldest->close();
    return true;
  }

  void start_sse(Response r) {
    if (auto refusal = stream_refusal()) return reply_and_close(std::move(*refusal));
    enter(Phase::streaming);
    counted_stream_ = true;
    ++state_->streams;
    ++state_->streams_per_address[address_key(remote_)];
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " ";
    head += bhttp::obsolete_reason(bhttp::int_to_status(r.status));
    head += "\r\nServer: ";
    head += kServerName;
    head +=
        "\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\n";
    for (auto& [name, value] : r.headers) head += name + ": " + value + "\r\n";
    head += "\r\n";
    head += r.body;
    queue_.push_back({std::make_shared<const std::string>(std::move(head)), false});
    hub_ = std::move(r.stream);
    hub_->attach(shared_from_this());
    do_sse_read();
    arm_keepalive();
    do_sse_write();
  }

  // Keep a read pending to notice the client going away; whatever it sends is dropped.
  void do_sse_read() {
    stream_.expires_never();
    stream_.async_read_some(net::buffer(scratch_),
                            beast::bind_front_handler(&Session::on_sse_read, shared_from_this()));
  }

  void on_sse_read(error_code ec, std::size_t) {
    if (ec || closed_) return close();
    do_sse_read();
  }

  void do_sse_write() {
    if (writing_ || queue_.empty() || closed_) return;
    in_flight_.assign(std::make_move_iterator(queue_.begin()),
                      std::make_move_iterator(queue_.end()));
    queue_.clear();
    write_buffers_.clear();
    for (const Frame& f : in_flight_) write_buffers_.push_back(net::buffer(*f.data));
    writing_ = true;
    stream_.expires_after(limits().write_timeout);
    net::async_write(stream_, write_buffers_,
                     beast::bind_front_handler(&Session::on_sse_write, shared_from_this()));
  }

  void on_sse_write(error_code ec, std::size_t) {
    writing_ = false;
    for (const Frame& f : in_flight_) {
      if (f.counted) queued_bytes_ -= f.data->size();
    }
    in_flight_.clear();
    if (ec || closed_) return close();
    do_sse_write();
  }

  void arm_keepalive() {
    keepalive_timer_.expires_after(limits().sse_keepalive);
    keepalive_timer_.async_wait([weak = weak_from_this()](error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed_) return;
      if (!self->writing_ && self->queue_.empty()) self->deliver(keepalive_frame());
      self->arm_keepalive();
    });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<Server::State> state_;
  tcp::endpoint peer_;
  tcp::endpoint local_;
  net::ip::address remote_;
  bool registered_ = false;
  bool closed_ = false;
  Phase phase_ = Phase::reading_head;
  Clock::time_point phase_since_ = Clock::now();
  bool authenticated_ = false;             // the current request (or stream) carries the token
  bool ever_authenticated_ = false;        // some request on this connection did
  bool counted_stream_ = false;            // counted in State::streams
  std::optional<Result<uid_t>> peer_uid_;  // looked up once per connection, when needed
  std::string cors_origin_;  // the current request's Origin when it is one of cors_origins
  Request req_;              // the head of the request being read

  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string spare_body_;      // storage of the last request's body, for the next one
  std::size_t kept_bytes_ = 0;  // this session's share of State::kept_bytes
  bhttp::response<bhttp::string_body> res_;
  bool first_request_ = true;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  std::size_t lingered_ = 0;
  std::array<char, 4096> scratch_{};

  std::shared_ptr<EventStream> hub_;
  std::deque<Frame> queue_;
  std::vector<Frame> in_flight_;
  std::vector<net::const_buffer> write_buffers_;
  std::size_t queued_bytes_ = 0;  // queued + in flight, counted frames only
  bool writing_ = false;
  net::steady_timer keepalive_timer_;
};

namespace {

void do_accept(const std::shared_ptr<Server::State>& st);

// At the connection cap: closes the connection that matters least (Session::eviction_rank).
bool evict_idle(Server::State& st) {
  std::shared_ptr<Session> victim;
  std::pair<int, Clock::time_point> best{};
  for (auto& [ptr, weak] : st.sessions) {
    auto s = weak.lock();
    if (!s) continue;
    auto rank = s->eviction_rank();
    if (rank && (!victim || *rank < best)) {
      victim = s;
      best = *rank;
    }
  }
  if (!victim) return false;
  victim->close();
  return true;
}

void on_accept(const std::shared_ptr<Server::State>& st, error_code ec, tcp::socket socket) {
  if (st->stopped || !st->acceptor.is_open()) return;
  if (ec) {
    if (ec == net::error::operation_aborted) return;
    spdlog::debug("http: accept: {}", ec.message());
    st->retry_timer.expires_after(std::chrono::milliseconds(100));
    st->retry_timer.async_wait([st](error_code wait_ec) {
      if (!wait_ec) do_accept(st);
    });
    return;
  }
  if (st->count.load() >= st->limits.max_connections && !evict_idle(*st)) {
    error_code ignored;
    socket.close(ignored);
  } else {
    std::make_shared<Session>(std::move(socket), st)->start();
  }
  do_accept(st);
}

// accept4 with SOCK_CLOEXEC rather than Asio's accept: the socket is close-on-exec from birth.
void do_accept(const std::shared_ptr<Server::State>& st) {
  st->acceptor.async_wait(tcp::acceptor::wait_read, [st](error_code ec) {
    tcp::socket socket(st->ioc);
    if (!ec && !st->stopped && st->acceptor.is_open()) {
      int err = 0;
      sys::UniqueFd fd = sys::accept_stream(st->acceptor.native_handle(), &err);
      if (!fd && sys::is_transient_accept_error(err))
        return do_accept(st);  // a connection that went again, or a spurious wake-up
      if (!fd) {
        ec = error_code(err, boost::system::system_category());
      } else {
        auto local = st->acceptor.local_endpoint(ec);
        if (!ec) socket.assign(local.protocol(), fd.get(), ec);
        if (!ec) fd.release();  // the socket owns it now
      }
    }
    on_accept(st, ec, std::move(socket));
  });
}

std::string to_string(const tcp::endpoint& ep) {
  std::ostringstream out;
  out << ep;
  return out.str();
}

}  // namespace

ConnectionBudget connection_budget(std::size_t configured, std::optional<uint64_t> fd_limit,
                                   uint64_t reserve) {
  if (!fd_limit) return {configured, false};
  constexpr uint64_t kFloor = 16;
  const uint64_t room = *fd_limit > reserve + kFloor ? *fd_limit - reserve : kFloor;
  if (configured <= room) return {configured, false};
  return {static_cast<std::size_t>(room), true};
}

Server::Server(net::io_context& ioc, Router& router, Limits limits, EdgePolicy policy)
    : state_(std::make_shared<State>(ioc, router, limits, std::move(policy))) {}

Server::~Server() {
  stop();
}

rbee::Status Server::listen(const tcp::endpoint& endpoint) {
  auto& acceptor = state_->acceptor;
  error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) sys::set_cloexec(acceptor.native_handle());
  if (!ec) acceptor.non_blocking(true, ec);  // accept4 after a wake-up must never wait
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    acceptor.close(ignored);
    return make_error("listen on " + to_string(endpoint) + ": " + ec.message());
  }
  state_->stopped = false;
  do_accept(state_);
  return Ok{};
}

tcp::endpoint Server::local_endpoint() const {
  error_code ec;
  return state_->acceptor.local_endpoint(ec);
}

void Server::stop() {
  state_->stopped = true;
  error_code ec;
  state_->acceptor.close(ec);
  state_->retry_timer.cancel();
  std::vector<std::weak_ptr<Session>> sessions;
  for (auto& [ptr, weak] : state_->sessions) sessions.push_back(weak);
  for (auto& weak : sessions) {
    if (auto s = weak.lock()) s->close();
  }
}

std::size_t Server::connection_count() const {
  return state_->count.load();
}

std::size_t Server::stream_count() const {
  return state_->streams;
}

}  // namespace rbee::http
