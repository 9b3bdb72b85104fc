#pragma once
// The bearer token: RBEE_TOKEN overrides the configured token file.
#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.h"

namespace rbee {

// Empty string: no token configured. A token file that is set but unreadable or empty is an error.
Result<std::string> load_token(const std::filesystem::path& token_file);

// The token's first line. Refused, like an OpenSSH private key: a file group or others may
// access (any of mode 077), one owned by neither root nor this user, a symbolic link, anything
// but a regular file.
Result<std::string> read_token_file(const std::filesystem::path& token_file);

// "127.0.0.1:7835" / "[::1]:7835" / "0.0.0.0:7835" -> host and port; a missing port is
// default_port.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
Result<ListenAddress> parse_listen(std::string_view text, uint16_t default_port);
bool is_loopback_host(const std::string& host);

// The daemons' default ports: where a Hive listens (and a Queen looks for one), where a Queen
// listens.
inline constexpr uint16_t kDefaultHivePort = 7835;
inline constexpr uint16_t kDefaultQueenPort = 7833;

// Where a daemon listens: `configured` (TABLE.listen), or by default every address with a token
// and loopback without one. Without a token only a loopback address is allowed; the error says
// what to set.
Result<ListenAddress> daemon_listen(std::string_view table, const std::string& configured,
                                    uint16_t default_port, bool has_token);

}  // namespace rbee
