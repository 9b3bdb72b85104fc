#include "common/http/message.h"

#include "common/json/writer.h"

namespace rbee::http {

Response json_response(unsigned status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response json_error(unsigned status, std::string_view message) {
  json::Writer w;
  w.begin_object().field("error", message).end_object();
  return json_response(status, w.take());
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_as_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return std::nullopt;
      i += 2;
    } else if (c == '+' && plus_as_space) {
      c = ' ';
    }
    out.push_back(c);
  }
  return out;
}

rbee::Status set_target(Request& req, std::string target) {
  if (target.empty() || target.front() != '/') {
    return make_error("request target must start with '/'");
  }
  std::string_view t = target;
  if (auto hash = t.find('#'); hash != std::string_view::npos) t = t.substr(0, hash);
  std::string_view raw_path = t;
  std::string_view raw_query;
  if (auto q = t.find('?'); q != std::string_view::npos) {
    raw_path = t.substr(0, q);
    raw_query = t.substr(q + 1);
  }
  auto path = percent_decode(raw_path, false);
  if (!path) return make_error("bad percent-encoding in path");

  std::map<std::string, std::string> query;
  while (!raw_query.empty()) {
    auto amp = raw_query.find('&');
    std::string_view pair = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view{} : raw_query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!key || !value) return make_error("bad percent-encoding in query");
    query[std::move(*key)] = std::move(*value);
  }
  req.path = std::move(*path);
  req.query = std::move(query);
  req.target = std::move(target);
  return Ok{};
}

}  // namespace rbee::http
