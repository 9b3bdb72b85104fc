#include "hive/tree_watch.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace rbee::hive {

namespace asio = boost::asio;

TreeWatch::TreeWatch(asio::io_context& io, std::filesystem::path root)
    : io_(io), root_(std::move(root)) {}

Status TreeWatch::start(std::function<void(const WorkerId&)> worker_changed,
                        std::function<void()> woke) {
  auto ino = sys::Inotify::create();
  if (!ino) return ino.error();
  inotify_.emplace(std::move(*ino));
  // asio owns the descriptor it waits on: give it a copy, the Inotify keeps its own.
  auto fd = sys::dup_cloexec(inotify_->fd());
  if (!fd) return make_error("dup inotify fd: " + std::string(std::strerror(errno)));
  ready_ = std::make_unique<asio::posix::stream_descriptor>(io_, fd.release());
  worker_changed_ = std::move(worker_changed);
  woke_ = std::move(woke);
  wait();
  return Ok{};
}

void TreeWatch::wait() {
  ready_->async_wait(
      asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
        if (ec) return;
        bool any = inotify_->read_events([this](const sys::Inotify::Event& e) {
          if (auto w = worker_by_wd_.find(e.wd); w != worker_by_wd_.end()) {
            const WorkerId id = w->second;
            if (e.mask & IN_IGNORED) {  // the cgroup went away and the kernel dropped the watch
              worker_by_wd_.erase(w);
              if (auto l = worker_wds_.find(id); l != worker_wds_.end()) {
                std::erase(l->second, e.wd);
                if (l->second.empty()) worker_wds_.erase(l);
              }
            }
            if (worker_changed_) worker_changed_(id);
            return;
          }
          tree_changed_ = true;
          if (e.mask & IN_IGNORED) {
            if (auto d = dir_by_wd_.find(e.wd); d != dir_by_wd_.end()) {
              if (auto p = dirs_.find(d->second); p != dirs_.end() && p->second == e.wd)
                dirs_.erase(p);
              dir_by_wd_.erase(d);
            }
          }
        });
        if (any && woke_) woke_();
        wait();
      });
}

void TreeWatch::watch_dir(const std::string& rel) {
  if (dirs_.count(rel)) return;
  if (auto wd = inotify_->add_watch((root_ / rel).string(), IN_CREATE | IN_DELETE | IN_ONLYDIR)) {
    dirs_.emplace(rel, *wd);
    dir_by_wd_[*wd] = rel;
  }
}

void TreeWatch::keep_dirs(const std::set<std::string>& present) {
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    inotify_->remove_watch(it->second);
    dir_by_wd_.erase(it->second);
    it = dirs_.erase(it);
  }
}

void TreeWatch::watch_worker(const WorkerId& id, const std::string& rel) {
  unwatch_worker(id);
  auto& wds = worker_wds_[id];
  for (const char* file : {"cgroup.events", "memory.events"}) {
    if (auto wd = inotify_->add_watch((root_ / rel / file).string(), IN_MODIFY)) {
      wds.push_back(*wd);
      worker_by_wd_[*wd] = id;
    }
  }
}

void TreeWatch::unwatch_worker(const WorkerId& id) {
  auto it = worker_wds_.find(id);
  if (it == worker_wds_.end()) return;
  for (int wd : it->second) {
    inotify_->remove_watch(wd);
    worker_by_wd_.erase(wd);
  }
  worker_wds_.erase(it);
}

bool TreeWatch::take_tree_changed() {
  return std::exchange(tree_changed_, false);
}

}  // namespace rbee::hive
