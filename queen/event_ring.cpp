#include "queen/event_ring.h"

#include <algorithm>

#include "common/http/event_stream.h"

namespace rbee::queen {

std::shared_ptr<const std::string> EventRing::add(const Event& e, int64_t wall_ms) {
  const uint64_t seq = next_seq_++;
  auto frame = std::make_shared<const std::string>(
      "id: " + std::to_string(seq) + "\n" +
      http::EventStream::format(to_string(e.kind), encode_event(e, seq, wall_ms)));
  if (capacity_ == 0) return frame;
  if (frames_.size() == capacity_) frames_.pop_front();
  frames_.emplace_back(seq, frame);
  return frame;
}

std::string EventRing::recent(std::size_t n) const {
  std::string out;
  const std::size_t skip = frames_.size() - std::min(n, frames_.size());
  for (auto it = frames_.begin() + static_cast<std::ptrdiff_t>(skip); it != frames_.end(); ++it)
    out += *it->second;
  return out;
}

std::optional<std::string> EventRing::after(uint64_t seq) const {
  if (seq > last_seq()) return std::nullopt;
  std::string out;
  for (const auto& [s, frame] : frames_)
    if (s > seq) out += *frame;
  return out;
}

}  // namespace rbee::queen
