#pragma once
// Blocking reads (the journal) on one thread of their own, so the loop never waits for them. The
// work runs there; its result comes back to the loop, where `done` runs. `done` (which holds an
// HTTP reply) never leaves the loop thread, and is dropped unrun if this object goes first.
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace rbee::hive {

class OffLoop {
 public:
  using Text = std::optional<std::string>;
  explicit OffLoop(boost::asio::io_context& io);
  ~OffLoop();  // waits for the read in progress, if any
  OffLoop(const OffLoop&) = delete;
  OffLoop& operator=(const OffLoop&) = delete;

  // Called on the loop. `work` must touch nothing the loop owns.
  void run(std::function<Text()> work, std::function<void(Text)> done);
  std::size_t pending() const { return pending_.size(); }

 private:
  boost::asio::io_context& io_;
  boost::asio::thread_pool pool_{1};
  std::shared_ptr<OffLoop*> self_;  // the loop's handlers hold it weakly
  uint64_t next_ = 0;
  std::map<uint64_t, std::function<void(Text)>> pending_;
};

}  // namespace rbee::hive
