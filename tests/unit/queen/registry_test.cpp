// The Queen's registry: pure logic driven with an injected clock.
#include <catch2/catch.hpp>

#include <set>
#include <string_view>
#include <type_traits>

#include "queen/registry.h"

using namespace rbee;
using namespace rbee::queen;
using telemetry::WorkerState;

namespace {

telemetry::Worker worker(const std::string& instance, WorkerState state) {
  telemetry::Worker w;
  w.service = "llm";
  w.instance = instance;
  w.port = static_cast<uint16_t>(std::stoi(instance));
  w.cgroup = "rbee.slice/llm/" + instance;
  w.state = state;
  w.pid_count = 1;
  return w;
}

telemetry::Snapshot snapshot(const std::string& hive, const std::string& instance, uint64_t seq,
                             std::vector<telemetry::Worker> workers) {
  telemetry::Snapshot s;
  s.hive_id = hive;
  s.instance_id = instance;
  s.seq = seq;
  s.interval_ms = 1000;
  s.workers = std::move(workers);
  return s;
}

Now at(int64_t ms) {
  return {ms, 1700000000000 + ms};
}

struct Recorder {
  std::vector<Event> events;
  void attach(Registry& r) {
    r.on_event = [this](const Event& e) { events.push_back(e); };
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : events) out.emplace_back(to_string(e.kind));
    return out;
  }
  void clear() { events.clear(); }
};

json::Capabilities caps(const std::string& hive, const std::string& instance) {
  json::Capabilities c;
  c.hive_id = hive;
  c.instance_id = instance;
  c.schema_version = telemetry::kSchemaVersion;
  c.interval_ms = 1000;
  return c;
}

// Every value from 0 to `last` has a non-empty name of its own and comes back from it.
template <class E>
void check_unique(E last) {
  const auto count = static_cast<std::size_t>(last) + 1;
  REQUIRE(enum_count<E>() == count);
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < count; ++i) {
    const auto e = static_cast<E>(i);
    INFO("value " << i << " named \"" << to_string(e) << "\"");
    CHECK_FALSE(to_string(e).empty());
    CHECK(seen.insert(to_string(e)).second);
    CHECK(parse_enum<E>(to_string(e)) == e);
  }
  CHECK(to_string(static_cast<E>(count)) == "?");
}

}  // namespace

TEST_CASE("queen registry: sources have the names the API documents", "[queen]") {
  CHECK(to_string(HiveSource::ssh_config) == "ssh_config");
  CHECK(to_string(HiveSource::mdns) == "mdns");
  CHECK(to_string(HiveSource::push) == "push");
}

TEST_CASE("queen registry: every status, source and event kind round-trips through its name",
          "[queen]") {
  check_unique<HiveStatus>(HiveStatus::down);
  check_unique<HiveSource>(HiveSource::push);
  check_unique<EventKind>(EventKind::worker_removed);
  CHECK(to_string(HiveStatus::unreachable) == "unreachable");
  CHECK(to_string(EventKind::hive_joined) == "hive_joined");
  CHECK(to_string(EventKind::worker_removed) == "worker_removed");
  CHECK_FALSE(parse_enum<EventKind>("hive_gone"));
}

TEST_CASE("queen registry: an unqualified to_string of a Queen enum is never std::to_string",
          "[queen]") {
  using std::to_string;
  STATIC_REQUIRE(std::is_same_v<decltype(to_string(EventKind::hive_down)), std::string_view>);
  CHECK(to_string(EventKind::hive_down) == "hive_down");
}

TEST_CASE("queen registry: a snapshot replaces the Hive's worker set", "[queen]") {
  Registry reg;
  REQUIRE(reg.ingest(snapshot("h1", "i1", 1,
                              {worker("8080", WorkerState::ready),
                               worker("8081", WorkerState::starting)}),
                     "10.0.0.5", at(0))
              .outcome == IngestOutcome::accepted);
  REQUIRE(reg.ingest(snapshot("h1", "i1", 2, {worker("8081", WorkerState::ready)}), "10.0.0.5",
                     at(1000))
              .outcome == IngestOutcome::accepted);
  const HiveEntry* h = reg.find("h1");
  REQUIRE(h);
  REQUIRE(h->workers.size() == 1);
  CHECK(h->workers[0].instance == "8081");
  CHECK(h->workers[0].state == WorkerState::ready);
  CHECK(h->seq == 2);
  CHECK(h->source == HiveSource::push);
  CHECK(h->pushed_from == "10.0.0.5");
  CHECK(h->worker_url(8081) == "http://10.0.0.5:8081");
  CHECK(h->status == HiveStatus::healthy);
}

