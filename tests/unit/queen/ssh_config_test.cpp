#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "queen/ssh_config.h"
#include "queen/ssh_config_file.h"

namespace fs = std::filesystem;
using namespace rbee::queen;

namespace {

// A temp dir laid out as HOME, with HOME/.ssh as the user ssh dir.
struct TempSsh {
  fs::path home;
  TempSsh() {
    std::string tmpl = (fs::temp_directory_path() / "rbee-ssh-unit-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    home = tmpl;
    fs::create_directories(home / ".ssh");
  }
  TempSsh(const TempSsh&) = delete;
  TempSsh& operator=(const TempSsh&) = delete;
  ~TempSsh() {
    std::error_code ec;
    fs::remove_all(home, ec);
  }
  fs::path dir() const { return home / ".ssh"; }
  fs::path write(const std::string& name, const std::string& text) const {
    fs::path p = dir() / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  SshConfigOptions options() const {
    SshConfigOptions o;
    o.user_ssh_dir = dir();
    return o;
  }
  SshDiscovery discover(const std::string& text) const {
    auto r = discover_ssh_hosts(write("config", text), options());
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    return *r;
  }
  std::string resolve(const std::string& text, std::string_view alias) const {
    auto r = resolve_ssh_hostname(write("config", text), alias, options());
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    return *r;
  }
};

bool has_warning(const SshDiscovery& d, const std::string& part) {
  for (const auto& w : d.warnings) {
    if (w.find(part) != std::string::npos) return true;
  }
  return false;
}

std::vector<std::string> aliases(const SshDiscovery& d) {
  std::vector<std::string> out;
  for (const auto& h : d.hosts) out.push_back(h.alias);
  return out;
}

}  // namespace

TEST_CASE("ssh patterns match '*' and '?' wildcards case-insensitively") {
  CHECK(ssh_pattern_match("*", ""));
  CHECK(ssh_pattern_match("web*", "web12"));
  CHECK(ssh_pattern_match("*.example.com", "a.b.example.com"));
  CHECK_FALSE(ssh_pattern_match("*.example.com", "example.com"));
  CHECK(ssh_pattern_match("w?b", "wEb"));
  CHECK_FALSE(ssh_pattern_match("w?b", "wb"));
  CHECK(ssh_pattern_match("a*b*c", "aXXbYYbc"));
  CHECK(ssh_pattern_match("WEB1", "web1"));
  CHECK_FALSE(ssh_pattern_match("WEB1", "web1", SshCase::sensitive));
  CHECK_FALSE(ssh_pattern_match("web", "web1"));
  CHECK(ssh_pattern_match(std::string(50, '*') + "x", std::string(2000, 'a') + "x"));
}

TEST_CASE(
    "ssh pattern lists: any positive match, a negated match excludes, negations alone match "
    "nothing") {
  CHECK(ssh_pattern_list_match("a,b,c*", "cat"));
  CHECK_FALSE(ssh_pattern_list_match("a,b", "c"));
  CHECK_FALSE(ssh_pattern_list_match("*,!bad*", "badger"));
  CHECK_FALSE(ssh_pattern_list_match("!bad*,*", "badger"));
  CHECK(ssh_pattern_list_match("!bad*,*", "good"));
  CHECK_FALSE(ssh_pattern_list_match("!x", "y"));
  CHECK(ssh_pattern_list_match("*.LAB", "node.lab"));
  CHECK(ssh_pattern_is_literal("node1"));
  CHECK_FALSE(ssh_pattern_is_literal("node?"));
  CHECK_FALSE(ssh_pattern_is_literal("!node1"));
}

TEST_CASE("ssh tokenizers split keywords on '=' and arguments on blanks with quotes and escapes") {
  ssh_detail::StrDelim d{"Host=a b"};
  CHECK(d.next() == "Host");
  CHECK(d.rest == "a b");
  ssh_detail::StrDelim e{"HostName = x"};
  CHECK(e.next() == "HostName");
  CHECK(e.rest == "x");
  ssh_detail::StrDelim q{"\"a b\" c"};
  CHECK(q.next() == "a b");
  CHECK(q.next() == "c");
  CHECK_FALSE(q.next());
  ssh_detail::StrDelim open{"\"a b"};
  CHECK_FALSE(open.next());

  std::vector<std::string> args;
  REQUIRE(
      ssh_detail::split_args(R"(one "two three" fo"u r" 'five' six\ seven \"x # comment)", args));
  CHECK(args == std::vector<std::string>{"one", "two three", "fou r", "five", "six seven", "\"x"});
  args.clear();
  CHECK_FALSE(ssh_detail::split_args("\"unterminated", args));
}

TEST_CASE("discovery lists concrete Host aliases in file order, once, with default HostName") {
  TempSsh t;
  auto d = t.discover(
      "# comment\n\n"
      "Host web1 web2 db*\n  HostName shared.example.com\n"
      "Host !web9 bastion Web1\n"
      "Host web1\n  HostName late.example.com\n"
      "Host *\n  User x\n");
  CHECK(d.hosts == std::vector<SshHostCandidate>{{"web1", "shared.example.com"},
                                                 {"web2", "shared.example.com"},
                                                 {"bastion", "bastion"},
                                                 {"Web1", "web1"}});
  CHECK(d.warnings.empty());
  REQUIRE(d.files.size() == 1);
  CHECK(d.files[0] == t.dir() / "config");
}

TEST_CASE("keywords are case-insensitive and take '=' with or without spaces and quoted values") {
  TempSsh t;
  auto d = t.discover(
      "HOST a\n\tHOSTNAME\tA.Example.COM   \n"
      "host=b\nhostname=b.example.com\n"
      "Host = c\n  HostName = c.example.com\n"
      "Host \"d\"\n  hostName \"d with space\"\n");
  CHECK(d.hosts == std::vector<SshHostCandidate>{{"a", "a.example.com"},
                                                 {"b", "b.example.com"},
                                                 {"c", "c.example.com"},
                                                 {"d", "d with space"}});
}

TEST_CASE(
    "the first HostName obtained wins, options before any Host apply to all, Host * gives "
    "defaults") {
  TempSsh t;
  CHECK(t.resolve("Host a\n HostName one\nHost a\n HostName two\n", "a") == "one");
  CHECK(t.resolve("HostName global\nHost a\n HostName mine\n", "a") == "global");
  auto d =
      t.discover("Host a\n HostName a.example.com\nHost b\n Port 1\nHost *\n HostName %h.corp\n");
  CHECK(d.hosts == std::vector<SshHostCandidate>{{"a", "a.example.com"}, {"b", "b.corp"}});
  CHECK(t.resolve("Host *\n HostName %h.corp\n", "Other") == "other.corp");
}

TEST_CASE("Host patterns are case-sensitive like ssh, while Match host is not") {
  TempSsh t;
  std::string cfg = "Host FOO\n HostName upper\nMatch host bar\n HostName matched\n";
  CHECK(t.resolve(cfg, "FOO") == "upper");
  CHECK(t.resolve(cfg, "foo") == "foo");
  CHECK(t.resolve(cfg, "BAR") == "matched");
}

TEST_CASE("HostName expands %h and %% and is lowercased unless it holds ':' or '%'") {
  TempSsh t;
  CHECK(t.resolve("Host X1\n HostName %h.Example.COM\n", "X1") == "x1.example.com");
  CHECK(t.resolve("Host p\n HostName A%%B\n", "p") == "A%B");
  CHECK(t.resolve("Host v6\n HostName FE80::1\n", "v6") == "FE80::1");
  auto bad = resolve_ssh_hostname(t.write("config", "Host b\n HostName %x\n"), "b", t.options());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("%x") != std::string::npos);
  auto d = t.discover("Host b\n HostName %x\nHost good\n");
  CHECK(aliases(d) == std::vector<std::string>{"good"});
  CHECK(has_warning(d, "unknown token %x"));
}

TEST_CASE(
    "Include reads globs relative to the user ssh dir, nests, takes several args and ~/ paths") {
  TempSsh t;
  t.write("conf.d/10-a.conf", "Include nested/*.conf\nHost a\n HostName a.example.com\n");
  t.write("conf.d/20-b.conf", "Host b\n");
  t.write("conf.d/.hidden.conf", "Host hidden\n");
  t.write("nested/n.conf", "Host n\n HostName n.example.com\n");
  t.write("extra/e", "Host e\n");
  auto d = t.discover("Include conf.d/*.conf nothing-here-*\nInclude ~/.ssh/extra/e\nHost last\n");
  CHECK(aliases(d) == std::vector<std::string>{"n", "a", "b", "e", "last"});
  CHECK(d.hosts[0].hostname == "n.example.com");
  CHECK(d.files.size() == 5);
  CHECK(d.warnings.empty());
}

TEST_CASE("an Include inside a Host or Match block only applies when that block matches") {
  TempSsh t;
  t.write("gated.conf", "HostName gated.example.com\nHost inner\n HostName inner.example.com\n");
  std::string cfg = "Host outer\n Include gated.conf\nHost *\n HostName %h.fallback\n";
  CHECK(t.resolve(cfg, "outer") == "gated.example.com");
  CHECK(t.resolve(cfg, "inner") == "inner.fallback");
  auto d = t.discover(cfg);
  CHECK(aliases(d) == std::vector<std::string>{"outer"});
  CHECK(has_warning(d, "Host inner never applies"));

  std::string by_match = "Match host in*\n Include gated.conf\n";
  CHECK(t.resolve(by_match, "inner") == "gated.example.com");
  CHECK(aliases(t.discover(by_match)) == std::vector<std::string>{"inner"});
}

TEST_CASE("an Include cycle or nesting deeper than 16 is an error, 16 levels are fine") {
  TempSsh t;
  t.write("a.conf", "Include b.conf\n");
  t.write("b.conf", "Include a.conf\nHost x\n");
  auto cyc = discover_ssh_hosts(t.dir() / "a.conf", t.options());
  REQUIRE_FALSE(cyc.ok());
  CHECK(cyc.error().message.find("nested deeper than 16") != std::string::npos);

  for (int i = 0; i <= 17; ++i) {
    t.write("c" + std::to_string(i) + ".conf",
            i < 17 ? "Include c" + std::to_string(i + 1) + ".conf\n" : "Host deep\n");
  }
  CHECK(discover_ssh_hosts(t.dir() / "c1.conf", t.options()).ok());  // c1 + 16 levels
  CHECK_FALSE(discover_ssh_hosts(t.dir() / "c0.conf", t.options()).ok());
}

TEST_CASE("Match host, originalhost, all, canonical and final follow ssh's first pass") {
  TempSsh t;
  std::string cfg =
      "Match final\n HostName final\n"
      "Match !canonical originalhost NEG\n HostName neg.%h\n"
      "Host real\n HostName real.LAB\n"
      "Match host *.lab\n HostName never-after-hostname\n"
      "Match host m1,m2 !final\n HostName m.example.com\n"
      "Match all\n HostName all.%h\n";
  CHECK(t.resolve(cfg, "neg") == "neg.neg");
  CHECK(t.resolve(cfg, "real") == "real.lab");
  CHECK(t.resolve(cfg, "M2") == "m.example.com");
  CHECK(t.resolve(cfg, "zz") == "all.zz");
  // After HostName is set, Match host tests it: the Include only applies through it.
  t.write("inc.conf", "Host ali\n");
  CHECK(aliases(t.discover("Host ali\n HostName ali.lab\nMatch host *.lab\n Include inc.conf\n")) ==
        std::vector<std::string>{"ali"});
}

TEST_CASE("Match exec, user and unknown criteria are skipped with a warning and never match") {
  TempSsh t;
  auto d = t.discover(
      "Match exec \"true\"\n HostName exec.example.com\n"
      "Match user root host s1\n HostName user.example.com\n"
      "Match bogus x\n HostName bogus\n"
      "Match host\n HostName missing-arg\n"
      "Match all host s1\n HostName bad-all\n"
      "Host s1\n HostName s1.example.com\n");
  CHECK(d.hosts == std::vector<SshHostCandidate>{{"s1", "s1.example.com"}});
  CHECK(has_warning(d, "config:1: Match exec skipped"));
  CHECK(has_warning(d, "config:3: Match user skipped"));
  CHECK(has_warning(d, "config:5: unknown Match criterion bogus skipped"));
  CHECK(has_warning(d, "config:7: Match host needs an argument"));
  CHECK(has_warning(d, "config:9: Match all cannot be combined"));
}

TEST_CASE("malformed lines are skipped with a warning without leaking into the previous block") {
  TempSsh t;
  auto d = t.discover(
      "Host a\n"
      "Host \"open\n  HostName leaked\n"
      "Host b\n  HostName\n"
      "Host " +
      std::string(5000, 'x') +
      "\n  HostName leaked2\n"
      "Host c,d\n");
  CHECK(d.hosts == std::vector<SshHostCandidate>{{"a", "a"}, {"b", "b"}});
  CHECK(has_warning(d, "config:2: Host: invalid quotes"));
  CHECK(has_warning(d, "config:5: no argument after keyword \"HostName\""));
  CHECK(has_warning(d, "config:6: line longer than 4096 bytes"));
  CHECK(has_warning(d, "Host c,d is not a usable host name"));
}

TEST_CASE("filter_candidates keeps includes (all when empty) and drops excludes, exclude winning") {
  std::vector<SshHostCandidate> all = {
      {"gpu-1", "a"}, {"gpu-2", "b"}, {"db", "c"}, {"GPU-test", "d"}};
  CHECK(filter_candidates(all, {}, {}) == all);
  CHECK(filter_candidates(all, {"gpu-*"}, {}) ==
        std::vector<SshHostCandidate>{{"gpu-1", "a"}, {"gpu-2", "b"}, {"GPU-test", "d"}});
  CHECK(filter_candidates(all, {"gpu-*", "db"}, {"*test", "gpu-2"}) ==
        std::vector<SshHostCandidate>{{"gpu-1", "a"}, {"db", "c"}});
  CHECK(filter_candidates(all, {}, {"gpu-?,db"}) ==
        std::vector<SshHostCandidate>{{"GPU-test", "d"}});
}

TEST_CASE(
    "limits: oversize files and too many files are errors, hosts past the limit are dropped") {
  TempSsh t;
  SshConfigOptions o = t.options();
  o.max_file_bytes = 64;
  auto big = discover_ssh_hosts(t.write("big", "Host a\n" + std::string(100, '#') + "\n"), o);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().message.find("larger than 64 bytes") != std::string::npos);
  t.write("inc/big.conf", std::string(100, '#'));
  CHECK_FALSE(discover_ssh_hosts(t.write("small", "Include inc/*.conf\n"), o).ok());

