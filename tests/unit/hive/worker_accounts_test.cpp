#include <unistd.h>

#include <catch2/catch.hpp>

#include "hive/worker_accounts.h"

using namespace rbee::hive;

namespace {

HiveConfig one_service(std::string worker_user, std::string service_user) {
  HiveConfig c;
  c.worker_user = std::move(worker_user);
  ServiceSpec s;
  s.name = "llm";
  s.command = {"/bin/true"};
  s.user = std::move(service_user);
  c.services = {{"llm", s}};
  return c;
}

}  // namespace

TEST_CASE("root runs a worker only where its service names it, and uid 0 is root by any name") {
  // Only a root Hive switches accounts; elsewhere there is nothing to resolve.
  if (::geteuid() != 0) {
    WARN("not root: resolve_worker_accounts resolves nothing");
    return;
  }
  // "0" gets past the config's name check only here; it is uid 0 all the same.
  auto by_uid = resolve_worker_accounts(one_service("0", ""));
  REQUIRE_FALSE(by_uid);
  CHECK(by_uid.error().message == kWorkerUserIsRoot);
  CHECK_FALSE(resolve_worker_accounts(one_service("root", "")));

  auto named = resolve_worker_accounts(one_service("nobody", "root"));
  REQUIRE(named);
  CHECK(named->at("llm").uid == 0);

  auto missing = resolve_worker_accounts(one_service("no-such-rbee-user", ""));
  REQUIRE_FALSE(missing);
  INFO(missing.error().message);
  CHECK(missing.error().message.find("hive.worker_user") != std::string::npos);
  CHECK(missing.error().message.find("useradd --system") != std::string::npos);
}
