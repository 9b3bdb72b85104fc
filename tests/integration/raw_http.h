#pragma once
// HTTP spoken by hand over a plain socket, for tests that send what no client library would
// (forged Origin and Host headers, bodies behind a refused head) and read the answer's raw head.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace rbee::test {

// A TCP connection from source address `from` (any 127.x works on loopback) to 127.0.0.1:port;
// -1 when it fails. Uses system calls only: it also runs in a forked child.
int connect_from(const char* from, uint16_t port);
bool send_all(int fd, const char* data, std::size_t size);

struct Answer {
  int status = 0;  // 0: none within the time
  std::string text;
  long ms = 0;  // from the call to the end of the head
  // The value of header `name` (case-insensitive) in the head; empty when absent.
  std::string header(const std::string& name) const;
};

// Reads an answer's head (and its Content-Length body) within `timeout`; the fd stays open.
Answer read_answer(int fd, std::chrono::milliseconds timeout, bool head_only = false);

// A request with `headers` (each ending in \r\n), Content-Length for a body or a POST, and
// Connection: close.
std::string request(const std::string& method, const std::string& target,
                    const std::string& headers, const std::string& body = "");

// One request over a fresh connection from 127.0.0.1.
Answer call(uint16_t port, const std::string& req);

// "Host: 127.0.0.1:PORT\r\n"
std::string host_header(uint16_t port);

}  // namespace rbee::test
