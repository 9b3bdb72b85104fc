// Abuse: a hostile Hive posting to the Queen, a thousand idle connections to the Hive, requests
// without the token. Real daemons on loopback; each test has its own cgroup subtree.
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "checks.h"
#include "common/http/client.h"
#include "common/json/decode.h"
#include "common/json/telemetry_json.h"
#include "fault_util.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;
using boost::beast::http::verb;
using telemetry::WorkerState;
namespace fs = std::filesystem;

namespace {

// The soft "Max open files" of a process.
long soft_nofile(pid_t pid) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/limits"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) == 0) return std::stol(line.substr(26));
  }
  return -1;
}

bool ready(const json::HostedWorker& w) {
  return w.worker.state == WorkerState::ready;
}

// {"schema_version":1,...,"workers":[W,W,...]} with n copies of a minimal worker.
std::string mass_snapshot(const std::string& hive_id, std::size_t n) {
  std::string s = R"({"schema_version":1,"hive_id":")" + hive_id +
                  R"(","instance_id":"mass","seq":1,"interval_ms":200,"workers":[)";
  s.reserve(s.size() + n * 56);
  for (std::size_t i = 0; i < n; ++i) {
    if (i) s += ',';
    s += R"({"service":"e","instance":")" + std::to_string(i) + R"(","state":"ready"})";
  }
  return s + "]}";
}

std::string one_worker_snapshot(const std::string& hive_id, const std::string& worker_fields,
                                const std::string& top = R"("seq":1)") {
  return R"({"schema_version":1,"hive_id":")" + hive_id + R"(","instance_id":"odd",)" + top +
         R"(,"workers":[{"service":"e","instance":"1","state":"ready",)" + worker_fields + "}]}";
}

}  // namespace

