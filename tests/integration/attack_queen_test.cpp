// The edges between the daemons, tried as an attacker would against real daemons: who gets the
// cluster token, where a Hive pushes it, how token and config files are read, what push-only
// Hives can pile up.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "checks.h"
#include "fault_util.h"
#include "harness.h"

using namespace rbee;
using namespace rbee::test;
namespace fs = std::filesystem;

namespace {

struct Exit {
  int code = -1;
  std::string output;
};

// Runs argv to its end (10 s at most) and returns its exit code and output.
Exit run(const std::vector<std::string>& argv, const fs::path& out,
         const std::vector<std::string>& env = {}) {
  Process p(argv, out, env);
  auto st = p.wait(10s);
  Exit e;
  if (st && WIFEXITED(*st)) e.code = WEXITSTATUS(*st);
  e.output = read_file(out);
  return e;
}

std::string snapshot(const std::string& hive_id, uint32_t interval_ms = 200) {
  return R"({"schema_version":1,"hive_id":")" + hive_id +
         R"(","instance_id":"i1","seq":1,"interval_ms":)" + std::to_string(interval_ms) +
         R"(,"workers":[]})";
}

// GET /capabilities?queen_url=URL (percent-encoded) with the token.
Result<http::ClientResponse> subscribe(const Hive& hive, const std::string& url,
                                       const std::string& token) {
  std::string q;
  for (unsigned char c : url) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%%%02X", c);
    q += std::isalnum(c) ? std::string(1, static_cast<char>(c)) : std::string(buf);
  }
  return http::fetch(boost::beast::http::verb::get, hive.url() + "/capabilities?queen_url=" + q, {},
                     token);
}

bool listed(const Queen& queen, const std::string& id) {
  for (const auto& h : queen.hives())
    if (h.id == id || h.alias == id) return true;
  return false;
}

}  // namespace

TEST_CASE(
    "a Queen with a token and no Hive named refuses to start, and a named set is all it lists",
    "[attack][queen]") {
  TempDir dir;
  std::ofstream(dir.path() / "ssh_config")
      << "Host gpu-1\n  HostName 127.0.0.1\nHost bastion\n  HostName 127.0.0.3\n"
      << "Host db\n  HostName 127.0.0.4\n";
  write_token_file(dir.path() / "token", "attack-scope-token");
  const auto cfg = dir.path() / "queen.toml";
  const std::string base = "[queen]\nlisten = \"127.0.0.1:" + std::to_string(free_port()) +
                           "\"\nssh_config = \"" + (dir.path() / "ssh_config").string() +
                           "\"\ntoken_file = \"" + (dir.path() / "token").string() + "\"\n";
  std::ofstream(cfg) << base;
  auto e = run({RBEE_QUEEN_BIN, "serve", "--config", cfg.string()}, dir.path() / "q1.out");
  INFO(e.output);
  CHECK(e.code == 1);
  CHECK(e.output.find("queen.include is empty and no [hives.ALIAS] table names a Hive") !=
        std::string::npos);
  // discover says the same, not a list of every host.
  e = run({RBEE_QUEEN_BIN, "discover", "--config", cfg.string()}, dir.path() / "d1.out");
  CHECK(e.code == 1);
  CHECK(e.output.find("queen.include is empty") != std::string::npos);

  // Named: only gpu-1 is a candidate; bastion and db are neither contacted nor listed.
  std::ofstream(cfg) << base << "include = [\"gpu-*\"]\n";
  e = run({RBEE_QUEEN_BIN, "discover", "--config", cfg.string(), "--json"}, dir.path() / "d2.out");
  CHECK(e.code == 0);
  CHECK(e.output.find("gpu-1") != std::string::npos);
  CHECK(e.output.find("bastion") == std::string::npos);
  CHECK(e.output.find("\"db\"") == std::string::npos);

  Queen queen({.tag = "scope",
               .token = "attack-scope-token",
               .hives = {{"gpu-1", "127.0.0.1", 0}, {"bastion", "127.0.0.3", 0}, {"db"}},
               .extra_config = "include = [\"gpu-*\"]\n"});
  REQUIRE(queen.wait_hive(
      "gpu-1", [](const auto&) { return true; }, 5s));
  CHECK_FALSE(listed(queen, "bastion"));
  CHECK_FALSE(listed(queen, "db"));
}

