#!/usr/bin/env bash
# Fails, naming file and line, when code above common/sys includes a Linux, POSIX or libsystemd
# header, or the raw bus header; and when any header includes <systemd/...>. The rule and its
# reasons: docs/architecture.md, "Source layout".
set -euo pipefail
cd "$(dirname "$0")/.."

# System headers that only common/sys includes. The C++ headers (<csignal>, <cerrno>, <cstdlib>,
# <cstring>) stay allowed for their constants and the standard functions.
system='<(linux/|sys/|systemd/|asm/|net/|netinet/|arpa/|unistd\.h|fcntl\.h|signal\.h|pwd\.h|grp\.h|poll\.h|spawn\.h|dlfcn\.h|sched\.h|termios\.h|netdb\.h|ifaddrs\.h|dirent\.h|glob\.h|malloc\.h)'
raw_bus='"common/sys/bus_raw\.h"'

bad=()
while IFS= read -r f; do
  case "$f" in common/sys/*) continue ;; esac
  while IFS= read -r hit; do bad+=("$f:$hit"); done < <(
    grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*($system|$raw_bus)" "$f" || true)
done < <(git ls-files 'common/*.cpp' 'common/*.h' 'hive/*.cpp' 'hive/*.h' 'queen/*.cpp' 'queen/*.h')

# libsystemd's headers only in .cpp files: no header of ours may pass them on.
while IFS= read -r f; do
  while IFS= read -r hit; do bad+=("$f:$hit"); done < <(
    grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<systemd/' "$f" || true)
done < <(git ls-files 'common/*.h' 'hive/*.h' 'queen/*.h')

if ((${#bad[@]})); then
  echo "system headers outside common/sys (put the call behind a function in common/sys):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "system headers: only common/sys includes them"
