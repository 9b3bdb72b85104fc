#include "raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

namespace rbee::test {

using Clock = std::chrono::steady_clock;

int connect_from(const char* from, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

Answer read_answer(int fd, std::chrono::milliseconds timeout, bool head_only) {
  Answer a;
  const auto t0 = Clock::now();
  const auto deadline = t0 + timeout;
  std::size_t need = std::string::npos;
  char buf[8192];
  while (Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    a.text.append(buf, static_cast<std::size_t>(n));
    auto end = a.text.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    if (a.status == 0) {
      a.ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
      a.status = std::atoi(a.text.c_str() + 9);
      auto cl = a.text.find("Content-Length: ");
      need = end + 4 + (cl < end ? std::stoul(a.text.substr(cl + 16)) : 0);
    }
    if (head_only || a.text.size() >= need) break;
  }
  return a;
}

std::string request(const std::string& method, const std::string& target,
                    const std::string& headers, const std::string& body) {
  std::string r = method + " " + target + " HTTP/1.1\r\n" + headers;
  if (!body.empty() || method == "POST")
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "Connection: close\r\n\r\n" + body;
}

Answer call(uint16_t port, const std::string& req) {
  int fd = connect_from("127.0.0.1", port);
  if (fd < 0) return {};
  Answer a;
  if (send_all(fd, req.data(), req.size())) a = read_answer(fd, std::chrono::seconds(10));
  ::close(fd);
  return a;
}

std::string host_header(uint16_t port) {
  return "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
}

std::string Answer::header(const std::string& name) const {
  const auto end = text.find("\r\n\r\n");
  std::string head = text.substr(0, end);
  std::string lower_head = head, lower_name = name + ":";
  for (auto& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto& c : lower_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto at = lower_head.find("\r\n" + lower_name);
  if (at == std::string::npos) return "";
  auto from = at + 2 + lower_name.size();
  auto eol = head.find("\r\n", from);
  std::string v = head.substr(from, eol - from);
  while (!v.empty() && v.front() == ' ') v.erase(v.begin());
  return v;
}

}  // namespace rbee::test
