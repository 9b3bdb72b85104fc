// rbee-hive end to end: a real daemon, real workers in real cgroups on this machine.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "checks.h"
#include "common/http/client.h"
#include "common/json/decode.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;
using telemetry::WorkerState;

namespace {

bool is_ready(const telemetry::Worker& w) {
  return w.state == WorkerState::ready;
}

// Holds a TCP port on 0.0.0.0 like an unrelated program would.
struct PortHolder {
  int fd;
  explicit PortHolder(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 1) == 0);
  }
  ~PortHolder() { ::close(fd); }
};

}  // namespace

TEST_CASE("hive measures a worker's CPU share, memory and processes truthfully", "[hive]") {
  Hive hive({.tag = "measure", .interval_ms = 1000});
  auto inst = spawn_ok(hive, {"--cpu", "0.5", "--memory-mb", "200", "--children", "3"});
  auto w = hive.wait_worker("tw", inst, is_ready);
  REQUIRE(w);
  CHECK(w->spawned_by == telemetry::SpawnedBy::hive);
  CHECK(w->cgroup == "rbee.slice/tw/" + inst);
  CHECK(w->port == std::stoi(inst));
  // Let the rate window settle over a few ticks, then read.
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  w = hive.worker("tw", inst);
  REQUIRE(w);
  REQUIRE(w->cpu_pct);
  CHECK(*w->cpu_pct >= 40.0);
  CHECK(*w->cpu_pct <= 60.0);
  REQUIRE(w->rss_bytes);
  const double mib = static_cast<double>(*w->rss_bytes) / (1024.0 * 1024.0);
  INFO("rss MiB " << mib << " source "
                  << (w->mem_source ? telemetry::to_string(*w->mem_source) : "none"));
  CHECK(mib >= 200 * 0.9);
  CHECK(mib <= 200 * 1.1);
  CHECK(w->pid_count == 4);
  CHECK(w->pids.size() == 4);
  REQUIRE(w->main_pid);
  CHECK(std::find(w->pids.begin(), w->pids.end(), *w->main_pid) != w->pids.end());
  REQUIRE(w->mem_source);
  // This host has no memory controller in its v2 tree: the fallback must say so.
  if (!std::filesystem::exists(hive.cgroups().path() / "rbee.slice/tw" / inst / "memory.current")) {
    CHECK(*w->mem_source == telemetry::MemSource::proc);
    CHECK_FALSE(w->working_set_bytes);
  }
  if (!std::filesystem::exists(hive.cgroups().path() / "rbee.slice/tw" / inst / "io.stat")) {
    CHECK_FALSE(w->io_read_bytes);  // absent, never a made-up 0
  }
  REQUIRE(w->started_at_ms);
  CHECK(*w->started_at_ms > 0);
}

TEST_CASE("hive goes starting then ready once the worker listens, and reports exit codes",
          "[hive]") {
  Hive hive({.tag = "states"});
  auto slow = spawn_ok(hive, {"--listen-delay-ms", "1500"});
  auto w = hive.worker("tw", slow);
  REQUIRE(w);
  CHECK(w->state == WorkerState::starting);
  CHECK(hive.wait_worker("tw", slow, is_ready, std::chrono::seconds(5)));

  auto failing = spawn_ok(hive, {"--no-listen", "--exit-after-ms", "300", "--exit-code", "3"});
  auto dead = hive.wait_worker("tw", failing,
                               [](const auto& w) { return telemetry::is_terminal(w.state); });
  REQUIRE(dead);
  CHECK(dead->state == WorkerState::failed);
  CHECK(dead->exit_code == 3);
  CHECK(dead->pid_count == 0);
  CHECK(dead->exited_at_ms);

  auto clean = spawn_ok(hive, {"--no-listen", "--exit-after-ms", "200", "--exit-code", "0"});
  auto done =
      hive.wait_worker("tw", clean, [](const auto& w) { return telemetry::is_terminal(w.state); });
  REQUIRE(done);
  INFO("instance " << clean << " state " << telemetry::to_string(done->state) << " code "
                   << done->exit_code.value_or(-1) << " signal " << done->signal.value_or(-1));
  CHECK(done->state == WorkerState::exited);
  CHECK(done->exit_code == 0);
}