TEST_CASE("queen registry: an older or equal seq from the same instance is ignored", "[queen]") {
  Registry reg;
  REQUIRE(reg.ingest(snapshot("h1", "i1", 5, {worker("8080", WorkerState::ready)}), "a", at(0))
              .outcome == IngestOutcome::accepted);
  CHECK(reg.ingest(snapshot("h1", "i1", 5, {}), "a", at(10)).outcome == IngestOutcome::stale);
  CHECK(reg.ingest(snapshot("h1", "i1", 3, {}), "a", at(20)).outcome == IngestOutcome::stale);
  const HiveEntry* h = reg.find("h1");
  REQUIRE(h);
  CHECK(h->seq == 5);
  CHECK(h->workers.size() == 1);
  CHECK(*h->last_seen_mono_ms == 0);  // an ignored snapshot is not a sign of life
}

TEST_CASE("queen registry: a new instance id is a restart and resets seq", "[queen]") {
  Registry reg;
  Recorder rec;
  rec.attach(reg);
  REQUIRE(reg.ingest(snapshot("h1", "i1", 100, {worker("8080", WorkerState::ready)}), "a", at(0))
              .outcome == IngestOutcome::accepted);
  rec.clear();
  auto r = reg.ingest(snapshot("h1", "i2", 1, {worker("8080", WorkerState::ready)}), "a", at(500));
  CHECK(r.outcome == IngestOutcome::accepted);
  CHECK(reg.find("h1")->seq == 1);
  CHECK(reg.find("h1")->instance_id == "i2");
  CHECK(rec.names() == std::vector<std::string>{"hive_restarted"});  // worker re-adopted: no churn
  // The old instance never comes back: two Hives share the id.
  CHECK(reg.ingest(snapshot("h1", "i1", 101, {}), "b", at(600)).outcome == IngestOutcome::conflict);
  CHECK(reg.find("h1")->workers.size() == 1);
}

TEST_CASE("queen registry: status follows the age of the last snapshot", "[queen]") {
  Registry reg(RegistryOptions{.stale_after_intervals = 3, .down_after_intervals = 10});
  Recorder rec;
  rec.attach(reg);
  reg.set_candidates({{"gpu1", "10.0.0.1", 7835, HiveSource::ssh_config}}, at(0));
  CHECK(reg.find("gpu1")->status == HiveStatus::unreachable);
  reg.evaluate(at(100000));
  CHECK(reg.find("gpu1")->status == HiveStatus::unreachable);  // never contacted: no age

  REQUIRE(reg.handshake_ok("gpu1", caps("h1", "i1"), "{}", at(1000)).outcome == BindOutcome::bound);
  CHECK(reg.find("h1") == reg.find("gpu1"));
  CHECK(reg.find("h1")->status == HiveStatus::healthy);
  REQUIRE(reg.ingest(snapshot("h1", "i1", 1, {worker("8080", WorkerState::ready)}), "10.0.0.1",
                     at(2000))
              .outcome == IngestOutcome::accepted);
  rec.clear();
  reg.evaluate(at(2000 + 2999));
  CHECK(reg.find("h1")->status == HiveStatus::healthy);
  reg.evaluate(at(2000 + 3000));
  CHECK(reg.find("h1")->status == HiveStatus::degraded);
  reg.evaluate(at(2000 + 9999));
  CHECK(reg.find("h1")->status == HiveStatus::degraded);
  reg.evaluate(at(2000 + 10000));
  CHECK(reg.find("h1")->status == HiveStatus::down);
  CHECK(rec.names() == std::vector<std::string>{"hive_degraded", "hive_down", "worker_state"});
  rec.clear();
  REQUIRE(reg.ingest(snapshot("h1", "i1", 2, {worker("8080", WorkerState::ready)}), "10.0.0.1",
                     at(20000))
              .outcome == IngestOutcome::accepted);
  CHECK(reg.find("h1")->status == HiveStatus::healthy);
  CHECK(rec.names() == std::vector<std::string>{"hive_back", "worker_state"});
  CHECK(rec.events[1].previous_state == WorkerState::unknown);
}

