// A stand-in for libnvidia-ml.so.1, for tests on machines without an NVIDIA GPU. It exports the
// NVML C functions the Hive resolves and answers from a fixture file named by the environment
// variable RBEE_FAKE_NVML_FIXTURE, re-read on every call, so a test can change it while the Hive
// runs. Only the stand-in is fake: the Hive's loading, fallback, stride check and attribution are
// the real code. Line format (# starts a comment):
//
//   gpus 2                         how many devices nvmlDeviceGetCount reports
//   gpu 0 uuid=GPU-a name=Fake total=BYTES used=BYTES util=PCT temp=C power=MILLIWATTS
//         putil=1 mig=0                util, temp: na = NVML_ERROR_NOT_SUPPORTED; power: absent
//                                      or na = NOT_SUPPORTED; putil=na: per-process utilisation
//                                      NOT_SUPPORTED; mig=0|1 MIG mode off|on (absent:
//                                      nvmlDeviceGetMigMode answers NOT_SUPPORTED, a pre-MIG GPU)
//   proc 0 pid=1234 used=BYTES [kind=compute|graphics] [mig=J]
//                                  used=na: NVML_VALUE_NOT_AVAILABLE; mig=J: listed on MIG
//                                  device J of GPU 0 (with MIG on, the GPU's own lists answer
//                                  NVML_ERROR_NO_PERMISSION, as for an unprivileged caller)
//   mig 0 2                        GPU 0 has a MIG device in slot 2 (of 7)
//   usample 0 pid=1234 ts=USEC sm=PCT   a process utilisation sample on GPU 0; returned when
//                                  newer than the caller's lastSeenTimeStamp, every call
//   putil_ignore_last_seen 1       return every sample whatever lastSeenTimeStamp says
//   symbols v1 v2 v3               process-list versions that work; the others answer
//                                  NVML_ERROR_FUNCTION_NOT_FOUND (default: all three)
//   bad_stride 1                   the _v3 functions write 32-byte entries, as R535.43-R535.98 did
//   sleep_ms 5000                  nvmlDeviceGetCount sleeps this long (a slow or hung driver)
//   init_error 9                   nvmlInit returns this code (9 = NVML_ERROR_DRIVER_NOT_LOADED)
//   driver 535.54.03               what nvmlSystemGetDriverVersion reports
//   log /path                      append one line per call ("init", "shutdown", "compute_v3",
//                                  "putil_since=USEC", ...)
//
// Built twice: rbee-fake-nvml exports every symbol; rbee-fake-nvml-legacy (FAKE_NVML_LEGACY)
// exports only the unversioned ones, like a driver from before the _v2 functions.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using Return = int;
constexpr Return kSuccess = 0;
constexpr Return kUninitialized = 1;
constexpr Return kInvalidArgument = 2;
constexpr Return kNotSupported = 3;
constexpr Return kNoPermission = 4;
constexpr Return kNotFound = 6;
constexpr Return kInsufficientSize = 7;
constexpr Return kFunctionNotFound = 13;

struct FakeGpu {
  std::string uuid = "GPU-00000000-0000-0000-0000-000000000000";
  std::string name = "Fake GPU";
  unsigned long long total = 16ull << 30, used = 0;
  int util = 0, temp = 40;  // -1: NOT_SUPPORTED
  long long power_mw = -1;  // -1: NOT_SUPPORTED
  bool putil = true;
  int mig = -1;  // -1: NOT_SUPPORTED, 0 off, 1 on
};

constexpr unsigned kMigSlots = 7;

struct FakeProc {
  unsigned pid = 0;
  unsigned long long used = 0;
  bool graphics = false;
  int mig = -1;  // on this MIG device of the GPU; -1: on the GPU itself
};

// nvmlProcessUtilizationSample_t
struct FakeUtilSample {
  unsigned pid;
  unsigned long long timeStamp;
  unsigned smUtil, memUtil, encUtil, decUtil;
};
static_assert(sizeof(FakeUtilSample) == 32);