TEST_CASE("a hostile Hive with the token can neither overwrite another Hive nor flood the Queen",
          "[abuse][queen]") {
  const std::string token = "abuse-tok3n-queen";
  Hive victim({.tag = "victim", .interval_ms = 200, .token = token});
  auto inst = spawn_ok(victim, {}, token);
  Queen queen({.tag = "hostile",
               .token = token,
               .hives = {{"victim", "127.0.0.1", port_of(victim.url())}},
               .extra_config = "max_push_hives_per_address = 5\n"});
  const std::string vid = "test-victim";
  REQUIRE(queen.wait_worker(vid, "tw", inst, ready));
  auto real = victim.telemetry();
  REQUIRE(real);
  const uint16_t qport = port_of(queen.url());
  const long queen_rss0 = vm_rss_kb(queen.process()->pid());
  // The hostile Hive is another machine: another source address, the same (shared) token.
  auto post = [&](const std::string& body) {
    return raw_request("127.0.0.2", qport, "POST", "/v1/hive-telemetry", body, token);
  };

  SECTION("another Hive's id") {
    telemetry::Worker evil;
    evil.service = "evil";
    evil.instance = "6666";
    evil.state = WorkerState::ready;
    auto forged = *real;
    forged.workers = {evil};
    forged.seq = uint64_t{1} << 62;  // its live instance id (open in /health), far ahead
    auto r = post(json::encode_snapshot(forged));
    INFO(r.body);
    CHECK(r.status == 409);
    forged.instance_id = "forged-restart";  // or a "restart" of the victim
    forged.seq = 1;
    r = post(json::encode_snapshot(forged));
    INFO(r.body);
    CHECK(r.status == 409);
  }

  SECTION("a million workers, as many as fit, and the 10,000 allowed") {
    auto huge = mass_snapshot("hostile", 1000000);
    INFO("1e6 workers: " << huge.size() << " bytes");
    REQUIRE(huge.size() > 16u * 1024 * 1024);
    auto r = post(huge);
    CHECK((r.status == 413 || r.status == 0));  // refused before the body is read
    auto fit = mass_snapshot("hostile", 15u * 1024 * 1024 / 52);
    REQUIRE(fit.size() < 16u * 1024 * 1024);
    r = post(fit);
    INFO(r.body);
    CHECK(r.status == 400);
    CHECK(r.body.find("10000") != std::string::npos);
    r = post(mass_snapshot("hostile", 10001));
    CHECK(r.status == 400);
    r = post(mass_snapshot("hostile", 10000));  // at the bound: held, like any Hive's
    CHECK(r.status == 204);
    auto h = queen.wait_hive(
        "hostile", [](const auto&) { return true; }, 2s);
    REQUIRE(h);
    CHECK(h->worker_count == 10000);
    CHECK(h->source == "push");
    const long queen_rss1 = vm_rss_kb(queen.process()->pid());
    std::fprintf(stderr, "hostile flood: queen VmRSS %ld -> %ld kB\n", queen_rss0, queen_rss1);
    CHECK(queen_rss1 - queen_rss0 < 96 * 1024 * kSanitizerRssFactor);
  }

  SECTION("new hive ids, one after another, from one address") {
    for (int i = 0; i < 5; ++i) {
      auto r = post(one_worker_snapshot("made-up-" + std::to_string(i), R"("port":8080)"));
      INFO(r.body);
      CHECK(r.status == 204);
    }
    auto r = post(one_worker_snapshot("made-up-5", R"("port":8080)"));
    INFO(r.body);
    CHECK(r.status == 429);
    CHECK(r.body.find("127.0.0.2") != std::string::npos);
    CHECK_FALSE(queen.wait_hive(
        "made-up-5", [](const auto&) { return true; }, 300ms));
    // The Hives it already has keep reporting.
    r = post(one_worker_snapshot("made-up-0", R"("port":8080)", R"("seq":2)"));
    CHECK(r.status == 204);
  }

  SECTION("huge strings, negative and absurd numbers, deep nesting") {
    const std::string big(10u * 1024 * 1024, 'x');
    const std::vector<std::string> bodies = {
        one_worker_snapshot(std::string(257, 'h'), R"("port":8080)"),
        one_worker_snapshot("hostile", R"("cgroup":")" + std::string(300, 'c') + "\""),
        one_worker_snapshot("hostile", R"("unit":")" + big + "\""),
        one_worker_snapshot("hostile", R"("port":-1)"),
        one_worker_snapshot("hostile", R"("port":0)"),
        one_worker_snapshot("hostile", R"("port":70000)"),
        one_worker_snapshot("hostile", R"("port":1e30)"),
        one_worker_snapshot("hostile", R"("cpu_pct":-5)"),
        one_worker_snapshot("hostile", R"("cpu_pct":1e300)"),
        one_worker_snapshot("hostile", R"("rss_bytes":-1)"),
        one_worker_snapshot("hostile", R"("rss_bytes":184467440737095516160)"),
        one_worker_snapshot("hostile", R"("pid_count":4294967296)"),
        one_worker_snapshot("hostile", R"("main_pid":-7)"),
        one_worker_snapshot("hostile", R"("exit_code":256)"),
        one_worker_snapshot("hostile", R"("signal":0)"),
        one_worker_snapshot("hostile", R"("started_at_ms":-1)"),
        one_worker_snapshot("hostile", R"("state":"godmode")"),
        one_worker_snapshot("hostile", R"("spawned_by":"root")"),
        one_worker_snapshot(
            "hostile", R"("pids":[)" +
                           [] {
                             std::string p;
                             for (int i = 1; i <= 5000; ++i)
                               p += (i > 1 ? "," : "") + std::to_string(i);
                             return p;
                           }() +
                           "]"),
        one_worker_snapshot("hostile", R"("port":8080)", R"("seq":-1)"),
        one_worker_snapshot("hostile", R"("port":8080)", R"("seq":1e400)"),
        R"({"schema_version":1,"hive_id":"hostile","instance_id":"odd","seq":1,"workers":)" +
            std::string(100000, '[') + std::string(100000, ']') + "}",
    };
    for (const auto& body : bodies) {
      auto r = post(body);
      INFO(body.substr(0, 200) << " -> " << r.status << " " << r.body);
      CHECK(r.status == 400);
    }
    CHECK_FALSE(queen.wait_hive(
        "hostile", [](const auto&) { return true; }, 300ms));
  }

  // Whatever the hostile Hive sent, the victim's entry is its own and keeps being updated.
  auto before = queen.wait_hive(
      vid, [](const auto& h) { return h.status == "healthy"; }, 5s);
  REQUIRE(before);
  CHECK(before->instance_id == real->instance_id);
  CHECK(before->alias == "victim");
  auto after = queen.wait_hive(
      vid, [&](const auto& h) { return h.seq > before->seq && h.seq < (uint64_t{1} << 40); }, 5s);
  CHECK(after);
  auto ws = queen.workers("?hive=" + vid);
  REQUIRE(ws.size() == 1);
  CHECK(ws[0].worker.instance == inst);
  CHECK(queen.workers("?service=evil").empty());
  auto health = queen.get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(queen.process()->running());
}

