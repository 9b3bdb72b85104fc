#pragma once
// The Hive's push side: Queens subscribe with GET /capabilities?queen_url=URL; each gets the full
// snapshot POSTed to URL/v1/hive-telemetry every tick and at once on births and deaths.
// Snapshots are complete, so a subscriber that falls behind only ever gets the newest one.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/http/client.h"
#include "common/result.h"

namespace rbee::hive {

struct PublishedSnapshot;

// A subscription's identity: "http://host:port/path", host lowercased, the port explicit,
// trailing '/' removed. Errors: not http://host:port[/path], a query or fragment, over 512
// characters. hive.queen_urls entries are compared in this form, exactly.
Result<std::string> queen_url_key(std::string_view queen_url);
// hive.queen_urls in that form; the error names the entry.
Result<std::vector<std::string>> queen_url_keys(const std::vector<std::string>& urls);

class QueenSubscribers {
 public:
  static constexpr std::size_t kMaxSubscribers = 16;

  // allowed: queen_url_key()s a subscription must be one of; empty allows any URL.
  QueenSubscribers(boost::asio::io_context& io, std::string token,
                   std::chrono::milliseconds drop_after, std::vector<std::string> allowed = {});
  ~QueenSubscribers();

  // Whether queen_url is on the allow-list (hive.queen_urls); the error names the URL.
  Status check_allowed(std::string_view queen_url) const;
  // Adds or renews a subscription; true when it is new. Errors: a URL that is not
  // http://host:port[/path], one not allowed, or too many.
  Result<bool> subscribe(std::string_view queen_url);
  // Queues snap for every subscriber (each tick and each resample).
  void push(const std::shared_ptr<const PublishedSnapshot>& snap);
  // Queues snap for one subscriber only: a new Queen's first telemetry, sent at once.
  void push_to(std::string_view queen_url, const std::shared_ptr<const PublishedSnapshot>& snap);
  std::size_t count() const { return subs_.size(); }
  std::chrono::milliseconds drop_after() const { return drop_after_; }

  struct Stats {
    uint64_t pushed = 0, failed = 0, dropped = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Subscriber;
  void queue(Subscriber& s, const std::shared_ptr<const PublishedSnapshot>& snap);
  void send(Subscriber& s);
  void on_result(const std::string& key, Result<http::ClientResponse> r);
  void drop(const std::string& key, const std::string& why);

  boost::asio::io_context& io_;
  std::string token_;
  std::chrono::milliseconds drop_after_;
  std::vector<std::string> allowed_;
  std::map<std::string, std::unique_ptr<Subscriber>> subs_;  // by normalized URL
  Stats stats_;
};

}  // namespace rbee::hive
