#include "queen/hive_entry.h"

namespace rbee::queen {

namespace {

std::string bracket(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

std::string HiveEntry::address() const {
  return "http://" + bracket(host) + ":" + std::to_string(port);
}

std::string HiveEntry::worker_url(uint16_t worker_port) const {
  return "http://" + bracket(host) + ":" + std::to_string(worker_port);
}

}  // namespace rbee::queen