struct Fixture {
  unsigned count = 0;
  std::map<unsigned, FakeGpu> gpus;
  std::map<unsigned, std::vector<FakeProc>> procs;
  std::map<unsigned, std::set<unsigned>> migs;
  std::map<unsigned, std::vector<FakeUtilSample>> samples;
  bool putil_ignore_last_seen = false;
  std::set<std::string> symbols = {"v1", "v2", "v3"};
  bool bad_stride = false;
  unsigned sleep_ms = 0;
  int init_error = 0;
  std::string driver = "550.54.15";
  std::string log;
};

std::mutex g_mutex;
int g_init_count = 0;
// Device handles: pointers into these arrays, as opaque to the caller as NVML's. MIG device J of
// GPU I is g_mig_devices[I * kMigSlots + J].
char g_devices[64];
char g_mig_devices[64 * kMigSlots];

int na_or_int(const std::string& v) {
  return v == "na" ? -1 : static_cast<int>(std::stoul(v));
}

unsigned long long parse_bytes(const std::string& v) {
  if (v == "na") return ~0ULL;
  return std::strtoull(v.c_str(), nullptr, 10);
}

Fixture load() {
  Fixture f;
  const char* path = std::getenv("RBEE_FAKE_NVML_FIXTURE");
  if (!path) return f;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream ls(line);
    std::string word;
    if (!(ls >> word)) continue;
    if (word == "gpus") {
      ls >> f.count;
    } else if (word == "symbols") {
      f.symbols.clear();
      for (std::string s; ls >> s;) f.symbols.insert(s);
    } else if (word == "bad_stride") {
      int b = 0;
      ls >> b;
      f.bad_stride = b != 0;
    } else if (word == "sleep_ms") {
      ls >> f.sleep_ms;
    } else if (word == "init_error") {
      ls >> f.init_error;
    } else if (word == "driver") {
      ls >> f.driver;
    } else if (word == "log") {
      ls >> f.log;
    } else if (word == "putil_ignore_last_seen") {
      int b = 0;
      ls >> b;
      f.putil_ignore_last_seen = b != 0;
    } else if (word == "mig") {
      unsigned gpu = 0, slot = 0;
      if (ls >> gpu >> slot && slot < kMigSlots) f.migs[gpu].insert(slot);
    } else if (word == "usample") {
      unsigned gpu = 0;
      ls >> gpu;
      FakeUtilSample u{};
      for (std::string kv; ls >> kv;) {
        auto eq = kv.find('=');
        if (eq == std::string::npos) continue;
        const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
        if (k == "pid")
          u.pid = static_cast<unsigned>(std::stoul(v));
        else if (k == "ts")
          u.timeStamp = std::stoull(v);
        else if (k == "sm")
          u.smUtil = static_cast<unsigned>(std::stoul(v));
      }
      f.samples[gpu].push_back(u);
    } else if (word == "gpu" || word == "proc") {
      unsigned index = 0;
      ls >> index;
      FakeGpu& g = f.gpus[index];
      FakeProc p;
      for (std::string kv; ls >> kv;) {
        auto eq = kv.find('=');
        if (eq == std::string::npos) continue;
        const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
        if (word == "gpu") {
          if (k == "uuid")
            g.uuid = v;
          else if (k == "name")
            g.name = v;
          else if (k == "total")
            g.total = parse_bytes(v);
          else if (k == "used")
            g.used = parse_bytes(v);
          else if (k == "util")
            g.util = na_or_int(v);
          else if (k == "temp")
            g.temp = na_or_int(v);
          else if (k == "power")
            g.power_mw = v == "na" ? -1 : std::stoll(v);
          else if (k == "putil")
            g.putil = v != "na" && v != "0";
          else if (k == "mig")
            g.mig = na_or_int(v);
        } else {
          if (k == "pid")
            p.pid = static_cast<unsigned>(std::stoul(v));
          else if (k == "used")
            p.used = parse_bytes(v);
          else if (k == "kind")
            p.graphics = v == "graphics";
          else if (k == "mig")
            p.mig = static_cast<int>(std::stoul(v));
        }
      }
      if (word == "proc") f.procs[index].push_back(p);
    }
  }
  return f;
}

