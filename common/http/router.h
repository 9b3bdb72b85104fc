#pragma once
// Maps (method, path pattern) to a Handler. Patterns are literal segments and "{name}"
// segments; "{name}" matches exactly one non-empty, percent-decoded segment.
#include <boost/beast/http/verb.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "common/http/message.h"

namespace rbee::http {

// A route's Access may depend on the request head (e.g. on a query parameter).
using AccessRule = std::function<Access(const Request& head)>;

class Router {
 public:
  // Adding the same (method, pattern) twice replaces the handler and its access.
  void add(boost::beast::http::verb method, std::string pattern, Handler handler,
           Access access = Access::open);
  void add(boost::beast::http::verb method, std::string pattern, Handler handler,
           AccessRule access);

  // What the route a request head goes to asks of it; Access::open where no route matches
  // (dispatch then answers 404, 405 or 400). The server calls it before reading the body.
  Access access(const Request& head) const;

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
    AccessRule access;  // empty: Access::open
  };
  struct Route {
    std::string pattern;
    std::vector<Segment> segments;
    std::vector<Method> methods;
  };

  struct Match {
    const Route* route = nullptr;
    const Method* method = nullptr;
    std::vector<std::string> segments;              // decoded path segments
    std::vector<boost::beast::http::verb> allowed;  // methods of the routes that match the path
    bool bad_path = false;
  };
  Match match(const Request& req) const;
  static bool matches(const Route& route, const std::vector<std::string>& segments);
  static bool more_specific(const Route& a, const Route& b);

  std::vector<Route> routes_;
};

}  // namespace rbee::http