TEST_CASE("a subscription to a Queen URL off hive.queen_urls is refused and nothing is pushed",
          "[attack][queen]") {
  const std::string token = "attack-allow-token";
  const uint16_t port = free_port();
  ConnectionCounter elsewhere(port);  // where an attacker wants the token sent
  const std::string allowed = "http://127.0.0.1:" + std::to_string(port) + "/queen";
  Hive hive({.tag = "allow",
             .interval_ms = 200,
             .token = token,
             .extra_hive = "queen_urls = [\"" + allowed + "\", \"http://10.0.0.5:7833\"]\n"});
  const std::string off = "http://127.0.0.1:" + std::to_string(port);
  for (const std::string& url : {off, off + "/other", std::string("http://127.0.0.1:9/queen")}) {
    auto r = subscribe(hive, url, token);
    REQUIRE(r);
    INFO(r->body);
    CHECK(r->status == 403);
    CHECK(r->body.find(url + " is not in hive.queen_urls") != std::string::npos);
  }
  std::this_thread::sleep_for(1500ms);  // several ticks
  CHECK(elsewhere.count() == 0);

  // On the list (the same URL, written with a trailing '/'): accepted, and pushed to.
  auto r = subscribe(hive, allowed + "/", token);
  REQUIRE(r);
  CHECK(r->status == 200);
  for (int i = 0; i < 50 && elsewhere.count() == 0; ++i) std::this_thread::sleep_for(100ms);
  CHECK(elsewhere.count() > 0);
}

TEST_CASE("a token file others can read, or a link to one, is refused at start by both daemons",
          "[attack][queen]") {
  TempDir dir;
  CgroupSubtree cg("tokmode");
  const auto token = dir.path() / "token";
  std::ofstream(dir.path() / "ssh_config") << "Host gpu-1\n";
  auto hive_cfg = [&](const fs::path& t) {
    const auto p = dir.path() / "hive.toml";
    std::ofstream(p) << "[hive]\nlisten = \"127.0.0.1:0\"\ncgroup_root = \"" << cg.path().string()
                     << "\"\nlog_dir = \"" << (dir.path() / "logs").string()
                     << "\"\ntoken_file = \"" << t.string() << "\"\n";
    return p;
  };
  auto queen_cfg = [&](const fs::path& t) {
    const auto p = dir.path() / "queen.toml";
    std::ofstream(p) << "[queen]\nlisten = \"127.0.0.1:0\"\nssh_config = \""
                     << (dir.path() / "ssh_config").string() << "\"\ninclude = [\"*\"]\n"
                     << "token_file = \"" << t.string() << "\"\n";
    return p;
  };
  int n = 0;
  for (auto mode : {fs::perms(0644), fs::perms(0640), fs::perms(0604), fs::perms(0620)}) {
    write_token_file(token, "attack-mode-token", mode);
    char want[64];
    std::snprintf(want, sizeof want, "permissions %04o for token file",
                  static_cast<unsigned>(mode));
    for (const auto& [bin, cfg] :
         {std::pair{RBEE_HIVE_BIN, hive_cfg(token)}, std::pair{RBEE_QUEEN_BIN, queen_cfg(token)}}) {
      auto e = run({bin, "serve", "--config", cfg.string()},
                   dir.path() / ("m" + std::to_string(++n) + ".out"));
      INFO(bin << " " << e.output);
      CHECK(e.code == 1);
      CHECK(e.output.find(want) != std::string::npos);
      CHECK(e.output.find("are too open") != std::string::npos);
      CHECK(e.output.find("attack-mode-token") == std::string::npos);
    }
  }
  // A symbolic link to a good file: refused too (it could be swapped to point elsewhere).
  write_token_file(token, "attack-mode-token");
  fs::create_symlink(token, dir.path() / "link");
  for (const auto& [bin, cfg] : {std::pair{RBEE_HIVE_BIN, hive_cfg(dir.path() / "link")},
                                 std::pair{RBEE_QUEEN_BIN, queen_cfg(dir.path() / "link")}}) {
    auto e = run({bin, "serve", "--config", cfg.string()},
                 dir.path() / ("l" + std::to_string(++n) + ".out"));
    INFO(bin << " " << e.output);
    CHECK(e.code == 1);
    CHECK(e.output.find("is a symbolic link") != std::string::npos);
  }
  // A FIFO planted as the token file: refused at once, never waited on.
  fs::remove(token);
  REQUIRE(::mkfifo(token.c_str(), 0600) == 0);
  auto e = run({RBEE_QUEEN_BIN, "serve", "--config", queen_cfg(token).string()},
               dir.path() / "fifo.out");
  INFO(e.output);
  CHECK(e.code == 1);
  CHECK(e.output.find("is not a regular file") != std::string::npos);
}

