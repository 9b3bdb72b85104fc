#include <catch2/catch.hpp>

#include "common/http/static_site.h"

using namespace rbee;
using namespace rbee::http;

TEST_CASE("frame_ancestors takes 'self', 'none' alone, or origins", "[http][web]") {
  CHECK(validate_frame_ancestors({"'self'"}, "hive.frame_ancestors"));
  CHECK(validate_frame_ancestors({"'none'"}, "hive.frame_ancestors"));
  CHECK(validate_frame_ancestors({"'self'", "https://keeper.lan:8443"}, "k"));
  CHECK(validate_frame_ancestors({}, "k"));
  for (std::vector<std::string> bad : {std::vector<std::string>{"'none'", "'self'"},
                                       {"*"},
                                       {"'unsafe-inline'"},
                                       {"https://a.lan; script-src *"},
                                       {"https://a.lan/path"},
                                       {"self"}}) {
    INFO(bad.back());
    auto st = validate_frame_ancestors(bad, "hive.frame_ancestors");
    REQUIRE_FALSE(st);
    CHECK(st.error().message.starts_with("hive.frame_ancestors: "));
  }
}

TEST_CASE("the page policy allows only the daemon itself, and the configured frame ancestors",
          "[http][web]") {
  const std::string csp = content_security_policy({"'self'", "https://keeper.lan:443"});
  CHECK(csp.find("default-src 'self';") != std::string::npos);
  CHECK(csp.find("script-src 'self';") != std::string::npos);
  CHECK(csp.find("object-src 'none'") != std::string::npos);
  CHECK(csp.ends_with("frame-ancestors 'self' https://keeper.lan:443"));
  CHECK(csp.find("unsafe") == std::string::npos);
  CHECK(content_security_policy({}).ends_with("frame-ancestors 'self'"));
}

TEST_CASE("page files get their content type by extension", "[http][web]") {
  CHECK(content_type_for("index.html") == "text/html; charset=utf-8");
  CHECK(content_type_for("hive.js") == "text/javascript; charset=utf-8");
  CHECK(content_type_for("rbee.css") == "text/css; charset=utf-8");
  CHECK(content_type_for("icon.svg") == "image/svg+xml");
  CHECK(content_type_for("js") == "application/octet-stream");
  CHECK(content_type_for("notes.txt") == "application/octet-stream");
}
