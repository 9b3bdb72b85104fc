#include "queen/hive_prober.h"

#include <algorithm>

namespace rbee::queen {

namespace asio = boost::asio;
using boost::beast::http::verb;

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

struct HiveProber::Probe : std::enable_shared_from_this<Probe> {
  Probe(HiveProber& p, Candidate c)
      : prober(&p), candidate(std::move(c)), timer(p.io_), backoff(p.options_.initial_backoff) {
    http::Url origin;
    origin.scheme = "http";
    origin.host = candidate.hostname;
    origin.port = candidate.port;
    http::ClientOptions opts;
    opts.timeout = p.options_.timeout;
    opts.max_response_bytes = 1024 * 1024;
    connection = std::make_shared<http::Connection>(p.io_, origin, opts);
  }

  void attempt() {
    if (stopped || in_flight) return;
    in_flight = true;
    ++prober->calls_;
    const auto& o = prober->options_;
    connection->request(verb::get, "/capabilities?queen_url=" + percent_encode(o.queen_url), {},
                        o.token, [self = shared_from_this()](Result<http::ClientResponse> r) {
                          self->on_done(std::move(r));
                        });
  }

  void on_done(Result<http::ClientResponse> r) {
    in_flight = false;
    if (stopped) return;
    std::string error;
    std::optional<json::Capabilities> caps;
    if (!r) {
      error = r.error().message;
    } else if (r->status != 200) {
      error = "GET /capabilities: HTTP " + std::to_string(r->status) + ": " +
              json::decode_error_message(r->body);
    } else {
      auto decoded = json::decode_capabilities(r->body);
      if (decoded)
        caps = std::move(*decoded);
      else
        error = "bad capabilities: " + decoded.error().message;
    }
    const auto& o = prober->options_;
    if (caps) {
      backoff = o.initial_backoff;
      schedule(o.renew);
      if (prober->on_success) prober->on_success(candidate.alias, *caps, std::move(r->body));
    } else {
      ++prober->failures_;
      schedule(backoff);
      backoff = std::min(backoff * 2, o.max_backoff);
      if (prober->on_failure) prober->on_failure(candidate.alias, error);
    }
  }

  void schedule(std::chrono::milliseconds delay) {
    timer.expires_after(delay);
    timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopped) return;
      self->attempt();
    });
  }

  void stop() {
    stopped = true;
    timer.cancel();
    connection->close();
  }

  HiveProber* prober;
  Candidate candidate;
  asio::steady_timer timer;
  std::shared_ptr<http::Connection> connection;
  std::chrono::milliseconds backoff;
  bool in_flight = false;
  bool stopped = false;
};

HiveProber::HiveProber(asio::io_context& io, ProberOptions options)
    : io_(io), options_(std::move(options)) {}

HiveProber::~HiveProber() {
  stop();
}

void HiveProber::add(const Candidate& candidate) {
  remove(candidate.alias);
  auto probe = std::make_shared<Probe>(*this, candidate);
  probes_[candidate.alias] = probe;
  probe->attempt();
}

void HiveProber::remove(const std::string& alias) {
  auto it = probes_.find(alias);
  if (it == probes_.end()) return;
  it->second->stop();
  probes_.erase(it);
}

void HiveProber::probe_now(const std::string& alias) {
  auto it = probes_.find(alias);
  if (it == probes_.end()) return;
  auto& p = *it->second;
  p.backoff = options_.initial_backoff;
  if (p.in_flight) return;
  p.timer.cancel();
  p.attempt();
}

void HiveProber::probe_all_now() {
  for (auto& [alias, p] : probes_) probe_now(alias);
}

void HiveProber::stop() {
  for (auto& [alias, p] : probes_) p->stop();
  probes_.clear();
}

}  // namespace rbee::queen
