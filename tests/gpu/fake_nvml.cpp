// A stand-in for libnvidia-ml.so.1, for tests on machines without an NVIDIA GPU. It exports the
// NVML C functions the Hive resolves and answers from a fixture file named by the environment
// variable RBEE_FAKE_NVML_FIXTURE, re-read on every call, so a test can change it while the Hive
// runs. Only the stand-in is fake: the Hive's loading, fallback, stride check and attribution are
// the real code. Line format (# starts a comment):
//
//   gpus 2                         how many devices nvmlDeviceGetCount reports
//   gpu 0 uuid=GPU-a name=Fake total=BYTES used=BYTES util=PCT temp=C
//   proc 0 pid=1234 used=BYTES [kind=compute|graphics]   used=na: NVML_VALUE_NOT_AVAILABLE
//   symbols v1 v2 v3               process-list versions that work; the others answer
//                                  NVML_ERROR_FUNCTION_NOT_FOUND (default: all three)
//   bad_stride 1                   the _v3 functions write 32-byte entries, as R535.43-R535.98 did
//   sleep_ms 5000                  nvmlDeviceGetCount sleeps this long (a slow or hung driver)
//   init_error 9                   nvmlInit returns this code (9 = NVML_ERROR_DRIVER_NOT_LOADED)
//   driver 535.54.03               what nvmlSystemGetDriverVersion reports
//   log /path                      append one line per call ("init", "shutdown", "compute_v3", ...)
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
#include <vector>

namespace {

using Return = int;
constexpr Return kSuccess = 0;
constexpr Return kUninitialized = 1;
constexpr Return kInvalidArgument = 2;
constexpr Return kNotFound = 6;
constexpr Return kInsufficientSize = 7;
constexpr Return kFunctionNotFound = 13;

struct FakeGpu {
  std::string uuid = "GPU-00000000-0000-0000-0000-000000000000";
  std::string name = "Fake GPU";
  unsigned long long total = 16ull << 30, used = 0;
  unsigned util = 0, temp = 40;
};

struct FakeProc {
  unsigned pid = 0;
  unsigned long long used = 0;
  bool graphics = false;
};

struct Fixture {
  unsigned count = 0;
  std::map<unsigned, FakeGpu> gpus;
  std::map<unsigned, std::vector<FakeProc>> procs;
  std::set<std::string> symbols = {"v1", "v2", "v3"};
  bool bad_stride = false;
  unsigned sleep_ms = 0;
  int init_error = 0;
  std::string driver = "550.54.15";
  std::string log;
};

std::mutex g_mutex;
int g_init_count = 0;
// Device handles: pointers into this array, as opaque to the caller as NVML's.
char g_devices[64];

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
            g.util = static_cast<unsigned>(std::stoul(v));
          else if (k == "temp")
            g.temp = static_cast<unsigned>(std::stoul(v));
        } else {
          if (k == "pid")
            p.pid = static_cast<unsigned>(std::stoul(v));
          else if (k == "used")
            p.used = parse_bytes(v);
          else if (k == "kind")
            p.graphics = v == "graphics";
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
  const int index = device_index(device);
  if (index < 0 || static_cast<unsigned>(index) >= f.count || !count) return kInvalidArgument;
  std::vector<FakeProc> list;
  if (auto it = f.procs.find(static_cast<unsigned>(index)); it != f.procs.end()) {
    for (const auto& p : it->second)
      if (p.graphics == graphics) list.push_back(p);
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
  util[0] = load().gpus[static_cast<unsigned>(i)].util;
  util[1] = 0;
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetTemperature(void* d, int sensor, unsigned* temp) {
  std::lock_guard lk(g_mutex);
  const int i = device_index(d);
  if (i < 0 || sensor != 0 || !temp) return kInvalidArgument;
  *temp = load().gpus[static_cast<unsigned>(i)].temp;
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
