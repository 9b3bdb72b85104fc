#pragma once
// GPU telemetry off the event loop. NVML calls can take milliseconds, or hang in a wedged driver,
// so one thread of our own makes them: the loop asks for a sample (a queue of one request;
// asking again while one waits does nothing), the thread reads NVML and posts the reading back to
// the io_context. The loop only ever uses the latest completed reading, and calls the GPU data
// stale when none completed for three intervals. Nothing here blocks the loop, but the destructor
// waits up to 2 s for the thread to finish its call (then leaves it behind, detached).
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "hive/gpu_processes.h"
#include "hive/nvml.h"

namespace rbee::hive {

struct GpuMonitorOptions {
  std::string library = "libnvidia-ml.so.1";
  bool keep_open = true;
  std::chrono::milliseconds interval{1000};
};

struct GpuReading {
  NvmlStatus status;
  std::optional<GpuSample> sample;  // absent: NVML unavailable, or this reading failed
};

class GpuMonitor {
 public:
  using Clock = std::chrono::steady_clock;

  GpuMonitor(boost::asio::io_context& io, GpuMonitorOptions options);
  ~GpuMonitor();
  GpuMonitor(const GpuMonitor&) = delete;
  GpuMonitor& operator=(const GpuMonitor&) = delete;

  // Starts the thread and asks for the first reading (which loads NVML).
  void start();
  // Asks for a fresh reading. Never blocks; at most one request waits behind the one in progress.
  void request();

  // The latest completed reading; nullptr before the first.
  const GpuReading* latest() const;
  // What /capabilities says about NVML (before the first reading: not loaded, "loading").
  NvmlStatus status() const;
  // True while NVML is loaded and no reading has completed for three intervals (a slow or hung
  // call): the last GPU data is still reported, marked stale. Logs the change either way.
  bool stale(Clock::time_point now);

  // Called on the loop when a reading changes what is known (NVML loaded or lost, GPU count,
  // process API): the daemon publishes at once rather than a tick later.
  std::function<void()> on_change;

 private:
  struct Shared;
  struct Sink;
  static void run(std::shared_ptr<Shared> shared, GpuMonitorOptions options,
                  boost::asio::io_context& io, std::weak_ptr<Sink> sink);

  boost::asio::io_context& io_;
  GpuMonitorOptions options_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Sink> sink_;
  std::thread thread_;
  bool stale_ = false;
};

}  // namespace rbee::hive
