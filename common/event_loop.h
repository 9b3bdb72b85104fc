#pragma once
// Each daemon's one event loop. A handler or timer that throws is a bug, but not one that should
// end the daemon (and with it every Queen's view of the node): it is logged and the loop goes on.
#include <boost/asio/io_context.hpp>

namespace rbee {

// Runs io until it stops or runs out of work; returns how many handlers threw on the way.
std::size_t run_event_loop(boost::asio::io_context& io);

}  // namespace rbee
