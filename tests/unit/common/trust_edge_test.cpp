// What the daemons accept at their edges: config and token files, the Hives a Queen with a
// token contacts, the Queen URLs a Hive pushes to.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/sys/file.h"
#include "common/token.h"
#include "hive/hive_config.h"
#include "hive/queen_push.h"
#include "queen/discovery.h"
#include "queen/queen_config.h"

using namespace rbee;
namespace fs = std::filesystem;

namespace {

struct Dir {
  fs::path path = fs::temp_directory_path() / ("rbee-edge-" + std::to_string(::getpid()));
  Dir() { fs::create_directories(path); }
  ~Dir() { fs::remove_all(path); }
};

fs::path write(const fs::path& p, const std::string& text, fs::perms mode = fs::perms(0600)) {
  std::ofstream(p) << text;
  fs::permissions(p, mode);
  return p;
}

}  // namespace

TEST_CASE("read_regular_file: bounded, regular files only, a clear error", "[edge]") {
  Dir d;
  auto ok = sys::read_regular_file(write(d.path / "a", "hello").string(), 5);
  REQUIRE(ok);
  CHECK(*ok == "hello");
  int err = 0;
  auto big = sys::read_regular_file((d.path / "a").string(), 4, 0, &err);
  REQUIRE_FALSE(big);
  CHECK(err == EFBIG);
  CHECK(big.error().message == (d.path / "a").string() + " is larger than 4 bytes");
  auto dir = sys::read_regular_file(d.path.string(), 100);
  REQUIRE_FALSE(dir);
  CHECK(dir.error().message.ends_with(" is a directory"));
  REQUIRE(::mkfifo((d.path / "fifo").c_str(), 0600) == 0);
  auto fifo = sys::read_regular_file((d.path / "fifo").string(), 100);  // does not block
  REQUIRE_FALSE(fifo);
  CHECK(fifo.error().message.ends_with(" is not a regular file"));
  auto missing = sys::read_regular_file((d.path / "nope").string(), 100);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.starts_with("cannot read "));
  fs::create_symlink(d.path / "a", d.path / "link");
  CHECK(sys::read_regular_file((d.path / "link").string(), 100));  // configs may be links
  auto nofollow = sys::read_regular_file((d.path / "link").string(), 100, O_NOFOLLOW);
  REQUIRE_FALSE(nofollow);
  CHECK(nofollow.error().message.ends_with(" is a symbolic link; name the file itself"));
}

TEST_CASE("token files: mode 0600 read, anything group or others may access refused", "[edge]") {
  Dir d;
  const auto t = write(d.path / "token", "s3cret \r\nignored\n");
  auto ok = read_token_file(t);
  REQUIRE(ok);
  CHECK(*ok == "s3cret");
  write(d.path / "ro", "s3cret\n", fs::perms(0400));
  CHECK(read_token_file(d.path / "ro"));
  for (unsigned mode : {0644u, 0640u, 0604u, 0660u, 0602u, 0610u, 0601u}) {
    INFO(mode);
    fs::permissions(t, fs::perms(mode));
    auto r = read_token_file(t);
    REQUIRE_FALSE(r);
    char want[96];
    std::snprintf(want, sizeof want, "permissions %04o for token file ", mode);
    CHECK(r.error().message.starts_with(want));
    CHECK(r.error().message.find("are too open") != std::string::npos);
    CHECK(r.error().message.find("s3cret") == std::string::npos);
  }
  fs::permissions(t, fs::perms(0600));
  fs::create_symlink(t, d.path / "link");
  auto link = read_token_file(d.path / "link");
  REQUIRE_FALSE(link);
  CHECK(link.error().message.find("is a symbolic link") != std::string::npos);
  write(d.path / "empty", "\n");
  CHECK_FALSE(read_token_file(d.path / "empty"));
  write(d.path / "long", std::string(5000, 'x'));
  CHECK_FALSE(read_token_file(d.path / "long"));
}

TEST_CASE("config loaders refuse a file over 1 MiB, naming it", "[edge]") {
  Dir d;
  const std::string pad = "# " + std::string(sys::kMaxConfigFileBytes, 'x') + "\n";
  auto h = hive::load_hive_config(write(d.path / "hive.toml", "[hive]\n" + pad));
  REQUIRE_FALSE(h);
  CHECK(h.error().message.find("hive.toml is larger than 1048576 bytes") != std::string::npos);
  auto q = queen::load_queen_config(write(d.path / "queen.toml", "[queen]\n" + pad));
  REQUIRE_FALSE(q);
  CHECK(q.error().message.find("queen.toml is larger than 1048576 bytes") != std::string::npos);
  CHECK(hive::load_hive_config(write(d.path / "small.toml", "[hive]\nmdns = true\n")));
}

