// mDNS: TXT records, choosing an address among Avahi's items, dedup against the SSH config,
// and the config keys that turn it on.
#include <catch2/catch.hpp>

#include "common/sys/avahi.h"
#include "hive/hive_config.h"
#include "queen/mdns_discovery.h"
#include "queen/queen_config.h"

using namespace rbee;
using namespace rbee::queen;

namespace {

sys::FoundService item(std::string address, int protocol, uint16_t port = 7835) {
  sys::FoundService f;
  f.name = "gpu-07";
  f.type = "_rbee-hive._tcp";
  f.domain = "local";
  f.host = "gpu-07.local";
  f.address = std::move(address);
  f.port = port;
  f.interface = 2;
  f.protocol = protocol;
  f.txt = {{"hive_id", "gpu-07"}, {"version", "0.1.0"}, {"api", "/capabilities"}};
  return f;
}

Candidate ssh(std::string alias, std::string host) {
  Candidate c;
  c.alias = std::move(alias);
  c.hostname = std::move(host);
  c.port = 7835;
  return c;
}

MdnsHive found(std::string id, std::string address, std::string host = "") {
  MdnsHive h;
  h.name = id;
  h.hive_id = std::move(id);
  h.address = std::move(address);
  h.host = std::move(host);
  h.port = 7900;
  return h;
}

}  // namespace

TEST_CASE("mDNS TXT records encode as key=value and decode back") {
  auto txt =
      sys::encode_txt({{"hive_id", "gpu-07"}, {"version", "0.1.0"}, {"api", "/capabilities"}});
  REQUIRE(txt);
  CHECK(*txt == std::vector<std::string>{"hive_id=gpu-07", "version=0.1.0", "api=/capabilities"});
  auto back = sys::decode_txt(*txt);
  CHECK(back.at("hive_id") == "gpu-07");
  CHECK(back.at("version") == "0.1.0");
  CHECK(back.at("api") == "/capabilities");
}

TEST_CASE("mDNS TXT encoding refuses bad keys and long records") {
  CHECK_FALSE(sys::encode_txt({{"", "x"}}));
  CHECK_FALSE(sys::encode_txt({{"a=b", "x"}}));
  CHECK_FALSE(sys::encode_txt({{"k\n", "x"}}));
  CHECK_FALSE(sys::encode_txt({{"k", std::string(254, 'x')}}));
  CHECK(sys::encode_txt({{"k", std::string(253, 'x')}}));
  CHECK(sys::encode_txt({{"k", ""}}));
}

TEST_CASE("mDNS TXT decoding: keys fold case, first wins, junk is skipped") {
  auto m = sys::decode_txt({"Hive_ID=a", "hive_id=b", "flag", "=novalue",
                            "empty=", std::string("bin=\0\xff", 6), std::string(300, 'x')});
  CHECK(m.at("hive_id") == "a");
  CHECK(m.at("empty").empty());
  CHECK(m.at("bin") == std::string("\0\xff", 2));
  CHECK(m.size() == 3);
  std::vector<std::string> many(100, "k=v");
  CHECK(sys::decode_txt(many).size() == 1);
}

TEST_CASE("mDNS: IPv4 is preferred, link-local IPv6 is never used") {
  auto h = pick_mdns_hive({item("fd00::7", 1), item("10.0.0.7", 0)});
  REQUIRE(h);
  CHECK(h->address == "10.0.0.7");
  CHECK(h->hive_id == "gpu-07");
  CHECK(h->version == "0.1.0");
  CHECK(h->port == 7835);
  h = pick_mdns_hive({item("fd00::7", 1)});
  REQUIRE(h);
  CHECK(h->address == "fd00::7");
  CHECK_FALSE(pick_mdns_hive({item("fe80::1", 1)}));
  CHECK_FALSE(pick_mdns_hive({item("10.0.0.7", 0, 0)}));
  CHECK_FALSE(pick_mdns_hive({}));
  auto noid = item("10.0.0.8", 0);
  noid.txt.clear();
  h = pick_mdns_hive({noid});
  REQUIRE(h);
  CHECK(h->hive_id.empty());
}

