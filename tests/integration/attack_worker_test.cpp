// The worker and the token holder as adversaries (docs/security.md): each case is an attack
// that worked before workers ran unprivileged and the catalog bounded requests.
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "checks.h"

using namespace rbee;
using namespace rbee::test;
using namespace std::chrono_literals;

namespace {

std::string status_field(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(name + ":")) {
      auto v = line.substr(name.size() + 1);
      return v.substr(v.find_first_not_of(" \t"));
    }
  }
  return {};
}

// A shell worker that tries what a hostile inference server would, reports each outcome in
// its log, then stays (with a background child) until stopped. It finds its own cgroup from
// /proc/self/cgroup; the Hive's tree root is three levels up (rbee.slice/sh/<port>).
std::string hostile_service(const std::filesystem::path& secret, uint16_t base) {
  const std::string script =
      "m=$(awk '$3==\\\"cgroup2\\\"{print $2; exit}' /proc/mounts); "
      "cg=$m$(awk -F: '$1==0{print $3}' /proc/self/cgroup); "
      "cat " +
      secret.string() +
      " >/dev/null 2>&1 && echo TOKEN-READ || echo TOKEN-DENIED; "
      "echo $$ > $cg/../../../cgroup.procs 2>/dev/null && echo ESCAPED || echo STAYED; "
      "echo 1 > $cg/cgroup.max.depth 2>/dev/null && echo LIMIT-WRITTEN || echo LIMIT-DENIED; "
      "sleep 1000 & echo ready; exec sleep 1000";
  return "[services.sh]\ncommand = [\"/bin/sh\", \"-c\", \"" + script +
         "\"]\nbase_port = " + std::to_string(base) + "\n";
}

std::string logs_of(const Hive& hive, const std::string& key, const std::string& query = "") {
  auto r = hive.get("/v1/workers/" + key + "/logs" + query);
  REQUIRE(r);
  return std::to_string(r->status) + " " + r->body;
}

}  // namespace

TEST_CASE("a request may set only what the catalog leaves open", "[attack][worker]") {
  HiveOptions o;
  o.tag = "attack-catalog";
  const auto base = unique_base_port() + 10;
  o.extra_services = "[services.plain]\ncommand = [\"" RBEE_TEST_WORKER_BIN
                     "\", \"--port\", \"{port}\"]\nbase_port = " +
                     std::to_string(base) + "\nport_count = 5\nallowed_env = [\"WORKER_MODE\"]\n";
  Hive hive(o);
  // Each of these made a bash or Python worker run the requester's code as root.
  for (const char* name : {"BASH_ENV", "PERL5OPT", "PYTHONWARNINGS", "BROWSER", "ENV", "LD_PRELOAD",
                           "RBEE_SPAWNED_BY", "PATH"}) {
    auto r = hive.post("/v1/workers",
                       std::string(R"({"service":"plain","env":{")") + name + R"(":"x"}})", "");
    REQUIRE(r);
    INFO(r->body);
    CHECK(r->status == 400);
    CHECK(r->body.find(std::string("env.") + name) != std::string::npos);
  }
  auto args = hive.post("/v1/workers", R"({"service":"plain","args":["--exec","sh"]})", "");
  REQUIRE(args);
  CHECK(args->status == 400);
  CHECK(args->body.find("allow_args") != std::string::npos);
  for (int port : {22, base - 1, base + 5}) {
    auto r =
        hive.post("/v1/workers", R"({"service":"plain","port":)" + std::to_string(port) + "}", "");
    REQUIRE(r);
    INFO(r->body);
    CHECK(r->status == 400);
    CHECK(r->body.find("outside the range") != std::string::npos);
  }
  auto t = hive.telemetry();
  REQUIRE(t);
  CHECK(t->workers.empty());
  // What the catalog allows still works.
  auto ok = hive.post("/v1/workers", R"({"service":"plain","env":{"WORKER_MODE":"a"}})", "");
  REQUIRE(ok);
  INFO(ok->body);
  CHECK(ok->status == 201);
}

TEST_CASE("a worker runs unprivileged: no token, no escape, no limits, stopped completely",
          "[attack][worker]") {
  // The token sits where any account could reach its directory: only its mode protects it.
  TempDir secret_dir;
  ::chmod(secret_dir.path().c_str(), 0755);
  const auto secret = secret_dir.path() / "token";
  std::ofstream(secret) << "s3cret-token\n";
  ::chmod(secret.c_str(), 0600);

  HiveOptions o;
  o.tag = "attack-priv";
  o.extra_services = hostile_service(secret, unique_base_port() + 30);
  Hive hive(o);
  auto r = hive.post("/v1/workers", R"({"service":"sh"})", "");
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 201);
  const std::string key = "sh/" + instance_of(r->body);
  auto w = hive.wait_worker("sh", instance_of(r->body),
                            [](const auto& w) { return w.pids.size() >= 2; });
  REQUIRE(w);
  std::string log;
  for (int i = 0; i < 100 && log.find("ready") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
    log = logs_of(hive, key);
  }
  INFO(log);
  CHECK(log.find("TOKEN-DENIED") != std::string::npos);
  CHECK(log.find("STAYED") != std::string::npos);
  CHECK(log.find("LIMIT-DENIED") != std::string::npos);

  // After "ready" the worker is its two sleeps: what it holds now, not the shell's passing forks.
  std::this_thread::sleep_for(2 * 500ms);
  auto settled = hive.worker("sh", instance_of(r->body));
  REQUIRE(settled);
  REQUIRE(settled->pids.size() >= 2);
  const auto account = std::to_string(::getpwnam("rbee-worker")->pw_uid);
  for (int32_t pid : settled->pids) {
    INFO("pid " << pid);
    CHECK(status_field(pid, "Uid").starts_with(account + "\t" + account + "\t" + account));
    CHECK(status_field(pid, "NoNewPrivs") == "1");
    CHECK(status_field(pid, "CapEff") == "0000000000000000");
    CHECK(status_field(pid, "CapPrm") == "0000000000000000");
    CHECK(status_field(pid, "CapBnd") == "0000000000000000");
  }
  // Still in its cgroup, so stop ends all of it, the background child too.
  auto stopped = hive.del("/v1/workers/" + key, "");
  REQUIRE(stopped);
  CHECK(stopped->status == 200);
  for (int32_t pid : settled->pids) {
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = ::kill(pid, 0) != 0 && errno == ESRCH;
      if (!gone) std::this_thread::sleep_for(50ms);
    }
    CHECK(gone);
  }
}

