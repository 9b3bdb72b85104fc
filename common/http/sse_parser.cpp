#include "common/http/sse_parser.h"

namespace rbee::http {

bool SseParser::feed(std::string_view bytes, const Emit& emit) {
  pending_.append(bytes);
  std::size_t start = 0;
  bool go_on = true;
  while (go_on) {
    auto eol = pending_.find_first_of("\r\n", start);
    if (eol == std::string::npos) break;
    std::size_t next = eol + 1;
    if (pending_[eol] == '\r') {
      if (next == pending_.size()) break;  // wait: a '\n' may follow
      if (pending_[next] == '\n') ++next;
    }
    go_on = line(std::string_view(pending_).substr(start, eol - start), emit);
    start = next;
  }
  pending_.erase(0, start);
  return go_on;
}

bool SseParser::line(std::string_view l, const Emit& emit) {
  if (l.empty()) {
    bool go_on = true;
    if (has_data_) {
      std::string_view data = data_;
      if (!data.empty()) data.remove_suffix(1);  // the last '\n'
      go_on = emit(event_.empty() ? std::string_view("message") : std::string_view(event_), data);
    }
    event_.clear();
    data_.clear();
    has_data_ = false;
    return go_on;
  }
  if (l.front() == ':') return true;  // comment (keep-alive)
  auto colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "event") {
    event_ = std::string(value);
  } else if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
    has_data_ = true;
  }
  return true;
}

}  // namespace rbee::http
