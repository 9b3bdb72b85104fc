#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/json/decode.h"
#include "common/json/writer.h"
#include "common/sys/cgroup.h"

extern char** environ;

namespace rbee::test {

namespace fs = std::filesystem;
using boost::beast::http::verb;

namespace {

std::atomic<int> counter{0};

std::string unique_suffix() {
  return std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Kills everything under dir (cgroup.kill covers descendants) and removes it bottom-up.
void destroy_cgroup_tree(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (auto fd = sys::open_dir(dir)) (void)sys::kill_cgroup(fd->get());
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::vector<fs::path> dirs;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_directory(ec)) dirs.push_back(it->path());
    }
    std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
      return a.string().size() > b.string().size();
    });
    for (const auto& d : dirs) ::rmdir(d.c_str());
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    std::this_thread::sleep_for(20ms);  // processes take a moment to leave after cgroup.kill
  }
}

}  // namespace

TempDir::TempDir() {
  path_ = fs::temp_directory_path() / ("rbee-test-" + unique_suffix());
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

CgroupSubtree::CgroupSubtree(const std::string& tag) {
  auto mount = sys::find_cgroup2_mount();
  if (!mount) throw std::runtime_error(mount.error().message);
  path_ = *mount / ("rbee-test-" + tag + "-" + unique_suffix());
  fs::create_directories(path_);
}

CgroupSubtree::~CgroupSubtree() {
  destroy_cgroup_tree(path_);
}

pid_t CgroupSubtree::start_external(const std::string& service, const std::string& instance,
                                    const std::vector<std::string>& argv) {
  auto dir = path_ / "rbee.slice" / service / instance;
  fs::create_directories(dir);
  // The test plays "someone else": fork, join the cgroup, exec. Not the Hive's clone3 path.
  pid_t pid = ::fork();
  if (pid == 0) {
    std::ofstream(dir / "cgroup.procs") << ::getpid() << std::flush;
    ::setsid();
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

bool port_free(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

// The first port the kernel hands out to outgoing connections. Ports from there on fill with
// client sockets and TIME_WAIT entries after a test makes thousands of requests (the soak test),
// and a listener without SO_REUSEADDR cannot bind over those.
int ephemeral_low() {
  std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  return f >> low ? low : 32768;
}

// A base port whose next 40 ports are free now: the machine runs other tests and daemons, and a
// test that holds or spawns on base + k must not collide with them. Below the ephemeral range
// when it leaves room there.
uint16_t unique_base_port() {
  const int low = ephemeral_low();
  const int span = low - 40 - 20000 >= 4000 ? low - 40 - 20000 : 30000;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const auto base = static_cast<uint16_t>(20000 + ((::getpid() * 131 + counter++ * 40) % span));
    bool all = true;
    for (uint16_t k = 0; k < 40 && all; ++k) all = port_free(static_cast<uint16_t>(base + k));
    if (all) return base;
  }
  throw std::runtime_error("no range of 40 free ports found");
}

Process::Process(const std::vector<std::string>& argv, const fs::path& output_file,
                 const std::vector<std::string>& extra_env) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // Only stdin, stdout and stderr: what the daemon holds beyond them it opened itself.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).starts_with("RBEE_TOKEN=")) continue;
    env_store.emplace_back(*e);
  }
  for (const auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + strerror(rc));
}

Process::~Process() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void Process::kill(int sig) {
  if (!reaped_) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      return status;
    }
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

bool Process::running() {
  if (reaped_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

void write_token_file(const fs::path& p, const std::string& token, fs::perms mode) {
  std::ofstream(p) << token << "\n";
  fs::permissions(p, mode);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string wait_listening(Process& process, const fs::path& log, const std::string& name) {
  const auto end = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < end) {
    auto text = read_file(log);
    auto pos = text.find("listening on ");
    if (pos != std::string::npos) {
      auto start = pos + 13;
      return text.substr(start, text.find(' ', start) - start);
    }
    if (!process.running()) throw std::runtime_error(name + " exited: " + text);
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error(name + " did not start: " + read_file(log));
}

Daemon::Daemon(std::string name, std::string token)
    : name_(std::move(name)), token_(std::move(token)) {}

fs::path Daemon::log_path(int start) const {
  return dir_.path() / (name_ + "-" + std::to_string(start) + ".log");
}

void Daemon::launch(const std::string& binary, const fs::path& config,
                    const std::vector<std::string>& extra_env) {
  const auto out = log_path(starts_++);
  process_ =
      std::make_unique<Process>(std::vector<std::string>{binary, "serve", "--config",
                                                         config.string(), "--log-level", "debug"},
                                out, extra_env);
  url_ = wait_listening(*process_, out, "rbee-" + name_);
}

void Daemon::stop() {
  if (process_) process_->kill(SIGTERM);
  if (process_) process_->wait(5s);
  process_.reset();
}

void Daemon::kill(int sig) {
  process_->kill(sig);
  process_->wait(10s);
}

std::string Daemon::daemon_log() const {
  std::string all;
  for (int i = 0; i < starts_; ++i) all += read_file(log_path(i));
  return all;
}

Result<http::ClientResponse> Daemon::get(const std::string& path) const {
  return http::fetch(verb::get, url_ + path, {}, token_);
}

Result<http::ClientResponse> Daemon::post(const std::string& path, const std::string& body,
                                          const std::string& token) const {
  return http::fetch(verb::post, url_ + path, body, token);
}

Hive::Hive(HiveOptions opts)
    : Daemon("hive", opts.token),
      opts_(std::move(opts)),
      cgroups_(opts_.tag),
      base_port_(unique_base_port()) {
  log_dir_ = dir_.path() / "logs";
  config_ = dir_.path() / "hive.toml";
  std::ofstream cfg(config_);
  cfg << "[hive]\nlisten = \"127.0.0.1:" << opts_.listen_port << "\"\nhive_id = \"test-"
      << opts_.tag << "\"\n"
      << "cgroup_root = \"" << cgroups_.path().string() << "\"\n"
      << "log_dir = \"" << log_dir_.string() << "\"\n"
      << "interval_ms = " << opts_.interval_ms << "\n"
      << "stop_timeout_ms = " << opts_.stop_timeout_ms << "\n"
      << "retention_s = " << opts_.retention_s << "\n";
  cfg << opts_.extra_hive;
  if (!opts_.token.empty()) {
    write_token_file(dir_.path() / "token", opts_.token);
    cfg << "token_file = \"" << (dir_.path() / "token").string() << "\"\n";
  }
  cfg << "\n[services.tw]\ncommand = [\"" << RBEE_TEST_WORKER_BIN << "\", \"--port\", \"{port}\"]\n"
      << "base_port = " << base_port_ << "\nallow_args = true\n";
  cfg << opts_.extra_services;
  cfg.close();
  start();
}

Hive::~Hive() {
  stop();
}

void Hive::start() {
  launch(RBEE_HIVE_BIN, config_, opts_.extra_env);
}

Result<http::ClientResponse> Hive::del(const std::string& path, const std::string& token) const {
  return http::fetch(verb::delete_, url() + path, {}, token);
}

Result<telemetry::Snapshot> Hive::telemetry() const {
  auto r = get("/v1/telemetry");
  if (!r) return r.error();
  return json::decode_snapshot(r->body);
}

std::optional<telemetry::Worker> Hive::worker(const std::string& service,
                                              const std::string& instance) const {
  auto s = telemetry();
  if (!s) return std::nullopt;
  for (auto& w : s->workers) {
    if (w.service == service && w.instance == instance) return w;
  }
  return std::nullopt;
}

std::optional<telemetry::Worker> Hive::wait_worker(
    const std::string& service, const std::string& instance,
    const std::function<bool(const telemetry::Worker&)>& pred,
    std::chrono::milliseconds timeout) const {
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::optional<telemetry::Worker> last;
  while (std::chrono::steady_clock::now() < end) {
    last = worker(service, instance);
    if (last && pred(*last)) return last;
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

std::string spawn_body(const std::string& service, std::optional<uint16_t> port,
                       const std::vector<std::string>& args) {
  json::Writer w;
  w.begin_object().field("service", service).field("port", port).array_field("args", args);
  w.end_object();
  return w.take();
}

std::string instance_of(const std::string& body) {
  auto pos = body.find("\"instance\":\"");
  if (pos == std::string::npos) return {};
  pos += 12;
  return body.substr(pos, body.find('"', pos) - pos);
}

uint16_t port_of(const std::string& url) {
  return static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// --- rbee-queen -------------------------------------------------------------------------------

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

Queen::Queen(QueenOptions opts)
    : Daemon("queen", opts.token),
      opts_(std::move(opts)),
      port_(opts_.listen_port ? opts_.listen_port : free_port()) {
  config_ = dir_.path() / "queen.toml";
  ssh_config_ = dir_.path() / "ssh_config";
  write_config();
  start();
}

Queen::~Queen() {
  stop();
}

void Queen::write_config() {
  std::ofstream ssh(ssh_config_.string() + ".tmp");
  ssh << "# written by the rbee integration tests\n";
  for (const auto& h : opts_.hives)
    ssh << "Host " << h.alias << "\n  HostName " << h.hostname << "\n";
  ssh << "Host *\n  User nobody\n";
  ssh.close();
  fs::rename(ssh_config_.string() + ".tmp", ssh_config_);  // the Queen never sees half a file

  std::ofstream cfg(config_);
  cfg << "[queen]\nlisten = \"127.0.0.1:" << port_ << "\"\n"
      << "ssh_config = \"" << ssh_config_.string() << "\"\n"
      << "stale_after_intervals = " << opts_.stale_after_intervals << "\n"
      << "down_after_intervals = " << opts_.down_after_intervals << "\n";
  if (!opts_.token.empty()) {
    write_token_file(dir_.path() / "token", opts_.token);
    cfg << "token_file = \"" << (dir_.path() / "token").string() << "\"\n";
  }
  // A Queen with a token contacts only the Hives named: the tests name every alias.
  if (!opts_.token.empty() && opts_.extra_config.find("include") == std::string::npos)
    cfg << "include = [\"*\"]\n";
  cfg << opts_.extra_config << "\n";
  for (const auto& h : opts_.hives) {
    if (h.port) cfg << "\n[hives." << h.alias << "]\nport = " << h.port << "\n";
  }
}

void Queen::set_hives(const std::vector<QueenHive>& hives) {
  opts_.hives = hives;
  write_config();
}

void Queen::start() {
  launch(RBEE_QUEEN_BIN, config_);
}

std::vector<json::HiveSummary> Queen::hives() const {
  auto r = get("/v1/hives");
  if (!r || r->status != 200) return {};
  auto list = json::decode_hive_list(r->body);
  return list ? std::move(*list) : std::vector<json::HiveSummary>{};
}

std::vector<json::HostedWorker> Queen::workers(const std::string& query) const {
  auto r = get("/v1/workers" + query);
  if (!r || r->status != 200) return {};
  auto list = json::decode_hosted_workers(r->body);
  return list ? std::move(*list) : std::vector<json::HostedWorker>{};
}

std::optional<json::HiveSummary> Queen::wait_hive(
    const std::string& id, const std::function<bool(const json::HiveSummary&)>& pred,
    std::chrono::milliseconds timeout) const {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    for (const auto& h : hives()) {
      if ((h.id == id || h.alias == id) && pred(h)) return h;
    }
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

std::optional<json::HostedWorker> Queen::wait_worker(
    const std::string& hive_id, const std::string& service, const std::string& instance,
    const std::function<bool(const json::HostedWorker&)>& pred,
    std::chrono::milliseconds timeout) const {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    for (const auto& w : workers()) {
      if (w.hive_id == hive_id && w.worker.service == service && w.worker.instance == instance &&
          pred(w))
        return w;
    }
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

}  // namespace rbee::test
