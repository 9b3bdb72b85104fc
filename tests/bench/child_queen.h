#pragma once
// rbee-queen serve as a child process for the benchmarks: its own config in a temp dir, an SSH
// config with no Hives (every Hive is one the load generator plays, known from its pushes), a
// token, log level info, and status thresholds long enough that no simulated Hive turns degraded
// between two configurations of a run. Killed (SIGTERM, then SIGKILL) when the object goes.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

namespace rbee::test {
class TempDir;
class Process;
}  // namespace rbee::test

namespace rbee::bench {

class ChildQueen {
 public:
  // extra_config: TOML lines added to its [queen] table.
  ChildQueen(const std::string& binary, const std::string& token,
             const std::string& extra_config = "");
  ~ChildQueen();
  ChildQueen(const ChildQueen&) = delete;
  ChildQueen& operator=(const ChildQueen&) = delete;
  uint16_t port() const { return port_; }
  pid_t pid() const;
  std::string log() const;

 private:
  std::unique_ptr<test::TempDir> dir_;
  uint16_t port_ = 0;
  std::unique_ptr<test::Process> process_;
};

}  // namespace rbee::bench
