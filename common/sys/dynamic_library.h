#pragma once
// Move-only owner of a dlopen() handle: the only code that calls dlopen, dlsym and dlclose.
// Used to load optional vendor libraries (NVML) at run time, so nothing of theirs is needed to
// build or run.
#include <string>

#include "common/result.h"

namespace rbee::sys {

class DynamicLibrary {
 public:
  DynamicLibrary() = default;
  DynamicLibrary(DynamicLibrary&& o) noexcept;
  DynamicLibrary& operator=(DynamicLibrary&& o) noexcept;
  DynamicLibrary(const DynamicLibrary&) = delete;
  DynamicLibrary& operator=(const DynamicLibrary&) = delete;
  ~DynamicLibrary();

  // dlopen(path, RTLD_NOW | RTLD_LOCAL). A bare name ("libnvidia-ml.so.1") is searched for as
  // the dynamic loader does; the error is dlerror()'s text.
  static Result<DynamicLibrary> open(const std::string& path);

  // The address of an exported symbol, or nullptr when the library does not export it.
  void* symbol(const char* name) const;
  template <class Fn>
  Fn function(const char* name) const {
    return reinterpret_cast<Fn>(symbol(name));
  }

  bool loaded() const { return handle_ != nullptr; }

 private:
  explicit DynamicLibrary(void* handle) : handle_(handle) {}
  void* handle_ = nullptr;
};

}  // namespace rbee::sys
