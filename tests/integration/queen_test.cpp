// rbee-queen end to end: real Queens and Hives on loopback, real workers in real cgroups.
#include <signal.h>

#include <sys/wait.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "checks.h"
#include "common/http/client.h"
#include "common/json/decode.h"
#include "common/json/telemetry_json.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;
using telemetry::WorkerState;

namespace {

constexpr uint32_t kInterval = 200;

auto status_is(const std::string& s) {
  return [s](const json::HiveSummary& h) { return h.status == s; };
}
auto state_is(WorkerState s) {
  return [s](const json::HostedWorker& w) { return w.worker.state == s; };
}

std::string hive_id(const std::string& tag) {
  return "test-" + tag;
}

// Collects the Queen's SSE event names (and data) in the background. The reader thread owns
// its state, so it may outlive this object (it ends at its next event or when the Queen goes).
class EventLog {
 public:
  explicit EventLog(const std::string& url) : state_(std::make_shared<State>()) {
    std::thread([state = state_, url] {
      (void)http::read_event_stream(url + "/v1/events", "", std::chrono::seconds(60),
                                    [&state](std::string_view name, std::string_view data) {
                                      std::lock_guard lock(state->mu);
                                      state->events.emplace_back(std::string(name),
                                                                 std::string(data));
                                      return !state->stop;
                                    });
    }).detach();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the stream is attached
  }
  ~EventLog() { state_->stop = true; }
  bool wait_for(const std::string& name, std::chrono::milliseconds timeout = 15s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      {
        std::lock_guard lock(state_->mu);
        for (auto& [n, d] : state_->events)
          if (n == name) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  struct State {
    std::mutex mu;
    std::vector<std::pair<std::string, std::string>> events;
    std::atomic<bool> stop{false};
  };
  std::shared_ptr<State> state_;
};

// SIGCONT on the way out, so a failed check never leaves a stopped daemon behind.
struct Continue {
  Process* p;
  ~Continue() { p->kill(SIGCONT); }
};

}  // namespace

TEST_CASE("queen first, then a Hive, then a worker", "[queen]") {
  const uint16_t hive_port = free_port();
  Queen queen({.tag = "qfirst", .hives = {{"h1", "127.0.0.1", hive_port}}});
  auto waiting = queen.wait_hive("h1", status_is("unreachable"), 5s);
  REQUIRE(waiting);
  CHECK(waiting->id.empty());

  Hive hive({.tag = "qfirst", .interval_ms = kInterval, .listen_port = hive_port});
  auto joined = queen.wait_hive("h1", status_is("healthy"));
  REQUIRE(joined);
  CHECK(joined->id == hive_id("qfirst"));
  CHECK(joined->source == "ssh_config");
  CHECK(joined->address == "http://127.0.0.1:" + std::to_string(hive_port));
  CHECK(joined->worker_count == 0);

  auto inst = spawn_ok(hive, {});
  auto w = queen.wait_worker(hive_id("qfirst"), "tw", inst, state_is(WorkerState::ready));
  REQUIRE(w);
  CHECK(w->url == "http://127.0.0.1:" + inst);
  CHECK(w->worker.spawned_by == telemetry::SpawnedBy::hive);
  CHECK(w->worker.main_pid);
  // The nested members (pressure) pass through the Queen's decoder and /v1/workers as the Hive
  // reports them, where the kernel has PSI.
  const auto psi =
      std::filesystem::exists(hive.cgroups().path() / "rbee.slice/tw" / inst / "cpu.pressure");
  auto with_pressure = queen.wait_worker(hive_id("qfirst"), "tw", inst, [&](const auto& x) {
    return x.worker.pressure.has_value() == psi && (!psi || x.worker.pressure->cpu.has_value());
  });
  CHECK(with_pressure);
  auto one = queen.get("/v1/hives/" + hive_id("qfirst"));
  REQUIRE(one);
  CHECK(one->status == 200);
  CHECK(one->body.find("\"capabilities\":{") != std::string::npos);
  CHECK(one->body.find("\"instance\":\"" + inst + "\"") != std::string::npos);
  auto filtered = queen.workers("?service=tw&state=ready&hive=h1");
  CHECK(filtered.size() == 1);
  CHECK(queen.workers("?service=nope").empty());
  auto bad = queen.get("/v1/workers?state=sleepy");
  REQUIRE(bad);
  CHECK(bad->status == 400);
}

TEST_CASE("queen started after the workers lists them all in its first view", "[queen]") {
  Hive hive({.tag = "wfirst", .interval_ms = kInterval});
  auto inst = spawn_ok(hive, {});
  const auto ext_port = unique_base_port() + 20;
  const std::string ext = std::to_string(ext_port);
  hive.cgroups().start_external("ext", ext, {RBEE_TEST_WORKER_BIN, "--port", ext});
  REQUIRE(
      hive.wait_worker("tw", inst, [](const auto& w) { return w.state == WorkerState::ready; }));
  REQUIRE(
      hive.wait_worker("ext", ext, [](const auto& w) { return w.state == WorkerState::ready; }));

  const auto port = port_of(hive.url());
  Queen queen({.tag = "wfirst", .hives = {{"wf", "127.0.0.1", port}}});
  // The handshake can answer before the first snapshot lands; wait for the first snapshot.
  auto h = queen.wait_hive("wf", [](const auto& h) { return h.seq > 0; });
  REQUIRE(h);
  CHECK(h->status == "healthy");
  CHECK(h->worker_count == 2);  // the very first snapshot already holds both
  auto e = queen.wait_worker(hive_id("wfirst"), "ext", ext, state_is(WorkerState::ready), 5s);
  REQUIRE(e);
  CHECK(e->worker.spawned_by == telemetry::SpawnedBy::external);
  CHECK(e->url == "http://127.0.0.1:" + ext);
}

TEST_CASE("queen follows a Hive killed with SIGKILL and restarted", "[queen]") {
  const uint16_t hive_port = free_port();
  Hive hive({.tag = "hrestart", .interval_ms = kInterval, .listen_port = hive_port});
  auto inst = spawn_ok(hive, {});
  Queen queen({.tag = "hrestart", .hives = {{"hr", "127.0.0.1", hive_port}}});
  auto before = queen.wait_worker(hive_id("hrestart"), "tw", inst, state_is(WorkerState::ready));
  REQUIRE(before);
  auto h0 = queen.wait_hive("hr", status_is("healthy"));
  REQUIRE(h0);

  hive.kill(SIGKILL);
  hive.start();
  auto h1 = queen.wait_hive("hr", [&](const auto& h) {
    return h.status == "healthy" && h.instance_id != h0->instance_id;
  });
  REQUIRE(h1);
  auto after = queen.wait_worker(hive_id("hrestart"), "tw", inst, state_is(WorkerState::ready), 5s);
  REQUIRE(after);
  CHECK(after->worker.main_pid == before->worker.main_pid);  // re-adopted, never restarted
  CHECK(h1->worker_count == 1);
}

TEST_CASE("queen killed with SIGKILL rebuilds its view within a few ticks", "[queen]") {
  Hive hive({.tag = "qrestart", .interval_ms = kInterval});
  auto inst = spawn_ok(hive, {});
  const auto port = port_of(hive.url());
  Queen queen({.tag = "qrestart", .hives = {{"qr", "127.0.0.1", port}}});
  REQUIRE(queen.wait_worker(hive_id("qrestart"), "tw", inst, state_is(WorkerState::ready)));

  queen.kill(SIGKILL);
  const auto t0 = std::chrono::steady_clock::now();
  queen.start();
  auto w = queen.wait_worker(hive_id("qrestart"), "tw", inst, state_is(WorkerState::ready), 10s);
  REQUIRE(w);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  INFO("view rebuilt " << ms << " ms after the restart");
  CHECK(ms < 5000);
  auto h = queen.wait_hive("qr", status_is("healthy"), 2s);
  REQUIRE(h);
  CHECK(h->source == "ssh_config");  // the pushes and the handshake ended up in one entry
  CHECK(queen.hives().size() == 1);
}

TEST_CASE("queen marks a Hive that stops pushing degraded, then down, then healthy", "[queen]") {
  Hive hive({.tag = "stale", .interval_ms = kInterval});
  auto inst = spawn_ok(hive, {});
  const auto port = port_of(hive.url());
  Queen queen({.tag = "stale", .hives = {{"st", "127.0.0.1", port}}});
  REQUIRE(queen.wait_worker(hive_id("stale"), "tw", inst, state_is(WorkerState::ready)));
  EventLog events(queen.url());

  hive.process()->kill(SIGSTOP);
  Continue resume{hive.process()};
  CHECK(queen.wait_hive("st", status_is("degraded"), 5s));
  auto down = queen.wait_hive("st", status_is("down"), 10s);
  REQUIRE(down);
  CHECK(down->worker_count == 1);
  auto unknown =
      queen.wait_worker(hive_id("stale"), "tw", inst, state_is(WorkerState::unknown), 2s);
  REQUIRE(unknown);
  CHECK(unknown->worker.main_pid);  // the other fields are kept

  hive.process()->kill(SIGCONT);
  CHECK(queen.wait_hive("st", status_is("healthy"), 15s));
  CHECK(queen.wait_worker(hive_id("stale"), "tw", inst, state_is(WorkerState::ready), 5s));
  CHECK(events.wait_for("hive_degraded", 1s));
  CHECK(events.wait_for("hive_down", 1s));
  CHECK(events.wait_for("hive_back", 5s));
  auto metrics = queen.get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("rbee_queen_hives{status=\"healthy\"} 1") != std::string::npos);
}

TEST_CASE("queen shows a worker crash with its exit reason", "[queen]") {
  Hive hive({.tag = "crash", .interval_ms = kInterval});
  const auto port = port_of(hive.url());
  Queen queen({.tag = "crash", .hives = {{"cr", "127.0.0.1", port}}});
  REQUIRE(queen.wait_hive("cr", status_is("healthy")));
  EventLog events(queen.url());

  auto failing = spawn_ok(hive, {"--exit-after-ms", "500", "--exit-code", "3"});
  auto killed = spawn_ok(hive, {});
  auto k = queen.wait_worker(hive_id("crash"), "tw", killed, state_is(WorkerState::ready));
  REQUIRE(k);
  REQUIRE(k->worker.main_pid);
  ::kill(*k->worker.main_pid, SIGKILL);

  auto f = queen.wait_worker(hive_id("crash"), "tw", failing, state_is(WorkerState::failed));
  REQUIRE(f);
  CHECK(f->worker.exit_code == 3);
  auto s = queen.wait_worker(hive_id("crash"), "tw", killed, state_is(WorkerState::failed));
  REQUIRE(s);
  CHECK(s->worker.signal == SIGKILL);
  CHECK(events.wait_for("worker_added", 1s));
  CHECK(events.wait_for("worker_state", 1s));
}

TEST_CASE("queen refuses telemetry without the right token and keeps its view", "[queen][auth]") {
  const std::string token = "queen-s3cret";
  Hive hive({.tag = "qauth", .interval_ms = kInterval, .token = token});
  auto inst = spawn_ok(hive, {}, token);
  const auto port = port_of(hive.url());
  Queen queen({.tag = "qauth", .token = token, .hives = {{"qa", "127.0.0.1", port}}});
  REQUIRE(queen.wait_worker(hive_id("qauth"), "tw", inst, state_is(WorkerState::ready)));

  telemetry::Snapshot forged;
  forged.hive_id = hive_id("qauth");
  forged.instance_id = "forged";
  forged.seq = 1;
  telemetry::Worker evil;
  evil.service = "evil";
  evil.instance = "1";
  evil.state = WorkerState::ready;
  forged.workers.push_back(evil);
  auto other = forged;
  other.hive_id = "intruder";
  for (const std::string bad : {"", "wrong", "queen-s3cre"}) {
    for (const auto* s : {&forged, &other}) {
      auto r = queen.post("/v1/hive-telemetry", json::encode_snapshot(*s), bad);
      REQUIRE(r);
      CHECK(r->status == 401);
    }
  }
  CHECK(queen.workers("?service=evil").empty());
  CHECK_FALSE(queen.wait_hive(
      "intruder", [](const auto&) { return true; }, 300ms));
  auto h = queen.wait_hive("qa", status_is("healthy"), 2s);
  REQUIRE(h);
  CHECK(h->instance_id != "forged");
  auto refresh = queen.post("/v1/hives/refresh", "", "");
  REQUIRE(refresh);
  CHECK(refresh->status == 401);
  refresh = queen.post("/v1/hives/refresh", "", token);
  REQUIRE(refresh);
  CHECK(refresh->status == 202);
  auto metrics = queen.get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("rbee_queen_snapshots_rejected_total{reason=\"auth\"} 6") !=
        std::string::npos);
  CHECK(queen.daemon_log().find(token) == std::string::npos);
}

