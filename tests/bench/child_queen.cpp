#include "child_queen.h"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <vector>

#include "harness.h"

namespace rbee::bench {

using namespace std::chrono_literals;

ChildQueen::ChildQueen(const std::string& binary, const std::string& token,
                       const std::string& extra_config)
    : dir_(std::make_unique<test::TempDir>()), port_(test::free_port()) {
  const auto& dir = dir_->path();
  std::ofstream(dir / "ssh_config") << "Host *\n  User nobody\n";
  test::write_token_file(dir / "token", token);
  {
    std::ofstream cfg(dir / "queen.toml");
    cfg << "[queen]\nlisten = \"127.0.0.1:" << port_ << "\"\n"
        << "ssh_config = \"" << (dir / "ssh_config").string() << "\"\n"
        << "token_file = \"" << (dir / "token").string() << "\"\n"
        << "include = [\"*\"]\n"
        << "stale_after_intervals = 600\n"
        << "down_after_intervals = 1200\n"
        // Every simulated Hive pushes from 127.0.0.1.
        << "max_push_hives_per_address = 10000\n"
        << extra_config;
  }
  process_ = std::make_unique<test::Process>(
      std::vector<std::string>{binary, "serve", "--config", (dir / "queen.toml").string(),
                               "--log-level", "info"},
      dir / "queen.log");
  test::wait_listening(*process_, dir / "queen.log", "rbee-queen");
}

ChildQueen::~ChildQueen() {
  process_->kill(SIGTERM);
  process_->wait(5s);  // then SIGKILL, when the Process goes, if it has not exited
}

pid_t ChildQueen::pid() const {
  return process_->pid();
}

std::string ChildQueen::log() const {
  return test::read_file(dir_->path() / "queen.log");
}

}  // namespace rbee::bench