TEST_CASE("hive reports a worker killed by a signal as failed with the signal", "[hive]") {
  Hive hive({.tag = "signal"});
  auto inst = spawn_ok(hive, {"--children", "2"});
  auto w = hive.wait_worker("tw", inst, is_ready);
  REQUIRE(w);
  REQUIRE(w->main_pid);
  ::kill(*w->main_pid, SIGKILL);
  auto dead =
      hive.wait_worker("tw", inst, [](const auto& w) { return telemetry::is_terminal(w.state); });
  REQUIRE(dead);
  CHECK(dead->state == WorkerState::failed);
  CHECK(dead->signal == SIGKILL);
  CHECK(dead->pid_count == 0);  // the children went with the main process
}

TEST_CASE("hive skips busy ports and answers 409 for a taken explicit port", "[hive]") {
  Hive hive({.tag = "ports"});
  PortHolder holder(hive.base_port());
  auto inst = spawn_ok(hive, {});
  CHECK(inst == std::to_string(hive.base_port() + 1));
  auto second = spawn_ok(hive, {});
  CHECK(second == std::to_string(hive.base_port() + 2));

  auto busy = hive.post("/v1/workers", spawn_body("tw", hive.base_port()), "");
  REQUIRE(busy);
  CHECK(busy->status == 409);
  CHECK(busy->body.find("in use") != std::string::npos);
  auto held = hive.post("/v1/workers", spawn_body("tw", hive.base_port() + 1), "");
  REQUIRE(held);
  CHECK(held->status == 409);
}

TEST_CASE("hive rejects bad spawn requests with a clear 4xx", "[hive]") {
  Hive hive({.tag = "badreq"});
  auto unknown = hive.post("/v1/workers", R"({"service":"nope"})", "");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(json::decode_error_message(unknown->body).find("unknown service") != std::string::npos);
  auto malformed = hive.post("/v1/workers", R"({"service":)", "");
  REQUIRE(malformed);
  CHECK(malformed->status == 400);
  auto bad_port = hive.post("/v1/workers", R"({"service":"tw","port":70000})", "");
  REQUIRE(bad_port);
  CHECK(bad_port->status == 400);
  auto ld = hive.post("/v1/workers", R"({"service":"tw","env":{"LD_PRELOAD":"/tmp/x.so"}})", "");
  REQUIRE(ld);
  CHECK(ld->status == 400);
  auto snap = hive.telemetry();
  REQUIRE(snap);
  CHECK(snap->workers.empty());
}

