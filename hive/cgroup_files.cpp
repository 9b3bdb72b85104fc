#include "hive/cgroup_files.h"

#include <charconv>
#include <string>

#include "hive/text_scan.h"

namespace rbee::hive {
namespace {

using scan::trim;

std::optional<uint64_t> to_u64(std::string_view s) {
  return scan::to_num<uint64_t>(s);
}

// Calls fn(key, value) for every "key value" line of a flat-keyed file.
template <class Fn>
void for_each_key_value(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const auto sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos) continue;
    fn(line.substr(0, sp), trim(line.substr(sp + 1)));
  }
}

uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a + b < a ? UINT64_MAX : a + b;
}

}  // namespace

CpuStat parse_cpu_stat(std::string_view text) {
  CpuStat s;
  for_each_key_value(text, [&](std::string_view k, std::string_view v) {
    if (k == "usage_usec")
      s.usage_usec = to_u64(v);
    else if (k == "user_usec")
      s.user_usec = to_u64(v);
    else if (k == "system_usec")
      s.system_usec = to_u64(v);
    else if (k == "nr_periods")
      s.nr_periods = to_u64(v);
    else if (k == "nr_throttled")
      s.nr_throttled = to_u64(v);
    else if (k == "throttled_usec")
      s.throttled_usec = to_u64(v);
  });
  return s;
}

MemoryStat parse_memory_stat(std::string_view text) {
  MemoryStat s;
  for_each_key_value(text, [&](std::string_view k, std::string_view v) {
    if (k == "anon")
      s.anon = to_u64(v);
    else if (k == "file")
      s.file = to_u64(v);
    else if (k == "file_mapped")
      s.file_mapped = to_u64(v);
    else if (k == "inactive_file")
      s.inactive_file = to_u64(v);
    else if (k == "shmem")
      s.shmem = to_u64(v);
  });
  return s;
}

IoStat parse_io_stat(std::string_view text) {
  IoStat s;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    // First token is the device "MAJ:MIN"; the rest are key=value pairs.
    auto sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos || line.substr(0, sp).find(':') == std::string_view::npos) {
      continue;
    }
    line = trim(line.substr(sp));
    while (!line.empty()) {
      sp = line.find_first_of(" \t");
      const std::string_view tok = line.substr(0, sp);
      line = sp == std::string_view::npos ? std::string_view{} : trim(line.substr(sp));
      const auto eq = tok.find('=');
      if (eq == std::string_view::npos) continue;
      const auto key = tok.substr(0, eq);
      const auto val = to_u64(tok.substr(eq + 1));
      if (!val) continue;
      if (key == "rbytes")
        s.rbytes = saturating_add(s.rbytes, *val);
      else if (key == "wbytes")
        s.wbytes = saturating_add(s.wbytes, *val);
    }
  }
  return s;
}

CgroupEvents parse_cgroup_events(std::string_view text) {
  CgroupEvents e;
  for_each_key_value(text, [&](std::string_view k, std::string_view v) {
    const auto n = to_u64(v);
    if (!n) return;
    if (k == "populated")
      e.populated = *n != 0;
    else if (k == "frozen")
      e.frozen = *n != 0;
  });
  return e;
}

MemoryEvents parse_memory_events(std::string_view text) {
  MemoryEvents e;
  for_each_key_value(text, [&](std::string_view k, std::string_view v) {
    const auto n = to_u64(v);
    if (!n) return;
    if (k == "low")
      e.low = *n;
    else if (k == "high")
      e.high = *n;
    else if (k == "max")
      e.max = *n;
    else if (k == "oom")
      e.oom = *n;
    else if (k == "oom_kill")
      e.oom_kill = *n;
  });
  return e;
}

Result<uint64_t> parse_u64(std::string_view text) {
  const auto t = trim(text);
  if (auto v = to_u64(t)) return *v;
  return make_error("not an unsigned integer: \"" + std::string(t.substr(0, 40)) + "\"");
}

Result<LimitValue> parse_limit(std::string_view text) {
  if (trim(text) == "max") return LimitValue{.unlimited = true, .value = 0};
  auto v = parse_u64(text);
  if (!v) return v.error();
  return LimitValue{.unlimited = false, .value = *v};
}

