#include "hive/rates.h"

namespace rbee::hive {

using telemetry::WorkerState;

std::optional<double> cpu_percent(std::optional<uint64_t> prev, std::optional<uint64_t> now,
                                  uint64_t wall_usec) {
  if (!prev || !now || wall_usec == 0 || *now < *prev) return std::nullopt;
  return 100.0 * static_cast<double>(*now - *prev) / static_cast<double>(wall_usec);
}

std::optional<double> byte_rate(std::optional<uint64_t> prev, std::optional<uint64_t> now,
                                uint64_t wall_usec) {
  if (!prev || !now || wall_usec == 0 || *now < *prev) return std::nullopt;
  return static_cast<double>(*now - *prev) * 1e6 / static_cast<double>(wall_usec);
}

std::optional<uint64_t> working_set(std::optional<uint64_t> current,
                                    std::optional<uint64_t> inactive_file) {
  if (!current) return std::nullopt;
  uint64_t inactive = inactive_file.value_or(0);
  return *current > inactive ? *current - inactive : 0;
}

WorkerState derive_state(const StateInputs& in) {
  if (in.populated) {
    if (in.stopping) return WorkerState::stopping;
    // A worker without a port (an instance that is not a number) has nothing to wait for.
    return in.listening || !in.has_port ? WorkerState::ready : WorkerState::starting;
  }
  if (in.oom_kills_since_start > 0 && !in.stopped_by_request) return WorkerState::oom;
  if (in.stopped_by_request) return WorkerState::exited;
  if (in.signal) return WorkerState::failed;
  if (in.exit_code && *in.exit_code != 0) return WorkerState::failed;
  return WorkerState::exited;
}

}  // namespace rbee::hive
