#pragma once
// NVML, loaded at run time: dlopen of libnvidia-ml.so.1 (or hive.nvml_library), symbols resolved
// by name with fallbacks across driver generations, one call to read every GPU and its processes.
// Blocking (an NVML call can take milliseconds, or hang): only the GpuMonitor's thread uses it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/sys/dynamic_library.h"
#include "hive/gpu_processes.h"
#include "hive/nvml_api.h"

namespace rbee::hive {

// What the Hive says about NVML in /capabilities.
struct NvmlStatus {
  bool loaded = false;  // the library is open and the last nvmlInit succeeded
  std::string library;  // what was (or would be) dlopen'ed
  bool keep_open = true;
  std::optional<std::string> driver_version;
  std::optional<std::string> nvml_version;
  std::optional<std::string> error;  // why there is no GPU data
  std::string process_api;           // "v3", "v2" or "v1": the process list functions in use
  bool v3_bad_stride = false;        // the _v3 functions returned an implausible buffer: not used
  bool operator==(const NvmlStatus&) const = default;
};

class Nvml {
 public:
  // keep_open = false: nvmlInit before and nvmlShutdown after every sample (see docs/gpu.md).
  Nvml(std::string library, bool keep_open);
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  // Every GPU and the processes on it. Loads and initialises NVML on first use; a library that
  // cannot be opened is not tried again, an nvmlInit that failed is tried again next time.
  Result<GpuSample> sample();
  const NvmlStatus& status() const { return status_; }

 private:
  enum Kind { compute = 0, graphics = 1 };
  enum Version { v3 = 0, v2 = 1, v1 = 2 };

  Status load();
  Status init();
  void shutdown();
  std::string error_text(nvml::Return r) const;
  Result<GpuSample> read_devices();
  Result<std::vector<GpuProcess>> process_list(nvml::Device d, Kind kind, uint32_t index,
                                               std::optional<uint64_t> memory_total);
  nvml::Return call_growing(nvml::DeviceGetProcessesFn fn, nvml::Device d, unsigned& count);
  // Both process lists of a device (a GPU or one of its MIG devices) into `out`; false when one
  // could not be read.
  bool read_processes(nvml::Device d, uint32_t index, std::optional<uint32_t> mig,
                      std::optional<uint64_t> memory_total, std::vector<GpuProcess>& out);
  // The MIG devices' handles when MIG mode is on; nullopt when it is off (or cannot be told).
  std::optional<std::vector<std::pair<uint32_t, nvml::Device>>> mig_devices(nvml::Device d,
                                                                            bool& complete);
  void read_process_util(nvml::Device d, uint32_t index, GpuSample& s);

  NvmlStatus status_;
  sys::DynamicLibrary lib_;
  std::optional<std::string> load_error_;
  bool initialized_ = false;

  nvml::InitFn init_ = nullptr;
  nvml::ShutdownFn shutdown_ = nullptr;
  nvml::ErrorStringFn error_string_ = nullptr;
  nvml::SystemGetStringFn driver_version_ = nullptr;
  nvml::SystemGetStringFn nvml_version_ = nullptr;
  nvml::DeviceGetCountFn get_count_ = nullptr;
  nvml::DeviceGetHandleByIndexFn get_handle_ = nullptr;
  nvml::DeviceGetStringFn get_uuid_ = nullptr;
  nvml::DeviceGetStringFn get_name_ = nullptr;
  nvml::DeviceGetMemoryInfoFn get_memory_ = nullptr;
  nvml::DeviceGetUtilizationRatesFn get_utilization_ = nullptr;
  nvml::DeviceGetTemperatureFn get_temperature_ = nullptr;
  nvml::DeviceGetProcessesFn processes_[2][3] = {};  // [kind][version]
  nvml::DeviceGetUintFn get_power_ = nullptr;
  nvml::DeviceGetMigModeFn get_mig_mode_ = nullptr;
  nvml::DeviceGetUintFn get_max_mig_ = nullptr;
  nvml::DeviceGetMigDeviceHandleByIndexFn get_mig_handle_ = nullptr;
  nvml::DeviceGetProcessUtilizationFn get_process_util_ = nullptr;

  std::vector<uint64_t> buffer_;  // 8-byte aligned process-info buffer, reused
  unsigned capacity_ = 64;        // entries; grows on NVML_ERROR_INSUFFICIENT_SIZE
  std::vector<nvml::ProcessUtilizationSample> util_buffer_;
  unsigned util_capacity_ = 64;
  std::map<uint32_t, uint64_t> util_last_seen_;  // GPU index -> newest sample timestamp seen
};

}  // namespace rbee::hive
