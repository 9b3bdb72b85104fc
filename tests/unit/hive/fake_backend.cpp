#include "fake_backend.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "common/sys/cgroup.h"
#include "common/sys/spawn.h"
#include "hive/cgroupfs_backend.h"
#include "hive/worker_marks.h"

namespace rbee::hive::testing {
namespace {

namespace fs = std::filesystem;

void exit_failing(int) {
  ::_exit(FakeHost::kFailureExitCode);
}
void exit_cleanly(int) {
  ::_exit(0);
}

// A child that waits for a signal: SIGUSR1 exits 3, SIGUSR2 exits 0, anything else as by default.
// Signals stay blocked until the child's own handlers are in place: one sent at once meets those,
// not the test framework's (which would report a fatal error from the child).
pid_t fork_paused_child() {
  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, &old);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct sigaction sa {};
    sa.sa_handler = exit_failing;
    ::sigaction(SIGUSR1, &sa, nullptr);
    sa.sa_handler = exit_cleanly;
    ::sigaction(SIGUSR2, &sa, nullptr);
    sa.sa_handler = SIG_DFL;  // not the test framework's handlers
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL})
      ::sigaction(s, &sa, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (;;) ::pause();
  }
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  return pid;
}

ExitInfo wait_dead(int pidfd) {
  // WNOWAIT: the zombie stays for the Supervisor that reaps its children.
  siginfo_t info{};
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
                  WEXITED | WNOWAIT) < 0 &&
         errno == EINTR) {
  }
  ExitInfo out;
  if (info.si_code == CLD_EXITED)
    out.exit_code = info.si_status;
  else if (info.si_pid != 0)
    out.signal = info.si_status;
  return out;
}

}  // namespace

class FakeBackend : public Backend {
 public:
  FakeBackend(FakeHost& host, boost::asio::io_context& io) : host_(host), io_(io) {
    host_.backend_ = this;
  }
  ~FakeBackend() override {
    if (host_.backend_ == this) host_.backend_ = nullptr;
  }

  const char* name() const override { return "fake"; }
  Layout layout() const override { return Layout::cgroupfs; }
  Status prepare() override {
    std::error_code ec;
    fs::create_directories(host_.root() / kSliceDir, ec);
    if (ec) return make_error("cannot make rbee.slice: " + ec.message());
    return Ok{};
  }
  void launch(const LaunchPlan& plan, int64_t started_at_ms,
              std::function<void(Result<Launched>)> done) override {
    ++host_.launches;
    auto result = std::make_shared<Result<Launched>>(host_.launch_now(plan, started_at_ms));
    if (!host_.launch_async) return done(std::move(*result));
    // Like a systemd job: the answer comes from the loop, and not at all once this backend is gone.
    boost::asio::post(io_, [alive = std::weak_ptr<int>(alive_), result, done = std::move(done)] {
      if (alive.lock()) done(std::move(*result));
    });
  }
  void stop(const WorkerId& id, int, std::chrono::milliseconds) override {
    host_.stops_asked.push_back(id);
    auto run = host_.current_.find(id);
    if (!host_.stop_ends_at_once || run == host_.current_.end()) return;
    boost::asio::post(io_, [host = &host_, index = run->second] {
      host->end_run(index, FakeHost::End::sigterm);
    });
  }
  void kill_rest(int cgroup_fd) override {
    auto id = host_.worker_of_fd(cgroup_fd);
    if (!id) return;
    if (auto run = host_.current_.find(*id); run != host_.current_.end())
      host_.end_run(run->second, FakeHost::End::crash);
  }
  void remove(const WorkerId& id) override {
    std::error_code ec;
    fs::remove_all(host_.cgroup_dir(id), ec);
    fs::remove(host_.cgroup_dir(id).parent_path(), ec);  // only when empty
  }
  bool owns_cgroups() const override { return true; }
  std::vector<std::string> controllers() const override { return {}; }
  void logs(const WorkerId&, std::size_t, bool, LogsDone done) override { done(std::nullopt); }

 private:
  FakeHost& host_;
  boost::asio::io_context& io_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

FakeHost::FakeHost() {
  std::string tmpl = (fs::temp_directory_path() / "rbee-supervisor-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp: " + std::string(strerror(errno)));
  root_ = tmpl;
}

FakeHost::~FakeHost() {
  for (auto& run : runs_) {
    if (!run.dead) (void)sys::send_signal(run.pidfd.get(), SIGKILL);
    // Reaps what nobody else did; ECHILD for those a Supervisor reaped.
    siginfo_t info{};
    while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(run.pidfd.get()), &info,
                    WEXITED) < 0 &&
           errno == EINTR) {
    }
  }
  std::error_code ec;
  fs::remove_all(root_, ec);
}

