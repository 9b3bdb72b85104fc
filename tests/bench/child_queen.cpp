#include "child_queen.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace rbee::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// A port that was free a moment ago on 127.0.0.1.
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool running(pid_t pid) {
  int status;
  return ::waitpid(pid, &status, WNOHANG) == 0;
}

}  // namespace

ChildQueen::ChildQueen(const std::string& binary, const std::string& token) : port_(free_port()) {
  std::string tmpl = (fs::temp_directory_path() / "rbee-bench-queen-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  std::ofstream(dir_ / "ssh_config") << "Host *\n  User nobody\n";
  std::ofstream(dir_ / "token") << token << "\n";
  {
    std::ofstream cfg(dir_ / "queen.toml");
    cfg << "[queen]\nlisten = \"127.0.0.1:" << port_ << "\"\n"
        << "ssh_config = \"" << (dir_ / "ssh_config").string() << "\"\n"
        << "token_file = \"" << (dir_ / "token").string() << "\"\n"
        << "stale_after_intervals = 600\n"
        << "down_after_intervals = 1200\n";
  }
  const std::string config = (dir_ / "queen.toml").string();
  const std::string out = (dir_ / "queen.log").string();
  std::vector<std::string> argv{binary, "serve", "--config", config, "--log-level", "info"};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "RBEE_TOKEN=", 11) != 0) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + binary + ": " + std::strerror(rc));

  const auto end = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < end) {
    if (log().find("listening on ") != std::string::npos) return;
    if (!running(pid_)) {
      pid_ = -1;
      throw std::runtime_error("rbee-queen exited: " + log());
    }
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error("rbee-queen did not start: " + log());
}

ChildQueen::~ChildQueen() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (running(pid_) && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(10ms);
    if (running(pid_)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string ChildQueen::log() const {
  std::ifstream in(dir_ / "queen.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace rbee::bench