TEST_CASE("queen registry: a down Hive's workers stay listed as unknown", "[queen]") {
  Registry reg;
  auto w = worker("8080", WorkerState::ready);
  w.main_pid = 1234;
  w.rss_bytes = 1 << 20;
  REQUIRE(reg.ingest(snapshot("h1", "i1", 1, {w}), "a", at(0)).outcome == IngestOutcome::accepted);
  reg.evaluate(at(10000));
  const HiveEntry* h = reg.find("h1");
  CHECK(h->status == HiveStatus::down);
  REQUIRE(h->workers.size() == 1);
  CHECK(h->workers[0].state == WorkerState::unknown);
  CHECK(h->workers[0].main_pid == 1234);
  CHECK(h->workers[0].rss_bytes == (1u << 20));
}

TEST_CASE("queen registry: events for added, removed and changed workers", "[queen]") {
  Registry reg;
  Recorder rec;
  rec.attach(reg);
  REQUIRE(reg.ingest(snapshot("h1", "i1", 1,
                              {worker("8080", WorkerState::starting),
                               worker("8081", WorkerState::ready)}),
                     "10.0.0.9", at(0))
              .outcome == IngestOutcome::accepted);
  CHECK(rec.names() == std::vector<std::string>{"hive_joined", "worker_added", "worker_added"});
  rec.clear();
  auto crashed = worker("8081", WorkerState::failed);
  crashed.signal = 9;
  REQUIRE(reg.ingest(snapshot("h1", "i1", 2,
                              {worker("8080", WorkerState::ready), crashed,
                               worker("8082", WorkerState::starting)}),
                     "10.0.0.9", at(1000))
              .outcome == IngestOutcome::accepted);
  CHECK(rec.names() == std::vector<std::string>{"worker_state", "worker_state", "worker_added"});
  CHECK(rec.events[0].previous_state == WorkerState::starting);
  CHECK(rec.events[1].worker->signal == 9);
  auto data = encode_event(rec.events[1], 7, 1234);
  CHECK(data.find("\"seq\":7,\"time_ms\":1234,\"kind\":\"worker_state\"") != std::string::npos);
  CHECK(data.find("\"hive_id\":\"h1\"") != std::string::npos);
  CHECK(data.find("\"state\":\"failed\"") != std::string::npos);
  CHECK(data.find("\"signal\":9") != std::string::npos);
  CHECK(data.find("\"url\":\"http://10.0.0.9:8081\"") != std::string::npos);
  rec.clear();
  REQUIRE(reg.ingest(snapshot("h1", "i1", 3, {worker("8082", WorkerState::starting)}), "10.0.0.9",
                     at(2000))
              .outcome == IngestOutcome::accepted);
  CHECK(rec.names() == std::vector<std::string>{"worker_removed", "worker_removed"});
}

TEST_CASE("queen registry: a handshake adopts the entry the Hive's pushes created", "[queen]") {
  Registry reg;
  reg.set_candidates({{"gpu1", "gpu1.lab", 7835, HiveSource::ssh_config}}, at(0));
  REQUIRE(
      reg.ingest(snapshot("h1", "i1", 1, {worker("8080", WorkerState::ready)}), "10.0.0.1", at(10))
          .outcome == IngestOutcome::accepted);
  CHECK(reg.size() == 2);
  REQUIRE(reg.handshake_ok("gpu1", caps("h1", "i1"), R"({"hive_id":"h1"})", at(20)).outcome ==
          BindOutcome::bound);
  CHECK(reg.size() == 1);
  const HiveEntry* h = reg.find("gpu1");
  REQUIRE(h);
  CHECK(h->id == "h1");
  CHECK(h->source == HiveSource::ssh_config);
  CHECK(h->address() == "http://gpu1.lab:7835");
  CHECK(h->workers.size() == 1);
  CHECK(h->seq == 1);
  CHECK(h->worker_url(8080) == "http://gpu1.lab:8080");
}