sys::UniqueFd FakeHost::open_root() const {
  return sys::UniqueFd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

std::unique_ptr<Backend> FakeHost::make_backend(boost::asio::io_context& io) {
  return std::make_unique<FakeBackend>(*this, io);
}

fs::path FakeHost::cgroup_dir(const WorkerId& id) const {
  return root_ / worker_cgroup_path(Layout::cgroupfs, id);
}

void FakeHost::write(const WorkerId& id, const char* file, const std::string& content) const {
  // In place, as the kernel changes an interface file: open fds and inotify watches stay valid.
  const auto path = cgroup_dir(id) / file;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;  // removed already
  (void)!::write(fd, content.data(), content.size());
  ::close(fd);
}

Result<Launched> FakeHost::launch_now(const LaunchPlan& plan, int64_t started_at_ms) {
  if (fail_next_launch) {
    auto why = *std::exchange(fail_next_launch, std::nullopt);
    return make_error(why);
  }
  const WorkerId& id = plan.id;
  std::error_code ec;
  fs::remove_all(cgroup_dir(id), ec);
  fs::create_directories(cgroup_dir(id), ec);
  if (ec) return make_error("cannot make " + cgroup_dir(id).string() + ": " + ec.message());
  write(id, "cgroup.events", "populated 1\nfrozen 0\n");
  write(id, "cpu.stat", "usage_usec 1000\nuser_usec 600\nsystem_usec 400\n");
  write(id, "memory.current", "1048576\n");
  write(id, "memory.stat", "anon 524288\nfile 0\nfile_mapped 4096\ninactive_file 0\n");
  write(id, "memory.max", "max\n");
  write(id, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
  write(id, "io.stat", "");

  const pid_t pid = fork_paused_child();
  if (pid < 0) return make_error(std::string("fork: ") + strerror(errno));
  auto pidfd = sys::open_pidfd(pid);
  if (!pidfd) return pidfd.error();
  write(id, "cgroup.procs", std::to_string(pid) + "\n");
  sys::UniqueFd dir(::open(cgroup_dir(id).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  mark_start(dir.get(), started_at_ms);
  mark_main(dir.get(), pid);

  Launched out;
  if (give_child) {
    auto theirs = sys::open_pidfd(pid);
    if (!theirs) return theirs.error();
    out.child = sys::Child{pid, std::move(*theirs)};
  }
  runs_.push_back(Run{id, pid, std::move(*pidfd), false, !give_child});
  current_[id] = runs_.size() - 1;
  return out;
}

void FakeHost::end_run(std::size_t index, End how) {
  Run& run = runs_[index];
  if (run.dead) return;
  const int sig = how == End::clean_exit     ? SIGUSR2
                  : how == End::failure_exit ? SIGUSR1
                  : how == End::crash        ? SIGKILL
                                             : SIGTERM;
  (void)sys::send_signal(run.pidfd.get(), sig);
  const ExitInfo info = wait_dead(run.pidfd.get());
  run.dead = true;
  const WorkerId id = run.id;  // the backend's handler may start a new run
  if (run.exit_via_backend && backend_ && backend_->on_exit) backend_->on_exit(id, info);
  if (auto cur = current_.find(id); cur != current_.end() && cur->second == index) {
    write(id, "cgroup.procs", "");
    write(id, "cgroup.events", "populated 0\nfrozen 0\n");
  }
}

bool FakeHost::end(const WorkerId& id, End how) {
  auto cur = current_.find(id);
  if (cur == current_.end() || runs_[cur->second].dead) return false;
  end_run(cur->second, how);
  return true;
}

bool FakeHost::running(const WorkerId& id) const {
  auto cur = current_.find(id);
  return cur != current_.end() && !runs_[cur->second].dead;
}

std::optional<pid_t> FakeHost::pid_of(const WorkerId& id) const {
  auto cur = current_.find(id);
  if (cur == current_.end()) return std::nullopt;
  return runs_[cur->second].pid;
}

std::optional<WorkerId> FakeHost::worker_of_fd(int cgroup_fd) const {
  char link[4096];
  const std::string proc = "/proc/self/fd/" + std::to_string(cgroup_fd);
  ssize_t n = ::readlink(proc.c_str(), link, sizeof link - 1);
  if (n <= 0) return std::nullopt;
  const fs::path dir(std::string(link, static_cast<std::size_t>(n)));
  const fs::path rel = dir.lexically_relative(root_);
  auto it = rel.begin();
  if (it == rel.end() || it->string() != kSliceDir) return std::nullopt;
  std::vector<std::string> parts(++it, rel.end());
  if (parts.size() != 2) return std::nullopt;
  return WorkerId{parts[0], parts[1]};
}

SupervisorProbes FakeHost::probes() {
  SupervisorProbes p;
  p.listeners = [this]() -> Result<std::vector<sys::ListeningSocket>> {
    std::vector<sys::ListeningSocket> out;
    for (const auto& id : listening) {
      struct stat st {};
      auto port = port_of(id.instance);
      if (!running(id) || !port || ::stat(cgroup_dir(id).c_str(), &st) != 0) continue;
      out.push_back({*port, static_cast<uint64_t>(st.st_ino), 0, AF_INET});
    }
    return out;
  };
  p.port_free = [this](uint16_t port) { return ports_taken.count(port) == 0; };
  p.now = [this] { return now; };
  p.now_ms = [this] { return now_ms; };
  p.restart_delay = [this](uint32_t restarts) {
    restart_delays_asked.push_back(restarts);
    return restart_delay;
  };
  return p;
}

}  // namespace rbee::hive::testing
