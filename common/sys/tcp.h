#pragma once
// TCP sockets born close-on-exec and non-blocking: Asio opens and accepts without SOCK_CLOEXEC,
// and a worker spawned in between would inherit the fd. The Asio socket adopts the fd after.
#include <cstdint>

#include "common/result.h"
#include "common/sys/unique_fd.h"

namespace rbee::sys {

// socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol). On failure *err gets
// the errno.
UniqueFd open_stream_socket(int family, int protocol, int* err);
// accept4(listen_fd, SOCK_CLOEXEC | SOCK_NONBLOCK). On failure *err gets the errno; EAGAIN,
// ECONNABORTED and EINTR are the caller's to retry (see is_transient_accept_error).
UniqueFd accept_stream(int listen_fd, int* err);
// A connection that went before it was taken, or a spurious wake-up: wait for the next one.
bool is_transient_accept_error(int err);

// True when a TCP socket can bind 0.0.0.0:port right now (nothing else listens there).
bool can_bind_tcp_port(uint16_t port);

}  // namespace rbee::sys