TEST_CASE("the clients read the token from --token-file, never from argv", "[attack][queen]") {
  const std::string token = "attack-cli-token";
  Hive hive({.tag = "cli", .token = token});
  Queen queen({.tag = "cli", .token = token, .hives = {{"h1", "127.0.0.1", port_of(hive.url())}}});
  TempDir dir;
  const auto file = dir.path() / "token";
  write_token_file(file, token);

  auto e = run({RBEE_HIVE_BIN, "spawn", "tw", "--hive", hive.url(), "--token-file", file.string()},
               dir.path() / "spawn.out");
  INFO(e.output);
  CHECK(e.code == 0);
  CHECK(e.output.find("\"instance\"") != std::string::npos);
  e = run({RBEE_QUEEN_BIN, "refresh", "--queen", queen.url(), "--token-file", file.string()},
          dir.path() / "refresh.out");
  CHECK(e.code == 0);
  // $RBEE_TOKEN still works; --token is gone.
  e = run({RBEE_QUEEN_BIN, "refresh", "--queen", queen.url()}, dir.path() / "env.out",
          {"RBEE_TOKEN=" + token});
  CHECK(e.code == 0);
  for (const auto& bin : {RBEE_HIVE_BIN, RBEE_QUEEN_BIN}) {
    e = run({bin, bin == std::string(RBEE_HIVE_BIN) ? "ps" : "hives", "--token", token},
            dir.path() / "argv.out");
    CHECK(e.code != 0);
    CHECK(e.output.find("--token") != std::string::npos);
  }
  // A client refuses a token file others can read, as the daemons do.
  write_token_file(dir.path() / "open", token, fs::perms(0644));
  e = run(
      {RBEE_HIVE_BIN, "ps", "--hive", hive.url(), "--token-file", (dir.path() / "open").string()},
      dir.path() / "open.out");
  CHECK(e.code == 1);
  CHECK(e.output.find("are too open") != std::string::npos);
  // While a client runs, its command line holds the file's name, not the token.
  Process watch(
      {RBEE_HIVE_BIN, "ps", "--watch", "--hive", hive.url(), "--token-file", file.string()},
      dir.path() / "watch.out");
  std::this_thread::sleep_for(500ms);
  REQUIRE(watch.running());
  const auto cmdline = read_file("/proc/" + std::to_string(watch.pid()) + "/cmdline");
  CHECK(cmdline.find(file.string()) != std::string::npos);
  CHECK(cmdline.find(token) == std::string::npos);
}

