#pragma once
// Pieces both command-line clients share: one API call with one-line errors, byte formatting.
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "common/http/client.h"
#include "common/result.h"

namespace rbee::cli {

// A blocking API call; a transport failure or an HTTP status >= 400 becomes one error line,
// "<status>: <the API's error message>".
Result<http::ClientResponse> request(boost::beast::http::verb method, const std::string& url,
                                     std::string body, const std::string& token);

// 1536 -> "1.5K"; absent -> "-".
std::string human_bytes(std::optional<uint64_t> bytes);

}  // namespace rbee::cli
