#include "common/sys/inotify.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

namespace rbee::sys {

Result<Inotify> Inotify::create() {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return make_error(std::string("inotify_init1: ") + strerror(errno));
  return Inotify(UniqueFd(fd));
}

Result<int> Inotify::add_watch(const std::string& path, uint32_t mask) {
  int wd = ::inotify_add_watch(fd_.get(), path.c_str(), mask);
  if (wd < 0) return make_error("inotify watch " + path + ": " + strerror(errno));
  return wd;
}

void Inotify::remove_watch(int wd) {
  ::inotify_rm_watch(fd_.get(), wd);
}

bool Inotify::read_events(const std::function<void(const Event&)>& on_event) {
  alignas(struct inotify_event) char buf[16 * 1024];
  bool any = false;
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n <= 0) return any;
    any = true;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      std::string_view name = ev->len ? std::string_view(ev->name) : std::string_view{};
      on_event(Event{ev->wd, ev->mask, name});
      p += sizeof(struct inotify_event) + ev->len;
    }
  }
}

}  // namespace rbee::sys
