#pragma once
// The account each service's workers run as (catalog `user`/`group`, else the Hive's
// worker_user/worker_group), resolved once at start so a missing account is a start-up error.
#include <map>
#include <string>

#include "common/result.h"
#include "common/sys/credentials.h"
#include "hive/hive_config.h"

namespace rbee::hive {

// Service name -> account. Empty when the Hive is not root: it cannot switch accounts, so its
// workers run as the Hive does (a service that names another user is then an error).
Result<std::map<std::string, sys::Credentials>> resolve_worker_accounts(const HiveConfig& config);

}  // namespace rbee::hive
