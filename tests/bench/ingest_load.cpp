#include "ingest_load.h"

#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "common/json/telemetry_json.h"
#include "common/telemetry.h"
#include "sample_snapshot.h"

namespace rbee::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

// seq of every snapshot: this base plus a per-Hive counter, so the digits keep their width and
// can be rewritten in place in the prepared request.
constexpr uint64_t kSeqBase = 1'000'000'000'000'000ull;  // 16 digits
constexpr std::size_t kSeqDigits = 16;

// Next seq per Hive id over the whole process: configurations reuse Hive ids, and the Queen
// ignores a seq that is not newer than the one it holds.
std::map<std::string, uint64_t>& next_seq() {
  static std::map<std::string, uint64_t> m;
  return m;
}

double cpu_seconds_self() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// utime + stime of a process from /proc/PID/stat, in seconds; -1 when unreadable.
double cpu_seconds_of(pid_t pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Shared {
  Clock::time_point measure_from, measure_to;
  bool stopping = false;
  std::vector<double> latencies_ms;
  uint64_t ok = 0, errors = 0;
  std::string first_error;
  int open = 0;
};

// One simulated Hive: a kept-alive connection, one request in flight.
class HiveConn : public std::enable_shared_from_this<HiveConn> {
 public:
  HiveConn(net::io_context& io, Shared& shared, const LoadConfig& cfg, std::string request,
           std::size_t seq_pos, std::string hive_id)
      : stream_(io),
        timer_(io),
        shared_(shared),
        cfg_(cfg),
        request_(std::move(request)),
        seq_pos_(seq_pos),
        hive_id_(std::move(hive_id)) {}

  void connect(const tcp::endpoint& ep) {
    stream_.socket().connect(ep);
    stream_.socket().set_option(tcp::no_delay(true));
    ++shared_.open;
  }

  // interval: seconds between this Hive's requests (0: closed loop); first: its first slot.
  void start(double interval, Clock::time_point first) {
    interval_ =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
    planned_ = first;
    if (interval_.count() == 0) return send(Clock::now());
    wait_for_slot();
  }

 private:
  void wait_for_slot() {
    if (shared_.stopping) return finish();
    const auto now = Clock::now();
    if (planned_ <= now) return send(planned_);
    timer_.expires_at(planned_);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return self->finish();
      self->send(self->planned_);
    });
  }

  void send(Clock::time_point t0) {
    if (shared_.stopping) return finish();
    t0_ = t0;
    sent_ = Clock::now();
    if (seq_pos_) {
      uint64_t seq = kSeqBase + next_seq()[hive_id_]++;
      for (std::size_t i = 0; i < kSeqDigits; ++i) {
        request_[seq_pos_ + kSeqDigits - 1 - i] = static_cast<char>('0' + seq % 10);
        seq /= 10;
      }
    }
    net::async_write(stream_.socket(), net::buffer(request_),
                     [self = shared_from_this()](error_code ec, std::size_t) {
                       if (ec) return self->fail("write: " + ec.message());
                       self->read();
                     });
  }

  void read() {
    res_.emplace();
    res_->body_limit(1 << 20);
    bhttp::async_read(stream_, buffer_, *res_,
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (ec) return self->fail("read: " + ec.message());
                        self->on_response();
                      });
  }

  void on_response() {
    const auto now = Clock::now();
    const unsigned status = res_->get().result_int();
    const unsigned want = cfg_.kind == LoadKind::snapshot ? 204 : 200;
    // Counted by when it was sent; its latency runs from when it was due (open loop: a request
    // that had to wait for the previous answer waited in the Queen's queue, in effect).
    const bool counted = sent_ >= shared_.measure_from && sent_ < shared_.measure_to;
    if (counted) {
      if (status == want) {
        ++shared_.ok;
        shared_.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(now - t0_).count());
      } else {
        ++shared_.errors;
        if (shared_.first_error.empty())
          shared_.first_error = "status " + std::to_string(status) + ": " + res_->get().body();
      }
    }
    if (!res_->get().keep_alive()) return fail("the Queen closed the connection");
    if (interval_.count() == 0) return send(Clock::now());
    planned_ += interval_;
    wait_for_slot();
  }

  void fail(const std::string& what) {
    if (!shared_.stopping) {
      ++shared_.errors;
      if (shared_.first_error.empty()) shared_.first_error = hive_id_ + ": " + what;
    }
    finish();
  }

  void finish() {
    if (done_) return;
    done_ = true;
    --shared_.open;
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  net::steady_timer timer_;
  Shared& shared_;
  const LoadConfig& cfg_;
  std::string request_;
  std::size_t seq_pos_;
  std::string hive_id_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> res_;
  Clock::duration interval_{};
  Clock::time_point planned_, t0_, sent_;
  bool done_ = false;
};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

