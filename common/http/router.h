#pragma once
// Maps (method, path pattern) to a Handler. Patterns are literal segments and "{name}"
// segments; "{name}" matches exactly one non-empty, percent-decoded segment.
#include <boost/beast/http/verb.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "common/http/message.h"

namespace rbee::http {

class Router {
 public:
  // Adding the same (method, pattern) twice replaces the handler.
  void add(boost::beast::http::verb method, std::string pattern, Handler handler);

  // Fills req.params and calls the matching handler; otherwise replies 404 (unknown path),
  // 405 with an Allow header (known path, other method) or 400 (undecodable path).
  // Where several patterns match, the one with a literal segment earliest wins
  // ("/v1/workers/stats" beats "/v1/workers/{id}").
  void dispatch(Request& req, Reply reply) const;

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool param = false;
  };
  struct Method {
    boost::beast::http::verb verb;
    Handler handler;
  };
  struct Route {
    std::string pattern;
    std::vector<Segment> segments;
    std::vector<Method> methods;
  };

  static bool matches(const Route& route, const std::vector<std::string>& segments);
  static bool more_specific(const Route& a, const Route& b);

  std::vector<Route> routes_;
};

}  // namespace rbee::http
