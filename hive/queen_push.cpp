#include "hive/queen_push.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "hive/hive_daemon.h"

namespace rbee::hive {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using boost::beast::http::verb;

struct QueenSubscribers::Subscriber {
  std::string key;
  http::Url url;
  std::string target;  // <path>/v1/hive-telemetry
  std::shared_ptr<http::Connection> conn;
  bool in_flight = false;
  std::shared_ptr<const PublishedSnapshot> pending;
  std::optional<Clock::time_point> failing_since;
  unsigned failures = 0;
  std::unique_ptr<asio::steady_timer> backoff;
  bool backing_off = false;
};

Result<std::string> queen_url_key(std::string_view queen_url) {
  if (queen_url.size() > 512) return make_error("queen_url is longer than 512 characters");
  auto url = http::parse_url(queen_url);
  if (!url) return make_error("queen_url: " + url.error().message);
  std::string path = url->target;
  if (path.find('?') != std::string::npos || path.find('#') != std::string::npos)
    return make_error("queen_url must not have a query or fragment");
  while (!path.empty() && path.back() == '/') path.pop_back();
  for (char& c : url->host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return url->origin() + path;
}

Result<std::vector<std::string>> queen_url_keys(const std::vector<std::string>& urls) {
  std::vector<std::string> out;
  for (const auto& u : urls) {
    auto key = queen_url_key(u);
    if (!key) return make_error("hive.queen_urls entry \"" + u + "\": " + key.error().message);
    out.push_back(std::move(*key));
  }
  return out;
}

QueenSubscribers::QueenSubscribers(asio::io_context& io, std::string token,
                                   std::chrono::milliseconds drop_after,
                                   std::vector<std::string> allowed)
    : io_(io), token_(std::move(token)), drop_after_(drop_after), allowed_(std::move(allowed)) {}

Status QueenSubscribers::check_allowed(std::string_view queen_url) const {
  if (allowed_.empty()) return Ok{};
  auto key = queen_url_key(queen_url);
  if (key && std::find(allowed_.begin(), allowed_.end(), *key) != allowed_.end()) return Ok{};
  return make_error("queen_url " + std::string(queen_url) +
                    " is not in hive.queen_urls: this Hive pushes only to the Queens listed there");
}

QueenSubscribers::~QueenSubscribers() {
  for (auto& [key, s] : subs_) {
    if (s->conn) s->conn->close();
  }
}

Result<bool> QueenSubscribers::subscribe(std::string_view queen_url) {
  auto checked = queen_url_key(queen_url);
  if (!checked) return checked.error();
  if (auto st = check_allowed(queen_url); !st) return st.error();
  const std::string key = std::move(*checked);
  auto url = http::parse_url(queen_url);
  std::string path = url->target;
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (auto it = subs_.find(key); it != subs_.end()) {
    // A renewal: a subscriber that was failing gets a fresh start.
    it->second->failing_since.reset();
    it->second->failures = 0;
    return false;
  }
  if (subs_.size() >= kMaxSubscribers)
    return make_error("too many subscribers (" + std::to_string(kMaxSubscribers) + ")");
  auto s = std::make_unique<Subscriber>();
  s->key = key;
  s->url = *url;
  s->target = path + "/v1/hive-telemetry";
  http::ClientOptions opts;
  opts.timeout = std::chrono::seconds(5);
  opts.max_response_bytes = 64 * 1024;
  s->conn = std::make_shared<http::Connection>(io_, *url, opts);
  s->backoff = std::make_unique<asio::steady_timer>(io_);
  spdlog::info("queen {} subscribed", key);
  subs_.emplace(key, std::move(s));
  return true;
}

void QueenSubscribers::push(const std::shared_ptr<const PublishedSnapshot>& snap) {
  for (auto& [key, s] : subs_) queue(*s, snap);
}

void QueenSubscribers::push_to(std::string_view queen_url,
                               const std::shared_ptr<const PublishedSnapshot>& snap) {
  auto key = queen_url_key(queen_url);
  if (!key) return;
  if (auto it = subs_.find(*key); it != subs_.end()) queue(*it->second, snap);
}

void QueenSubscribers::queue(Subscriber& s, const std::shared_ptr<const PublishedSnapshot>& snap) {
  s.pending = snap;
  if (!s.in_flight && !s.backing_off) send(s);
}

void QueenSubscribers::send(Subscriber& s) {
  if (!s.pending) return;
  auto snap = std::move(s.pending);
  s.pending.reset();
  s.in_flight = true;
  s.conn->request(
      verb::post, s.target, snap->json, token_,
      [this, key = s.key](Result<http::ClientResponse> r) { on_result(key, std::move(r)); });
}

void QueenSubscribers::on_result(const std::string& key, Result<http::ClientResponse> r) {
  auto it = subs_.find(key);
  if (it == subs_.end()) return;
  Subscriber& s = *it->second;
  s.in_flight = false;
  const bool ok = r && r->status >= 200 && r->status < 300;
  if (ok) {
    ++stats_.pushed;
    if (s.failures) spdlog::info("queen {}: pushing again after {} failures", key, s.failures);
    s.failures = 0;
    s.failing_since.reset();
    send(s);
    return;
  }
  ++stats_.failed;
  const std::string why = r ? "HTTP " + std::to_string(r->status) : r.error().message;
  if (!s.failing_since) s.failing_since = Clock::now();
  if (s.failures++ == 0) spdlog::warn("queen {}: push failed: {}", key, why);
  if (Clock::now() - *s.failing_since >= drop_after_) {
    drop(key, why);
    return;
  }
  // Exponential backoff, 250 ms doubling to 30 s; the newest snapshot goes when it ends.
  const auto delay = std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(250) * (1u << std::min(s.failures - 1, 7u)),
      std::chrono::seconds(30));
  s.backing_off = true;
  s.backoff->expires_after(delay);
  s.backoff->async_wait([this, key](boost::system::error_code ec) {
    if (ec) return;
    auto it = subs_.find(key);
    if (it == subs_.end()) return;
    it->second->backing_off = false;
    send(*it->second);
  });
}

void QueenSubscribers::drop(const std::string& key, const std::string& why) {
  auto it = subs_.find(key);
  if (it == subs_.end()) return;
  spdlog::warn("queen {}: dropped after failing for {} ms ({}); it renews by subscribing again",
               key, drop_after_.count(), why);
  auto gone = std::move(it->second);
  subs_.erase(it);
  ++stats_.dropped;
  gone->backoff->cancel();
  gone->conn->close();  // may complete a request: on_result finds no subscriber and returns
}

}  // namespace rbee::hive
