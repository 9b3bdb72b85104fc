#include "hive/off_loop.h"

#include <boost/asio/post.hpp>

namespace rbee::hive {

OffLoop::OffLoop(boost::asio::io_context& io) : io_(io), self_(std::make_shared<OffLoop*>(this)) {}

OffLoop::~OffLoop() {
  self_.reset();
  pool_.join();
}

void OffLoop::run(std::function<Text()> work, std::function<void(Text)> done) {
  const uint64_t id = next_++;
  pending_.emplace(id, std::move(done));
  boost::asio::post(pool_,
                    [&io = io_, weak = std::weak_ptr<OffLoop*>(self_), id, work = std::move(work)] {
                      auto text = work();
                      boost::asio::post(io, [weak, id, text = std::move(text)]() mutable {
                        auto self = weak.lock();
                        if (!self) return;
                        auto node = (*self)->pending_.extract(id);
                        if (!node.empty()) node.mapped()(std::move(text));
                      });
                    });
}

}  // namespace rbee::hive