TEST_CASE("queen registry: one Hive never overwrites another alias's entry", "[queen]") {
  Registry reg;
  reg.set_candidates({{"a", "10.0.0.1", 7835, HiveSource::ssh_config},
                      {"b", "10.0.0.2", 7835, HiveSource::ssh_config}},
                     at(0));
  REQUIRE(reg.handshake_ok("a", caps("h1", "i1"), "{}", at(1)).outcome == BindOutcome::bound);
  auto r = reg.handshake_ok("b", caps("h1", "i2"), "{}", at(2));
  CHECK(r.outcome == BindOutcome::conflict);
  CHECK(reg.find("b")->id.empty());
  CHECK(!reg.find("b")->last_error.empty());
  CHECK(reg.find("h1")->alias == "a");
  auto dup = reg.handshake_ok("b", caps("h1", "i1"), "{}", at(3));
  CHECK(dup.outcome == BindOutcome::duplicate);
}

TEST_CASE("queen registry: a Hive's id is tied to its address, not only to the shared token",
          "[queen]") {
  Registry reg;
  reg.set_candidates({{"a", "10.0.0.1", 7835, HiveSource::ssh_config}}, at(0));
  REQUIRE(reg.handshake_ok("a", caps("h1", "i1"), "{}", at(1)).outcome == BindOutcome::bound);
  REQUIRE(
      reg.ingest(snapshot("h1", "i1", 1, {worker("8080", WorkerState::ready)}), "10.0.0.1", at(2))
          .outcome == IngestOutcome::accepted);
  // Another sender: neither its live instance with a far-ahead seq nor a "restart" is taken.
  CHECK(reg.ingest(snapshot("h1", "i1", 1u << 30, {}), "10.0.0.66", at(3)).outcome ==
        IngestOutcome::conflict);
  CHECK(reg.ingest(snapshot("h1", "i9", 1, {}), "10.0.0.66", at(4)).outcome ==
        IngestOutcome::conflict);
  CHECK(reg.find("h1")->workers.size() == 1);
  CHECK(reg.find("h1")->seq == 1);
  // The real Hive goes on, also through an IPv4-mapped IPv6 peer address.
  CHECK(reg.ingest(snapshot("h1", "i1", 2, {}), "::ffff:10.0.0.1", at(5)).outcome ==
        IngestOutcome::accepted);
  // A push-only Hive is tied to its first sender.
  REQUIRE(reg.ingest(snapshot("p1", "x", 1, {}), "10.0.0.7", at(6)).outcome ==
          IngestOutcome::accepted);
  CHECK(reg.ingest(snapshot("p1", "y", 1, {}), "10.0.0.8", at(7)).outcome ==
        IngestOutcome::conflict);
}

TEST_CASE("queen registry: pushes from another address are not adopted by the handshake",
          "[queen]") {
  Registry reg;
  reg.set_candidates({{"a", "10.0.0.1", 7835, HiveSource::ssh_config}}, at(0));
  REQUIRE(reg.ingest(snapshot("h1", "i1", 1u << 30, {worker("6666", WorkerState::ready)}),
                     "10.0.0.66", at(1))
              .outcome == IngestOutcome::accepted);
  REQUIRE(reg.handshake_ok("a", caps("h1", "i1"), "{}", at(2)).outcome == BindOutcome::bound);
  CHECK(reg.size() == 1);
  const HiveEntry* h = reg.find("h1");
  REQUIRE(h);
  CHECK(h->alias == "a");
  CHECK(h->workers.empty());
  CHECK(reg.ingest(snapshot("h1", "i1", 1, {worker("8080", WorkerState::ready)}), "10.0.0.1", at(3))
            .outcome == IngestOutcome::accepted);
  CHECK(reg.find("h1")->workers.size() == 1);
}