TEST_CASE("a thousand idle connections: the Hive answers others promptly, memory stays bounded",
          "[abuse]") {
  // The Hive starts with the usual soft limit of 1024 descriptors (systemd's default for
  // services); the test then takes more for itself.
  rlimit lim{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &lim) == 0);
  const rlimit saved = lim;
  struct Restore {
    rlimit l;
    ~Restore() { ::setrlimit(RLIMIT_NOFILE, &l); }
  } restore{saved};
  lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 1024);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &lim) == 0);
  Hive hive({.tag = "idle1000", .interval_ms = 500, .retention_s = 1});  // default HTTP limits
  const pid_t hp = hive.process()->pid();
  lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 4096);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &lim) == 0);
  REQUIRE(lim.rlim_cur >= 1100);
  // The daemon raised its own limit for its connections; its workers get the usual one back.
  CHECK(soft_nofile(hp) >= 2048);

  auto a = spawn_ok(hive, {});
  auto wa = hive.wait_worker("tw", a, [](const auto& w) { return w.state == WorkerState::ready; });
  REQUIRE(wa);
  REQUIRE(wa->main_pid);
  CHECK(soft_nofile(*wa->main_pid) == 1024);
  std::this_thread::sleep_for(500ms);
  const long rss0 = vm_rss_kb(hp);
  const int fds0 = fd_count(hp);

  const uint16_t port = port_of(hive.url());
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0);
    idle.push_back(fd);
  }
  struct CloseAll {
    std::vector<int>& fds;
    ~CloseAll() {
      for (int fd : fds) ::close(fd);
    }
  } close_all{idle};
  const auto opened = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(1s);  // the Hive has accepted them

  const int fds1 = fd_count(hp);
  const long rss1 = vm_rss_kb(hp);
  // Others are still served promptly: reads, a spawn, a stop.
  const auto t0 = std::chrono::steady_clock::now();
  auto h = hive.get("/health");
  const auto health_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  REQUIRE(h);
  CHECK(h->status == 200);
  CHECK(health_ms < 500);
  auto b = spawn_ok(hive, {});
  CHECK(hive.wait_worker(
      "tw", b, [](const auto& w) { return w.state == WorkerState::ready; }, 5s));
  auto stopped = hive.del("/v1/workers/tw/" + b, "");
  REQUIRE(stopped);
  CHECK(stopped->status == 200);
  CHECK(std::chrono::steady_clock::now() - opened < 9s);  // all of it within the read timeout
  std::fprintf(stderr,
               "1000 idle connections: hive fds %d -> %d, VmRSS %ld -> %ld kB, /health in %ld ms\n",
               fds0, fds1, rss0, rss1, static_cast<long>(health_ms));
  CHECK(fds1 >= fds0 + 990);  // they really were accepted and held
  CHECK(rss1 - rss0 < 48 * 1024 * kSanitizerRssFactor);

  // read_timeout (10 s from accept) closes every one of them; the descriptors come back.
  const auto end = opened + 20s;
  int fds2 = fd_count(hp);
  while (fds2 > fds0 + 3 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(200ms);
    fds2 = fd_count(hp);
  }
  std::fprintf(stderr, "1000 idle connections: hive fds %d after the read timeout\n", fds2);
  CHECK(fds2 <= fds0 + 3);
  int closed = 0;
  for (int fd : idle) {
    char c;
    if (::recv(fd, &c, 1, MSG_DONTWAIT) == 0) ++closed;
  }
  CHECK(closed == 1000);
  CHECK(hive.process()->running());
}

