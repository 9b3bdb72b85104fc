// The Queen's Prometheus service-discovery document, built from plain HiveEntry records.
#include <catch2/catch.hpp>

#include "queen/prometheus_sd.h"

using namespace rbee;
using namespace rbee::queen;

namespace {

HiveEntry entry(std::string id, std::string alias, std::string host, uint16_t port,
                HiveSource source, HiveStatus status) {
  HiveEntry h;
  h.id = std::move(id);
  h.alias = std::move(alias);
  h.host = std::move(host);
  h.port = port;
  h.source = source;
  h.status = status;
  return h;
}

}  // namespace

TEST_CASE("no Hives: an empty list, which Prometheus reads as no targets", "[prometheus_sd]") {
  CHECK(prometheus_targets({}) == "[]");
}

TEST_CASE("one target group per Hive with the labels that are known", "[prometheus_sd]") {
  const auto ssh =
      entry("gpu-07", "gpu07", "10.0.0.7", 7835, HiveSource::ssh_config, HiveStatus::healthy);
  const auto push = entry("rack-3", "", "10.0.0.9", 7835, HiveSource::push, HiveStatus::degraded);
  const auto mdns =
      entry("lab-1", "lab-1", "fe80::1", 17835, HiveSource::mdns, HiveStatus::healthy);
  // Not contacted yet: no hive_id, but Prometheus may as well try it.
  const auto fresh =
      entry("", "gpu09", "gpu09.lab", 7835, HiveSource::ssh_config, HiveStatus::unreachable);
  CHECK(
      prometheus_targets({&ssh, &push, &mdns, &fresh}) ==
      R"([{"targets":["10.0.0.7:7835"],"labels":{"hive_id":"gpu-07","alias":"gpu07","source":"ssh_config"}},)"
      R"({"targets":["10.0.0.9:7835"],"labels":{"hive_id":"rack-3","source":"push"}},)"
      R"({"targets":["[fe80::1]:17835"],"labels":{"hive_id":"lab-1","alias":"lab-1","source":"mdns"}},)"
      R"({"targets":["gpu09.lab:7835"],"labels":{"alias":"gpu09","source":"ssh_config"}}])");
}

TEST_CASE("down Hives and Hives without an address are left out", "[prometheus_sd]") {
  const auto down = entry("a", "a", "10.0.0.1", 7835, HiveSource::ssh_config, HiveStatus::down);
  const auto no_host = entry("b", "b", "", 7835, HiveSource::ssh_config, HiveStatus::healthy);
  const auto no_port = entry("c", "c", "10.0.0.3", 0, HiveSource::ssh_config, HiveStatus::healthy);
  const auto up = entry("d", "", "10.0.0.4", 7835, HiveSource::push, HiveStatus::healthy);
  CHECK(prometheus_targets({&down, &no_host, &no_port, &up}) ==
        R"([{"targets":["10.0.0.4:7835"],"labels":{"hive_id":"d","source":"push"}}])");
}

TEST_CASE("label values are JSON-escaped", "[prometheus_sd]") {
  const auto odd =
      entry("a\"b\\c", "x\ny", "10.0.0.1", 7835, HiveSource::ssh_config, HiveStatus::healthy);
  CHECK(
      prometheus_targets({&odd}) ==
      R"([{"targets":["10.0.0.1:7835"],"labels":{"hive_id":"a\"b\\c","alias":"x\ny","source":"ssh_config"}}])");
}