TEST_CASE("queen registry: a candidate removed from discovery is dropped and refused", "[queen]") {
  Registry reg;
  Recorder rec;
  rec.attach(reg);
  reg.set_candidates({{"gpu1", "10.0.0.1", 7835, HiveSource::ssh_config}}, at(0));
  REQUIRE(reg.handshake_ok("gpu1", caps("h1", "i1"), "{}", at(1)).outcome == BindOutcome::bound);
  REQUIRE(reg.ingest(snapshot("h1", "i1", 1, {worker("8080", WorkerState::ready)}), "x", at(2))
              .outcome == IngestOutcome::accepted);
  rec.clear();
  auto changes = reg.set_candidates({}, at(3));
  CHECK(changes.removed == std::vector<std::string>{"gpu1"});
  CHECK(reg.size() == 0);
  CHECK(rec.names() == std::vector<std::string>{"worker_removed", "hive_removed"});
  CHECK(reg.ingest(snapshot("h1", "i1", 2, {}), "x", at(4)).outcome == IngestOutcome::gone);
  // Discovered again: accepted again after the handshake.
  reg.set_candidates({{"gpu1", "10.0.0.1", 7835, HiveSource::ssh_config}}, at(5));
  REQUIRE(reg.handshake_ok("gpu1", caps("h1", "i1"), "{}", at(6)).outcome == BindOutcome::bound);
  CHECK(reg.ingest(snapshot("h1", "i1", 3, {}), "x", at(7)).outcome == IngestOutcome::accepted);
}

TEST_CASE("queen registry: a Hive that answers the handshake but never pushes goes down",
          "[queen]") {
  Registry reg;
  reg.set_candidates({{"gpu1", "10.0.0.1", 7835, HiveSource::ssh_config}}, at(0));
  REQUIRE(reg.handshake_ok("gpu1", caps("h1", "i1"), "{}", at(0)).outcome == BindOutcome::bound);
  reg.evaluate(at(10000));
  CHECK(reg.find("h1")->status == HiveStatus::down);
  // A renewal is not telemetry: still down.
  REQUIRE(reg.handshake_ok("gpu1", caps("h1", "i1"), "{}", at(10001)).outcome ==
          BindOutcome::bound);
  reg.evaluate(at(10002));
  CHECK(reg.find("h1")->status == HiveStatus::down);
}

TEST_CASE("queen registry: worker events follow the snapshot's order whatever it is", "[queen]") {
  Registry reg;
  Recorder rec;
  rec.attach(reg);
  auto svc = [](std::string service, std::string instance, WorkerState state) {
    auto w = worker("8000", state);
    w.service = std::move(service);
    w.instance = std::move(instance);
    return w;
  };
  // Unsorted, services of different lengths, and a "service/instance" key shared by two pairs.
  REQUIRE(reg.ingest(snapshot("h1", "i1", 1,
                              {svc("llm", "8082", WorkerState::ready),
                               svc("embed", "8080", WorkerState::ready),
                               svc("llm", "8081", WorkerState::starting),
                               svc("a/b", "1", WorkerState::ready)}),
                     "10.0.0.9", at(0))
              .outcome == IngestOutcome::accepted);
  CHECK(rec.names() == std::vector<std::string>{"hive_joined", "worker_added", "worker_added",
                                                "worker_added", "worker_added"});
  rec.clear();
  REQUIRE(reg.ingest(snapshot("h1", "i1", 2,
                              {svc("llm", "8081", WorkerState::ready),
                               svc("a", "b/1", WorkerState::failed),
                               svc("llm", "8083", WorkerState::starting),
                               svc("llm", "8082", WorkerState::ready)}),
                     "10.0.0.9", at(1000))
              .outcome == IngestOutcome::accepted);
  // "a"/"b/1" has the key of "a/b"/"1": the same worker, whose state changed.
  REQUIRE(rec.names() == std::vector<std::string>{"worker_state", "worker_state", "worker_added",
                                                  "worker_removed"});
  CHECK(rec.events[0].worker->instance == "8081");
  CHECK(rec.events[1].worker->service == "a");
  CHECK(rec.events[1].previous_state == WorkerState::ready);
  CHECK(rec.events[2].worker->instance == "8083");
  CHECK(rec.events[3].worker->service == "embed");
  CHECK(reg.find("h1")->workers.size() == 4);
  CHECK(reg.find("h1")->workers[1].service == "a");
  rec.clear();
  // No '/' in any service now; "llm-x" sorts before "llm" as a joined key, after it as a pair.
  REQUIRE(reg.ingest(snapshot("h1", "i1", 3,
                              {svc("llm", "8083", WorkerState::ready),
                               svc("llm-x", "1", WorkerState::starting),
                               svc("embed", "8080", WorkerState::ready)}),
                     "10.0.0.9", at(2000))
              .outcome == IngestOutcome::accepted);
  REQUIRE(rec.names() == std::vector<std::string>{"worker_state", "worker_added", "worker_added",
                                                  "worker_removed", "worker_removed",
                                                  "worker_removed"});
  CHECK(rec.events[1].worker->service == "llm-x");
  CHECK(rec.events[3].worker->instance == "8081");
  CHECK(rec.events[4].worker->service == "a");
  CHECK(rec.events[5].worker->instance == "8082");
}