  o = t.options();
  o.max_files = 2;
  t.write("m/1.conf", "Host m1\n");
  t.write("m/2.conf", "Host m2\n");
  auto many = discover_ssh_hosts(t.write("config", "Include m/*.conf\n"), o);
  REQUIRE_FALSE(many.ok());
  CHECK(many.error().message.find("more than 2") != std::string::npos);

  o = t.options();
  o.max_hosts = 2;
  auto hosts = discover_ssh_hosts(t.write("config", "Host a b c d\n"), o);
  REQUIRE(hosts.ok());
  CHECK(aliases(*hosts) == std::vector<std::string>{"a", "b"});
  CHECK(has_warning(*hosts, "more than 2 hosts"));
}

TEST_CASE("a missing main config is an error, an unreadable Include a warning") {
  TempSsh t;
  auto missing = discover_ssh_hosts(t.dir() / "nope", t.options());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("cannot read") != std::string::npos);
  fs::create_directories(t.dir() / "d" / "sub.conf");
  auto d = t.discover("Include d/*.conf\nHost a\n");
  CHECK(aliases(d) == std::vector<std::string>{"a"});
  CHECK(has_warning(d, "is a directory; Include skipped"));
}

TEST_CASE("discovery of many hosts stays fast") {
  TempSsh t;
  std::string cfg = "Host *.x\n User u\n";
  for (int i = 0; i < 3000; ++i)
    cfg += "Host h" + std::to_string(i) + "\n HostName 10.0.0." + std::to_string(i % 250) + "\n";
  cfg += "Host *\n HostName %h.default\n";
  auto d = t.discover(cfg);
  CHECK(d.hosts.size() == 3000);
  CHECK(d.hosts.back().hostname == "10.0.0.249");
}
