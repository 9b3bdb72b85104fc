#pragma once
// The account a worker runs as, resolved from the user database once, before any fork.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace rbee::sys {

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, the primary one included
  std::string user_name;      // for USER; the number when the id has no passwd entry
  std::string home;           // for HOME; "/" when the id has no passwd entry
};

// user: a name or a numeric uid. group: a name, a gid, or empty for the user's primary group.
// extra_groups: more supplementary groups by name or gid (e.g. video, render for GPU nodes),
// added to the user's own from /etc/group.
Result<Credentials> resolve_credentials(const std::string& user, const std::string& group,
                                        const std::vector<std::string>& extra_groups);

// The calling process's own account (a Hive that is not root can only run workers as itself).
Result<Credentials> current_credentials();

// geteuid(): whose files the process may touch, whom a peer must be in no-token mode.
uid_t effective_uid();
// The home directory the user database gives the process's real uid; nullopt without an entry.
std::optional<std::string> real_user_home();

}  // namespace rbee::sys
