#pragma once
// An incremental text/event-stream parser (WHATWG "event stream interpretation", minus id and
// retry), for the blocking event-stream reader. Bytes go in as they arrive, in any pieces.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace rbee::http {

class SseParser {
 public:
  using Emit = std::function<bool(std::string_view, std::string_view)>;

  // Returns false once emit() has returned false.
  bool feed(std::string_view bytes, const Emit& emit);

  std::size_t buffered() const { return pending_.size() + data_.size(); }

 private:
  bool line(std::string_view l, const Emit& emit);

  std::string pending_;
  std::string event_;
  std::string data_;
  bool has_data_ = false;
};

}  // namespace rbee::http