TEST_CASE("every mutating and subscribing call needs the token, reads stay open", "[abuse][auth]") {
  const std::string token = "abuse-tok3n-hive";
  // The token comes through the environment here, so a leak into workers would show.
  Hive hive({.tag = "authall", .extra_env = {"RBEE_TOKEN=" + token}});
  const uint16_t hport = port_of(hive.url());
  const uint16_t qport = free_port();
  const std::string queen_url = "http://127.0.0.1:" + std::to_string(qport);
  {
    ConnectionCounter pushes(qport);
    for (const std::string& bad :
         std::vector<std::string>{"", "wrong", token.substr(0, token.size() - 1), token + "x"}) {
      INFO("token '" << bad << "'");
      auto spawn = hive.post("/v1/workers", spawn_body("tw", std::nullopt), bad);
      REQUIRE(spawn);
      CHECK(spawn->status == 401);
      auto stop = hive.del("/v1/workers/tw/1", bad);
      REQUIRE(stop);
      CHECK(stop->status == 401);
      auto logs = http::fetch(verb::get, hive.url() + "/v1/workers/tw/1/logs", {}, bad);
      REQUIRE(logs);
      CHECK(logs->status == 401);
      auto sub =
          http::fetch(verb::get, hive.url() + "/capabilities?queen_url=" + queen_url, {}, bad);
      REQUIRE(sub);
      CHECK(sub->status == 401);
      // The raw answer carries the challenge.
      auto raw = raw_request("127.0.0.1", hport, "POST", "/v1/workers",
                             spawn_body("tw", std::nullopt), bad);
      CHECK(raw.status == 401);
    }
    std::this_thread::sleep_for(1s);
    CHECK(pushes.count() == 0);  // no subscription was made
    auto snap = hive.telemetry();
    REQUIRE(snap);
    CHECK(snap->workers.empty());
  }
  // Reads are open without a token.
  for (const std::string path :
       {"/health", "/capabilities", "/v1/workers", "/v1/telemetry", "/metrics"}) {
    auto r = http::fetch(verb::get, hive.url() + path, {}, "");
    REQUIRE(r);
    INFO(path);
    CHECK(r->status == 200);
  }
  int events = 0;
  auto st = http::read_event_stream(hive.url() + "/v1/telemetry/stream", "", 5s,
                                    [&](std::string_view name, std::string_view) {
                                      if (name == "snapshot") ++events;
                                      return false;
                                    });
  CHECK(st);
  CHECK(events == 1);

  // With the token: a worker, a subscription; the worker's environment holds no token.
  auto inst = spawn_ok(hive, {}, token);
  auto w =
      hive.wait_worker("tw", inst, [](const auto& w) { return w.state == WorkerState::ready; });
  REQUIRE(w);
  REQUIRE(w->main_pid);
  auto environ_text = read_file("/proc/" + std::to_string(*w->main_pid) + "/environ");
  CHECK_FALSE(environ_text.empty());
  CHECK(environ_text.find(token) == std::string::npos);
  CHECK(environ_text.find("RBEE_TOKEN") == std::string::npos);
  {
    ConnectionCounter pushes(qport);
    auto sub =
        http::fetch(verb::get, hive.url() + "/capabilities?queen_url=" + queen_url, {}, token);
    REQUIRE(sub);
    CHECK(sub->status == 200);
    std::this_thread::sleep_for(1s);
    CHECK(pushes.count() >= 1);
  }
  auto stop = hive.del("/v1/workers/tw/" + inst, token);
  REQUIRE(stop);
  CHECK(stop->status == 200);

  // Neither the token nor the wrong ones tried above appear in the daemon's log (debug level).
  const auto log = hive.daemon_log();
  CHECK_FALSE(log.empty());
  CHECK(log.find(token) == std::string::npos);
  CHECK(log.find(token.substr(0, token.size() - 1)) == std::string::npos);
}

