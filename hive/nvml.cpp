#include "hive/nvml.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace rbee::hive {

namespace {

constexpr unsigned kMaxProcessesPerList = 1u << 16;
// A100 and H100 have at most 7 MIG devices; a larger count is not believed beyond this.
constexpr unsigned kMaxMigDevices = 64;
// 100 kW: no board draws that; a larger reading is garbage.
constexpr unsigned kMaxPowerMilliwatts = 100'000'000;
constexpr const char* kVersionNames[3] = {"v3", "v2", "v1"};
constexpr const char* kProcessSymbols[2][3] = {
    {"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2",
     "nvmlDeviceGetComputeRunningProcesses"},
    {"nvmlDeviceGetGraphicsRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v2",
     "nvmlDeviceGetGraphicsRunningProcesses"},
};

// The newest of several versioned names the library exports.
template <class Fn>
Fn resolve(const sys::DynamicLibrary& lib, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (auto f = lib.function<Fn>(n)) return f;
  }
  return nullptr;
}

std::string c_string(const char* buf, std::size_t size) {
  return std::string(buf, ::strnlen(buf, size));
}

}  // namespace

Nvml::Nvml(std::string library, bool keep_open) {
  status_.library = std::move(library);
  status_.keep_open = keep_open;
}

Nvml::~Nvml() {
  shutdown();
}

std::string Nvml::error_text(nvml::Return r) const {
  const char* text = error_string_ ? error_string_(r) : nullptr;
  return (text ? std::string(text) : "NVML error") + " (" + std::to_string(r) + ")";
}

