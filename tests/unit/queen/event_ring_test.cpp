#include <catch2/catch.hpp>

#include "queen/event_ring.h"

using namespace rbee;
using namespace rbee::queen;

namespace {

Event hive_event(const std::string& id) {
  Event e;
  e.kind = EventKind::hive_joined;
  e.hive_id = id;
  e.status = HiveStatus::healthy;
  return e;
}

}  // namespace

TEST_CASE("the event ring keeps the newest frames, numbered, and replays from any of them",
          "[queen][events]") {
  EventRing ring(3, "77");
  auto first = ring.add(hive_event("h1"), 1000);
  CHECK(*first ==
        "id: 77-1\nevent: hive_joined\ndata: "
        R"({"seq":1,"time_ms":1000,"kind":"hive_joined","hive_id":"h1","status":"healthy",)"
        R"("previous_status":"unreachable"})"
        "\n\n");
  for (int i = 2; i <= 5; ++i) ring.add(hive_event("h" + std::to_string(i)), 1000 + i);
  CHECK(ring.size() == 3);
  CHECK(ring.last_seq() == 5);
  const std::string all = ring.recent(100);
  CHECK(all.find("id: 77-2\n") == std::string::npos);
  CHECK(all.find("id: 77-3\n") == 0);
  CHECK(all.find("id: 77-5\n") != std::string::npos);
  CHECK(ring.recent(1).find("id: 77-5\n") == 0);
  CHECK(ring.recent(0).empty());
  CHECK(ring.after("77-4").value().find("id: 77-5\n") == 0);
  CHECK(ring.after("77-5").value().empty());
  CHECK(ring.after("77-1").value() == all);  // older than the ring: all it has
  CHECK_FALSE(ring.after("77-6"));           // never handed out
  // An id of a Queen before a restart names a seq this one may have reached already: the
  // epoch tells them apart.
  CHECK_FALSE(ring.after("76-4"));
  for (const char* bad : {"", "4", "77-", "77-x", "77--4", "77-4 ", "-4"}) {
    INFO(bad);
    CHECK_FALSE(ring.after(bad));
  }
}

TEST_CASE("an event ring of size 0 keeps nothing but still numbers frames", "[queen][events]") {
  EventRing ring(0, "77");
  CHECK(ring.add(hive_event("h"), 1)->starts_with("id: 77-1\n"));
  CHECK(ring.add(hive_event("h"), 2)->starts_with("id: 77-2\n"));
  CHECK(ring.size() == 0);
  CHECK(ring.recent(10).empty());
}
