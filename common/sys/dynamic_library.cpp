#include "common/sys/dynamic_library.h"

#include <dlfcn.h>

#include <utility>

namespace rbee::sys {

DynamicLibrary::DynamicLibrary(DynamicLibrary&& o) noexcept
    : handle_(std::exchange(o.handle_, nullptr)) {}

DynamicLibrary& DynamicLibrary::operator=(DynamicLibrary&& o) noexcept {
  if (this != &o) {
    if (handle_) ::dlclose(handle_);
    handle_ = std::exchange(o.handle_, nullptr);
  }
  return *this;
}

DynamicLibrary::~DynamicLibrary() {
  if (handle_) ::dlclose(handle_);
}

Result<DynamicLibrary> DynamicLibrary::open(const std::string& path) {
  ::dlerror();  // clear a stale message
  void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = ::dlerror();
    return make_error(e ? std::string(e) : "dlopen " + path + " failed");
  }
  return DynamicLibrary(h);
}

void* DynamicLibrary::symbol(const char* name) const {
  if (!handle_) return nullptr;
  return ::dlsym(handle_, name);
}

}  // namespace rbee::sys
