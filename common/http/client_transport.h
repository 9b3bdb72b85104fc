#pragma once
// What the async Connection and the blocking clients share on the way out: the User-Agent they
// send and the words a transport error is reported in.
#include <boost/system/error_code.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace rbee::http {

inline constexpr std::string_view kUserAgent = "rbee/" RBEE_VERSION;

// One line describing a transport error, with the timeout spelled out.
std::string describe_transport_error(const boost::system::error_code& ec,
                                     std::chrono::milliseconds timeout);

// A kept-alive connection the server closed while idle shows up as one of these.
bool is_stale_connection_error(const boost::system::error_code& ec);

}  // namespace rbee::http