TEST_CASE("mDNS Hives join the SSH candidates with source mdns") {
  auto m = merge_mdns_candidates({ssh("web", "web.lab")}, {found("gpu-07", "10.0.0.7")}, {});
  REQUIRE(m.candidates.size() == 2);
  CHECK(m.candidates[0].alias == "web");
  CHECK(m.candidates[0].source == HiveSource::ssh_config);
  CHECK(m.candidates[1].alias == "gpu-07");
  CHECK(m.candidates[1].hostname == "10.0.0.7");
  CHECK(m.candidates[1].port == 7900);
  CHECK(m.candidates[1].source == HiveSource::mdns);
  CHECK(m.skipped.empty());
  // Without a hive_id the instance name is the alias.
  auto anon = found("", "10.0.0.9");
  anon.name = "some hive";
  m = merge_mdns_candidates({}, {anon}, {});
  REQUIRE(m.candidates.size() == 1);
  CHECK(m.candidates[0].alias == "some hive");
}

TEST_CASE("mDNS Hives already in the SSH config are not added twice") {
  const std::vector<Candidate> ssh_hosts = {ssh("gpu-a", "10.0.0.7"), ssh("gpu-b", "GPU-B.local."),
                                            ssh("gpu-c", "gpu-c.lab")};
  SECTION("by address") {
    auto m = merge_mdns_candidates(ssh_hosts, {found("x", "10.0.0.7")}, {});
    CHECK(m.candidates.size() == 3);
    REQUIRE(m.skipped.size() == 1);
    CHECK(m.skipped[0].find("gpu-a") != std::string::npos);
  }
  SECTION("by host name") {
    auto m = merge_mdns_candidates(ssh_hosts, {found("x", "10.0.0.8", "gpu-b.local")}, {});
    CHECK(m.candidates.size() == 3);
    CHECK(m.skipped.size() == 1);
  }
  SECTION("by hive id: the alias itself") {
    auto m = merge_mdns_candidates(ssh_hosts, {found("gpu-c", "10.0.0.9")}, {});
    CHECK(m.candidates.size() == 3);
    CHECK(m.skipped.size() == 1);
  }
  SECTION("by hive id: what the alias's handshake returned") {
    auto m = merge_mdns_candidates(ssh_hosts, {found("node-9", "10.0.0.9")}, {{"gpu-c", "node-9"}});
    CHECK(m.candidates.size() == 3);
    REQUIRE(m.skipped.size() == 1);
    CHECK(m.skipped[0].find("same hive id") != std::string::npos);
  }
  SECTION("two mDNS Hives with one id: the first wins") {
    auto m = merge_mdns_candidates(ssh_hosts, {found("n", "10.0.1.1"), found("n", "10.0.1.2")}, {});
    REQUIRE(m.candidates.size() == 4);
    CHECK(m.candidates[3].hostname == "10.0.1.1");
    CHECK(m.skipped.size() == 1);
  }
}

TEST_CASE("mdns is off by default and a boolean in both configs") {
  auto h = hive::parse_hive_config("", "hive.toml");
  REQUIRE(h);
  CHECK_FALSE(h->mdns);
  h = hive::parse_hive_config("[hive]\nmdns = true\n", "hive.toml");
  REQUIRE(h);
  CHECK(h->mdns);
  h = hive::parse_hive_config("[hive]\nmdns = \"yes\"\n", "hive.toml");
  REQUIRE_FALSE(h);
  CHECK(h.error().message.find("hive.mdns") != std::string::npos);

  auto q = parse_queen_config("", "queen.toml");
  REQUIRE(q);
  CHECK_FALSE(q->mdns);
  q = parse_queen_config("[queen]\nmdns = true\n", "queen.toml");
  REQUIRE(q);
  CHECK(q->mdns);
  q = parse_queen_config("[queen]\nmdns = 1\n", "queen.toml");
  REQUIRE_FALSE(q);
  CHECK(q.error().message.find("queen.mdns") != std::string::npos);
}
