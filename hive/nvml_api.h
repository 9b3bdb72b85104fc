#pragma once
// The part of NVIDIA's NVML C API the Hive uses, declared from NVIDIA's public API documentation
// (no NVIDIA header is included, none is needed to build). The library is loaded at run time
// (hive/nvml.cpp); these are the types and the signatures of the function pointers it resolves.
//
// Layouts the Hive depends on (x86-64 and aarch64 Linux, natural alignment):
//   nvmlProcessInfo_v1_t   {uint pid; ull usedGpuMemory}                          16 bytes
//   nvmlProcessInfo_v2_t   {uint pid; ull usedGpuMemory; uint gpuInstanceId;
//                           uint computeInstanceId}                               24 bytes
//   the `_v3` functions take the v2 layout (nvmlProcessInfo_t) on every driver except
//   R535.43 to R535.98, whose header briefly appended `ull usedGpuCcProtectedMemory` (32 bytes)
//   under the same symbol. See docs/gpu.md, "Stride check".
//   nvmlProcessUtilizationSample_t {uint pid; ull timeStamp; uint smUtil, memUtil, encUtil,
//                           decUtil}                                              32 bytes
#include <cstddef>
#include <cstdint>

namespace rbee::hive::nvml {

using Return = int;  // nvmlReturn_t
inline constexpr Return kSuccess = 0;
inline constexpr Return kErrorUninitialized = 1;
inline constexpr Return kErrorInvalidArgument = 2;
inline constexpr Return kErrorNotSupported = 3;
inline constexpr Return kErrorNoPermission = 4;
inline constexpr Return kErrorAlreadyInitialized = 5;
inline constexpr Return kErrorNotFound = 6;
inline constexpr Return kErrorInsufficientSize = 7;
inline constexpr Return kErrorInsufficientPower = 8;
inline constexpr Return kErrorDriverNotLoaded = 9;
inline constexpr Return kErrorTimeout = 10;
inline constexpr Return kErrorIrqIssue = 11;
inline constexpr Return kErrorLibraryNotFound = 12;
inline constexpr Return kErrorFunctionNotFound = 13;
inline constexpr Return kErrorCorruptedInforom = 14;
inline constexpr Return kErrorGpuIsLost = 15;
inline constexpr Return kErrorResetRequired = 16;
inline constexpr Return kErrorOperatingSystem = 17;
inline constexpr Return kErrorLibRmVersionMismatch = 18;
inline constexpr Return kErrorInUse = 19;
inline constexpr Return kErrorMemory = 20;
inline constexpr Return kErrorNoData = 21;
inline constexpr Return kErrorUnknown = 999;

// NVML_VALUE_NOT_AVAILABLE: usedGpuMemory when the driver cannot tell (e.g. some containers,
// Windows WDDM, MIG without privileges).
inline constexpr unsigned long long kValueNotAvailable = ~0ULL;
inline constexpr unsigned kInvalidInstanceId = 0xFFFFFFFFu;

// NVML_DEVICE_UUID_V2_BUFFER_SIZE, NVML_DEVICE_NAME_V2_BUFFER_SIZE,
// NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE, NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE.
inline constexpr unsigned kUuidBufferSize = 96;
inline constexpr unsigned kNameBufferSize = 96;
inline constexpr unsigned kDriverVersionBufferSize = 80;
inline constexpr unsigned kNvmlVersionBufferSize = 80;

inline constexpr int kTemperatureGpu = 0;   // NVML_TEMPERATURE_GPU (nvmlTemperatureSensors_t)
inline constexpr unsigned kMigEnabled = 1;  // NVML_DEVICE_MIG_ENABLE (nvmlDeviceGetMigMode)

struct DeviceSt;
using Device = DeviceSt*;  // nvmlDevice_t: opaque

struct Memory {  // nvmlMemory_t (v1)
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

struct Utilization {    // nvmlUtilization_t
  unsigned int gpu;     // percent of time a kernel ran over the last sample period
  unsigned int memory;  // percent of time device memory was read or written
};

struct ProcessInfoV1 {  // nvmlProcessInfo_v1_t
  unsigned int pid;
  unsigned long long usedGpuMemory;
};

struct ProcessInfoV2 {  // nvmlProcessInfo_v2_t == nvmlProcessInfo_t
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

// What R535.43-R535.98 wrote through the `_v3` symbols. Only its size matters: the Hive never
// asks for it, but sizes its buffers so that such a driver cannot write past them.
struct ProcessInfoR535 {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
  unsigned long long usedGpuCcProtectedMemory;
};

struct ProcessUtilizationSample {  // nvmlProcessUtilizationSample_t
  unsigned int pid;
  unsigned long long timeStamp;  // CPU time, microseconds since the epoch
  unsigned int smUtil;           // percent
  unsigned int memUtil;
  unsigned int encUtil;
  unsigned int decUtil;
};

static_assert(sizeof(ProcessInfoV1) == 16);
static_assert(sizeof(ProcessInfoV2) == 24);
static_assert(sizeof(ProcessInfoR535) == 32);
static_assert(offsetof(ProcessInfoV2, usedGpuMemory) == 8);
static_assert(offsetof(ProcessInfoV2, gpuInstanceId) == 16);
static_assert(sizeof(ProcessUtilizationSample) == 32);
static_assert(offsetof(ProcessUtilizationSample, timeStamp) == 8);
static_assert(offsetof(ProcessUtilizationSample, smUtil) == 16);

// Function pointer types. All are C functions returning nvmlReturn_t unless noted.
using InitFn = Return (*)();                    // nvmlInit_v2, nvmlInit
using ShutdownFn = Return (*)();                // nvmlShutdown
using ErrorStringFn = const char* (*)(Return);  // nvmlErrorString
using SystemGetStringFn = Return (*)(char*,
                                     unsigned int);  // nvmlSystemGetDriverVersion, ...NVMLVersion
using DeviceGetCountFn = Return (*)(unsigned int*);  // nvmlDeviceGetCount_v2, nvmlDeviceGetCount
using DeviceGetHandleByIndexFn = Return (*)(unsigned int, Device*);  // ..._v2, v1
using DeviceGetStringFn = Return (*)(Device, char*, unsigned int);   // GetUUID, GetName
using DeviceGetMemoryInfoFn = Return (*)(Device, Memory*);
using DeviceGetUtilizationRatesFn = Return (*)(Device, Utilization*);
using DeviceGetTemperatureFn = Return (*)(Device, int, unsigned int*);
using DeviceGetUintFn = Return (*)(Device,
                                   unsigned int*);  // GetPowerUsage (mW), GetMaxMigDeviceCount
using DeviceGetMigModeFn = Return (*)(Device, unsigned int* current, unsigned int* pending);
using DeviceGetMigDeviceHandleByIndexFn = Return (*)(Device, unsigned int, Device*);
// nvmlDeviceGetProcessUtilization: samples newer than lastSeenTimeStamp (0: all it holds).
using DeviceGetProcessUtilizationFn = Return (*)(Device, ProcessUtilizationSample*,
                                                 unsigned int* count,
                                                 unsigned long long lastSeenTimeStamp);
// nvmlDeviceGet{Compute,Graphics}RunningProcesses{,_v2,_v3}. The buffer's element type depends
// on the version (v1: ProcessInfoV1, v2/v3: ProcessInfoV2), hence void*.
using DeviceGetProcessesFn = Return (*)(Device, unsigned int* count, void* infos);

}  // namespace rbee::hive::nvml
