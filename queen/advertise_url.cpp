#include "queen/advertise_url.h"

#include <boost/asio/ip/address.hpp>

#include <cctype>

#include "common/http/url.h"
#include "common/token.h"

namespace rbee::queen {

bool is_loopback_name(const std::string& host) {
  if (is_loopback_host(host)) return true;
  std::string h;
  for (char c : host) h.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return h == "localhost" || h.ends_with(".localhost");
}

Result<AdvertisedUrl> advertised_url(const std::string& configured, const std::string& listen_host,
                                     uint16_t port, const std::string& host_name) {
  if (!configured.empty()) {
    auto u = http::parse_url(configured);
    if (!u) return make_error("queen.advertise_url: " + u.error().message);
    if (u->target != "/") return make_error("queen.advertise_url must not have a path");
    return AdvertisedUrl{u->origin(), is_loopback_name(u->host)};
  }
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(listen_host, ec);
  std::string host = listen_host;
  if (!ec && addr.is_unspecified()) host = host_name;
  return AdvertisedUrl{"http://" + http::url_host(host) + ":" + std::to_string(port),
                       is_loopback_name(host)};
}

}  // namespace rbee::queen