TEST_CASE("queen answers malformed and oversize telemetry with a 4xx and stays up", "[queen]") {
  Hive hive({.tag = "qbad", .interval_ms = kInterval});
  auto inst = spawn_ok(hive, {});
  const auto port = port_of(hive.url());
  Queen queen({.tag = "qbad", .hives = {{"qb", "127.0.0.1", port}}});
  REQUIRE(queen.wait_worker(hive_id("qbad"), "tw", inst, state_is(WorkerState::ready)));

  auto snap = hive.telemetry();
  REQUIRE(snap);
  for (const std::string& body :
       {std::string("{"), std::string("[]"), std::string(R"({"schema_version":99})"),
        std::string(
            R"({"schema_version":1,"hive_id":"x","instance_id":"y","seq":-1,"workers":[]})"),
        std::string(
            R"({"schema_version":1,"hive_id":"","instance_id":"y","seq":1,"workers":[]})")}) {
    auto r = queen.post("/v1/hive-telemetry", body, "");
    REQUIRE(r);
    INFO(body << " -> " << r->body);
    CHECK(r->status == 400);
  }
  // Over the body limit: refused by the HTTP layer (or the connection is cut while sending).
  auto huge = queen.post("/v1/hive-telemetry", std::string(17 * 1024 * 1024, ' '), "");
  if (huge) CHECK(huge->status == 413);
  // An out-of-order snapshot is acknowledged and ignored.
  snap->seq = 1;
  auto old = queen.post("/v1/hive-telemetry", json::encode_snapshot(*snap), "");
  REQUIRE(old);
  CHECK(old->status == 200);
  CHECK(old->body.find("ignored") != std::string::npos);

  auto health = queen.get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto h = queen.wait_hive("qb", status_is("healthy"), 2s);
  REQUIRE(h);
  CHECK(h->worker_count == 1);
  CHECK(queen.process()->running());
}