TEST_CASE("hive lists a process someone else put in the tree as external", "[hive]") {
  Hive hive({.tag = "external"});
  const auto port = unique_base_port();
  pid_t pid = hive.cgroups().start_external("ext", std::to_string(port),
                                            {RBEE_TEST_WORKER_BIN, "--port", std::to_string(port)});
  auto w = hive.wait_worker("ext", std::to_string(port), is_ready);
  REQUIRE(w);
  CHECK(w->spawned_by == telemetry::SpawnedBy::external);
  CHECK(w->main_pid == pid);
  CHECK(w->pid_count == 1);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

TEST_CASE("hive sees a birth in the telemetry stream well before the next tick", "[hive]") {
  Hive hive({.tag = "birth", .interval_ms = 10000});
  const auto port = unique_base_port();
  const std::string instance = std::to_string(port);
  std::atomic<bool> seen{false};
  std::chrono::steady_clock::time_point born, noticed;
  std::thread reader([&] {
    (void)http::read_event_stream(
        hive.url() + "/v1/telemetry/stream", "", std::chrono::seconds(8),
        [&](std::string_view, std::string_view data) {
          if (data.find("\"instance\":\"" + instance + "\"") == std::string_view::npos) return true;
          noticed = std::chrono::steady_clock::now();
          seen = true;
          return false;
        });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the stream is open, a tick is far
  born = std::chrono::steady_clock::now();
  pid_t pid =
      hive.cgroups().start_external("ext", instance, {RBEE_TEST_WORKER_BIN, "--port", instance});
  reader.join();
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  REQUIRE(seen);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(noticed - born).count();
  INFO("birth noticed after " << ms << " ms with a 10 s tick");
  CHECK(ms < 1000);
}

TEST_CASE("hive re-adopts every worker after being killed with SIGKILL", "[hive]") {
  Hive hive({.tag = "readopt"});
  auto a = spawn_ok(hive, {"--children", "1"});
  auto b = spawn_ok(hive, {});
  auto wa = hive.wait_worker("tw", a, is_ready);
  auto wb = hive.wait_worker("tw", b, is_ready);
  REQUIRE(wa);
  REQUIRE(wb);
  auto before = hive.telemetry();
  REQUIRE(before);

  hive.kill(SIGKILL);
  REQUIRE_FALSE(hive.get("/health"));
  hive.start();

  auto ra = hive.wait_worker("tw", a, is_ready);
  auto rb = hive.wait_worker("tw", b, is_ready);
  REQUIRE(ra);
  REQUIRE(rb);
  CHECK(ra->main_pid == wa->main_pid);
  CHECK(rb->main_pid == wb->main_pid);
  CHECK(ra->pid_count == 2);
  CHECK(ra->spawned_by == telemetry::SpawnedBy::hive);
  CHECK(ra->started_at_ms == wa->started_at_ms);
  auto after = hive.telemetry();
  REQUIRE(after);
  CHECK(after->instance_id != before->instance_id);
  CHECK(after->workers.size() == 2);

  // The adopted worker can still be stopped through the API.
  auto stopped = hive.del("/v1/workers/tw/" + a, "");
  REQUIRE(stopped);
  CHECK(stopped->status == 200);
  auto gone = hive.worker("tw", a);
  REQUIRE(gone);
  CHECK(gone->state == WorkerState::exited);
}

TEST_CASE("hive stops a worker with SIGTERM and kills one that ignores it after the grace",
          "[hive]") {
  Hive hive({.tag = "stop", .stop_timeout_ms = 500});
  auto polite = spawn_ok(hive, {"--children", "2"});
  auto stubborn = spawn_ok(hive, {"--ignore-sigterm"});
  REQUIRE(hive.wait_worker("tw", polite, is_ready));
  REQUIRE(hive.wait_worker("tw", stubborn, is_ready));

  auto r = hive.del("/v1/workers/tw/" + polite, "");
  REQUIRE(r);
  CHECK(r->status == 200);
  auto w = json::decode_worker(r->body);
  REQUIRE(w);
  CHECK(w->state == WorkerState::exited);
  CHECK(w->pid_count == 0);

  const auto t0 = std::chrono::steady_clock::now();
  r = hive.del("/v1/workers/tw/" + stubborn, "");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(400));
  w = json::decode_worker(r->body);
  REQUIRE(w);
  CHECK(w->pid_count == 0);
  CHECK(telemetry::is_terminal(w->state));

  auto missing = hive.del("/v1/workers/tw/1", "");
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("hive removes an exited worker's cgroup after the retention period", "[hive]") {
  Hive hive({.tag = "retention", .interval_ms = 200, .retention_s = 1});
  auto inst = spawn_ok(hive, {"--no-listen", "--exit-after-ms", "100"});
  REQUIRE(
      hive.wait_worker("tw", inst, [](const auto& w) { return telemetry::is_terminal(w.state); }));
  const auto dir = hive.cgroups().path() / "rbee.slice/tw" / inst;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::filesystem::exists(dir) && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(std::filesystem::exists(dir));
  CHECK_FALSE(hive.worker("tw", inst));
}

TEST_CASE("hive restarts a failed worker under the on-failure policy", "[hive]") {
  HiveOptions o{.tag = "restart"};
  const auto base = unique_base_port();
  o.extra_services =
      "\n[services.flaky]\ncommand = [\"" + std::string(RBEE_TEST_WORKER_BIN) +
      "\", \"--port\", \"{port}\", \"--exit-after-ms\", \"300\", \"--exit-code\", \"2\"]\n"
      "base_port = " +
      std::to_string(base) + "\nrestart = \"on-failure\"\n";
  Hive hive(o);
  auto r = hive.post("/v1/workers", spawn_body("flaky", std::nullopt), "");
  REQUIRE(r);
  REQUIRE(r->status == 201);
  auto w = hive.wait_worker(
      "flaky", std::to_string(base), [](const auto& w) { return w.restarts >= 1; },
      std::chrono::seconds(8));
  REQUIRE(w);
  CHECK(w->spawned_by == telemetry::SpawnedBy::hive);
  // Stopping it ends the policy: it stays down.
  auto s = hive.del("/v1/workers/flaky/" + std::to_string(base), "");
  REQUIRE(s);
  CHECK(s->status == 200);
  auto restarts = hive.worker("flaky", std::to_string(base))->restarts;
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  auto later = hive.worker("flaky", std::to_string(base));
  REQUIRE(later);
  CHECK(later->restarts == restarts);
  CHECK(telemetry::is_terminal(later->state));
}

TEST_CASE("hive with a token refuses unauthenticated mutations and keeps its state",
          "[hive][auth]") {
  Hive hive({.tag = "auth", .token = "s3cret-token"});
  for (const std::string token : {"", "wrong"}) {
    auto r = hive.post("/v1/workers", spawn_body("tw", std::nullopt), token);
    REQUIRE(r);
    CHECK(r->status == 401);
    auto d = hive.del("/v1/workers/tw/1", token);
    REQUIRE(d);
    CHECK(d->status == 401);
    auto logs =
        http::fetch(boost::beast::http::verb::get, hive.url() + "/v1/workers/tw/1/logs", {}, token);
    REQUIRE(logs);
    CHECK(logs->status == 401);
  }
  auto snap = hive.telemetry();
  REQUIRE(snap);
  CHECK(snap->workers.empty());
  auto inst = spawn_ok(hive, {}, "s3cret-token");
  CHECK(hive.wait_worker("tw", inst, is_ready));
  CHECK(hive.daemon_log().find("s3cret-token") == std::string::npos);
}

TEST_CASE("hive serves logs, metrics and capabilities", "[hive]") {
  Hive hive({.tag = "api"});
  auto inst = spawn_ok(hive, {"--no-listen", "--exit-after-ms", "100", "--exit-code", "0"});
  REQUIRE(
      hive.wait_worker("tw", inst, [](const auto& w) { return telemetry::is_terminal(w.state); }));
  // The test worker prints nothing itself; the log exists and is served.
  auto logs = hive.get("/v1/workers/tw/" + inst + "/logs?tail=5");
  REQUIRE(logs);
  CHECK(logs->status == 200);
  auto metrics = hive.get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->body.find("rbee_worker_state{service=\"tw\",instance=\"" + inst +
                           "\",state=\"exited\"} 1") != std::string::npos);
  CHECK(metrics->body.find("rbee_hive_tick_duration_seconds ") != std::string::npos);
  auto caps = hive.get("/capabilities");
  REQUIRE(caps);
  CHECK(caps->status == 200);
  CHECK(caps->body.find("\"backend\":\"cgroupfs\"") != std::string::npos);
  CHECK(caps->body.find("\"name\":\"tw\"") != std::string::npos);
  auto one = hive.get("/v1/workers/tw/" + inst);
  REQUIRE(one);
  CHECK(one->status == 200);
  auto none = hive.get("/v1/workers/tw/99999x");
  REQUIRE(none);
  CHECK(none->status == 404);
}