TEST_CASE("queen registry: Hives known only from pushes are bounded per sender address",
          "[queen]") {
  Registry reg(RegistryOptions{.max_push_hives_per_sender = 2});
  auto push = [&](const char* id, const char* sender, uint64_t seq) {
    return reg.ingest(snapshot(id, "i1", seq, {}), sender, at(static_cast<int64_t>(seq)));
  };
  REQUIRE(push("a", "10.0.0.5", 1).outcome == IngestOutcome::accepted);
  REQUIRE(push("b", "10.0.0.5", 1).outcome == IngestOutcome::accepted);
  const auto third = push("c", "10.0.0.5", 1);
  CHECK(third.outcome == IngestOutcome::sender_full);
  CHECK(third.message.find("10.0.0.5") != std::string::npos);
  CHECK(reg.find("c") == nullptr);
  // The Hives it holds keep reporting; another address range has its own allowance.
  CHECK(push("a", "10.0.0.5", 2).outcome == IngestOutcome::accepted);
  CHECK(push("c", "10.0.1.6", 1).outcome == IngestOutcome::accepted);
  REQUIRE(reg.find("c"));
  CHECK(reg.find("c")->pushed_from == "10.0.1.6");
}

TEST_CASE("queen registry: the per-sender cap counts an IPv4 /24 and an IPv6 /64", "[queen]") {
  Registry reg(RegistryOptions{.max_push_hives_per_sender = 2});
  auto push = [&](const std::string& id, const char* sender) {
    return reg.ingest(snapshot(id, "i1", 1, {}), sender, at(1));
  };
  CHECK(push("a", "10.0.0.5").outcome == IngestOutcome::accepted);
  CHECK(push("b", "10.0.0.200").outcome == IngestOutcome::accepted);
  auto r = push("c", "10.0.0.9");
  CHECK(r.outcome == IngestOutcome::sender_full);
  CHECK(r.message.find("10.0.0.0/24") != std::string::npos);
  CHECK(r.message.find("10.0.0.9") != std::string::npos);
  // The same address written as v4-mapped IPv6 is the same range.
  CHECK(push("c", "::ffff:10.0.0.7").outcome == IngestOutcome::sender_full);
  CHECK(push("c", "10.0.1.9").outcome == IngestOutcome::accepted);

  CHECK(push("v6a", "2001:db8:1:2::1").outcome == IngestOutcome::accepted);
  CHECK(push("v6b", "2001:db8:1:2:ffff::9").outcome == IngestOutcome::accepted);
  r = push("v6c", "2001:db8:1:2:abcd::1");
  CHECK(r.outcome == IngestOutcome::sender_full);
  CHECK(r.message.find("2001:db8:1:2::/64") != std::string::npos);
  CHECK(push("v6c", "2001:db8:1:3::1").outcome == IngestOutcome::accepted);
}

