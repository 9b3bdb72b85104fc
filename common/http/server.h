#pragma once
// The HTTP/1.1 server both daemons embed: async Beast sessions on the daemon's one io_context,
// bounded in size, time and connection count. See docs/http.md.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include "common/http/edge_policy.h"
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
  // At the cap a new connection closes the oldest idle one (keep-alive wait, headers not yet
  // complete, lingering) or the oldest unauthenticated event stream; only when there is none is
  // the new one closed at once. Connections that carried the token go last.
  std::size_t max_connections = 1024;
  // Event streams in all and per client address (an IPv6 /64 counts as one): beyond, 503 and 429.
  // A stream with the token instead ends the oldest stream without it.
  std::size_t max_streams = 64;
  std::size_t max_streams_per_address = 8;
  // An SSE client that falls this far behind is disconnected.
  std::size_t sse_max_queued_bytes = 4 * 1024 * 1024;
  std::chrono::milliseconds sse_keepalive{15000};  // ": keep-alive\n\n" comment
};

// The connections a daemon can hold: `configured`, lowered so that they and the `reserve` of
// files the daemon needs besides fit in the open-file limit (at least 16). `lowered` tells the
// caller to say so.
struct ConnectionBudget {
  std::size_t connections = 0;
  bool lowered = false;
};
ConnectionBudget connection_budget(std::size_t configured, std::optional<uint64_t> fd_limit,
                                   uint64_t reserve);

class Server {
 public:
  // The router must outlive the server; handlers run on ioc's thread. Each request's head is
  // checked against policy for its route's Access before its body is read.
  Server(boost::asio::io_context& ioc, Router& router, Limits limits = {}, EdgePolicy policy = {});
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
  // Open event streams (the io_context's thread).
  std::size_t stream_count() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace rbee::http