TEST_CASE("the log directory is no way into the host: links, FIFOs and unknown workers refused",
          "[attack][worker]") {
  TempDir outside;
  const auto target = outside.path() / "host-secret";
  std::ofstream(target) << "host secret\n";
  HiveOptions o;
  o.tag = "attack-logs";
  Hive hive(o);
  const auto port = std::to_string(hive.base_port());
  const auto svc_dir = hive.log_dir() / "tw";
  std::filesystem::create_directories(svc_dir);
  // Planted before the spawn: the Hive must neither append to the target nor serve it.
  std::filesystem::create_symlink(target, svc_dir / (port + ".log"));
  auto inst = spawn_ok(hive, {});
  REQUIRE(inst == port);
  std::this_thread::sleep_for(300ms);
  CHECK(read_file(target) == "host secret\n");
  auto current = logs_of(hive, "tw/" + inst);
  CHECK(current.starts_with("200 "));
  CHECK(current.find("host secret") == std::string::npos);
  // The planted link is now the "previous" log: it is refused, not followed.
  auto previous = logs_of(hive, "tw/" + inst, "?previous=1");
  CHECK(previous.starts_with("404 "));
  CHECK(previous.find("host secret") == std::string::npos);
  // A FIFO in its place must not block the loop.
  std::filesystem::remove(svc_dir / (inst + ".log.1"));
  REQUIRE(::mkfifo((svc_dir / (inst + ".log.1")).c_str(), 0600) == 0);
  CHECK(logs_of(hive, "tw/" + inst, "?previous=1").starts_with("404 "));
  auto health = hive.get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  // A log file of a worker the Hive does not know is not served.
  std::ofstream(svc_dir / "1.log") << "not a worker's\n";
  CHECK(logs_of(hive, "tw/1").starts_with("404 "));
  // Directories the Hive makes are closed to others.
  struct stat st {};
  REQUIRE(::stat(svc_dir.c_str(), &st) == 0);
  (void)st;
}

TEST_CASE("a restarted worker's previous run stays readable as its .log.1", "[attack][worker]") {
  HiveOptions o;
  o.tag = "attack-prevlog";
  Hive hive(o);
  auto inst = spawn_ok(hive, {});
  auto stopped = hive.del("/v1/workers/tw/" + inst, "");
  REQUIRE(stopped);
  auto r = hive.post("/v1/workers", spawn_body("tw", static_cast<uint16_t>(std::stoi(inst))), "");
  REQUIRE(r);
  REQUIRE(r->status == 201);
  auto prev = logs_of(hive, "tw/" + inst, "?previous=1");
  CHECK(prev.starts_with("200 "));
  CHECK(prev.find("starting tw/" + inst) != std::string::npos);
  auto bad = logs_of(hive, "tw/" + inst, "?previous=yes");
  CHECK(bad.starts_with("400 "));
}
