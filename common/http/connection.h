#pragma once
// The daemons' HTTP client: one kept-alive connection to one origin on the daemon's io_context.
// Plain http only for now. See docs/http.md.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/url.h"
#include "common/result.h"

namespace rbee::http {

struct ClientResponse {
  unsigned status = 0;
  std::string body;
  std::string content_type;
};

struct ClientOptions {
  std::chrono::milliseconds timeout{10000};  // per step: resolve, connect, write, read
  std::size_t max_response_bytes = 64 * 1024 * 1024;
};

// Async, for daemons: one kept-alive connection to one origin on the daemon's io_context.
// Requests are queued and sent one at a time; the connection is (re)opened on demand after an
// error or a close (an idle connection keeps a read pending, so a server closing it is noticed
// before the next request goes out); every step has options.timeout. At most kMaxPending requests
// wait behind the one in flight; beyond that the oldest waiting one completes with a "queue full"
// error. A request that fails because the server had closed the idle kept-alive connection is
// retried once on a fresh connection (when nothing was received yet and the method is idempotent or
// the request could not be written). `done` always runs later from the io_context, never inside
// request(). Hold the Connection in a shared_ptr; it stays alive while requests are pending and
// goes away (closing its socket) once its owner drops it while idle. An idle kept-alive connection
// keeps a read pending, so the io_context has work until close() or the server closes it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  static constexpr std::size_t kMaxPending = 8;
  using Done = std::function<void(rbee::Result<ClientResponse>)>;

  Connection(boost::asio::io_context& ioc, Url origin, ClientOptions options = {});
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void request(boost::beast::http::verb method, std::string target, std::string body,
               std::string bearer_token, Done done);
  // Fails the pending requests with "connection closed" and closes the socket; later requests
  // fail the same way.
  void close();

 private:
  enum class Step { resolve, connect, send, read };
  // The words error messages use for a step, before the origin: "send request to".
  static std::string_view step_words(Step step);

  struct Pending {
    boost::beast::http::request<boost::beast::http::string_body> req;
    Done done;
    bool retried = false;
  };

  void start_next();
  void do_resolve();
  void on_resolve(boost::system::error_code ec,
                  boost::asio::ip::tcp::resolver::results_type results);
  void do_connect(std::vector<boost::asio::ip::tcp::endpoint> endpoints);
  void connect_next(std::shared_ptr<std::vector<boost::asio::ip::tcp::endpoint>> endpoints,
                    std::size_t i);
  void on_connect(boost::system::error_code ec, const boost::asio::ip::tcp::endpoint&);
  void do_write();
  void on_write(boost::system::error_code ec, std::size_t);
  void do_read();
  void on_read(boost::system::error_code ec, std::size_t);
  void do_watch_idle();
  void on_watch_idle(boost::system::error_code ec, std::size_t);
  void fail(Step step, boost::system::error_code ec);
  void finish(rbee::Result<ClientResponse> result);
  void drop_socket();
  void complete_later(Done done, rbee::Result<ClientResponse> result);

  boost::asio::io_context& ioc_;
  Url origin_;
  ClientOptions options_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer resolve_timer_;
  std::optional<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
  std::deque<Pending> queue_;
  std::optional<Pending> current_;
  bool connected_ = false;
  bool reused_ = false;  // current_ is going out on a connection that served a request before
  bool busy_ = false;
  bool watching_ =
      false;  // a read is pending on the idle connection to notice the server closing it
  bool closed_ = false;
};

}  // namespace rbee::http
