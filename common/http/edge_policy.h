#pragma once
// The rules both daemons apply at their HTTP edge, decided from a request's head (before its
// body is read): bearer token, or in no-token mode the peer's uid and the Host; the Origin and
// Content-Type a browser cannot forge past. See docs/security.md.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/message.h"
#include "common/result.h"
#include "common/sys/credentials.h"

namespace rbee::http {

// --- Pure parsing (unit-tested) ---------------------------------------------------------------

// True when the media type is application/json (case-insensitive), parameters such as
// "; charset=utf-8" aside. "application/jsonx" and "application/json-seq" are not.
bool is_json_media_type(std::string_view content_type);

struct Authority {
  std::string host;  // lower case; an IPv6 literal without its brackets
  uint16_t port = 0;
  bool operator==(const Authority&) const = default;
};

// "name", "name:port", "1.2.3.4:port", "[::1]:port"; default_port where none is given.
// nullopt for anything else (userinfo, a bad port, an unbracketed IPv6 literal, empty).
std::optional<Authority> parse_authority(std::string_view text, uint16_t default_port);

// A Host that cannot be a rebound DNS name: a 127.0.0.0/8 literal, ::1, "localhost", or one of
// allowed (compared case-insensitively, a trailing dot ignored).
bool is_local_host(const Authority& host, const std::vector<std::string>& allowed);

// Why a request is cross-origin, or nullopt when it is not: an Origin whose
// scheme://host:port is not http:// + Host, Origin "null", or Sec-Fetch-Site cross-site or
// same-site. No Origin and no Sec-Fetch-Site (a CLI, curl, a Hive) is not cross-origin.
std::optional<std::string> cross_origin_reason(std::string_view origin,
                                               std::string_view sec_fetch_site,
                                               std::string_view host);

// "scheme://host[:port]" as browsers send it in Origin, lower case, with the port always
// written ("http://keeper.lan:80"). An error for anything else: a path, userinfo, "*", "null",
// a scheme other than http and https.
Result<std::string> normalize_origin(std::string_view origin);

// --- The policy -------------------------------------------------------------------------------

struct EdgePolicy {
  std::string token;                       // empty: no-token mode
  std::vector<std::string> allowed_hosts;  // Host names accepted in no-token mode, besides local
  uid_t own_euid = 0;                      // the daemon's; root (0) is always accepted
  // Origins (normalize_origin form) whose pages may call the API from a browser: their
  // requests pass the cross-origin rule, preflights are answered, and every answer to them
  // carries Access-Control-Allow-Origin. Nothing else changes: the token, or in no-token mode
  // the Host and the peer's uid, are still asked.
  std::vector<std::string> cors_origins;
  // Called when a request is refused: the daemon counts or logs it. reason is one of "auth",
  // "origin", "host", "peer", "content_type".
  std::function<void(const Request&, std::string_view reason)> on_refused;

  // A daemon's policy: its token (or none), its allowed_hosts, and its own effective uid.
  static EdgePolicy for_daemon(std::string token, std::vector<std::string> allowed_hosts);

  // Whether a request's Origin header names one of cors_origins.
  bool is_cors_origin(std::string_view origin) const;
};

// Checks and normalizes a daemon's cors_origins setting; `key` names it in the error.
Result<std::vector<std::string>> parse_cors_origins(const std::vector<std::string>& origins,
                                                    std::string_view key);

// The answer to an OPTIONS request that carries an Origin (a CORS preflight): 204 with the
// Access-Control-Allow-* headers for one of cors_origins, 403 for any other origin.
Response preflight_response(const EdgePolicy& policy, const Request& head);

// Adds Access-Control-Allow-Origin (and Vary, Expose-Headers) when the request came from one
// of cors_origins; leaves the response alone otherwise.
void add_cors_headers(const EdgePolicy& policy, std::string_view origin, Response& r);

// What the edge decided about a request head.
struct Verdict {
  bool authenticated = false;       // a token is configured and the request carries it
  std::optional<Response> refusal;  // set: answer this and read no body
  std::string reason;               // the refusal's on_refused reason
};

// peer_uid is asked only in no-token mode, for a guarded or secret_read route: it returns the
// uid owning the client's socket (sock_diag for loopback TCP).
Verdict check_request(const EdgePolicy& policy, Access access, const Request& head,
                      const std::function<Result<uid_t>()>& peer_uid);

}  // namespace rbee::http