TEST_CASE("queen: with a token, only Hives named by include or [hives.ALIAS]", "[edge]") {
  auto parse = [](const std::string& text) {
    auto c = queen::parse_queen_config(text, "q.toml");
    REQUIRE(c);
    return *c;
  };
  auto none = parse("[queen]\nssh_config = \"/etc/ssh_x\"\n");
  auto st = queen::check_token_scope(none);
  REQUIRE_FALSE(st);
  CHECK(st.error().message.find("queen.include is empty") != std::string::npos);
  CHECK(st.error().message.find("/etc/ssh_x") != std::string::npos);
  CHECK(queen::names_hive(none, "bastion", false));  // no token: a loopback-only Queen
  CHECK_FALSE(queen::names_hive(none, "bastion", true));

  auto inc = parse("[queen]\ninclude = [\"gpu-*\"]\nexclude = [\"gpu-old\"]\n[hives.lab1]\n");
  CHECK(queen::check_token_scope(inc));
  CHECK(queen::names_hive(inc, "gpu-1", true));
  CHECK(queen::names_hive(inc, "lab1", true));
  CHECK_FALSE(queen::names_hive(inc, "gpu-old", true));
  CHECK_FALSE(queen::names_hive(inc, "bastion", true));
  CHECK_FALSE(queen::names_hive(inc, "bastion", false));

  auto table = parse("[queen]\n[hives.gpu-7]\nport = 9000\n");
  CHECK(queen::check_token_scope(table));
  CHECK(queen::names_hive(table, "gpu-7", true));
  CHECK_FALSE(queen::names_hive(table, "db", true));
  CHECK(queen::names_hive(table, "db", false));
}

TEST_CASE("queen config: push-only expiry and range prefixes", "[edge]") {
  auto c = queen::parse_queen_config("[queen]\n", "q");
  REQUIRE(c);
  CHECK(c->forget_push_only_after_s == 3600);
  CHECK(c->push_address_prefix_v4 == 24);
  CHECK(c->push_address_prefix_v6 == 64);
  c = queen::parse_queen_config(
      "[queen]\nforget_push_only_after_s = 60\npush_address_prefix_v4 = 32\n"
      "push_address_prefix_v6 = 48\n",
      "q");
  REQUIRE(c);
  CHECK(c->forget_push_only_after_s == 60);
  CHECK(c->push_address_prefix_v4 == 32);
  CHECK(c->push_address_prefix_v6 == 48);
  auto bad = queen::parse_queen_config("[queen]\npush_address_prefix_v4 = 33\n", "q");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("queen.push_address_prefix_v4") != std::string::npos);
  CHECK_FALSE(queen::parse_queen_config("[queen]\nforget_push_only_after_s = 0\n", "q"));
}

TEST_CASE("hive.queen_urls: exact URLs after normalization", "[edge]") {
  auto c = hive::parse_hive_config("[hive]\nqueen_urls = [\"http://10.0.0.5:7833\"]\n", "h");
  REQUIRE(c);
  CHECK(c->queen_urls == std::vector<std::string>{"http://10.0.0.5:7833"});
  auto bad = hive::parse_hive_config("[hive]\nqueen_urls = \"http://x\"\n", "h");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("hive.queen_urls") != std::string::npos);

  CHECK(*hive::queen_url_key("http://Queen.LAB:7833/") == "http://queen.lab:7833");
  CHECK(*hive::queen_url_key("http://queen.lab") == "http://queen.lab:80");
  CHECK(*hive::queen_url_key("http://[::1]:7833/q//") == "http://[::1]:7833/q");
  CHECK_FALSE(hive::queen_url_key("https://queen.lab"));
  CHECK_FALSE(hive::queen_url_key("http://queen.lab/?x=1"));
  auto keys = hive::queen_url_keys({"http://a:1", "ftp://b"});
  REQUIRE_FALSE(keys);
  CHECK(keys.error().message.find("hive.queen_urls entry \"ftp://b\"") != std::string::npos);
}

TEST_CASE("hive: a subscription off the allow-list is refused, naming the URL", "[edge]") {
  boost::asio::io_context io;
  hive::QueenSubscribers any(io, "t", std::chrono::seconds(60));
  CHECK(any.check_allowed("http://anywhere:1"));
  hive::QueenSubscribers listed(io, "t", std::chrono::seconds(60),
                                *hive::queen_url_keys({"http://10.0.0.5:7833/q"}));
  CHECK(listed.check_allowed("http://10.0.0.5:7833/q/"));
  auto off = listed.check_allowed("http://10.0.0.5:7833/q2");
  REQUIRE_FALSE(off);
  CHECK(off.error().message ==
        "queen_url http://10.0.0.5:7833/q2 is not in hive.queen_urls: this Hive pushes only to "
        "the Queens listed there");
  CHECK_FALSE(listed.check_allowed("http://10.0.0.5:7833"));
  CHECK_FALSE(listed.subscribe("http://10.0.0.5:78330/q"));
  CHECK(listed.count() == 0);
  CHECK(listed.subscribe("http://10.0.0.5:7833/q"));
  CHECK(listed.count() == 1);
}
