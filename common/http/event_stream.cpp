#include "common/http/event_stream.h"

#include <algorithm>

namespace rbee::http {

std::string EventStream::format(std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(event.size() + data.size() + 24);
  if (!event.empty()) {
    out += "event: ";
    for (char c : event) {
      if (c != '\n' && c != '\r') out.push_back(c);
    }
    out.push_back('\n');
  }
  while (true) {
    auto eol = data.find_first_of("\r\n");
    out += "data: ";
    out += data.substr(0, eol);
    out.push_back('\n');
    if (eol == std::string_view::npos) break;
    std::size_t skip = data[eol] == '\r' && eol + 1 < data.size() && data[eol + 1] == '\n' ? 2 : 1;
    data.remove_prefix(eol + skip);
  }
  out.push_back('\n');
  return out;
}

void EventStream::publish(std::string_view event_name, std::string_view data) {
  if (sinks_.empty()) return;
  broadcast(std::make_shared<const std::string>(format(event_name, data)));
}

void EventStream::publish_raw(std::string frame) {
  if (sinks_.empty() || frame.empty()) return;
  broadcast(std::make_shared<const std::string>(std::move(frame)));
}

void EventStream::publish_shared(std::shared_ptr<const std::string> frame) {
  if (sinks_.empty() || !frame || frame->empty()) return;
  broadcast(frame);
}

void EventStream::broadcast(const std::shared_ptr<const std::string>& frame) {
  // Copy first: a sink that drops itself calls detach() while we iterate.
  auto sinks = sinks_;
  for (auto& weak : sinks) {
    if (auto sink = weak.lock()) {
      if (!sink->deliver(frame)) detach(sink.get());
    }
  }
  std::erase_if(sinks_, [](const std::weak_ptr<EventSink>& w) { return w.expired(); });
}

std::size_t EventStream::client_count() const {
  return static_cast<std::size_t>(
      std::count_if(sinks_.begin(), sinks_.end(),
                    [](const std::weak_ptr<EventSink>& w) { return !w.expired(); }));
}

void EventStream::attach(const std::shared_ptr<EventSink>& sink) {
  sinks_.push_back(sink);
}

void EventStream::detach(const EventSink* sink) {
  std::erase_if(sinks_, [sink](const std::weak_ptr<EventSink>& w) {
    auto s = w.lock();
    return !s || s.get() == sink;
  });
}

}  // namespace rbee::http
