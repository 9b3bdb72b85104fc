#include "queen/hive_entry.h"

#include "common/http/url.h"

namespace rbee::queen {

std::string HiveEntry::address() const {
  return "http://" + http::url_host(host) + ":" + std::to_string(port);
}

std::string HiveEntry::worker_url(uint16_t worker_port) const {
  return "http://" + http::url_host(host) + ":" + std::to_string(worker_port);
}

}  // namespace rbee::queen