TEST_CASE("queen registry: the range prefixes are configurable, /32 is one address", "[queen]") {
  Registry reg(
      RegistryOptions{.max_push_hives_per_sender = 1, .push_prefix_v4 = 32, .push_prefix_v6 = 128});
  auto push = [&](const std::string& id, const char* sender) {
    return reg.ingest(snapshot(id, "i1", 1, {}), sender, at(1)).outcome;
  };
  CHECK(push("a", "10.0.0.5") == IngestOutcome::accepted);
  CHECK(push("b", "10.0.0.5") == IngestOutcome::sender_full);
  CHECK(push("b", "10.0.0.6") == IngestOutcome::accepted);
  CHECK(push("c", "fd00::1") == IngestOutcome::accepted);
  CHECK(push("d", "fd00::2") == IngestOutcome::accepted);

  Registry wide(RegistryOptions{.max_push_hives_per_sender = 1, .push_prefix_v4 = 8});
  CHECK(wide.ingest(snapshot("a", "i1", 1, {}), "10.1.2.3", at(1)).outcome ==
        IngestOutcome::accepted);
  auto r = wide.ingest(snapshot("b", "i1", 1, {}), "10.200.0.1", at(1));
  CHECK(r.outcome == IngestOutcome::sender_full);
  CHECK(r.message.find("10.0.0.0/8") != std::string::npos);
}

TEST_CASE("queen registry: a push-only Hive down for forget_push_only_after_ms is dropped",
          "[queen]") {
  // interval 1 s, down after 10 intervals, forgotten 60 s after that.
  Registry reg(RegistryOptions{.forget_push_only_after_ms = 60000});
  Recorder rec;
  rec.attach(reg);
  REQUIRE(
      reg.ingest(snapshot("p", "i1", 1, {worker("8080", WorkerState::ready)}), "10.0.0.5", at(0))
          .outcome == IngestOutcome::accepted);
  reg.set_candidates({{"gpu1", "10.0.0.9", 7835, HiveSource::ssh_config}}, at(0));
  REQUIRE(reg.handshake_ok("gpu1", caps("g", "i1"), "{}", at(0)).outcome == BindOutcome::bound);
  reg.evaluate(at(10000));
  REQUIRE(reg.find("p"));
  CHECK(reg.find("p")->status == HiveStatus::down);
  reg.evaluate(at(10000 + 59999));
  CHECK(reg.find("p"));
  rec.clear();
  reg.evaluate(at(10000 + 60000));
  CHECK(reg.find("p") == nullptr);
  CHECK(rec.names() == std::vector<std::string>{"worker_removed", "hive_removed"});
  // A discovered Hive, down as long, stays: the operator named it.
  REQUIRE(reg.find("gpu1"));
  CHECK(reg.find("gpu1")->status == HiveStatus::down);
  // Its cap place is free again, and the id is welcome back as a new push-only Hive.
  auto back = reg.ingest(snapshot("p", "i1", 1, {}), "10.0.0.5", at(80000));
  CHECK(back.outcome == IngestOutcome::accepted);
  CHECK(reg.find("p")->source == HiveSource::push);
}

TEST_CASE("queen registry: a Hive that pushes again before the limit is kept", "[queen]") {
  Registry reg(RegistryOptions{.forget_push_only_after_ms = 5000});
  REQUIRE(reg.ingest(snapshot("p", "i1", 1, {}), "10.0.0.5", at(0)).outcome ==
          IngestOutcome::accepted);
  reg.evaluate(at(14000));  // down since 10 s
  REQUIRE(reg.ingest(snapshot("p", "i1", 2, {}), "10.0.0.5", at(14500)).outcome ==
          IngestOutcome::accepted);
  reg.evaluate(at(16000));
  REQUIRE(reg.find("p"));
  CHECK(reg.find("p")->status == HiveStatus::healthy);
  Registry never(RegistryOptions{.forget_push_only_after_ms = 0});
  REQUIRE(never.ingest(snapshot("p", "i1", 1, {}), "10.0.0.5", at(0)).outcome ==
          IngestOutcome::accepted);
  never.evaluate(at(int64_t{1} << 40));
  CHECK(never.find("p"));
}