TEST_CASE("queen follows edits of its SSH config", "[queen]") {
  Hive hive({.tag = "qwatch", .interval_ms = kInterval});
  const auto port = port_of(hive.url());
  Queen queen({.tag = "qwatch", .extra_config = "hive_port = " + std::to_string(port)});
  CHECK(queen.hives().empty());
  queen.set_hives({{"later", "127.0.0.1", 0}});
  REQUIRE(queen.wait_hive("later", status_is("healthy"), 10s));
  queen.set_hives({});
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (!queen.hives().empty() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(50ms);
  CHECK(queen.hives().empty());
}

TEST_CASE("rbee-queen discover prints the candidates without contacting them", "[queen]") {
  TempDir dir;
  {
    std::ofstream ssh(dir.path() / "ssh_config");
    ssh << "Host gpu1\n  HostName 10.9.8.7\nHost gpu2 bastion\nHost *.wild\n  User x\n"
           "Host gpu3\n  HostName %h.lab\n";
    std::ofstream cfg(dir.path() / "queen.toml");
    cfg << "[queen]\nexclude = [\"bastion\"]\nhive_port = 7999\n\n[hives.gpu2]\nport = 9000\n";
  }
  const auto out = dir.path() / "out.txt";
  Process p({RBEE_QUEEN_BIN, "discover", "--config", (dir.path() / "queen.toml").string(),
             "--ssh-config", (dir.path() / "ssh_config").string(), "--json"},
            out);
  auto status = p.wait(10s);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(read_file(out) == R"({"hives":[{"alias":"gpu1","hostname":"10.9.8.7","port":7999},)"
                          R"({"alias":"gpu2","hostname":"gpu2","port":9000},)"
                          R"({"alias":"gpu3","hostname":"gpu3.lab","port":7999}]})"
                          "\n");

  const auto err = dir.path() / "err.txt";
  Process missing({RBEE_QUEEN_BIN, "discover", "--ssh-config", (dir.path() / "nope").string()},
                  err);
  auto st = missing.wait(10s);
  REQUIRE(st);
  CHECK(WEXITSTATUS(*st) != 0);
  auto text = read_file(err);
  CHECK(text.starts_with("rbee-queen: "));
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}
