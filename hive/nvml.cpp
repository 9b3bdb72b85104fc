#include "hive/nvml.h"

#include <algorithm>
#include <cstring>

namespace rbee::hive {

namespace {

constexpr unsigned kMaxProcessesPerList = 1u << 16;
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
    for (Kind k : {compute, graphics}) {
      // A list that cannot be read leaves this GPU's processes out of this sample only.
      if (auto procs = process_list(d, k, i, g.memory_total_bytes))
        s.processes.insert(s.processes.end(), procs->begin(), procs->end());
    }
    s.gpus.push_back(std::move(g));
  }
  return s;
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