void log_call(const Fixture& f, const std::string& what) {
  if (f.log.empty()) return;
  std::ofstream(f.log, std::ios::app) << what << "\n";
}

int device_index(void* d) {
  auto* p = static_cast<char*>(d);
  if (p < g_devices || p >= g_devices + sizeof g_devices) return -1;
  return static_cast<int>(p - g_devices);
}

// {GPU, MIG slot} of a MIG device handle; {-1, -1} for anything else.
std::pair<int, int> mig_device(void* d) {
  auto* p = static_cast<char*>(d);
  if (p < g_mig_devices || p >= g_mig_devices + sizeof g_mig_devices) return {-1, -1};
  const auto at = static_cast<int>(p - g_mig_devices);
  return {at / static_cast<int>(kMigSlots), at % static_cast<int>(kMigSlots)};
}

Return copy_string(const std::string& s, char* buf, unsigned len) {
  if (!buf) return kInvalidArgument;
  if (s.size() + 1 > len) return kInsufficientSize;
  std::memcpy(buf, s.c_str(), s.size() + 1);
  return kSuccess;
}

// version: 1 (16-byte entries), 2 or 3 (24 bytes; 32 with bad_stride on v3).
Return processes(void* device, unsigned* count, void* infos, bool graphics, int version) {
  std::lock_guard lk(g_mutex);
  const Fixture f = load();
  const std::string name =
      std::string(graphics ? "graphics" : "compute") + "_v" + std::to_string(version);
  log_call(f, name);
  if (!f.symbols.count("v" + std::to_string(version))) return kFunctionNotFound;
  if (g_init_count == 0) return kUninitialized;
  int index = device_index(device);
  int mig = -1;
  if (index < 0) {
    std::tie(index, mig) = mig_device(device);
    if (index >= 0 && !f.migs.count(static_cast<unsigned>(index))) return kInvalidArgument;
  }
  if (index < 0 || static_cast<unsigned>(index) >= f.count || !count) return kInvalidArgument;
  if (mig < 0 && f.gpus.count(static_cast<unsigned>(index)) &&
      f.gpus.at(static_cast<unsigned>(index)).mig == 1)
    return kNoPermission;
  std::vector<FakeProc> list;
  if (auto it = f.procs.find(static_cast<unsigned>(index)); it != f.procs.end()) {
    for (const auto& p : it->second)
      if (p.graphics == graphics && p.mig == mig) list.push_back(p);
  }
  if (*count < list.size()) {
    *count = static_cast<unsigned>(list.size());
    return kInsufficientSize;
  }
  *count = static_cast<unsigned>(list.size());
  if (list.empty()) return kSuccess;
  if (!infos) return kInvalidArgument;
  const std::size_t stride = version == 1 ? 16 : (version == 3 && f.bad_stride ? 32 : 24);
  auto* out = static_cast<unsigned char*>(infos);
  for (std::size_t i = 0; i < list.size(); ++i) {
    unsigned char* e = out + i * stride;
    std::memset(e, 0, stride);
    std::memcpy(e, &list[i].pid, 4);
    std::memcpy(e + 8, &list[i].used, 8);
    if (stride >= 24) {
      const unsigned invalid = 0xFFFFFFFFu;
      std::memcpy(e + 16, &invalid, 4);
      std::memcpy(e + 20, &invalid, 4);
    }
    // stride 32: usedGpuCcProtectedMemory at 24 stays 0, as on a host without confidential
    // computing
  }
  return kSuccess;
}

Return get_count(unsigned* count) {
  Fixture f;
  {
    std::lock_guard lk(g_mutex);
    f = load();
    log_call(f, "count");
    if (g_init_count == 0) return kUninitialized;
  }
  if (f.sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(f.sleep_ms));
  if (!count) return kInvalidArgument;
  *count = f.count;
  return kSuccess;
}

Return get_handle(unsigned index, void** device) {
  std::lock_guard lk(g_mutex);
  const Fixture f = load();
  if (g_init_count == 0) return kUninitialized;
  if (!device) return kInvalidArgument;
  if (index >= f.count || index >= sizeof g_devices) return kNotFound;
  *device = g_devices + index;
  return kSuccess;
}

