#pragma once
// sd_notify: READY, STATUS and the watchdog for a Type=notify service. No-ops outside systemd.
#include <chrono>
#include <optional>
#include <string>

namespace rbee::sys {

void notify_ready(const std::string& status);
void notify_status(const std::string& status);
void notify_watchdog();
void notify_stopping();
// The interval at which to ping the watchdog (half of WatchdogSec), when systemd asked for one.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace rbee::sys
