#pragma once
// Pieces both command-line clients share: one API call with one-line errors, byte formatting.
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/http/client.h"
#include "common/result.h"

namespace rbee::cli {

// A blocking API call; a transport failure or an HTTP status >= 400 becomes one error line,
// "<status>: <the API's error message>".
Result<http::ClientResponse> request(boost::beast::http::verb method, const std::string& url,
                                     std::string body, const std::string& token);

// "<prog>: <what>" on stderr, escaped for a terminal; returns 1, the exit code for a failure.
int fail(std::string_view prog, const std::string& what);

// request(), with a failure reported by fail(prog, ...) and its exit code left in `rc`.
std::optional<http::ClientResponse> call(std::string_view prog, boost::beast::http::verb method,
                                         const std::string& url, std::string body,
                                         const std::string& token, int& rc);

// 1536 -> "1.5K"; absent -> "-".
std::string human_bytes(std::optional<uint64_t> bytes);

}  // namespace rbee::cli