std::string make_snapshot_body(const std::string& hive_id, int workers, uint64_t seq) {
  auto s =
      make_snapshot(hive_id, "0f8c2a4e-5b1d-4c7a-9e21-" + std::to_string(::getpid()), seq, workers);
  s.interval_ms = 1000;
  // In the order a Hive lists them: by service, then instance.
  std::sort(s.workers.begin(), s.workers.end(), [](const auto& a, const auto& b) {
    return std::tie(a.service, a.instance) < std::tie(b.service, b.instance);
  });
  return json::encode_snapshot(s);
}

LoadResult run_load(const LoadConfig& cfg) {
  net::io_context io;
  Shared shared;
  const auto far = Clock::now() + std::chrono::hours(24);
  shared.measure_from = far;
  shared.measure_to = far;
  const tcp::endpoint ep(net::ip::make_address(cfg.host), cfg.port);
  const std::string host_header = "Host: " + cfg.host + ":" + std::to_string(cfg.port) + "\r\n";

  LoadResult result;
  std::vector<std::shared_ptr<HiveConn>> conns;
  for (int i = 0; i < cfg.hives; ++i) {
    const std::string id = cfg.hive_prefix + std::to_string(i);
    std::string req;
    std::size_t seq_pos = 0;
    if (cfg.kind == LoadKind::snapshot) {
      const std::string body = make_snapshot_body(id, cfg.workers, kSeqBase);
      const std::string seq_text = "\"seq\":" + std::to_string(kSeqBase);
      const auto at = body.find(seq_text);
      if (at == std::string::npos) throw std::runtime_error("no seq in the snapshot body");
      req = "POST /v1/hive-telemetry HTTP/1.1\r\n" + host_header;
      if (!cfg.token.empty()) req += "Authorization: Bearer " + cfg.token + "\r\n";
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n\r\n";
      seq_pos = req.size() + at + seq_text.size() - kSeqDigits;
      req += body;
      result.body_bytes = body.size();
    } else {
      req = "GET /health HTTP/1.1\r\n" + host_header + "\r\n";
    }
    auto c = std::make_shared<HiveConn>(io, shared, cfg, std::move(req), seq_pos, id);
    c->connect(ep);
    conns.push_back(std::move(c));
  }

  const auto start = Clock::now();
  const double per_hive_interval = cfg.rate > 0 ? cfg.hives / cfg.rate : 0;
  for (int i = 0; i < cfg.hives; ++i) {
    // Open loop: Hives spread evenly over one interval, not all at once.
    const auto offset = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(per_hive_interval * i / cfg.hives));
    conns[i]->start(per_hive_interval, start + offset);
  }

  using dsec = std::chrono::duration<double>;
  auto run_until = [&](Clock::time_point t) {
    while (Clock::now() < t && shared.open > 0) {
      io.run_for(std::chrono::duration_cast<Clock::duration>(t - Clock::now()));
    }
  };
  const auto m0 = start + std::chrono::duration_cast<Clock::duration>(dsec(cfg.warmup_s));
  const auto m1 = m0 + std::chrono::duration_cast<Clock::duration>(dsec(cfg.seconds));
  shared.measure_from = m0;
  shared.measure_to = m1;
  run_until(m0);
  const double q0 = cpu_seconds_of(cfg.queen_pid);
  const double g0 = cpu_seconds_self();
  run_until(m1);
  const double q1 = cpu_seconds_of(cfg.queen_pid);
  const double g1 = cpu_seconds_self();
  const double window = dsec(Clock::now() - m0).count();
  // Let requests sent inside the window finish (up to 5 s), then close everything.
  shared.stopping = true;
  run_until(Clock::now() + std::chrono::seconds(5));
  io.stop();
  conns.clear();

  result.ok = shared.ok;
  result.errors = shared.errors;
  result.first_error = shared.first_error;
  result.seconds = window;
  result.per_s = static_cast<double>(shared.ok) / cfg.seconds;
  result.queen_cpu_s = (q0 >= 0 && q1 >= 0) ? q1 - q0 : -1;
  result.gen_cpu_s = g1 - g0;
  auto& lat = shared.latencies_ms;
  std::sort(lat.begin(), lat.end());
  result.p50_ms = percentile(lat, 0.50);
  result.p99_ms = percentile(lat, 0.99);
  result.max_ms = lat.empty() ? 0 : lat.back();
  return result;
}

}  // namespace rbee::bench
