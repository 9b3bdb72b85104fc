#include "common/sys/tcp.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

namespace rbee::sys {

UniqueFd open_stream_socket(int family, int protocol, int* err) {
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol));
  if (!fd) *err = errno;
  return fd;
}

UniqueFd accept_stream(int listen_fd, int* err) {
  UniqueFd fd(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (!fd) *err = errno;
  return fd;
}

bool is_transient_accept_error(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == ECONNABORTED || err == EINTR;
}

bool can_bind_tcp_port(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace rbee::sys