TEST_CASE("a push-only Hive is forgotten once it has been down for forget_push_only_after_s",
          "[attack][queen]") {
  Queen queen({.tag = "forget",
               .stale_after_intervals = 1,
               .down_after_intervals = 2,
               .extra_config = "forget_push_only_after_s = 1\n"});
  const uint16_t qport = port_of(queen.url());
  auto r = raw_request("127.0.0.1", qport, "POST", "/v1/hive-telemetry", snapshot("gone-1"), "");
  INFO(r.body);
  REQUIRE(r.status == 204);
  REQUIRE(queen.wait_hive(
      "gone-1", [](const auto& h) { return h.source == "push"; }, 2s));
  // Down after 2 x 200 ms, forgotten 1 s later (the status check runs every second).
  REQUIRE(queen.wait_hive(
      "gone-1", [](const auto& h) { return h.status == "down"; }, 5s));
  bool gone = false;
  for (int i = 0; i < 60 && !gone; ++i) {
    gone = !listed(queen, "gone-1");
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  CHECK(gone);
  // It is a new push-only Hive when it pushes again.
  r = raw_request("127.0.0.1", qport, "POST", "/v1/hive-telemetry", snapshot("gone-1"), "");
  CHECK(r.status == 204);
}

TEST_CASE("the push-only cap counts an address range, not one address", "[attack][queen]") {
  Queen queen({.tag = "range", .extra_config = "max_push_hives_per_address = 2\n"});
  const uint16_t qport = port_of(queen.url());
  auto push = [&](const std::string& from, const std::string& id) {
    return raw_request(from, qport, "POST", "/v1/hive-telemetry", snapshot(id, 60000), "");
  };
  CHECK(push("127.0.0.1", "range-1").status == 204);
  CHECK(push("127.0.0.1", "range-2").status == 204);
  // Another address of the same /24 (every 127.x address is this host's): the same cap.
  auto r = push("127.0.0.2", "range-3");
  INFO(r.body);
  CHECK(r.status == 429);
  CHECK(r.body.find("127.0.0.0/24") != std::string::npos);
  CHECK(r.body.find("127.0.0.2") != std::string::npos);
  CHECK(push("127.0.0.77", "range-4").status == 429);
  // Another /24: a cap of its own. Held Hives keep reporting.
  CHECK(push("127.0.1.1", "range-5").status == 204);
  CHECK(raw_request("127.0.0.1", qport, "POST", "/v1/hive-telemetry",
                    R"({"schema_version":1,"hive_id":"range-1","instance_id":"i1","seq":2,)"
                    R"("interval_ms":60000,"workers":[]})",
                    "")
            .status == 204);
}

TEST_CASE("an oversized or non-regular config file is refused at start, never read whole",
          "[attack][queen]") {
  TempDir dir;
  CgroupSubtree cg("bigcfg");
  const std::string pad = "# " + std::string(2 * 1024 * 1024, 'x') + "\n";
  std::ofstream(dir.path() / "hive.toml")
      << "[hive]\nlisten = \"127.0.0.1:0\"\ncgroup_root = \"" << cg.path().string() << "\"\n"
      << pad;
  std::ofstream(dir.path() / "queen.toml") << "[queen]\nlisten = \"127.0.0.1:0\"\n" << pad;
  std::ofstream(dir.path() / "ssh_config") << "Host gpu-1\n" << pad;
  std::ofstream(dir.path() / "queen-ssh.toml")
      << "[queen]\nlisten = \"127.0.0.1:0\"\nssh_config = \""
      << (dir.path() / "ssh_config").string() << "\"\n";
  for (const auto& [bin, cfg] : {std::pair{RBEE_HIVE_BIN, dir.path() / "hive.toml"},
                                 std::pair{RBEE_QUEEN_BIN, dir.path() / "queen.toml"}}) {
    auto e = run({bin, "serve", "--config", cfg.string()}, dir.path() / "big.out");
    INFO(bin << " " << e.output.substr(0, 500));
    CHECK(e.code == 1);
    CHECK(e.output.find(cfg.string() + " is larger than 1048576 bytes") != std::string::npos);
    CHECK(e.output.size() < 1000);
  }
  auto e = run({RBEE_QUEEN_BIN, "discover", "--config", (dir.path() / "queen-ssh.toml").string()},
               dir.path() / "ssh.out");
  CHECK(e.code == 1);
  CHECK(e.output.find("is larger than 1048576 bytes") != std::string::npos);

  // A FIFO as the config: an error at once, not a daemon blocked in open().
  const auto fifo = dir.path() / "fifo.toml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (const auto& bin : {RBEE_HIVE_BIN, RBEE_QUEEN_BIN}) {
    e = run({bin, "serve", "--config", fifo.string()}, dir.path() / "fifo.out");
    INFO(bin << " " << e.output);
    CHECK(e.code == 1);
    CHECK(e.output.find(fifo.string() + " is not a regular file") != std::string::npos);
  }
}
