#include "common/sys/credentials.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace rbee::sys {
namespace {

std::optional<uint32_t> numeric_id(const std::string& s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The getpw*_r / getgr*_r calls want a caller buffer; ERANGE means a larger one.
template <class Entry, class Call>
std::optional<Entry> lookup(Call call, std::string& buf) {
  Entry entry{};
  Entry* found = nullptr;
  for (buf.resize(1024); buf.size() <= (1u << 20); buf.resize(buf.size() * 2)) {
    int r = call(&entry, buf.data(), buf.size(), &found);
    if (r == ERANGE) continue;
    if (r != 0 || !found) return std::nullopt;
    return entry;
  }
  return std::nullopt;
}

Result<gid_t> resolve_group(const std::string& group) {
  if (auto id = numeric_id(group)) return static_cast<gid_t>(*id);
  std::string buf;
  auto g = lookup<struct group>(
      [&](struct group* e, char* b, size_t n, struct group** out) {
        return ::getgrnam_r(group.c_str(), e, b, n, out);
      },
      buf);
  if (!g) return make_error("no group \"" + group + "\" on this host");
  return g->gr_gid;
}

}  // namespace

Result<Credentials> resolve_credentials(const std::string& user, const std::string& group,
                                        const std::vector<std::string>& extra_groups) {
  Credentials c;
  std::string buf;
  std::optional<struct passwd> pw;
  if (auto id = numeric_id(user)) {
    c.uid = static_cast<uid_t>(*id);
    pw = lookup<struct passwd>(
        [&](struct passwd* e, char* b, size_t n, struct passwd** out) {
          return ::getpwuid_r(c.uid, e, b, n, out);
        },
        buf);
    // A bare uid without an account is allowed (as systemd's User= allows), but then it needs
    // an explicit group: there is no primary group to take.
    if (!pw && group.empty())
      return make_error("user " + user + " has no passwd entry: name a group as well");
  } else {
    pw = lookup<struct passwd>(
        [&](struct passwd* e, char* b, size_t n, struct passwd** out) {
          return ::getpwnam_r(user.c_str(), e, b, n, out);
        },
        buf);
    if (!pw) return make_error("no user \"" + user + "\" on this host");
    c.uid = pw->pw_uid;
  }
  c.user_name = pw ? pw->pw_name : user;
  c.home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/";
  if (group.empty()) {
    c.gid = pw->pw_gid;
  } else {
    auto g = resolve_group(group);
    if (!g) return g.error();
    c.gid = *g;
  }
  // The user's own supplementary groups, as login would set them (initgroups).
  if (pw) {
    int n = 64;
    std::vector<gid_t> list(static_cast<std::size_t>(n));
    while (::getgrouplist(pw->pw_name, c.gid, list.data(), &n) < 0 && n <= 65536)
      list.resize(static_cast<std::size_t>(n));
    list.resize(static_cast<std::size_t>(std::max(n, 0)));
    c.groups = std::move(list);
  }
  if (std::find(c.groups.begin(), c.groups.end(), c.gid) == c.groups.end())
    c.groups.push_back(c.gid);
  for (const auto& name : extra_groups) {
    auto g = resolve_group(name);
    if (!g) return g.error();
    if (std::find(c.groups.begin(), c.groups.end(), *g) == c.groups.end()) c.groups.push_back(*g);
  }
  return c;
}

Result<Credentials> current_credentials() {
  auto c = resolve_credentials(std::to_string(::geteuid()), std::to_string(::getegid()), {});
  if (!c) return c.error();
  // Our own supplementary groups, not those /etc/group would give the account.
  int n = ::getgroups(0, nullptr);
  if (n >= 0) {
    c->groups.resize(static_cast<std::size_t>(n));
    n = ::getgroups(n, c->groups.data());
    c->groups.resize(static_cast<std::size_t>(std::max(n, 0)));
  }
  return c;
}

uid_t effective_uid() {
  return ::geteuid();
}

std::optional<std::string> real_user_home() {
  std::string buf;
  auto pw = lookup<struct passwd>(
      [](struct passwd* e, char* b, size_t n, struct passwd** out) {
        return ::getpwuid_r(::getuid(), e, b, n, out);
      },
      buf);
  if (!pw || !pw->pw_dir) return std::nullopt;
  return std::string(pw->pw_dir);
}

}  // namespace rbee::sys