Return init() {
  std::lock_guard lk(g_mutex);
  const Fixture f = load();
  log_call(f, "init");
  if (f.init_error) return f.init_error;
  ++g_init_count;
  return kSuccess;
}

}  // namespace

extern "C" {

#define FAKE_EXPORT __attribute__((visibility("default")))

FAKE_EXPORT Return nvmlInit() {
  return init();
}
FAKE_EXPORT Return nvmlShutdown() {
  std::lock_guard lk(g_mutex);
  log_call(load(), "shutdown");
  if (g_init_count == 0) return kUninitialized;
  --g_init_count;
  return kSuccess;
}
FAKE_EXPORT const char* nvmlErrorString(Return r) {
  switch (r) {
    case 0:
      return "Success";
    case 1:
      return "Uninitialized";
    case 2:
      return "Invalid Argument";
    case 7:
      return "Insufficient Size";
    case 9:
      return "Driver Not Loaded";
    case 13:
      return "Function Not Found";
    default:
      return "Unknown Error";
  }
}
FAKE_EXPORT Return nvmlSystemGetDriverVersion(char* buf, unsigned len) {
  std::lock_guard lk(g_mutex);
  return copy_string(load().driver, buf, len);
}
FAKE_EXPORT Return nvmlSystemGetNVMLVersion(char* buf, unsigned len) {
  return copy_string("12.fake", buf, len);
}
FAKE_EXPORT Return nvmlDeviceGetCount(unsigned* count) {
  return get_count(count);
}
FAKE_EXPORT Return nvmlDeviceGetHandleByIndex(unsigned i, void** d) {
  return get_handle(i, d);
}
FAKE_EXPORT Return nvmlDeviceGetUUID(void* d, char* buf, unsigned len) {
  std::lock_guard lk(g_mutex);
  const int i = device_index(d);
  if (i < 0) return kInvalidArgument;
  return copy_string(load().gpus[static_cast<unsigned>(i)].uuid, buf, len);
}
FAKE_EXPORT Return nvmlDeviceGetName(void* d, char* buf, unsigned len) {
  std::lock_guard lk(g_mutex);
  const int i = device_index(d);
  if (i < 0) return kInvalidArgument;
  return copy_string(load().gpus[static_cast<unsigned>(i)].name, buf, len);
}
FAKE_EXPORT Return nvmlDeviceGetMemoryInfo(void* d, unsigned long long* mem) {
  std::lock_guard lk(g_mutex);
  const int i = device_index(d);
  if (i < 0 || !mem) return kInvalidArgument;
  const auto g = load().gpus[static_cast<unsigned>(i)];
  mem[0] = g.total;
  mem[1] = g.total - g.used;
  mem[2] = g.used;
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetUtilizationRates(void* d, unsigned* util) {
  std::lock_guard lk(g_mutex);
  const int i = device_index(d);
  if (i < 0 || !util) return kInvalidArgument;
  const auto g = load().gpus[static_cast<unsigned>(i)];
  if (g.util < 0 || g.mig == 1) return kNotSupported;
  util[0] = static_cast<unsigned>(g.util);
  util[1] = 0;
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetTemperature(void* d, int sensor, unsigned* temp) {
  std::lock_guard lk(g_mutex);
  const int i = device_index(d);
  if (i < 0 || sensor != 0 || !temp) return kInvalidArgument;
  const auto g = load().gpus[static_cast<unsigned>(i)];
  if (g.temp < 0) return kNotSupported;
  *temp = static_cast<unsigned>(g.temp);
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetPowerUsage(void* d, unsigned* mw) {
  std::lock_guard lk(g_mutex);
  const int i = device_index(d);
  if (i < 0 || !mw) return kInvalidArgument;
  const auto g = load().gpus[static_cast<unsigned>(i)];
  if (g.power_mw < 0) return kNotSupported;
  *mw = static_cast<unsigned>(g.power_mw);
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetMigMode(void* d, unsigned* current, unsigned* pending) {
  std::lock_guard lk(g_mutex);
  const int i = device_index(d);
  if (i < 0 || !current || !pending) return kInvalidArgument;
  const auto g = load().gpus[static_cast<unsigned>(i)];
  if (g.mig < 0) return kNotSupported;
  *current = *pending = static_cast<unsigned>(g.mig);
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetMaxMigDeviceCount(void* d, unsigned* count) {
  std::lock_guard lk(g_mutex);
  const int i = device_index(d);
  if (i < 0 || !count) return kInvalidArgument;
  if (load().gpus[static_cast<unsigned>(i)].mig < 0) return kNotSupported;
  *count = kMigSlots;
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetMigDeviceHandleByIndex(void* d, unsigned j, void** mig) {
  std::lock_guard lk(g_mutex);
  const Fixture f = load();
  const int i = device_index(d);
  if (i < 0 || !mig || j >= kMigSlots) return kInvalidArgument;
  const auto gpu = static_cast<unsigned>(i);
  if (f.gpus.count(gpu) && f.gpus.at(gpu).mig != 1) return kInvalidArgument;
  auto it = f.migs.find(gpu);
  if (it == f.migs.end() || !it->second.count(j)) return kNotFound;
  *mig = g_mig_devices + gpu * kMigSlots + j;
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetProcessUtilization(void* d, FakeUtilSample* out, unsigned* count,
                                                   unsigned long long last_seen) {
  std::lock_guard lk(g_mutex);
  const Fixture f = load();
  log_call(f, "putil_since=" + std::to_string(last_seen));
  if (g_init_count == 0) return kUninitialized;
  const int i = device_index(d);
  if (i < 0 || !count) return kInvalidArgument;
  const auto gpu = static_cast<unsigned>(i);
  if (f.gpus.count(gpu) && (!f.gpus.at(gpu).putil || f.gpus.at(gpu).mig == 1)) return kNotSupported;
  std::vector<FakeUtilSample> list;
  if (auto it = f.samples.find(gpu); it != f.samples.end()) {
    for (const auto& u : it->second)
      if (f.putil_ignore_last_seen || u.timeStamp > last_seen) list.push_back(u);
  }
  if (list.empty()) return kNotFound;  // what the driver answers when it has no newer sample
  if (!out || *count < list.size()) {
    *count = static_cast<unsigned>(list.size());
    return kInsufficientSize;
  }
  *count = static_cast<unsigned>(list.size());
  std::memcpy(out, list.data(), list.size() * sizeof(FakeUtilSample));
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetComputeRunningProcesses(void* d, unsigned* n, void* infos) {
  return processes(d, n, infos, false, 1);
}
FAKE_EXPORT Return nvmlDeviceGetGraphicsRunningProcesses(void* d, unsigned* n, void* infos) {
  return processes(d, n, infos, true, 1);
}

#ifndef FAKE_NVML_LEGACY
FAKE_EXPORT Return nvmlInit_v2() {
  return init();
}
FAKE_EXPORT Return nvmlDeviceGetCount_v2(unsigned* count) {
  return get_count(count);
}
FAKE_EXPORT Return nvmlDeviceGetHandleByIndex_v2(unsigned i, void** d) {
  return get_handle(i, d);
}
FAKE_EXPORT Return nvmlDeviceGetComputeRunningProcesses_v2(void* d, unsigned* n, void* infos) {
  return processes(d, n, infos, false, 2);
}
FAKE_EXPORT Return nvmlDeviceGetGraphicsRunningProcesses_v2(void* d, unsigned* n, void* infos) {
  return processes(d, n, infos, true, 2);
}
FAKE_EXPORT Return nvmlDeviceGetComputeRunningProcesses_v3(void* d, unsigned* n, void* infos) {
  return processes(d, n, infos, false, 3);
}
FAKE_EXPORT Return nvmlDeviceGetGraphicsRunningProcesses_v3(void* d, unsigned* n, void* infos) {
  return processes(d, n, infos, true, 3);
}
#endif

}  // extern "C"
