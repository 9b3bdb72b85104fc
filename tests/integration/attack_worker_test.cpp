// The worker and the token holder as adversaries (docs/security.md): each case is an attack
// that worked before workers ran unprivileged and the catalog bounded requests.
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
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

// The supplementary groups of /proc/PID/status ("Groups:\t44 995 ").
std::set<gid_t> status_groups(pid_t pid) {
  std::istringstream in(status_field(pid, "Groups"));
  std::set<gid_t> out;
  for (gid_t g; in >> g;) out.insert(g);
  return out;
}

// What /etc/group gives the account, its primary group included: what the Hive sets.
std::set<gid_t> groups_of(const passwd& pw) {
  int n = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(n));
  if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<std::size_t>(n));
    ::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n);
  }
  return {groups.begin(), groups.begin() + n};
}

std::string ids(unsigned id) {
  const auto s = std::to_string(id);
  return s + "\t" + s + "\t" + s;
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string test_worker_service(const std::string& name, uint16_t base, const std::string& more) {
  return "[services." + name +
         "]\ncommand = [\"" RBEE_TEST_WORKER_BIN "\", \"--port\", \"{port}\"]\nbase_port = " +
         std::to_string(base) + "\n" + more;
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
  const passwd* worker_pw = ::getpwnam("rbee-worker");
  INFO("the account rbee-worker is missing: scripts/setup.sh or the .deb creates it");
  REQUIRE(worker_pw);
  const uid_t worker_uid = worker_pw->pw_uid;
  const gid_t worker_gid = worker_pw->pw_gid;
  const std::set<gid_t> worker_groups = groups_of(*worker_pw);
  REQUIRE_FALSE(worker_groups.count(0));
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
  for (int32_t pid : settled->pids) {
    INFO("pid " << pid);
    CHECK(status_field(pid, "Uid").starts_with(ids(worker_uid)));
    // Not one of root's groups is left: gid 0 and the Hive's supplementary groups are gone.
    CHECK(status_field(pid, "Gid").starts_with(ids(worker_gid)));
    CHECK(status_groups(pid) == worker_groups);
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
  // What the Hive makes is closed to others: the directories 0750, the logs 0640.
  const auto first = spawn_ok(hive, {});
  const auto svc_dir = hive.log_dir() / "tw";
  CHECK(mode_of(hive.log_dir()) == 0750);
  CHECK(mode_of(svc_dir) == 0750);
  CHECK(mode_of(svc_dir / (first + ".log")) == 0640);
  // Planted before the next spawn: the Hive must neither append to the target nor serve it.
  const auto port = std::to_string(std::stoi(first) + 1);
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

TEST_CASE("a restart after a crash keeps the crashed run readable, from the API and the CLI",
          "[attack][worker]") {
  // The first run leaves a mark and fails; the restart finds it and stays up.
  TempDir marks;
  ::chmod(marks.path().c_str(), 01777);
  const auto mark = (marks.path() / "ran").string();
  const auto base = unique_base_port() + 40;
  HiveOptions o;
  o.tag = "attack-crashlog";
  o.extra_services = "[services.once]\ncommand = [\"/bin/sh\", \"-c\", \"if [ -e " + mark +
                     " ]; then echo second run; exec sleep 1000; fi; touch " + mark +
                     "; echo first run, failing; exit 3\"]\nbase_port = " + std::to_string(base) +
                     "\nrestart = \"on-failure\"\n";
  Hive hive(o);
  auto r = hive.post("/v1/workers", R"({"service":"once"})", "");
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 201);
  const auto inst = instance_of(r->body);
  auto w = hive.wait_worker(
      "once", inst, [](const auto& w) { return w.restarts == 1 && !w.pids.empty(); }, 10s);
  REQUIRE(w);
  std::string current;
  for (int i = 0; i < 100 && current.find("second run") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
    current = logs_of(hive, "once/" + inst);
  }
  INFO(current);
  CHECK(current.find("second run") != std::string::npos);
  CHECK(current.find("first run") == std::string::npos);
  auto previous = logs_of(hive, "once/" + inst, "?previous=1");
  INFO(previous);
  CHECK(previous.starts_with("200 "));
  CHECK(previous.find("first run, failing") != std::string::npos);
  CHECK(previous.find("second run") == std::string::npos);

  // The operator's way to the same: rbee-hive logs --previous.
  TempDir dir;
  Process cli({RBEE_HIVE_BIN, "logs", "once/" + inst, "--previous", "--hive", hive.url()},
              dir.path() / "cli.out");
  auto st = cli.wait(10s);
  REQUIRE(st);
  CHECK(WIFEXITED(*st));
  CHECK(WEXITSTATUS(*st) == 0);
  const auto printed = read_file(dir.path() / "cli.out");
  INFO(printed);
  CHECK(printed.find("first run, failing") != std::string::npos);
  CHECK(printed.find("second run") == std::string::npos);
}

TEST_CASE("a service's own user, group and supplementary groups are what its worker runs as",
          "[attack][worker]") {
  const group* video = ::getgrnam("video");
  const passwd* nobody = ::getpwnam("nobody");
  REQUIRE(video);
  REQUIRE(nobody);
  const gid_t video_gid = video->gr_gid;
  const uid_t nobody_uid = nobody->pw_uid;
  const auto base = unique_base_port() + 50;
  HiveOptions o;
  o.tag = "attack-accounts";
  // A numeric group, a named user; and root, which only a service may name.
  o.extra_services = test_worker_service("acct", base,
                                         "user = \"nobody\"\ngroup = \"65534\"\n"
                                         "supplementary_groups = [\"video\"]\n") +
                     test_worker_service("asroot", base + 5, "user = \"root\"\n");
  Hive hive(o);
  auto pid_of = [&](const std::string& service) -> pid_t {
    auto r = hive.post("/v1/workers", R"({"service":")" + service + R"("})", "");
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 201);
    auto w = hive.wait_worker(service, instance_of(r->body),
                              [](const auto& w) { return w.main_pid.has_value(); });
    REQUIRE(w);
    return static_cast<pid_t>(*w->main_pid);
  };
  const pid_t acct = pid_of("acct");
  CHECK(status_field(acct, "Uid").starts_with(ids(nobody_uid)));
  CHECK(status_field(acct, "Gid").starts_with(ids(65534)));
  const auto groups = status_groups(acct);
  CHECK(groups.count(video_gid) == 1);
  CHECK(groups.count(0) == 0);
  CHECK(status_field(acct, "CapBnd") == "0000000000000000");

  // Root by the service's own word; no_new_privs still holds.
  const pid_t root = pid_of("asroot");
  CHECK(status_field(root, "Uid").starts_with(ids(0)));
  CHECK(status_field(root, "NoNewPrivs") == "1");
}

TEST_CASE("a Hive whose worker account is missing or root refuses to start, saying what to do",
          "[attack][worker]") {
  TempDir dir;
  CgroupSubtree cg("acctstart");
  int n = 0;
  auto serve = [&](const std::string& hive_table) {
    const auto cfg = dir.path() / ("hive" + std::to_string(++n) + ".toml");
    std::ofstream(cfg) << "[hive]\nlisten = \"127.0.0.1:0\"\ncgroup_root = \"" << cg.path().string()
                       << "\"\nlog_dir = \"" << (dir.path() / "logs").string() << "\"\n"
                       << hive_table << "\n"
                       << test_worker_service("tw", unique_base_port(), "");
    const auto out = dir.path() / ("hive" + std::to_string(n) + ".out");
    Process p({RBEE_HIVE_BIN, "serve", "--config", cfg.string()}, out);
    auto st = p.wait(10s);
    REQUIRE(st);
    CHECK(WIFEXITED(*st));
    CHECK(WEXITSTATUS(*st) == 1);
    return read_file(out);
  };
  auto missing = serve("worker_user = \"no-such-rbee-account\"");
  INFO(missing);
  CHECK(missing.find("hive.worker_user") != std::string::npos);
  CHECK(missing.find("useradd --system") != std::string::npos);
  auto root = serve("worker_user = \"root\"");
  INFO(root);
  CHECK(root.find("hive.worker_user must not be root") != std::string::npos);
  CHECK(root.find("user = \"root\"") != std::string::npos);
}
