#pragma once
// The handshake: GET /capabilities?queen_url=<our URL> on every candidate Hive, async on the
// daemon's io_context, retried with exponential backoff while a Hive is unreachable and renewed
// periodically once it answered. Knows nothing of the registry: it reports through callbacks.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/http/client.h"
#include "common/json/decode.h"
#include "queen/registry.h"

namespace rbee::queen {

struct ProberOptions {
  std::string queen_url;  // what the Hives push to (advertised URL)
  std::string token;
  std::chrono::milliseconds timeout{5000};  // per step of one capabilities call
  std::chrono::milliseconds renew{30000};   // re-subscribe this often while it answers
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{30000};
};

// "a b/c" -> "a%20b%2Fc": everything but RFC 3986 unreserved characters is escaped.
std::string percent_encode(std::string_view s);

class HiveProber {
 public:
  using OnSuccess =
      std::function<void(const std::string& alias, const json::Capabilities&, std::string raw)>;
  using OnFailure = std::function<void(const std::string& alias, const std::string& error)>;

  HiveProber(boost::asio::io_context& io, ProberOptions options);
  ~HiveProber();
  HiveProber(const HiveProber&) = delete;
  HiveProber& operator=(const HiveProber&) = delete;

  OnSuccess on_success;
  OnFailure on_failure;

  // Starts probing the candidate at once; replaces a target with the same alias.
  void add(const Candidate& candidate);
  void remove(const std::string& alias);
  // Probes now (no-op while a call to that Hive is in flight) and resets its backoff.
  void probe_now(const std::string& alias);
  void probe_all_now();
  void stop();
  bool has(const std::string& alias) const { return probes_.count(alias) != 0; }
  std::size_t size() const { return probes_.size(); }
  uint64_t calls() const { return calls_; }
  uint64_t failures() const { return failures_; }

  struct Probe;

 private:
  friend struct Probe;
  boost::asio::io_context& io_;
  ProberOptions options_;
  std::map<std::string, std::shared_ptr<Probe>> probes_;
  uint64_t calls_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace rbee::queen
