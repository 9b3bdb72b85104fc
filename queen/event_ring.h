#pragma once
// The Queen's recent events, kept so that a page or client that connects late sees what
// happened: GET /v1/events?recent=N replays the last N, and an EventSource reconnecting with
// Last-Event-ID gets what it missed. Bounded: the oldest frame goes when the ring is full.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "queen/events.h"

namespace rbee::queen {

class EventRing {
 public:
  // epoch: what tells this Queen's ids from an earlier start's (its start time); seq counts
  // from 1 in each.
  EventRing(std::size_t capacity, std::string epoch)
      : capacity_(capacity), epoch_(std::move(epoch)) {}

  // The event as an SSE frame ("id: EPOCH-SEQ", "event: KIND", its JSON with seq and time_ms),
  // kept and returned for the live stream.
  std::shared_ptr<const std::string> add(const Event& e, int64_t wall_ms);

  // The frames of the last n events, oldest first.
  std::string recent(std::size_t n) const;
  // The frames after the one with id `last_event_id` (an EventSource's Last-Event-ID); every
  // kept frame when that one is older than the ring. nullopt for an id this ring did not hand
  // out (another epoch: a Queen before a restart; malformed), so that the caller can fall back
  // to recent().
  std::optional<std::string> after(std::string_view last_event_id) const;

  std::size_t size() const { return frames_.size(); }
  std::size_t capacity() const { return capacity_; }
  uint64_t last_seq() const { return next_seq_ - 1; }

 private:
  std::size_t capacity_;
  std::string epoch_;
  uint64_t next_seq_ = 1;
  std::deque<std::pair<uint64_t, std::shared_ptr<const std::string>>> frames_;
};

}  // namespace rbee::queen
