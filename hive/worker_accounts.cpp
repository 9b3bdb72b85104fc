#include "hive/worker_accounts.h"

namespace rbee::hive {

Result<std::map<std::string, sys::Credentials>> resolve_worker_accounts(const HiveConfig& config) {
  std::map<std::string, sys::Credentials> out;
  const bool root = sys::effective_uid() == 0;
  for (const auto& [name, s] : config.services) {
    const bool named = !s.user.empty();
    const std::string& user = named ? s.user : config.worker_user;
    // A service that names its user gets that user's primary group unless it names one too.
    const std::string& group = !s.group.empty() ? s.group : named ? s.group : config.worker_group;
    const std::string key = named ? "services." + name + ".user" : "hive.worker_user";
    if (!root && !named) continue;
    auto c = sys::resolve_credentials(user, group, s.supplementary_groups);
    if (!c) {
      std::string hint = named ? ""
                               : " (create it: useradd --system --user-group --no-create-home "
                                 "--shell /usr/sbin/nologin " +
                                     user + ")";
      return make_error(key + " of service " + name + ": " + c.error().message + hint);
    }
    // An alias of uid 0 under another name is root all the same.
    if (!named && c->uid == 0) return make_error(std::string(kWorkerUserIsRoot));
    if (!root) {
      if (c->uid != sys::effective_uid())
        return make_error(key + ": the Hive is not root, so it cannot run workers as " + user);
      continue;
    }
    out.emplace(name, std::move(*c));
  }
  return out;
}

}  // namespace rbee::hive
