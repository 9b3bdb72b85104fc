#include "hive/worker_marks.h"

#include <charconv>

#include "common/sys/cgroup.h"

namespace rbee::hive {

namespace {

std::optional<int64_t> parse_i64(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<int64_t> read_i64(int fd, const char* name) {
  auto s = sys::get_xattr(fd, name);
  return s ? parse_i64(*s) : std::nullopt;
}

}  // namespace

WorkerMarks read_marks(int fd) {
  WorkerMarks m;
  if (auto by = sys::get_xattr(fd, kXattrSpawnedBy);
      by && *by == telemetry::to_string(telemetry::SpawnedBy::hive))
    m.spawned_by = telemetry::SpawnedBy::hive;
  m.started_at_ms = read_i64(fd, kXattrStartedAt);
  m.main_pid = read_i64(fd, kXattrMainPid);
  if (auto exit = sys::get_xattr(fd, kXattrExit)) m.exit = parse_exit_mark(*exit);
  m.stop_requested = sys::get_xattr(fd, kXattrStop).has_value();
  return m;
}

void mark_start(int fd, int64_t started_at_ms) {
  (void)sys::set_xattr(fd, kXattrSpawnedBy, telemetry::to_string(telemetry::SpawnedBy::hive));
  (void)sys::set_xattr(fd, kXattrStartedAt, std::to_string(started_at_ms));
}

void mark_main(int fd, int32_t pid) {
  (void)sys::set_xattr(fd, kXattrMainPid, std::to_string(pid));
}

void mark_stop(int fd) {
  (void)sys::set_xattr(fd, kXattrStop, "1");
}

void mark_exit(int fd, const ExitReason& reason) {
  if (auto mark = format_exit_mark(reason)) (void)sys::set_xattr(fd, kXattrExit, *mark);
}

std::optional<std::string> format_exit_mark(const ExitReason& reason) {
  if (reason.code) return "code " + std::to_string(*reason.code);
  if (reason.signal) return "signal " + std::to_string(*reason.signal);
  return std::nullopt;
}

ExitReason parse_exit_mark(std::string_view mark) {
  ExitReason r;
  auto as_int = [](std::string_view s) -> std::optional<int> {
    auto v = parse_i64(s);
    if (!v || *v < INT32_MIN || *v > INT32_MAX) return std::nullopt;
    return static_cast<int>(*v);
  };
  if (mark.starts_with("code ")) r.code = as_int(mark.substr(5));
  if (mark.starts_with("signal ")) r.signal = as_int(mark.substr(7));
  return r;
}

}  // namespace rbee::hive
