// Compares resolve_ssh_hostname and discover_ssh_hosts with the real `ssh -G` on the corpus in
// tests/data/ssh: the `hostname` line ssh prints must be exactly what we resolve.
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "queen/ssh_config.h"

namespace fs = std::filesystem;
using rbee::queen::discover_ssh_hosts;
using rbee::queen::resolve_ssh_hostname;
using rbee::queen::SshConfigOptions;

namespace {

struct TempHome {
  fs::path dir;
  TempHome() {
    std::string tmpl = (fs::temp_directory_path() / "rbee-ssh-g-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  TempHome(const TempHome&) = delete;
  TempHome& operator=(const TempHome&) = delete;
  ~TempHome() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path ssh_dir() const { return dir / ".ssh"; }
};

// Copies the corpus to HOME/.ssh with the permissions ssh insists on for Included files.
void install_corpus(const TempHome& home) {
  fs::copy(fs::path(RBEE_TEST_DATA) / "ssh", home.ssh_dir(), fs::copy_options::recursive);
  fs::permissions(home.ssh_dir(), fs::perms(0700));
  for (const auto& e : fs::recursive_directory_iterator(home.ssh_dir())) {
    fs::permissions(e.path(), e.is_directory() ? fs::perms(0755) : fs::perms(0644));
  }
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

bool have_ssh() {
  return std::system("command -v ssh >/dev/null 2>&1") == 0;
}

struct SshG {
  int status = -1;
  std::string output;
  std::string hostname;  // the value of the "hostname" line, empty if none
};

SshG ssh_g(const TempHome& home, const fs::path& config, const std::string& name) {
  std::string cmd = "HOME=" + shell_quote(home.dir.string()) + " ssh -G -F " +
                    shell_quote(config.string()) + " " + shell_quote(name) + " </dev/null 2>&1";
  SshG r;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int raw = ::pclose(p);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("hostname ", 0) == 0) r.hostname = line.substr(9);
  }
  return r;
}

// Extra names to try, listed in the config as "# test-names: a b c".
std::vector<std::string> test_names(const fs::path& config) {
  std::vector<std::string> names;
  std::ifstream in(config);
  for (std::string line; std::getline(in, line);) {
    auto at = line.find("# test-names:");
    if (at != 0) continue;
    std::istringstream words(line.substr(13));
    for (std::string w; words >> w;) names.push_back(w);
  }
  return names;
}

std::vector<fs::path> corpus(const TempHome& home) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(home.ssh_dir())) {
    if (e.path().extension() == ".conf") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("resolve_ssh_hostname agrees with ssh -G on every corpus config and alias") {
  if (!have_ssh())
    FAIL("ssh not found: openssh-client must be installed (apt-get install -y openssh-client)");
  TempHome home;
  install_corpus(home);
  SshConfigOptions options;
  options.user_ssh_dir = home.ssh_dir();
  auto files = corpus(home);
  REQUIRE(files.size() >= 8);
  std::size_t compared = 0;
  for (const auto& config : files) {
    auto found = discover_ssh_hosts(config, options);
    INFO("config " << config.filename().string());
    REQUIRE(found.ok());
    CHECK_FALSE(found->hosts.empty());
    std::map<std::string, std::string> discovered;
    std::vector<std::string> names;
    for (const auto& h : found->hosts) {
      discovered.emplace(h.alias, h.hostname);
      names.push_back(h.alias);
    }
    for (const auto& n : test_names(config)) names.push_back(n);
    std::set<std::string> done;
    for (const auto& name : names) {
      if (!done.insert(name).second) continue;
      SshG real = ssh_g(home, config, name);
      INFO("name " << name << "; ssh said: " << real.output);
      REQUIRE(real.status == 0);
      REQUIRE_FALSE(real.hostname.empty());
      auto ours = resolve_ssh_hostname(config, name, options);
      REQUIRE(ours.ok());
      CHECK(*ours == real.hostname);
      if (auto it = discovered.find(name); it != discovered.end())
        CHECK(it->second == real.hostname);
      ++compared;
    }
  }
  CHECK(compared >= 50);
}

TEST_CASE("discovery skips aliases ssh never applies, exactly where ssh -G ignores their block") {
  if (!have_ssh())
    FAIL("ssh not found: openssh-client must be installed (apt-get install -y openssh-client)");
  TempHome home;
  install_corpus(home);
  SshConfigOptions options;
  options.user_ssh_dir = home.ssh_dir();
  auto config = home.ssh_dir() / "include.conf";
  auto found = discover_ssh_hosts(config, options);
  REQUIRE(found.ok());
  std::set<std::string> aliases;
  for (const auto& h : found->hosts) aliases.insert(h.alias);
  CHECK(aliases == std::set<std::string>{"lab1", "lab2", "deep", "lab3", "confd", "gated", "top"});
  // "hidden" is written in a file Included under "Host gated": ssh never applies its block.
  CHECK(ssh_g(home, config, "hidden").hostname == "hidden.fallback.example.com");
  // A glob skips dotfiles, like ssh's.
  CHECK(ssh_g(home, config, "dotfile").hostname == "dotfile.fallback.example.com");
}

TEST_CASE("Include nesting is bounded at ssh's depth of 16, cycles included") {
  if (!have_ssh())
    FAIL("ssh not found: openssh-client must be installed (apt-get install -y openssh-client)");
  TempHome home;
  fs::create_directories(home.ssh_dir());
  // chain-N.conf includes chain-(N+1).conf; the last one names the host.
  auto write_chain = [&](int length) {
    for (int i = 0; i < length; ++i) {
      std::ofstream out(home.ssh_dir() /
                        ("chain" + std::to_string(length) + "-" + std::to_string(i) + ".conf"));
      if (i + 1 < length)
        out << "Include chain" << length << "-" << i + 1 << ".conf\n";
      else
        out << "Host deep\n  HostName deep.example.com\n";
    }
    return home.ssh_dir() / ("chain" + std::to_string(length) + "-0.conf");
  };
  SshConfigOptions options;
  options.user_ssh_dir = home.ssh_dir();
  auto ok_chain = write_chain(17);  // main file + 16 nested levels
  CHECK(ssh_g(home, ok_chain, "deep").hostname == "deep.example.com");
  auto ours = resolve_ssh_hostname(ok_chain, "deep", options);
  REQUIRE(ours.ok());
  CHECK(*ours == "deep.example.com");

  auto too_deep = write_chain(18);
  CHECK(ssh_g(home, too_deep, "deep").status != 0);
  CHECK_FALSE(resolve_ssh_hostname(too_deep, "deep", options).ok());

  {
    std::ofstream(home.ssh_dir() / "cycle-a.conf") << "Include cycle-b.conf\nHost c\n";
    std::ofstream(home.ssh_dir() / "cycle-b.conf") << "Include cycle-a.conf\n";
  }
  CHECK(ssh_g(home, home.ssh_dir() / "cycle-a.conf", "c").status != 0);
  CHECK_FALSE(discover_ssh_hosts(home.ssh_dir() / "cycle-a.conf", options).ok());
}
