#include "queen/sender_address.h"

#include <boost/asio/ip/address.hpp>

#include <algorithm>

namespace rbee::queen {

namespace ip = boost::asio::ip;

bool sender_matches(const std::string& host, const std::string& sender) {
  boost::system::error_code e1, e2;
  auto a = ip::make_address(host, e1);
  auto b = ip::make_address(sender, e2);
  if (e1 || e2) return true;
  auto v4 = [](const ip::address& x) {
    if (x.is_v6() && x.to_v6().is_v4_mapped())
      return ip::address(ip::make_address_v4(ip::v4_mapped, x.to_v6()));
    return x;
  };
  return v4(a) == v4(b);
}

std::string sender_range(const std::string& address, uint32_t prefix_v4, uint32_t prefix_v6) {
  boost::system::error_code ec;
  auto a = ip::make_address(address, ec);
  if (ec) return address;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  if (a.is_v4()) {
    const uint32_t bits = std::min<uint32_t>(prefix_v4, 32);
    const uint32_t mask = bits ? ~uint32_t{0} << (32 - bits) : 0;
    const auto net = ip::make_address_v4(a.to_v4().to_uint() & mask);
    return net.to_string() + "/" + std::to_string(bits);
  }
  const uint32_t bits = std::min<uint32_t>(prefix_v6, 128);
  auto bytes = a.to_v6().to_bytes();
  for (uint32_t i = 0; i < bytes.size(); ++i) {
    const uint32_t keep = bits > i * 8 ? std::min<uint32_t>(bits - i * 8, 8) : 0;
    bytes[i] &= static_cast<unsigned char>(0xff00u >> keep);
  }
  return ip::make_address_v6(bytes).to_string() + "/" + std::to_string(bits);
}

}  // namespace rbee::queen
