#pragma once
// inotify over the worker tree: the directories under rbee.slice for workers born and gone, and
// each worker's cgroup.events and memory.events for what changed inside it.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/sys/inotify.h"
#include "hive/layout.h"

namespace rbee::hive {

class TreeWatch {
 public:
  TreeWatch(boost::asio::io_context& io, std::filesystem::path root);

  // worker_changed: a watched file of that worker changed; woke: after any batch of events.
  Status start(std::function<void(const WorkerId&)> worker_changed, std::function<void()> woke);

  // A directory under the root (relative path), watched for subdirectories made and removed.
  void watch_dir(const std::string& rel);
  // Drops the watches of directories not in `present`: one made again under the same name is a
  // new directory, to be watched afresh. The kernel drops a removed directory's watch only once
  // nothing holds the directory, so the walk that saw it gone says so.
  void keep_dirs(const std::set<std::string>& present);
  // The worker's cgroup (relative path): its event files are watched until unwatch_worker.
  void watch_worker(const WorkerId& id, const std::string& rel);
  void unwatch_worker(const WorkerId& id);
  // A directory changed since the last call: the tree needs a walk.
  bool take_tree_changed();
  // Something the Hive did itself (a cgroup removed) changed the tree: walk it next time.
  void mark_tree_changed() { tree_changed_ = true; }

 private:
  void wait();

  boost::asio::io_context& io_;
  std::filesystem::path root_;
  std::optional<sys::Inotify> inotify_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> ready_;
  std::map<std::string, int> dirs_;                  // relative path -> watch descriptor
  std::unordered_map<int, std::string> dir_by_wd_;   // and back
  std::map<WorkerId, std::vector<int>> worker_wds_;  // a worker's file watches
  std::unordered_map<int, WorkerId> worker_by_wd_;   // and back
  std::function<void(const WorkerId&)> worker_changed_;
  std::function<void()> woke_;
  bool tree_changed_ = true;
};

}  // namespace rbee::hive
