#pragma once
// A broadcast hub for Server-Sent Events. Handlers reply with a Response whose `stream` points
// at a hub; from then on every publish() reaches that client. Single-threaded: use it on the
// io_context thread only.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rbee::http {

// One attached client (the server's SSE session). Frames are shared, never copied per client.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Queues a formatted frame; false when the client is gone or was dropped for falling behind.
  virtual bool deliver(const std::shared_ptr<const std::string>& frame) = 0;
};

class EventStream : public std::enable_shared_from_this<EventStream> {
 public:
  // Formats and queues `event: NAME\ndata: DATA\n\n` to every attached client.
  void publish(std::string_view event_name, std::string_view data);
  // Queues an already formatted frame (a comment, several events at once).
  void publish_raw(std::string frame);
  // The same for a frame the caller keeps too (a replay ring): shared, not copied.
  void publish_shared(std::shared_ptr<const std::string> frame);
  std::size_t client_count() const;

  // "event: NAME\n" (omitted when NAME is empty) then one "data: " line per line of DATA
  // (split on \n, \r\n and \r), then a blank line. CR and LF in NAME are dropped.
  static std::string format(std::string_view event, std::string_view data);

  void attach(const std::shared_ptr<EventSink>& sink);
  void detach(const EventSink* sink);

 private:
  void broadcast(const std::shared_ptr<const std::string>& frame);

  std::vector<std::weak_ptr<EventSink>> sinks_;
};

}  // namespace rbee::http
