#pragma once
// The HTTP/1.1 server both daemons embed: async Beast sessions on the daemon's one io_context,
// bounded in size, time and connection count. See docs/http.md.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

#include "common/http/router.h"
#include "common/result.h"

namespace rbee::http {

struct Limits {
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  // A whole request (headers + body) must arrive within this: slowloris defence.
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive idle
  std::chrono::milliseconds write_timeout{10000};
  std::size_t max_connections = 1024;  // beyond: accept and close at once
  // An SSE client that falls this far behind is disconnected.
  std::size_t sse_max_queued_bytes = 4 * 1024 * 1024;
  std::chrono::milliseconds sse_keepalive{15000};  // ": keep-alive\n\n" comment
};

class Server {
 public:
  // The router must outlive the server; handlers run on ioc's thread.
  Server(boost::asio::io_context& ioc, Router& router, Limits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // bind + listen (SO_REUSEADDR), then accept. The error message names the address.
  rbee::Status listen(const boost::asio::ip::tcp::endpoint& endpoint);
  // The bound address (the real port when listening on port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Closes the acceptor and every session, SSE streams included.
  void stop();
  // Open connections; safe to read from any thread.
  std::size_t connection_count() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace rbee::http