Result<CpuQuota> parse_cpu_max(std::string_view text) {
  std::string_view rest = trim(text);
  const auto quota = scan::next_token(rest);
  const auto period = to_u64(scan::next_token(rest));
  if (!period || *period == 0 || !trim(rest).empty())
    return make_error("not a cpu.max line: \"" + std::string(trim(text).substr(0, 40)) + "\"");
  if (quota == "max") return CpuQuota{std::nullopt, *period};
  const auto q = to_u64(quota);
  if (!q) return make_error("not a cpu.max quota: \"" + std::string(quota.substr(0, 40)) + "\"");
  return CpuQuota{*q, *period};
}

namespace {

struct PressureLine {
  double avg10 = 0, avg60 = 0, avg300 = 0;
  uint64_t total = 0;
};

// A percentage as the kernel writes it ("%lu.%02lu"): up to 3 digits, optionally a point and up to
// 9 more, at most 100. Exact digits, not from_chars<double>: a quarter of the cost, and neither
// "nan", "inf" nor exponents to refuse.
std::optional<double> parse_percent(std::string_view s) {
  static constexpr uint64_t kPow10[] = {1,      10,      100,      1000,      10000,
                                        100000, 1000000, 10000000, 100000000, 1000000000};
  const auto dot = s.find('.');
  const auto whole = s.substr(0, dot);
  if (whole.empty() || whole.size() > 3) return std::nullopt;
  auto w = scan::to_num<uint32_t>(whole);
  if (!w) return std::nullopt;
  uint64_t scaled = *w, scale = 1;
  if (dot != std::string_view::npos) {
    const auto frac = s.substr(dot + 1);
    if (frac.empty() || frac.size() > 9) return std::nullopt;
    const auto f = scan::to_num<uint32_t>(frac);
    if (!f) return std::nullopt;
    scale = kPow10[frac.size()];
    scaled = scaled * scale + *f;
  }
  // Both below 2^53, so one correctly rounded division: the double nearest the decimal.
  const double v = static_cast<double>(scaled) / static_cast<double>(scale);
  if (v > 100) return std::nullopt;
  return v;
}

// "avg10=X avg60=Y avg300=Z total=T", space-separated, with each key once; other keys are ignored.
std::optional<PressureLine> parse_pressure_line(std::string_view rest) {
  PressureLine p;
  unsigned seen = 0;
  while (!rest.empty()) {
    const auto sp = rest.find(' ');
    const auto tok = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    if (tok.empty()) continue;
    const auto eq = tok.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const auto key = tok.substr(0, eq);
    const auto value = tok.substr(eq + 1);
    unsigned bit = 0;
    if (key == "total") {
      const auto n = to_u64(value);
      if (!n) return std::nullopt;
      p.total = *n, bit = 1;
    } else {
      double* avg = key == "avg10"    ? &p.avg10
                    : key == "avg60"  ? &p.avg60
                    : key == "avg300" ? &p.avg300
                                      : nullptr;
      if (!avg) continue;
      const auto x = parse_percent(value);
      if (!x) return std::nullopt;
      *avg = *x;
      bit = avg == &p.avg10 ? 2 : avg == &p.avg60 ? 4 : 8;
    }
    if (seen & bit) return std::nullopt;
    seen |= bit;
  }
  if (seen != 15) return std::nullopt;
  return p;
}

}  // namespace

std::optional<telemetry::Pressure> parse_pressure(std::string_view text) {
  std::optional<PressureLine> some, full;
  bool some_seen = false, full_seen = false;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const auto sp = line.find(' ');
    const auto kind = line.substr(0, sp);
    line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    if (kind == "some") {
      if (some_seen) return std::nullopt;
      some_seen = true;
      some = parse_pressure_line(line);
      if (!some) return std::nullopt;
    } else if (kind == "full") {
      // A malformed or repeated full line costs only the full_* members.
      full = full_seen ? std::nullopt : parse_pressure_line(line);
      full_seen = true;
    }
  }
  if (!some) return std::nullopt;
  telemetry::Pressure p;
  p.some_avg10 = some->avg10;
  p.some_avg60 = some->avg60;
  p.some_avg300 = some->avg300;
  p.some_total_usec = some->total;
  if (full) {
    p.full_avg10 = full->avg10;
    p.full_avg60 = full->avg60;
    p.full_avg300 = full->avg300;
    p.full_total_usec = full->total;
  }
  return p;
}

std::vector<int32_t> parse_pid_list(std::string_view text) {
  std::vector<int32_t> pids;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    int32_t pid = 0;
    const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (line.empty() || ec != std::errc{} || ptr != line.data() + line.size() || pid <= 0) continue;
    pids.push_back(pid);
  }
  return pids;
}

}  // namespace rbee::hive
