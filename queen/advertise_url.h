#pragma once
// The URL a Queen gives Hives to push to: the configured one, else the listen address with the
// host's name in place of a wildcard. A loopback URL reaches only Hives on this host.
#include <cstdint>
#include <string>

#include "common/result.h"

namespace rbee::queen {

struct AdvertisedUrl {
  std::string url;        // "http://host:port", no path
  bool loopback = false;  // only a Hive on this host can reach it
};

// `configured` (queen.advertise_url) when set: an origin without a path. Otherwise
// http://<listen_host>:<port>, where an unspecified listen address (0.0.0.0, ::) becomes
// `host_name`.
Result<AdvertisedUrl> advertised_url(const std::string& configured, const std::string& listen_host,
                                     uint16_t port, const std::string& host_name);

// True for loopback addresses and "localhost" names.
bool is_loopback_name(const std::string& host);

}  // namespace rbee::queen
