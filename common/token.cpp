#include "common/token.h"

#include <boost/asio/ip/address.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "common/sys/credentials.h"
#include "common/sys/file.h"

namespace rbee {

namespace {
constexpr std::size_t kMaxTokenBytes = 4096;
constexpr std::size_t kMaxTokenFileBytes = 64 * 1024;
}  // namespace

Result<std::string> read_token_file(const std::filesystem::path& token_file) {
  const std::string path = token_file.string();
  struct stat st {};
  // O_NOFOLLOW: a link swapped in for the file cannot point the daemon at another secret.
  auto text = sys::read_regular_file(path, kMaxTokenFileBytes, O_NOFOLLOW, nullptr, &st);
  if (!text) return make_error("token file: " + text.error().message);
  // As OpenSSH does for private keys: a secret others can read (or write) is no longer one.
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(std::string("permissions ") + mode + " for token file " + path +
                      " are too open: it must not be accessible by group or others (chmod 600 " +
                      path + ")");
  }
  if (st.st_uid != 0 && st.st_uid != sys::effective_uid())
    return make_error("token file " + path + " belongs to uid " + std::to_string(st.st_uid) +
                      ": it must belong to root or to this user (uid " +
                      std::to_string(sys::effective_uid()) + ")");
  std::string token = text->substr(0, text->find('\n'));
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return make_error("token file " + path + " is empty");
  if (token.size() > kMaxTokenBytes) return make_error("token in " + path + " is too long");
  return token;
}

Result<std::string> load_token(const std::filesystem::path& token_file) {
  if (const char* env = std::getenv("RBEE_TOKEN"); env && *env) return std::string(env);
  if (token_file.empty()) return std::string();
  return read_token_file(token_file);
}

Result<ListenAddress> parse_listen(std::string_view text, uint16_t default_port) {
  ListenAddress out;
  std::string_view host = text, port;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return make_error("bad listen address " + std::string(text));
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return make_error("bad listen address " + std::string(text));
      port = text.substr(close + 2);
    }
  } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return make_error("listen address \"" + std::string(text) + "\" needs an IP address");
  out.host = std::string(host);
  out.port = default_port;
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, e] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (e != std::errc{} || p != port.data() + port.size() || v > 65535)
      return make_error("bad port in listen address \"" + std::string(text) + "\"");
    out.port = static_cast<uint16_t>(v);
  }
  return out;
}

bool is_loopback_host(const std::string& host) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

Result<ListenAddress> daemon_listen(std::string_view table, const std::string& configured,
                                    uint16_t default_port, bool has_token) {
  std::string text = configured;
  if (text.empty())
    text = std::string(has_token ? "0.0.0.0:" : "127.0.0.1:") + std::to_string(default_port);
  auto listen = parse_listen(text, default_port);
  if (!listen) return listen.error();
  const std::string t(table);
  if (!has_token && !is_loopback_host(listen->host))
    return make_error(t + ".listen = " + text +
                      " is not a loopback address and no token is configured; set " + t +
                      ".token_file or RBEE_TOKEN, or listen on 127.0.0.1");
  return listen;
}

}  // namespace rbee
