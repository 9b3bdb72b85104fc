// sock_diag against the live kernel, and rbee-test-worker as a workload in a real cgroup.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/sys/file.h"
#include "common/sys/sock_diag.h"
#include "common/sys/unique_fd.h"
#include "hive/cgroup_files.h"

using namespace std::chrono_literals;
using rbee::sys::ListeningSocket;
using rbee::sys::UniqueFd;

namespace {

constexpr const char* kCgroup2 = "/sys/fs/cgroup/unified";

// This process's cgroup v2 directory: the "0::" line of /proc/self/cgroup under the v2 mount.
std::string own_cgroup_dir() {
  auto text = rbee::sys::read_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024);
  REQUIRE(text.ok());
  const auto pos = text->find("0::");
  REQUIRE(pos != std::string::npos);
  REQUIRE((pos == 0 || (*text)[pos - 1] == '\n'));
  auto rel = text->substr(pos + 3, text->find('\n', pos) - pos - 3);
  return rel == "/" ? std::string(kCgroup2) : std::string(kCgroup2) + rel;
}

// A fresh cgroup under the v2 root; killed (cgroup.kill), emptied and removed on destruction.
class CgroupGuard {
 public:
  CgroupGuard() {
    static int n = 0;
    path_ = std::string(kCgroup2) + "/rbee-test-sockdiag-" + std::to_string(getpid()) + "-" +
            std::to_string(++n);
    REQUIRE(::mkdir(path_.c_str(), 0755) == 0);
  }
  CgroupGuard(const CgroupGuard&) = delete;
  CgroupGuard& operator=(const CgroupGuard&) = delete;
  ~CgroupGuard() {
    (void)rbee::sys::write_file_at(AT_FDCWD, (path_ + "/cgroup.kill").c_str(), "1");
    for (int i = 0; i < 300 && populated(); ++i) std::this_thread::sleep_for(10ms);
    for (int i = 0; i < 300 && ::rmdir(path_.c_str()) < 0 && errno == EBUSY; ++i) {
      std::this_thread::sleep_for(10ms);
    }
  }
  const std::string& path() const { return path_; }
  bool populated() const {
    auto t = rbee::sys::read_file_at(AT_FDCWD, (path_ + "/cgroup.events").c_str(), 4096);
    return t.ok() && rbee::hive::parse_cgroup_events(*t).populated;
  }
  std::optional<uint64_t> usage_usec() const {
    auto t = rbee::sys::read_file_at(AT_FDCWD, (path_ + "/cpu.stat").c_str(), 4096);
    if (!t) return std::nullopt;
    return rbee::hive::parse_cpu_stat(*t).usage_usec;
  }

 private:
  std::string path_;
};

// A child process we own; SIGKILLed and reaped on destruction unless already reaped.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  // Waits up to `limit` for the child to exit; its wait status, or nullopt if it still runs.
  std::optional<int> wait_for(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    do {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(5ms);
    } while (std::chrono::steady_clock::now() < end);
    return std::nullopt;
  }

 private:
  pid_t pid_;
};

// Forks rbee-test-worker with args, moves it into cgroup_dir by writing its pid to cgroup.procs,
// and only then lets it exec: every socket it makes belongs to that cgroup.
pid_t spawn_worker_in(const std::string& cgroup_dir, std::vector<std::string> args) {
  int gate[2];
  REQUIRE(::pipe2(gate, O_CLOEXEC) == 0);
  args.insert(args.begin(), RBEE_TEST_WORKER_BIN);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(gate[1]);
    char c;
    while (::read(gate[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(gate[0]);
  auto moved = rbee::sys::write_file_at(AT_FDCWD, (cgroup_dir + "/cgroup.procs").c_str(),
                                        std::to_string(pid));
  if (!moved) ::kill(pid, SIGKILL);
  ::close(gate[1]);
  INFO((moved.ok() ? std::string() : moved.error().message));
  CHECK(moved.ok());
  return pid;
}

std::optional<ListeningSocket> find_listener(bool (*match)(const ListeningSocket&, uint64_t),
                                             uint64_t key) {
  auto all = rbee::sys::list_tcp_listeners();
  INFO((all.ok() ? std::string() : all.error().message));
  REQUIRE(all.ok());
  for (const auto& s : *all) {
    if (match(s, key)) return s;
  }
  return std::nullopt;
}

std::string http_get(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string req = "GET / HTTP/1.0\r\n\r\n";
  REQUIRE(::send(fd.get(), req.data(), req.size(), MSG_NOSIGNAL) == ssize_t(req.size()));
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0;) out.append(buf, size_t(n));
  return out;
}

}  // namespace

TEST_CASE("sock_diag lists this process's listening socket with its port and cgroup id") {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd.get(), 4) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  struct stat st {};
  REQUIRE(::fstat(fd.get(), &st) == 0);

  const auto found = find_listener(
      [](const ListeningSocket& s, uint64_t ino) { return s.inode == ino; }, st.st_ino);
  REQUIRE(found);
  CHECK(found->port == ntohs(addr.sin_port));
  CHECK(found->family == AF_INET);
  const auto own = rbee::sys::cgroup_id_of(own_cgroup_dir());
  REQUIRE(own.ok());
  CHECK(found->cgroup_id == *own);

  // Closed: gone from the next dump.
  fd.reset();
  CHECK_FALSE(find_listener([](const ListeningSocket& s, uint64_t ino) { return s.inode == ino; },
                            st.st_ino));
}

