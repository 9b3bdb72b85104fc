// A real Server on 127.0.0.1, port 0, its io_context on a background thread; the test thread
// talks to it with the blocking client, an async Connection on its own io_context, or raw
// sockets for the misbehaving-client cases.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <future>
#include <thread>

#include "common/http/client.h"
#include "common/http/event_stream.h"
#include "common/http/server.h"

using namespace rbee::http;
using namespace std::chrono_literals;
namespace net = boost::asio;
using boost::beast::http::verb;
using Clock = std::chrono::steady_clock;

namespace {

struct TestServer {
  explicit TestServer(Limits limits = {}) : server(ioc, router, limits) {}

  ~TestServer() {
    if (thread.joinable()) {
      net::post(ioc, [this] {
        server.stop();
        work.reset();
      });
      thread.join();
    }
  }

  void start() {
    auto st = server.listen({net::ip::make_address("127.0.0.1"), 0});
    REQUIRE(st.ok());
    port = server.local_endpoint().port();
    REQUIRE(port != 0);
    thread = std::thread([this] { ioc.run(); });
  }

  std::string url(std::string_view target) const {
    return "http://127.0.0.1:" + std::to_string(port) + std::string(target);
  }

  // Runs f on the server's loop and waits for its result.
  template <class F>
  auto on_loop(F f) {
    using T = decltype(f());
    std::promise<T> done;
    net::post(ioc, [&] {
      if constexpr (std::is_void_v<T>) {
        f();
        done.set_value();
      } else {
        done.set_value(f());
      }
    });
    return done.get_future().get();
  }

