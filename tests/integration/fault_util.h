#pragma once
// Small probes shared by the fault, abuse and soak tests: /proc figures of a daemon, the worker
// cgroups of a subtree, a counting listener and a raw HTTP request from a chosen source address.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace rbee::test {

// VmRSS of a process in kB (-1 if unreadable).
inline long vm_rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Open file descriptors of a process.
inline int fd_count(pid_t pid) {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

inline std::vector<int> cgroup_pids(const std::filesystem::path& dir) {
  std::vector<int> out;
  std::ifstream in(dir / "cgroup.procs");
  int pid;
  while (in >> pid) out.push_back(pid);
  return out;
}

struct WorkerDir {
  std::string instance;
  std::vector<int> pids;
};

// <root>/rbee.slice/<service>/*: the worker cgroups there and the processes in each.
inline std::vector<WorkerDir> worker_dirs(const std::filesystem::path& root,
                                          const std::string& service) {
  std::vector<WorkerDir> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(root / "rbee.slice" / service, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    out.push_back({it->path().filename().string(), cgroup_pids(it->path())});
  }
  return out;
}

// Listens on 127.0.0.1:port, accepts and closes every connection at once and counts them.
class ConnectionCounter {
 public:
  explicit ConnectionCounter(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0)
      throw std::runtime_error("cannot listen on port " + std::to_string(port));
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        ++count_;
        ::close(c);
      }
    });
  }
  ~ConnectionCounter() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int count() const { return count_; }

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> count_{0};
  std::thread thread_;
};

struct RawResponse {
  int status = 0;  // 0: no response (connection failed or cut)
  std::string body;
};

// One HTTP/1.1 request over a fresh connection from source address `from` (any 127.x address
// works on loopback) to 127.0.0.1:port; reads until the server closes.
inline RawResponse raw_request(const std::string& from, uint16_t port, const std::string& method,
                               const std::string& target, const std::string& body,
                               const std::string& token) {
  RawResponse out;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return out;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, from.c_str(), &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return out;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                    "Content-Type: application/json\r\nConnection: close\r\n" +
                    "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  req += "\r\n";
  req += body;
  std::size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string in;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (in.rfind("HTTP/1.1 ", 0) == 0 && in.size() >= 12) out.status = std::stoi(in.substr(9, 3));
  auto pos = in.find("\r\n\r\n");
  if (pos != std::string::npos) out.body = in.substr(pos + 4);
  return out;
}

}  // namespace rbee::test