TEST_CASE("sock_diag lists IPv6 listeners too") {
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) SUCCEED("no IPv6 here");
  if (!fd) return;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    SUCCEED("no IPv6 loopback here");
    return;
  }
  REQUIRE(::listen(fd.get(), 4) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  struct stat st {};
  REQUIRE(::fstat(fd.get(), &st) == 0);
  const auto found = find_listener(
      [](const ListeningSocket& s, uint64_t ino) { return s.inode == ino; }, st.st_ino);
  REQUIRE(found);
  CHECK(found->family == AF_INET6);
  CHECK(found->port == ntohs(addr.sin6_port));
}

TEST_CASE("cgroup_id_of fails clearly for a missing directory") {
  auto r = rbee::sys::cgroup_id_of("/sys/fs/cgroup/unified/rbee-no-such-cgroup");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("No such file or directory") != std::string::npos);
}

TEST_CASE("a worker in its own cgroup is found by that cgroup's id once it listens") {
  CgroupGuard cg;
  const auto id = rbee::sys::cgroup_id_of(cg.path());
  REQUIRE(id.ok());
  const auto own = rbee::sys::cgroup_id_of(own_cgroup_dir());
  REQUIRE(own.ok());
  REQUIRE(*id != *own);

  ChildGuard worker(spawn_worker_in(cg.path(), {"--port", "0", "--listen-delay-ms", "200"}));
  auto by_cgroup = [](const ListeningSocket& s, uint64_t cgid) { return s.cgroup_id == cgid; };
  // Not yet listening: nothing in that cgroup.
  CHECK_FALSE(find_listener(by_cgroup, *id));

  std::optional<ListeningSocket> found;
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (!(found = find_listener(by_cgroup, *id)) && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(found);
  CHECK(found->port != 0);
  CHECK(found->family == AF_INET);
  CHECK(http_get(found->port) == "HTTP/1.0 200 OK\r\n\r\nok\n");
  CHECK(http_get(found->port) == "HTTP/1.0 200 OK\r\n\r\nok\n");  // still serving
}

TEST_CASE("test worker --cpu 0.5 uses half a core, measured by its cgroup's cpu.stat") {
  CgroupGuard cg;
  ChildGuard worker(spawn_worker_in(cg.path(), {"--cpu", "0.5"}));
  std::this_thread::sleep_for(200ms);  // past exec and start-up
  const auto u0 = cg.usage_usec();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(1500ms);
  const auto u1 = cg.usage_usec();
  const auto t1 = std::chrono::steady_clock::now();
  REQUIRE(u0);
  REQUIRE(u1);
  const double wall_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
  const double cores = double(*u1 - *u0) / wall_us;
  INFO("cores used: " << cores);
  CHECK(cores >= 0.4);
  CHECK(cores <= 0.6);
}

TEST_CASE("test worker exits with --exit-code after --exit-after-ms, its children with it") {
  CgroupGuard cg;
  ChildGuard worker(spawn_worker_in(
      cg.path(), {"--children", "2", "--exit-after-ms", "300", "--exit-code", "7", "--no-listen"}));
  std::this_thread::sleep_for(100ms);
  auto procs = rbee::sys::read_file_at(AT_FDCWD, (cg.path() + "/cgroup.procs").c_str(), 4096);
  REQUIRE(procs.ok());
  CHECK(rbee::hive::parse_pid_list(*procs).size() == 3);
  const auto status = worker.wait_for(3s);
  REQUIRE(status);
  REQUIRE(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 7);
  const auto end = std::chrono::steady_clock::now() + 3s;
  while (cg.populated() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
  CHECK_FALSE(cg.populated());  // the children died with their parent
}

TEST_CASE("test worker stops on SIGTERM with exit 0, unless told to ignore it") {
  SECTION("SIGTERM ends it and its children promptly") {
    CgroupGuard cg;
    ChildGuard worker(spawn_worker_in(cg.path(), {"--children", "1", "--cpu", "0.2"}));
    std::this_thread::sleep_for(150ms);
    REQUIRE(::kill(worker.pid(), SIGTERM) == 0);
    const auto status = worker.wait_for(1s);
    REQUIRE(status);
    REQUIRE(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
  }
  SECTION("--ignore-sigterm survives SIGTERM; cgroup.kill ends it") {
    CgroupGuard cg;
    ChildGuard worker(spawn_worker_in(cg.path(), {"--ignore-sigterm", "--children", "1"}));
    std::this_thread::sleep_for(150ms);
    REQUIRE(::kill(worker.pid(), SIGTERM) == 0);
    CHECK_FALSE(worker.wait_for(300ms));
    REQUIRE(rbee::sys::write_file_at(AT_FDCWD, (cg.path() + "/cgroup.kill").c_str(), "1").ok());
    const auto status = worker.wait_for(2s);
    REQUIRE(status);
    CHECK(WIFSIGNALED(*status));
    CHECK(WTERMSIG(*status) == SIGKILL);
  }
}

TEST_CASE("test worker --memory-mb keeps that much resident") {
  CgroupGuard cg;
  ChildGuard worker(spawn_worker_in(cg.path(), {"--memory-mb", "64", "--no-listen"}));
  const std::string path = "/proc/" + std::to_string(worker.pid()) + "/statm";
  uint64_t resident_mb = 0;
  const auto end = std::chrono::steady_clock::now() + 3s;
  while (resident_mb < 64 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(20ms);
    auto t = rbee::sys::read_file_at(AT_FDCWD, path.c_str(), 4096);
    REQUIRE(t.ok());
    uint64_t size = 0, resident = 0;
    REQUIRE(std::sscanf(t->c_str(), "%lu %lu", &size, &resident) == 2);
    resident_mb = resident * uint64_t(::sysconf(_SC_PAGESIZE)) >> 20;
  }
  CHECK(resident_mb >= 64);
}
