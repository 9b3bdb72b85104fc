#pragma once
// Helpers for integration tests: real daemons as child processes, real cgroups under a subtree
// unique to the test, removed with every process in it when the test ends, pass or fail.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/http/client.h"
#include "common/json/decode.h"
#include "common/telemetry.h"

namespace rbee::test {

// The daemons under test are built with ASan or TSan (scripts/test.sh): freed memory then sits in
// the sanitizer's quarantine and shadow, so RSS growth says little about leaks. Memory bounds are
// widened by this factor there (leaks are ASan's own check); fds, processes and cgroups are not.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr long kSanitizerRssFactor = 32;
#else
inline constexpr long kSanitizerRssFactor = 1;
#endif

using namespace std::chrono_literals;

// A fresh temp directory, removed at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// <cgroup2 mount>/rbee-test-<tag>-<pid>-<n>: kills every process in it and removes it at the end.
class CgroupSubtree {
 public:
  explicit CgroupSubtree(const std::string& tag);
  ~CgroupSubtree();
  const std::filesystem::path& path() const { return path_; }
  // Makes rbee.slice/<service>/<instance> and starts argv in it (an "external" worker).
  pid_t start_external(const std::string& service, const std::string& instance,
                       const std::vector<std::string>& argv);

 private:
  std::filesystem::path path_;
};

// A port range unlikely to collide with other tests running at the same time.
uint16_t unique_base_port();

// A child process of the test, killed (SIGKILL) when this object goes unless it already exited.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::filesystem::path& output_file,
          const std::vector<std::string>& extra_env = {});
  ~Process();
  Process(const Process&) = delete;
  pid_t pid() const { return pid_; }
  void kill(int sig);
  // Waits for exit; returns the wait status, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// Waits until the process writing to `log` says "listening on URL" and returns the URL; throws
// when it exits first or 15 s pass. `name` names it in the message.
std::string wait_listening(Process& process, const std::filesystem::path& log,
                           const std::string& name);

// What a Hive and a Queen under test share: the daemon as a child process in a temp dir of its
// own, whose output goes to a new <name>-<n>.log on each start, and its URL, read from that log.
class Daemon {
 public:
  Daemon(const Daemon&) = delete;
  void kill(int sig);  // and wait up to 10 s for it to exit
  std::string url() const { return url_; }
  Process* process() { return process_.get(); }
  std::string daemon_log() const;  // the output of every start so far

  Result<http::ClientResponse> get(const std::string& path) const;  // with the daemon's token
  Result<http::ClientResponse> post(const std::string& path, const std::string& body,
                                    const std::string& token) const;

 protected:
  Daemon(std::string name, std::string token);
  // Starts `binary serve --config config --log-level debug` and waits until it listens.
  void launch(const std::string& binary, const std::filesystem::path& config,
              const std::vector<std::string>& extra_env = {});
  // SIGTERM, then up to 5 s for it to exit; SIGKILL when it has not.
  void stop();

  TempDir dir_;

 private:
  std::filesystem::path log_path(int start) const;

  std::string name_;
  std::string token_;
  std::string url_;
  std::unique_ptr<Process> process_;
  int starts_ = 0;
};

struct HiveOptions {
  std::string tag = "hive";
  uint32_t interval_ms = 500;
  std::string token;
  uint32_t stop_timeout_ms = 2000;
  uint32_t retention_s = 300;
  std::string extra_services;          // TOML appended to the generated config
  std::vector<std::string> extra_env;  // NAME=VALUE added to the daemon's environment
  std::string extra_hive;              // TOML lines appended to the generated [hive] table
  uint16_t listen_port = 0;            // 0: any free port (a restart then gets another one)
};

// rbee-hive serve on 127.0.0.1:0 with a config of its own, a cgroup subtree and a log dir.
class Hive : public Daemon {
 public:
  explicit Hive(HiveOptions opts = {});
  ~Hive();
  void start();  // (re)start the daemon with the same config and subtree
  uint16_t base_port() const { return base_port_; }
  CgroupSubtree& cgroups() { return cgroups_; }
  const std::filesystem::path& log_dir() const { return log_dir_; }

  Result<http::ClientResponse> del(const std::string& path, const std::string& token) const;
  Result<telemetry::Snapshot> telemetry() const;
  std::optional<telemetry::Worker> worker(const std::string& service,
                                          const std::string& instance) const;
  // Polls the snapshot until pred holds for the worker or the timeout passes.
  std::optional<telemetry::Worker> wait_worker(
      const std::string& service, const std::string& instance,
      const std::function<bool(const telemetry::Worker&)>& pred,
      std::chrono::milliseconds timeout = 10s) const;

 private:
  HiveOptions opts_;
  CgroupSubtree cgroups_;
  std::filesystem::path log_dir_;
  std::filesystem::path config_;
  uint16_t base_port_;
};

std::string read_file(const std::filesystem::path& p);
// Writes the token and a newline with `mode` (the daemons refuse a token file others can read).
void write_token_file(const std::filesystem::path& p, const std::string& token,
                      std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                    std::filesystem::perms::owner_write);
// Spawn request body for the test worker's service.
std::string spawn_body(const std::string& service, std::optional<uint16_t> port,
                       const std::vector<std::string>& args = {});
// The "instance" of a spawn answer; empty when it has none.
std::string instance_of(const std::string& body);
// The port of a daemon's URL (http://127.0.0.1:PORT).
uint16_t port_of(const std::string& url);

// --- rbee-queen -------------------------------------------------------------------------------

// A port that was free a moment ago on 127.0.0.1 (for daemons that must keep theirs).
uint16_t free_port();

struct QueenHive {
  std::string alias;
  std::string hostname = "127.0.0.1";
  uint16_t port = 0;
};

struct QueenOptions {
  std::string tag = "queen";
  std::string token;
  uint16_t listen_port = 0;  // 0: a free port chosen once, kept across restarts
  uint32_t stale_after_intervals = 3;
  uint32_t down_after_intervals = 10;
  std::vector<QueenHive> hives;  // Host entries of its SSH config, with [hives.ALIAS] ports
  std::string extra_config;      // TOML appended to the [queen] table
};

// rbee-queen serve on 127.0.0.1 with its own TOML config and SSH config in a temp dir.
class Queen : public Daemon {
 public:
  explicit Queen(QueenOptions opts = {});
  ~Queen();
  void start();  // (re)start on the same port with the current config
  // Rewrites the SSH config (the running Queen notices) and the [hives.ALIAS] ports (read at
  // the next start).
  void set_hives(const std::vector<QueenHive>& hives);
  const std::filesystem::path& config_path() const { return config_; }
  const std::filesystem::path& ssh_config_path() const { return ssh_config_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

  std::vector<json::HiveSummary> hives() const;
  std::vector<json::HostedWorker> workers(const std::string& query = "") const;
  // Polls GET /v1/hives until the Hive (id or alias) satisfies pred.
  std::optional<json::HiveSummary> wait_hive(
      const std::string& id, const std::function<bool(const json::HiveSummary&)>& pred,
      std::chrono::milliseconds timeout = 15s) const;
  // Polls GET /v1/workers until the worker satisfies pred.
  std::optional<json::HostedWorker> wait_worker(
      const std::string& hive_id, const std::string& service, const std::string& instance,
      const std::function<bool(const json::HostedWorker&)>& pred,
      std::chrono::milliseconds timeout = 15s) const;

 private:
  void write_config();

  QueenOptions opts_;
  std::filesystem::path config_;
  std::filesystem::path ssh_config_;
  uint16_t port_;
};

}  // namespace rbee::test
