#include "hive/gpu_monitor.h"

#include <boost/asio/post.hpp>
#include <condition_variable>
#include <mutex>

#include <spdlog/spdlog.h>

namespace rbee::hive {

namespace asio = boost::asio;

// Between the loop and the thread. The mutex is held only to flip these flags and to post: never
// across an NVML call.
struct GpuMonitor::Shared {
  std::mutex m;
  std::condition_variable wake;
  std::condition_variable finished;
  bool pending = false;   // the queue of one
  bool stopping = false;  // set by the destructor: the thread must not touch the io_context again
  bool done = false;      // the thread has left NVML (shut down) and is about to return
};

// The loop's side: lives on the loop, reached from posted handlers through a weak_ptr.
struct GpuMonitor::Sink {
  std::optional<GpuReading> latest;
  Clock::time_point last_finished = Clock::now();
  std::function<void()>* on_change = nullptr;

  void accept(GpuReading r) {
    const auto* old = latest ? &*latest : nullptr;
    const bool changed = !old || old->status.loaded != r.status.loaded ||
                         old->status.error != r.status.error ||
                         old->status.process_api != r.status.process_api ||
                         old->status.v3_bad_stride != r.status.v3_bad_stride ||
                         old->sample.has_value() != r.sample.has_value() ||
                         (r.sample && old->sample->gpus.size() != r.sample->gpus.size());
    if (changed) log_change(old, r);
    latest = std::move(r);
    last_finished = Clock::now();
    if (changed && on_change && *on_change) (*on_change)();
  }

  static void log_change(const GpuReading* old, const GpuReading& r) {
    const auto& s = r.status;
    if (s.v3_bad_stride && !(old && old->status.v3_bad_stride))
      spdlog::warn(
          "NVML: the _v3 process list returned implausible entries (the R535.43-R535.98 "
          "struct mix-up?); using the {} functions instead",
          s.process_api);
    if (s.loaded && r.sample)
      spdlog::info("NVML {} loaded from {}: driver {}, {} GPU(s), process list {}{}",
                   s.nvml_version.value_or("?"), s.library, s.driver_version.value_or("?"),
                   r.sample->gpus.size(), s.process_api.empty() ? "-" : s.process_api,
                   s.keep_open ? "" : " (NVML shut down between samples)");
    else if (s.error)
      spdlog::info("no GPU telemetry: {}", *s.error);
  }
};

GpuMonitor::GpuMonitor(asio::io_context& io, GpuMonitorOptions options)
    : io_(io),
      options_(std::move(options)),
      shared_(std::make_shared<Shared>()),
      sink_(std::make_shared<Sink>()) {
  sink_->on_change = &on_change;
}

GpuMonitor::~GpuMonitor() {
  {
    std::lock_guard lk(shared_->m);
    shared_->stopping = true;
  }
  shared_->wake.notify_all();
  if (!thread_.joinable()) return;
  std::unique_lock lk(shared_->m);
  if (shared_->finished.wait_for(lk, std::chrono::seconds(2), [this] { return shared_->done; })) {
    lk.unlock();
    thread_.join();
  } else {
    // Stuck in an NVML call. It holds its own state (shared_ptr) and will not touch the loop.
    spdlog::warn("NVML call still running at shutdown; leaving its thread behind");
    lk.unlock();
    thread_.detach();
  }
}

void GpuMonitor::start() {
  sink_->last_finished = Clock::now();
  thread_ =
      std::thread(&GpuMonitor::run, shared_, options_, std::ref(io_), std::weak_ptr<Sink>(sink_));
  request();
}

void GpuMonitor::request() {
  {
    std::lock_guard lk(shared_->m);
    if (shared_->pending) return;
    shared_->pending = true;
  }
  shared_->wake.notify_one();
}

const GpuReading* GpuMonitor::latest() const {
  return sink_->latest ? &*sink_->latest : nullptr;
}

NvmlStatus GpuMonitor::status() const {
  if (sink_->latest) return sink_->latest->status;
  NvmlStatus s;
  s.library = options_.library;
  s.keep_open = options_.keep_open;
  s.error = "loading";
  return s;
}

bool GpuMonitor::stale(Clock::time_point now) {
  const bool loaded = sink_->latest && sink_->latest->status.loaded;
  const bool stale = loaded && now - sink_->last_finished > 3 * options_.interval;
  if (stale != stale_) {
    if (stale)
      spdlog::warn("NVML: no reading for {} ms (a slow or hung call); GPU data is stale",
                   std::chrono::duration_cast<std::chrono::milliseconds>(now - sink_->last_finished)
                       .count());
    else
      spdlog::info("NVML: readings resumed; GPU data is fresh again");
    stale_ = stale;
  }
  return stale;
}

void GpuMonitor::run(std::shared_ptr<Shared> shared, GpuMonitorOptions options,
                     asio::io_context& io, std::weak_ptr<Sink> sink) {
  {
    Nvml nvml(options.library, options.keep_open);
    std::unique_lock lk(shared->m);
    while (true) {
      shared->wake.wait(lk, [&] { return shared->stopping || shared->pending; });
      if (shared->stopping) break;
      shared->pending = false;
      lk.unlock();
      GpuReading reading;
      auto sample = nvml.sample();
      reading.status = nvml.status();
      if (sample) reading.sample = std::move(*sample);
      lk.lock();
      if (shared->stopping) break;
      asio::post(io, [sink, reading = std::move(reading)]() mutable {
        if (auto s = sink.lock()) s->accept(std::move(reading));
      });
    }
  }  // ~Nvml: nvmlShutdown, outside the lock
  std::lock_guard lk(shared->m);
  shared->done = true;
  shared->finished.notify_all();
}

}  // namespace rbee::hive