  // Polls a condition evaluated on the loop.
  template <class F>
  bool wait_on_loop(F cond, std::chrono::milliseconds limit = 2000ms) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      if (on_loop(cond)) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work{ioc.get_executor()};
  Router router;
  Server server;
  std::thread thread;
  uint16_t port = 0;
};

// A plain blocking socket for clients that misbehave on purpose.
class RawSocket {
 public:
  explicit RawSocket(uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~RawSocket() { close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  void send(std::string_view s) { REQUIRE(try_send(s)); }
  bool try_send(std::string_view s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }

  // Reads until the peer closes (closed = true) or `limit` passes.
  std::string read_until_closed(std::chrono::milliseconds limit, bool* closed = nullptr) {
    std::string out;
    auto end = Clock::now() + limit;
    if (closed) *closed = false;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (left <= 0ms) return out;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        if (closed) *closed = true;
        return out;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Runs a client io_context until pred() holds (an idle Connection keeps it busy for ever).
template <class F>
bool run_until(net::io_context& ioc, F pred, std::chrono::milliseconds limit = 3000ms) {
  auto end = Clock::now() + limit;
  while (!pred() && Clock::now() < end) {
    ioc.restart();
    ioc.run_one_for(10ms);
  }
  return pred();
}

void add_echo(Router& router) {
  auto echo = [](const Request& req, Reply reply) {
    std::string body = std::string(to_string(req.method)) + " " + req.path + " " + req.body;
    if (auto it = req.query.find("q"); it != req.query.end()) body += " q=" + it->second;
    Response r;
    r.content_type = "text/plain";
    r.body = std::move(body);
    reply(std::move(r));
  };
  router.add(verb::get, "/echo", echo);
  router.add(verb::post, "/echo", echo);
}

}  // namespace

TEST_CASE("http server answers GET and POST and keeps one connection alive for several") {
  TestServer srv;
  add_echo(srv.router);
  std::vector<std::size_t> connections_seen;
  srv.router.add(verb::post, "/count", [&](const Request& req, Reply reply) {
    connections_seen.push_back(srv.server.connection_count());
    reply(json_response(200, req.body));
  });
  srv.start();

  auto get = fetch(verb::get, srv.url("/echo?q=a+b%21"));
  REQUIRE(get.ok());
  CHECK(get->status == 200);
  CHECK(get->content_type == "text/plain");
  CHECK(get->body == "GET /echo  q=a b!");

  auto post = fetch(verb::post, srv.url("/echo"), R"({"x":1})", "tok");
  REQUIRE(post.ok());
  CHECK(post->body == R"(POST /echo {"x":1})");

  net::io_context cioc;
  auto origin = parse_url(srv.url("/"));
  REQUIRE(origin.ok());
  auto conn = std::make_shared<Connection>(cioc, *origin, ClientOptions{2000ms});
  std::vector<std::string> bodies;
  for (int i = 0; i < 5; ++i) {
    conn->request(verb::post, "/count", std::to_string(i), "", [&](auto r) {
      REQUIRE(r.ok());
      CHECK(r->status == 200);
      bodies.push_back(r->body);
    });
  }
  REQUIRE(run_until(cioc, [&] { return bodies.size() == 5; }));
  CHECK(bodies == std::vector<std::string>{"0", "1", "2", "3", "4"});
  // Every request arrived while exactly one connection was open: they shared it.
  CHECK(srv.on_loop([&] { return connections_seen; }) == std::vector<std::size_t>(5, 1));
}

TEST_CASE("http server sends Server, Content-Length and Cache-Control headers") {
  TestServer srv;
  add_echo(srv.router);
  srv.start();
  RawSocket s(srv.port);
  s.send("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  bool closed = false;
  auto text = s.read_until_closed(2000ms, &closed);
  CHECK(closed);
  CHECK(text.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(text.find("Server: rbee/" RBEE_VERSION "\r\n") != std::string::npos);
  CHECK(text.find("Cache-Control: no-store\r\n") != std::string::npos);
  CHECK(text.find("Content-Length: 10\r\n") != std::string::npos);
  CHECK(text.ends_with("\r\n\r\nGET /echo "));
}

TEST_CASE("http server keeps the session until an async handler replies from a timer") {
  TestServer srv;
  srv.router.add(verb::get, "/slow", [&](const Request&, Reply reply) {
    auto timer = std::make_shared<net::steady_timer>(srv.ioc, 100ms);
    timer->async_wait([timer, reply](boost::system::error_code) {
      reply(json_response(200, R"({"late":true})"));
    });
  });
  srv.start();
  auto start = Clock::now();
  auto r = fetch(verb::get, srv.url("/slow"));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == R"({"late":true})");
  CHECK(Clock::now() - start >= 90ms);
}

TEST_CASE("http server answers 500 when a handler throws, and ignores a second reply") {
  TestServer srv;
  srv.router.add(verb::get, "/throw",
                 [](const Request&, Reply) { throw std::runtime_error("boom"); });
  srv.router.add(verb::get, "/twice", [](const Request&, Reply reply) {
    reply(json_response(200, "1"));
    reply(json_response(201, "2"));
  });
  srv.start();
  auto r = fetch(verb::get, srv.url("/throw"));
  REQUIRE(r.ok());
  CHECK(r->status == 500);
  CHECK(r->body == R"({"error":"internal error"})");
  auto t = fetch(verb::get, srv.url("/twice"));
  REQUIRE(t.ok());
  CHECK(t->status == 200);
  CHECK(t->body == "1");
}

TEST_CASE("http server answers 404 for an unknown path and 405 with Allow for another method") {
  TestServer srv;
  add_echo(srv.router);
  srv.start();
  auto r = fetch(verb::get, srv.url("/nope"));
  REQUIRE(r.ok());
  CHECK(r->status == 404);
  CHECK(r->body == R"({"error":"not found"})");
  RawSocket s(srv.port);
  s.send("DELETE /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto text = s.read_until_closed(2000ms);
  CHECK(text.starts_with("HTTP/1.1 405"));
  CHECK(text.find("Allow: GET, POST\r\n") != std::string::npos);
}

TEST_CASE("http server answers 413 to a body over the limit") {
  Limits limits;
  limits.max_body_bytes = 1024;
  TestServer srv(limits);
  add_echo(srv.router);
  srv.start();
  auto ok = fetch(verb::post, srv.url("/echo"), std::string(1024, 'a'));
  REQUIRE(ok.ok());
  CHECK(ok->status == 200);
  auto r = fetch(verb::post, srv.url("/echo"), std::string(4096, 'a'));
  REQUIRE(r.ok());
  CHECK(r->status == 413);
  CHECK(r->body == R"({"error":"request body too large"})");
}

TEST_CASE("http server answers 431 to headers over the limit and closes") {
  Limits limits;
  limits.max_header_bytes = 1024;
  TestServer srv(limits);
  add_echo(srv.router);
  srv.start();
  RawSocket s(srv.port);
  s.send("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  bool closed = false;
  auto text = s.read_until_closed(2000ms, &closed);
  CHECK(text.starts_with("HTTP/1.1 431"));
  CHECK(text.find("Connection: close") != std::string::npos);
  CHECK(closed);
}

TEST_CASE("http server answers 400 to a malformed request and closes") {
  TestServer srv;
  add_echo(srv.router);
  srv.start();
  RawSocket s(srv.port);
  s.send("this is not http\r\n\r\n");
  bool closed = false;
  auto text = s.read_until_closed(2000ms, &closed);
  CHECK(text.starts_with("HTTP/1.1 400"));
  CHECK(text.find(R"({"error":"malformed request"})") != std::string::npos);
  CHECK(closed);
}

TEST_CASE("http server closes a slowloris connection after read_timeout and serves others") {
  Limits limits;
  limits.read_timeout = 300ms;
  TestServer srv(limits);
  add_echo(srv.router);
  srv.start();
  auto start = Clock::now();
  RawSocket stalled(srv.port);
  stalled.send("GET /echo HTTP/1.1\r\nHost: x\r\n");  // and never the blank line
  RawSocket trickle(srv.port);
  trickle.send("GET /echo HTTP/1.1\r\n");
  // Meanwhile other clients are served at once.
  for (int i = 0; i < 3; ++i) {
    auto r = fetch(verb::get, srv.url("/echo"));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
  }
  CHECK(Clock::now() - start < 250ms);
  // A client that keeps sending a header line every 50 ms is cut off all the same: the whole
  // request must arrive within read_timeout.
  bool trickle_closed = false;
  while (!trickle_closed && Clock::now() - start < 2000ms) {
    trickle.read_until_closed(50ms, &trickle_closed);
    if (!trickle_closed && !trickle.try_send("X-Slow: 1\r\n")) trickle_closed = true;
  }
  CHECK(trickle_closed);
  auto trickle_elapsed = Clock::now() - start;
  CHECK(trickle_elapsed >= 250ms);
  CHECK(trickle_elapsed < 1000ms);

  bool closed = false;
  auto text = stalled.read_until_closed(2000ms, &closed);
  CHECK(closed);
  CHECK(text.empty());
  CHECK(Clock::now() - start < 1000ms);
}

TEST_CASE(
    "http server closes a kept-alive connection after idle_timeout, and the client reconnects") {
  Limits limits;
  limits.idle_timeout = 150ms;
  TestServer srv(limits);
  add_echo(srv.router);
  srv.start();
  net::io_context cioc;
  auto conn = std::make_shared<Connection>(cioc, *parse_url(srv.url("/")), ClientOptions{2000ms});
  std::vector<std::string> bodies;
  auto record = [&](rbee::Result<ClientResponse> r) {
    bodies.push_back(r.ok() ? r->body : r.error().message);
  };

  SECTION("noticed while idle: even a POST goes out on a fresh connection") {
    conn->request(verb::post, "/echo", "1", "", record);
    REQUIRE(run_until(cioc, [&] { return bodies.size() == 1; }));
    REQUIRE(srv.wait_on_loop([&] { return srv.server.connection_count() == 0; }));
    cioc.restart();
    cioc.poll();  // the daemon's loop would have run meanwhile
    conn->request(verb::post, "/echo", "2", "", record);
    REQUIRE(run_until(cioc, [&] { return bodies.size() == 2; }));
    CHECK(bodies == std::vector<std::string>{"POST /echo 1", "POST /echo 2"});
  }
  SECTION("not noticed yet: an idempotent request is retried once on a fresh connection") {
    conn->request(verb::get, "/echo?q=1", "", "", record);
    REQUIRE(run_until(cioc, [&] { return bodies.size() == 1; }));
    REQUIRE(srv.wait_on_loop([&] { return srv.server.connection_count() == 0; }));
    conn->request(verb::get, "/echo?q=2", "", "", record);
    REQUIRE(run_until(cioc, [&] { return bodies.size() == 2; }));
    CHECK(bodies == std::vector<std::string>{"GET /echo  q=1", "GET /echo  q=2"});
  }
  conn->close();
}

TEST_CASE("http server at max_connections closes the oldest idle connection for a new one") {
  Limits limits;
  limits.max_connections = 2;
  TestServer srv(limits);
  add_echo(srv.router);
  srv.start();
  RawSocket a(srv.port);  // idle: never sends a byte
  REQUIRE(srv.wait_on_loop([&] { return srv.server.connection_count() == 1; }));
  RawSocket b(srv.port);
  REQUIRE(srv.wait_on_loop([&] { return srv.server.connection_count() == 2; }));
  auto r = fetch(verb::get, srv.url("/echo"));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  bool closed = false;
  a.read_until_closed(1000ms, &closed);
  CHECK(closed);  // the oldest idle one made room
  CHECK(srv.server.connection_count() <= 2);
}

TEST_CASE("http server at max_connections keeps busy connections and closes the new one") {
  std::vector<Reply> held;  // replies never given: requests in progress
  Limits limits;
  limits.max_connections = 2;
  TestServer srv(limits);
  srv.router.add(verb::get, "/hold",
                 [&](const Request&, Reply reply) { held.push_back(std::move(reply)); });
  srv.start();
  RawSocket a(srv.port);
  RawSocket b(srv.port);
  a.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  b.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(srv.wait_on_loop([&] { return held.size() == 2; }));
  RawSocket c(srv.port);
  bool closed = false;
  c.read_until_closed(1000ms, &closed);
  CHECK(closed);
  CHECK(srv.server.connection_count() == 2);
  // A Reply keeps its session, and the session's timers, alive: drop them on the loop, before
  // the loop and its io_context go.
  srv.on_loop([&] { held.clear(); });
}

TEST_CASE("http client reports a refused connection in one line naming the origin") {
  uint16_t port = 0;
  {
    TestServer srv;
    srv.start();
    port = srv.port;
  }
  auto url = "http://127.0.0.1:" + std::to_string(port);
  auto r = fetch(verb::get, url + "/x", {}, {}, ClientOptions{1000ms});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "connect to " + url + ": Connection refused");
}

TEST_CASE("http client times out a server that never answers") {
  TestServer srv;
  srv.router.add(verb::get, "/never", [](const Request&, Reply) {});
  srv.router.add(verb::get, "/hang", [&](const Request&, Reply reply) {
    // Hold the reply for a while without answering.
    auto timer = std::make_shared<net::steady_timer>(srv.ioc, 400ms);
    timer->async_wait([timer, reply](boost::system::error_code) {});
  });
  srv.start();
  auto r = fetch(verb::get, srv.url("/hang"), {}, {}, ClientOptions{200ms});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "read response from " + srv.url("") + ": timed out after 200 ms");
  // A handler that drops its Reply closes the connection.
  auto n = fetch(verb::get, srv.url("/never"), {}, {}, ClientOptions{1000ms});
  REQUIRE_FALSE(n.ok());
  CHECK(n.error().message.find("closed by the server") != std::string::npos);
}

TEST_CASE("http connection fails the oldest waiting request when more than 8 wait") {
  TestServer srv;
  srv.router.add(verb::get, "/slow", [&](const Request& req, Reply reply) {
    auto timer = std::make_shared<net::steady_timer>(srv.ioc, 20ms);
    std::string body = req.query.at("i");
    timer->async_wait(
        [timer, reply, body](boost::system::error_code) { reply(json_response(200, body)); });
  });
  srv.start();
  net::io_context cioc;
  auto conn = std::make_shared<Connection>(cioc, *parse_url(srv.url("/")), ClientOptions{2000ms});
  std::vector<std::string> results;
  for (int i = 0; i < 11; ++i) {
    conn->request(verb::get, "/slow?i=" + std::to_string(i), "", "",
                  [&results](auto r) { results.push_back(r.ok() ? r->body : r.error().message); });
  }
  REQUIRE(run_until(cioc, [&] { return results.size() == 11; }));
  conn->close();
  REQUIRE(results.size() == 11);
  // 0 is in flight at once, 1..10 wait; the 10th and 11th push out 1 and 2.
  CHECK(results[0].find("/slow?i=1: queue full") != std::string::npos);
  CHECK(results[1].find("/slow?i=2: queue full") != std::string::npos);
  CHECK(results[2] == "0");
  CHECK(results[3] == "3");
  CHECK(results[10] == "10");
}

TEST_CASE("http SSE client receives the snapshot and then published events in order") {
  TestServer srv;
  auto hub = std::make_shared<EventStream>();
  srv.router.add(verb::get, "/events", [&](const Request&, Reply reply) {
    Response r;
    r.body = EventStream::format("snapshot", "{\"n\":0}");
    r.stream = hub;
    reply(std::move(r));
  });
  srv.start();

  std::vector<std::pair<std::string, std::string>> got;
  auto st = read_event_stream(srv.url("/events"), "", 3000ms, [&](auto event, auto data) {
    got.emplace_back(event, data);
    if (event == "snapshot") {
      net::post(srv.ioc, [&] {
        for (int i = 1; i <= 50; ++i) hub->publish("tick", std::to_string(i));
        hub->publish("multi", "line one\nline two");
      });
    }
    return event != "multi";
  });
  REQUIRE(st.ok());
  REQUIRE(got.size() == 52);
  CHECK(got[0] == std::pair<std::string, std::string>{"snapshot", "{\"n\":0}"});
  for (int i = 1; i <= 50; ++i) {
    CHECK(got[static_cast<std::size_t>(i)] ==
          std::pair<std::string, std::string>{"tick", std::to_string(i)});
  }
  CHECK(got[51] == std::pair<std::string, std::string>{"multi", "line one\nline two"});
  // The reader went away: the hub forgets it.
  CHECK(srv.wait_on_loop([&] { return hub->client_count() == 0; }));
}

TEST_CASE("http SSE stream sends keep-alive comments and event-stream headers") {
  Limits limits;
  limits.sse_keepalive = 50ms;
  TestServer srv(limits);
  auto hub = std::make_shared<EventStream>();
  srv.router.add(verb::get, "/events", [&](const Request&, Reply reply) {
    Response r;
    r.stream = hub;
    reply(std::move(r));
  });
  srv.start();
  RawSocket s(srv.port);
  s.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  auto text = s.read_until_closed(300ms);
  CHECK(text.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(text.find("Content-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(text.find("Cache-Control: no-store\r\n") != std::string::npos);
  CHECK(text.find("Content-Length") == std::string::npos);
  CHECK(text.find("\r\n\r\n: keep-alive\n\n") != std::string::npos);
}

TEST_CASE("http SSE client that never reads is dropped at the queue bound, and readers go on") {
  Limits limits;
  limits.sse_max_queued_bytes = 64 * 1024;
  TestServer srv(limits);
  auto hub = std::make_shared<EventStream>();
  srv.router.add(verb::get, "/events", [&](const Request&, Reply reply) {
    Response r;
    r.body = EventStream::format("hello", "");
    r.stream = hub;
    reply(std::move(r));
  });
  srv.start();

  RawSocket stuck(srv.port, 4096);
  stuck.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(srv.wait_on_loop([&] { return hub->client_count() == 1; }));

  // The reader publishes the next 16 KiB event each time it has read one, so that it never
  // falls behind itself, until the stuck client has been dropped and 20 more have arrived.
  const std::string payload(16 * 1024, 'x');
  std::atomic<std::size_t> clients_after_publish{2};
  int published = 0;
  int received = 0;
  int dropped_at = -1;
  bool in_order = true;
  auto publish_next = [&] {
    ++published;
    std::string data = std::to_string(published) + ":" + payload;
    net::post(srv.ioc, [&, data] {
      hub->publish("big", data);
      clients_after_publish = hub->client_count();
    });
  };
  auto st = read_event_stream(srv.url("/events"), "", 30000ms, [&](auto event, auto data) {
    if (event == "big") {
      ++received;
      in_order = in_order && data.starts_with(std::to_string(received) + ":");
      if (dropped_at < 0 && clients_after_publish == 1) dropped_at = received;
      if (dropped_at >= 0 && received >= dropped_at + 20) return false;
      if (received >= 5000) return false;
    }
    publish_next();
    return true;
  });
  INFO("received " << received << ", dropped at " << dropped_at << ": "
                   << (st.ok() ? std::string("ok") : st.error().message));
  REQUIRE(st.ok());
  CHECK(in_order);
  CHECK(dropped_at > 0);
  CHECK(received == dropped_at + 20);
  INFO("stuck client dropped after " << dropped_at << " events of 16 KiB");
  // The stuck client sees its connection end once it drains what the kernel had buffered.
  bool closed = false;
  stuck.read_until_closed(3000ms, &closed);
  CHECK(closed);
}
