#include "queen/event_ring.h"

#include <algorithm>
#include <charconv>

#include "common/http/event_stream.h"

namespace rbee::queen {

std::shared_ptr<const std::string> EventRing::add(const Event& e, int64_t wall_ms) {
  const uint64_t seq = next_seq_++;
  auto frame = std::make_shared<const std::string>(
      "id: " + epoch_ + "-" + std::to_string(seq) + "\n" +
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

std::optional<std::string> EventRing::after(std::string_view last_event_id) const {
  const auto dash = last_event_id.rfind('-');
  if (dash == std::string_view::npos || last_event_id.substr(0, dash) != epoch_)
    return std::nullopt;
  const std::string_view digits = last_event_id.substr(dash + 1);
  uint64_t seq = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
      seq > last_seq())
    return std::nullopt;
  std::string out;
  for (const auto& [s, frame] : frames_)
    if (s > seq) out += *frame;
  return out;
}

}  // namespace rbee::queen
