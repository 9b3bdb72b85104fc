#include "common/sys/sock_diag.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

#include "common/sys/file.h"
#include "common/sys/unique_fd.h"

namespace rbee::sys {
namespace {

// Bounds: a dump that does not finish within these is an error, never a hang. The kernel writes
// each part of a reply while the request is sent or the previous part received, so a receive
// finds it waiting; the timeout only bounds the loop's wait should it ever not.
constexpr int kMaxReceives = 4096;
constexpr int kReceiveTimeoutMs = 50;
constexpr std::size_t kBufferSize = 32 * 1024;

struct DiagRequest {
  nlmsghdr nlh;
  inet_diag_req_v2 req;
};

DiagRequest tcp_request(uint8_t family, uint16_t flags, uint32_t seq, uint32_t states) {
  DiagRequest msg;
  std::memset(&msg, 0, sizeof msg);
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = flags;
  msg.nlh.nlmsg_seq = seq;
  msg.req.sdiag_family = family;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = states;
  return msg;
}

Status send_to_kernel(int fd, const DiagRequest& msg, const char* what) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = ::sendto(fd, &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return errno_error("sock_diag send", what, errno);
  return Ok{};
}

Status dump_family(int fd, uint8_t family, uint32_t seq, std::vector<ListeningSocket>& out) {
  const char* fam = family == AF_INET ? "AF_INET" : "AF_INET6";
  auto msg = tcp_request(family, NLM_F_REQUEST | NLM_F_DUMP, seq, 1u << TCP_LISTEN);
  if (auto st = send_to_kernel(fd, msg, fam); !st) return st;

  alignas(nlmsghdr) static thread_local char buf[kBufferSize];
  for (int round = 0; round < kMaxReceives; ++round) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("sock_diag recv", fam, errno);
    }
    if (n == 0) return make_error(std::string("sock_diag recv ") + fam + ": unexpected end");
    auto len = static_cast<unsigned int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;  // a stale reply of an earlier request
      if (h->nlmsg_type == NLMSG_DONE) return Ok{};
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
          return make_error(std::string("sock_diag ") + fam + ": truncated error reply");
        }
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) continue;  // an ack
        return errno_error("sock_diag dump", fam, -e->error);
      }
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) continue;
      const auto* d = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
      ListeningSocket s;
      s.port = ntohs(d->id.idiag_sport);
      s.inode = d->idiag_inode;
      s.family = d->idiag_family;
      auto attr_len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(*d)));
      for (auto* a = reinterpret_cast<rtattr*>(const_cast<inet_diag_msg*>(d) + 1);
           RTA_OK(a, attr_len); a = RTA_NEXT(a, attr_len)) {
        if (a->rta_type == INET_DIAG_CGROUP_ID && RTA_PAYLOAD(a) >= sizeof(uint64_t)) {
          std::memcpy(&s.cgroup_id, RTA_DATA(a), sizeof(uint64_t));
        }
      }
      out.push_back(s);
    }
  }
  return make_error(std::string("sock_diag ") + fam + ": dump did not finish");
}

Result<UniqueFd> open_diag_socket() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd) return errno_error("socket", "NETLINK_SOCK_DIAG", errno);
  timeval tv{.tv_sec = kReceiveTimeoutMs / 1000, .tv_usec = (kReceiveTimeoutMs % 1000) * 1000};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
    return errno_error("setsockopt", "SO_RCVTIMEO", errno);
  }
  return fd;
}

// Copies an AF_INET/AF_INET6 address and port into sock_diag's (network byte order) fields.
bool put_endpoint(const sockaddr* sa, int family, __be16& port, __be32 (&addr)[4]) {
  if (sa == nullptr || sa->sa_family != family) return false;
  if (family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    port = in->sin_port;
    addr[0] = in->sin_addr.s_addr;
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    port = in6->sin6_port;
    std::memcpy(addr, &in6->sin6_addr, sizeof in6->sin6_addr);
  }
  return true;
}

}  // namespace

Result<uid_t> tcp_socket_uid(const sockaddr* local, const sockaddr* remote) {
  if (local == nullptr || (local->sa_family != AF_INET && local->sa_family != AF_INET6))
    return make_error("sock_diag lookup: not an IPv4 or IPv6 address");
  const int family = local->sa_family;
  auto msg = tcp_request(static_cast<uint8_t>(family), NLM_F_REQUEST, 1, ~0u);
  msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  if (!put_endpoint(local, family, msg.req.id.idiag_sport, msg.req.id.idiag_src) ||
      !put_endpoint(remote, family, msg.req.id.idiag_dport, msg.req.id.idiag_dst))
    return make_error("sock_diag lookup: the two addresses are of different families");

  auto fd = open_diag_socket();
  if (!fd) return fd.error();
  if (auto st = send_to_kernel(fd->get(), msg, "lookup"); !st) return st.error();
  alignas(nlmsghdr) char buf[4096];
  ssize_t n;
  do {
    n = ::recv(fd->get(), buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("sock_diag recv", "lookup", errno);
  auto len = static_cast<unsigned int>(n);
  for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
    if (h->nlmsg_type == NLMSG_ERROR) {
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr)))
        return make_error("sock_diag lookup: truncated error reply");
      const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
      if (e->error == 0) continue;
      if (e->error == -ENOENT) return make_error("no such TCP socket on this host");
      return errno_error("sock_diag", "lookup", -e->error);
    }
    if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) continue;
    const auto* d = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
    return static_cast<uid_t>(d->idiag_uid);
  }
  return make_error("sock_diag lookup: no answer");
}

Result<std::vector<ListeningSocket>> list_tcp_listeners() {
  auto fd = open_diag_socket();
  if (!fd) return fd.error();
  std::vector<ListeningSocket> out;
  if (auto st = dump_family(fd->get(), AF_INET, 1, out); !st) return st.error();
  if (auto st = dump_family(fd->get(), AF_INET6, 2, out); !st) return st.error();
  return out;
}

Result<uint64_t> cgroup_id_of(const std::string& cgroup_dir_path) {
  struct stat st {};
  if (::stat(cgroup_dir_path.c_str(), &st) < 0) return errno_error("stat", cgroup_dir_path, errno);
  if (!S_ISDIR(st.st_mode)) {
    return make_error("stat " + cgroup_dir_path + ": not a directory");
  }
  return static_cast<uint64_t>(st.st_ino);
}

}  // namespace rbee::sys