TEST_CASE("the Hive and the Queen with a token never log it, and a Queen's pushes carry it",
          "[abuse][auth][queen]") {
  const std::string token = "abuse-tok3n-pair";
  Hive hive({.tag = "authpair", .interval_ms = 200, .token = token});
  auto inst = spawn_ok(hive, {}, token);
  Queen queen(
      {.tag = "authpair", .token = token, .hives = {{"ap", "127.0.0.1", port_of(hive.url())}}});
  REQUIRE(queen.wait_worker("test-authpair", "tw", inst, ready));
  // A wrong token at the Queen too, so the refusal paths log what they log.
  for (const std::string bad : {"", "abuse-tok3n-wrong"}) {
    auto r = queen.post("/v1/hive-telemetry", "{}", bad);
    REQUIRE(r);
    CHECK(r->status == 401);
    r = queen.post("/v1/hives/refresh", "", bad);
    REQUIRE(r);
    CHECK(r->status == 401);
  }
  std::this_thread::sleep_for(1s);  // some pushes and a few debug lines more
  for (const auto& log : {hive.daemon_log(), queen.daemon_log()}) {
    CHECK_FALSE(log.empty());
    CHECK(log.find(token) == std::string::npos);
    CHECK(log.find("abuse-tok3n-wrong") == std::string::npos);
    CHECK(log.find("Bearer") == std::string::npos);
  }
}

TEST_CASE("without a token the daemons refuse to listen beyond loopback", "[abuse][auth]") {
  TempDir dir;
  CgroupSubtree cg("listen");
  int n = 0;
  for (const std::string listen : {"0.0.0.0:0", "[::]:0", "192.0.2.1:0"}) {
    INFO(listen);
    ++n;
    const auto hive_cfg = dir.path() / "hive.toml";
    std::ofstream(hive_cfg) << "[hive]\nlisten = \"" << listen << "\"\ncgroup_root = \""
                            << cg.path().string() << "\"\nlog_dir = \""
                            << (dir.path() / "logs").string() << "\"\n";
    const auto hive_out = dir.path() / ("hive-" + std::to_string(n) + ".out");
    Process hive({RBEE_HIVE_BIN, "serve", "--config", hive_cfg.string()}, hive_out);
    auto st = hive.wait(10s);
    REQUIRE(st);
    CHECK(WIFEXITED(*st));
    CHECK(WEXITSTATUS(*st) != 0);
    CHECK(read_file(hive_out).find("is not a loopback address and no token is configured") !=
          std::string::npos);

    const auto queen_cfg = dir.path() / "queen.toml";
    std::ofstream(dir.path() / "ssh_config") << "Host *\n  User nobody\n";
    std::ofstream(queen_cfg) << "[queen]\nlisten = \"" << listen << "\"\nssh_config = \""
                             << (dir.path() / "ssh_config").string() << "\"\n";
    const auto queen_out = dir.path() / ("queen-" + std::to_string(n) + ".out");
    Process queen({RBEE_QUEEN_BIN, "serve", "--config", queen_cfg.string()}, queen_out);
    st = queen.wait(10s);
    REQUIRE(st);
    CHECK(WIFEXITED(*st));
    CHECK(WEXITSTATUS(*st) != 0);
    CHECK(read_file(queen_out).find("is not a loopback address and no token is configured") !=
          std::string::npos);
  }
}
