#include "common/sys/journal.h"

#include <systemd/sd-journal.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace rbee::sys {

std::optional<std::string> read_unit_journal(const std::string& unit, std::size_t lines,
                                             bool previous) {
  sd_journal* raw = nullptr;
  if (sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY) < 0) return std::nullopt;
  std::unique_ptr<sd_journal, decltype(&sd_journal_close)> j(raw, sd_journal_close);
  // The unit's own output, and what systemd (PID 1) logs about the unit: the latter carries the
  // run's INVOCATION_ID even where the former lacks _SYSTEMD_INVOCATION_ID (journald reads it
  // from the process's cgroup, so a process that printed and exited at once leaves it out).
  const std::string own = "_SYSTEMD_UNIT=" + unit, about = "UNIT=" + unit;
  if (sd_journal_add_match(j.get(), own.data(), own.size()) < 0 ||
      sd_journal_add_disjunction(j.get()) < 0 ||
      sd_journal_add_match(j.get(), about.data(), about.size()) < 0 ||
      sd_journal_add_match(j.get(), "_PID=1", 0) < 0)
    return std::nullopt;
  if (sd_journal_seek_tail(j.get()) < 0) return std::nullopt;
  auto field = [&](const char* name) {
    const void* data = nullptr;
    size_t len = 0;
    if (sd_journal_get_data(j.get(), name, &data, &len) < 0) return std::string_view{};
    std::string_view f(static_cast<const char*>(data), len);
    return f.substr(std::min(f.size(), std::strlen(name) + 1));  // after "NAME="
  };
  // Newest first. A run is one invocation id: the newest is the current run, the one before it
  // the previous run. An entry without one belongs to the run of the entries after it.
  const int wanted = previous ? 1 : 0;
  int run = -1;
  std::string invocation;
  std::vector<std::string> newest_first;
  std::size_t bytes = 0;
  while (newest_first.size() < lines && bytes < 1024 * 1024 && sd_journal_previous(j.get()) > 0) {
    const bool output = field("_SYSTEMD_UNIT") == unit;
    if (run < 0) run = 0;
    if (auto inv = field(output ? "_SYSTEMD_INVOCATION_ID" : "INVOCATION_ID");
        !inv.empty() && inv != invocation) {
      if (!invocation.empty() && ++run > wanted) break;
      invocation = inv;
    }
    if (run < wanted || !output) continue;
    newest_first.emplace_back(field("MESSAGE"));
    bytes += newest_first.back().size() + 1;
  }
  if (run < wanted) return previous ? std::nullopt : std::optional<std::string>(std::string());
  std::string out;
  for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) out.append(*it) += '\n';
  return out;
}

}  // namespace rbee::sys