Status Nvml::load() {
  if (lib_.loaded()) return Ok{};
  if (load_error_) return make_error(*load_error_);
  auto lib = sys::DynamicLibrary::open(status_.library);
  if (!lib) {
    load_error_ = "cannot load " + status_.library + ": " + lib.error().message;
    return make_error(*load_error_);
  }
  const auto& l = *lib;
  init_ = resolve<nvml::InitFn>(l, {"nvmlInit_v2", "nvmlInit"});
  shutdown_ = resolve<nvml::ShutdownFn>(l, {"nvmlShutdown"});
  error_string_ = resolve<nvml::ErrorStringFn>(l, {"nvmlErrorString"});
  driver_version_ = resolve<nvml::SystemGetStringFn>(l, {"nvmlSystemGetDriverVersion"});
  nvml_version_ = resolve<nvml::SystemGetStringFn>(l, {"nvmlSystemGetNVMLVersion"});
  get_count_ = resolve<nvml::DeviceGetCountFn>(l, {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"});
  get_handle_ = resolve<nvml::DeviceGetHandleByIndexFn>(
      l, {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"});
  get_uuid_ = resolve<nvml::DeviceGetStringFn>(l, {"nvmlDeviceGetUUID"});
  get_name_ = resolve<nvml::DeviceGetStringFn>(l, {"nvmlDeviceGetName"});
  get_memory_ = resolve<nvml::DeviceGetMemoryInfoFn>(l, {"nvmlDeviceGetMemoryInfo"});
  get_utilization_ =
      resolve<nvml::DeviceGetUtilizationRatesFn>(l, {"nvmlDeviceGetUtilizationRates"});
  get_temperature_ = resolve<nvml::DeviceGetTemperatureFn>(l, {"nvmlDeviceGetTemperature"});
  get_power_ = resolve<nvml::DeviceGetUintFn>(l, {"nvmlDeviceGetPowerUsage"});
  get_mig_mode_ = resolve<nvml::DeviceGetMigModeFn>(l, {"nvmlDeviceGetMigMode"});
  get_max_mig_ = resolve<nvml::DeviceGetUintFn>(l, {"nvmlDeviceGetMaxMigDeviceCount"});
  get_mig_handle_ =
      resolve<nvml::DeviceGetMigDeviceHandleByIndexFn>(l, {"nvmlDeviceGetMigDeviceHandleByIndex"});
  get_process_util_ =
      resolve<nvml::DeviceGetProcessUtilizationFn>(l, {"nvmlDeviceGetProcessUtilization"});
  for (int k = 0; k < 2; ++k) {
    for (int v = 0; v < 3; ++v)
      processes_[k][v] = l.function<nvml::DeviceGetProcessesFn>(kProcessSymbols[k][v]);
  }
  if (!init_ || !shutdown_ || !get_count_ || !get_handle_) {
    load_error_ = status_.library +
                  " lacks nvmlInit, nvmlShutdown, nvmlDeviceGetCount or "
                  "nvmlDeviceGetHandleByIndex: not NVML";
    return make_error(*load_error_);
  }
  lib_ = std::move(*lib);
  return Ok{};
}

Status Nvml::init() {
  if (initialized_) return Ok{};
  const auto r = init_();
  if (r != nvml::kSuccess) return make_error("nvmlInit: " + error_text(r));
  initialized_ = true;
  if (!status_.driver_version && driver_version_) {
    char buf[nvml::kDriverVersionBufferSize] = {};
    if (driver_version_(buf, sizeof buf) == nvml::kSuccess)
      status_.driver_version = c_string(buf, sizeof buf);
  }
  if (!status_.nvml_version && nvml_version_) {
    char buf[nvml::kNvmlVersionBufferSize] = {};
    if (nvml_version_(buf, sizeof buf) == nvml::kSuccess)
      status_.nvml_version = c_string(buf, sizeof buf);
  }
  return Ok{};
}

void Nvml::shutdown() {
  if (!initialized_) return;
  shutdown_();
  initialized_ = false;
}

Result<GpuSample> Nvml::sample() {
  auto fail = [this](Error e) -> Result<GpuSample> {
    status_.loaded = false;
    status_.error = e.message;
    return e;
  };
  if (auto st = load(); !st) return fail(st.error());
  if (auto st = init(); !st) return fail(st.error());
  auto out = read_devices();
  if (!status_.keep_open) shutdown();
  if (!out) return fail(out.error());
  status_.loaded = true;
  status_.error.reset();
  return out;
}

Result<GpuSample> Nvml::read_devices() {
  unsigned count = 0;
  if (auto r = get_count_(&count); r != nvml::kSuccess)
    return make_error("nvmlDeviceGetCount: " + error_text(r));
  GpuSample s;
  for (unsigned i = 0; i < count && i < 1024; ++i) {
    nvml::Device d = nullptr;
    // A GPU that fell off the bus is left out; the others are still reported.
    if (get_handle_(i, &d) != nvml::kSuccess || !d) continue;
    telemetry::Gpu g;
    g.index = i;
    char text[nvml::kUuidBufferSize] = {};
    if (get_uuid_ && get_uuid_(d, text, sizeof text) == nvml::kSuccess)
      g.uuid = c_string(text, sizeof text);
    std::memset(text, 0, sizeof text);
    if (get_name_ && get_name_(d, text, sizeof text) == nvml::kSuccess)
      g.name = c_string(text, sizeof text);
    nvml::Memory mem{};
    if (get_memory_ && get_memory_(d, &mem) == nvml::kSuccess) {
      g.memory_total_bytes = mem.total;
      g.memory_used_bytes = mem.used;
    }
    nvml::Utilization util{};
    if (get_utilization_ && get_utilization_(d, &util) == nvml::kSuccess)
      g.util_pct = std::min(100.0, static_cast<double>(util.gpu));
    unsigned temp = 0;
    if (get_temperature_ && get_temperature_(d, nvml::kTemperatureGpu, &temp) == nvml::kSuccess)
      g.temperature_c = static_cast<double>(temp);
    unsigned mw = 0;
    if (get_power_ && get_power_(d, &mw) == nvml::kSuccess && mw <= kMaxPowerMilliwatts)
      g.power_w = mw / 1000.0;
    // With MIG on, the GPU's own lists are an aggregate only privileged callers get: each MIG
    // device's lists are read instead and summed into the GPU.
    bool complete = true;
    if (auto migs = mig_devices(d, complete)) {
      for (const auto& [j, m] : *migs)
        complete &= read_processes(m, i, j, g.memory_total_bytes, s.processes);
    } else {
      complete &= read_processes(d, i, std::nullopt, g.memory_total_bytes, s.processes);
    }
    if (complete) s.listed_gpus.push_back(i);
    read_process_util(d, i, s);
    s.gpus.push_back(std::move(g));
  }
  return s;
}

bool Nvml::read_processes(nvml::Device d, uint32_t index, std::optional<uint32_t> mig,
                          std::optional<uint64_t> memory_total, std::vector<GpuProcess>& out) {
  bool complete = true;
  for (Kind k : {compute, graphics}) {
    // A list that cannot be read leaves this device's processes out of this sample only.
    auto procs = process_list(d, k, index, memory_total);
    if (!procs) {
      complete = false;
      continue;
    }
    for (auto& p : *procs) {
      p.mig_index = mig;
      out.push_back(p);
    }
  }
  return complete;
}

std::optional<std::vector<std::pair<uint32_t, nvml::Device>>> Nvml::mig_devices(nvml::Device d,
                                                                                bool& complete) {
  unsigned current = 0, pending = 0;
  if (!get_mig_mode_ || get_mig_mode_(d, &current, &pending) != nvml::kSuccess ||
      current != nvml::kMigEnabled)
    return std::nullopt;
  std::vector<std::pair<uint32_t, nvml::Device>> out;
  unsigned max = 0;
  if (!get_max_mig_ || !get_mig_handle_ || get_max_mig_(d, &max) != nvml::kSuccess) {
    complete = false;
    return out;
  }
  for (unsigned j = 0; j < std::min(max, kMaxMigDevices); ++j) {
    nvml::Device m = nullptr;
    const auto r = get_mig_handle_(d, j, &m);
    if (r == nvml::kErrorNotFound) continue;  // no MIG device in this slot
    if (r != nvml::kSuccess || !m) {
      complete = false;
      continue;
    }
    out.emplace_back(j, m);
  }
  return out;
}

void Nvml::read_process_util(nvml::Device d, uint32_t index, GpuSample& s) {
  if (!get_process_util_) return;
  uint64_t& last_seen = util_last_seen_[index];
  unsigned count = 0;
  nvml::Return r = nvml::kErrorInsufficientSize;
  for (int attempt = 0; attempt < 4 && r == nvml::kErrorInsufficientSize; ++attempt) {
    util_buffer_.assign(util_capacity_, nvml::ProcessUtilizationSample{});
    count = util_capacity_;
    r = get_process_util_(d, util_buffer_.data(), &count, last_seen);
    if (r == nvml::kErrorInsufficientSize) {
      if (util_capacity_ >= kMaxProcessesPerList) break;
      // count is the driver's: clamped before it is doubled, so it cannot wrap to 0.
      const unsigned wanted =
          std::min<unsigned>(std::max(count, util_capacity_), kMaxProcessesPerList);
      util_capacity_ = std::min<unsigned>(kMaxProcessesPerList, wanted * 2);
    }
  }
  // NOT_FOUND: no sample newer than last_seen, which is a reading of "idle".
  if (r == nvml::kErrorNotFound)
    count = 0;
  else if (r != nvml::kSuccess || count > util_capacity_)
    return;
  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto fresh =
      new_util_samples(util_buffer_.data(), count, index, last_seen, static_cast<uint64_t>(now_us));
  s.util.insert(s.util.end(), fresh.begin(), fresh.end());
  s.util_gpus.push_back(index);
}

nvml::Return Nvml::call_growing(nvml::DeviceGetProcessesFn fn, nvml::Device d, unsigned& count) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    // Room for capacity_ entries of the largest layout any driver writes (R535's 32 bytes), so a
    // driver that writes a wider struct than we asked for cannot write past the buffer.
    buffer_.assign(capacity_ * sizeof(nvml::ProcessInfoR535) / sizeof(uint64_t), 0);
    count = capacity_;
    const auto r = fn(d, &count, buffer_.data());
    if (r == nvml::kSuccess && count > capacity_) return nvml::kErrorUnknown;
    if (r != nvml::kErrorInsufficientSize) return r;
    // count now holds what is needed; processes may start meanwhile, so leave room.
    if (capacity_ >= kMaxProcessesPerList) return r;
    capacity_ = std::min(kMaxProcessesPerList, std::max(count, capacity_) * 2);
  }
  return nvml::kErrorInsufficientSize;
}

Result<std::vector<GpuProcess>> Nvml::process_list(nvml::Device d, Kind kind, uint32_t index,
                                                   std::optional<uint64_t> memory_total) {
  for (int v = v3; v <= v1; ++v) {
    auto fn = processes_[kind][v];
    if (!fn || (v == v3 && status_.v3_bad_stride)) continue;
    unsigned count = 0;
    const auto r = call_growing(fn, d, count);
    if (r == nvml::kErrorFunctionNotFound) continue;  // exported, but not by this driver
    if (r == nvml::kErrorNotSupported) return std::vector<GpuProcess>{};
    if (r != nvml::kSuccess)
      return make_error(std::string(kProcessSymbols[kind][v]) + ": " + error_text(r));
    const auto* bytes = reinterpret_cast<const std::byte*>(buffer_.data());
    const auto layout = v == v1 ? ProcessLayout::v1 : ProcessLayout::v2;
    if (v == v3) {
      if (check_v3_stride(bytes, count, memory_total) != StrideCheck::ok) {
        status_.v3_bad_stride = true;  // never trusted again while this library is loaded
        continue;
      }
    } else if (!plausible_process_infos(bytes, count, stride_of(layout), memory_total)) {
      return make_error(std::string(kProcessSymbols[kind][v]) + " returned implausible entries");
    }
    if (kind == compute) status_.process_api = kVersionNames[v];
    return decode_process_infos(bytes, count, layout, index);
  }
  return make_error(std::string("no usable ") + (kind == compute ? "compute" : "graphics") +
                    " process list function");
}

}  // namespace rbee::hive
