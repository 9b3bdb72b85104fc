#pragma once
// inotify: births and deaths in the cgroup tree without waiting for the next tick.
#include <sys/inotify.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/sys/unique_fd.h"

namespace rbee::sys {

class Inotify {
 public:
  static Result<Inotify> create();  // non-blocking, close-on-exec

  int fd() const { return fd_.get(); }
  Result<int> add_watch(const std::string& path, uint32_t mask);
  void remove_watch(int wd);

  struct Event {
    int wd;
    uint32_t mask;
    std::string_view name;
  };
  // Drains what is queued now; returns false when the fd has nothing (EAGAIN).
  bool read_events(const std::function<void(const Event&)>& on_event);

 private:
  explicit Inotify(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace rbee::sys
