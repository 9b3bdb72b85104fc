#include "hive/proc_files.h"

#include <array>
#include <string>

#include "hive/text_scan.h"

namespace rbee::hive {
namespace {

using scan::kSpace;
using scan::next_token;
using scan::to_num;
using scan::trim;

// "Key:   1234 kB" -> bytes. A bare number (no unit) is taken as it is.
std::optional<uint64_t> kb_value(std::string_view rest) {
  auto n = to_num<uint64_t>(next_token(rest));
  if (!n) return std::nullopt;
  const auto unit = next_token(rest);
  if (unit.empty()) return n;
  if (unit != "kB" || !next_token(rest).empty()) return std::nullopt;
  if (*n > UINT64_MAX / 1024) return std::nullopt;
  return *n * 1024;
}

// Calls fn(key, rest) for every "Key: rest" line.
template <class Fn>
void for_each_colon_line(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const auto key = trim(line.substr(0, colon));
    if (key.empty() || key.find_first_of(kSpace) != std::string_view::npos) continue;
    fn(key, line.substr(colon + 1));
  }
}

Error bad(std::string_view what, std::string_view text) {
  return make_error("malformed " + std::string(what) + ": \"" +
                    std::string(trim(text).substr(0, 60)) + "\"");
}

}  // namespace

SmapsRollup parse_smaps_rollup(std::string_view text) {
  SmapsRollup r;
  for_each_colon_line(text, [&](std::string_view k, std::string_view rest) {
    if (k == "Rss")
      r.rss_bytes = kb_value(rest);
    else if (k == "Pss")
      r.pss_bytes = kb_value(rest);
    else if (k == "Pss_Anon")
      r.pss_anon_bytes = kb_value(rest);
    else if (k == "Pss_File")
      r.pss_file_bytes = kb_value(rest);
    else if (k == "Pss_Shmem")
      r.pss_shmem_bytes = kb_value(rest);
    else if (k == "Anonymous")
      r.anonymous_bytes = kb_value(rest);
  });
  return r;
}

Result<Statm> parse_statm(std::string_view text) {
  std::string_view rest = text;
  std::array<uint64_t, 3> v{};
  for (auto& x : v) {
    auto n = to_num<uint64_t>(next_token(rest));
    if (!n) return bad("statm", text);
    x = *n;
  }
  return Statm{.size_pages = v[0], .resident_pages = v[1], .shared_pages = v[2]};
}

Result<ProcStat> parse_proc_stat(std::string_view text) {
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return bad("proc stat", text);
  }
  // Fields after comm, numbered as in proc(5): state is field 3.
  std::string_view rest = text.substr(close + 1);
  ProcStat s;
  for (int field = 3; field <= 22; ++field) {
    const auto tok = next_token(rest);
    if (tok.empty()) return bad("proc stat", text);
    if (field == 3) {
      if (tok.size() != 1) return bad("proc stat", text);
      s.state = tok[0];
      continue;
    }
    if (field != 4 && field != 14 && field != 15 && field != 22) continue;
    if (field == 4) {
      auto n = to_num<int32_t>(tok);
      if (!n) return bad("proc stat", text);
      s.ppid = *n;
      continue;
    }
    auto n = to_num<uint64_t>(tok);
    if (!n) return bad("proc stat", text);
    if (field == 14)
      s.utime_ticks = *n;
    else if (field == 15)
      s.stime_ticks = *n;
    else
      s.starttime_ticks = *n;
  }
  return s;
}

MemInfo parse_meminfo(std::string_view text) {
  MemInfo m;
  for_each_colon_line(text, [&](std::string_view k, std::string_view rest) {
    if (k == "MemTotal")
      m.total_bytes = kb_value(rest);
    else if (k == "MemAvailable")
      m.available_bytes = kb_value(rest);
  });
  return m;
}

Result<LoadAvg> parse_loadavg(std::string_view text) {
  std::string_view rest = text;
  std::array<double, 3> v{};
  for (auto& x : v) {
    auto n = to_num<double>(next_token(rest));
    if (!n || !(*n >= 0)) return bad("loadavg", text);
    x = *n;
  }
  return LoadAvg{.load1 = v[0], .load5 = v[1], .load15 = v[2]};
}

Result<uint64_t> parse_btime(std::string_view proc_stat_text) {
  std::string_view text = proc_stat_text;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (next_token(line) != "btime") continue;
    auto n = to_num<uint64_t>(next_token(line));
    if (!n || !next_token(line).empty()) return make_error("malformed btime line in /proc/stat");
    return *n;
  }
  return make_error("no btime line in /proc/stat");
}

}  // namespace rbee::hive
