// rbee-test-worker: a workload for the integration tests. Plain C++20 and POSIX, no project code.
//
//   --port N              listen on 127.0.0.1:N (0: any free port) and answer every connection
//                         with "HTTP/1.0 200 OK\r\n\r\nok\n", then close it
//   --listen-delay-ms M   wait M ms before creating the listening socket
//   --no-listen           do not listen at all
//   --cpu SHARE           burn SHARE (0..1) of one core, duty-cycled in 10 ms slices
//   --memory-mb M         allocate M MiB and write every page (after forking children)
//   --children K          fork K children that sleep; they die with the parent and on SIGTERM
//   --exit-after-ms T     exit after T ms with --exit-code C (default 0)
//   --ignore-sigterm      ignore SIGTERM (this process and its children): only SIGKILL stops it
//   --say TEXT            print TEXT and a newline on stdout at start (what a log test reads)
//
// SIGTERM or SIGINT (unless ignored) ends it promptly with exit code 0. Prints only errors and
// --say.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  int port = -1;  // -1: no --port given
  int64_t listen_delay_ms = 0;
  bool no_listen = false;
  double cpu = 0;
  uint64_t memory_mb = 0;
  int children = 0;
  int64_t exit_after_ms = -1;
  int exit_code = 0;
  bool ignore_sigterm = false;
  std::string say;
};

volatile sig_atomic_t g_stop = 0;

void on_stop(int) {
  g_stop = 1;
}
void on_child(int) {}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "rbee-test-worker: %s\n", what.c_str());
  std::exit(2);
}

[[noreturn]] void die_errno(const std::string& what) {
  die(what + ": " + std::strerror(errno));
}

template <class T>
T number(std::string_view flag, const char* text) {
  T v{};
  const std::string_view s(text);
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) {
    die("bad value for " + std::string(flag) + ": " + std::string(s));
  }
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) die("missing value for " + std::string(a));
      return argv[++i];
    };
    if (a == "--port")
      o.port = number<int>(a, value());
    else if (a == "--listen-delay-ms")
      o.listen_delay_ms = number<int64_t>(a, value());
    else if (a == "--no-listen")
      o.no_listen = true;
    else if (a == "--cpu")
      o.cpu = number<double>(a, value());
    else if (a == "--memory-mb")
      o.memory_mb = number<uint64_t>(a, value());
    else if (a == "--children")
      o.children = number<int>(a, value());
    else if (a == "--exit-after-ms")
      o.exit_after_ms = number<int64_t>(a, value());
    else if (a == "--exit-code")
      o.exit_code = number<int>(a, value());
    else if (a == "--ignore-sigterm")
      o.ignore_sigterm = true;
    else if (a == "--say")
      o.say = value();
    else
      die("unknown flag: " + std::string(a));
  }
  if (o.port > 65535 || (o.port < 0 && o.port != -1)) die("--port out of range");
  if (!(o.cpu >= 0 && o.cpu <= 1)) die("--cpu must be between 0 and 1");
  if (o.children < 0 || o.children > 1000) die("--children must be between 0 and 1000");
  if (o.listen_delay_ms < 0) die("--listen-delay-ms must not be negative");
  if (o.memory_mb > (uint64_t{1} << 20)) die("--memory-mb too large");
  return o;
}

int64_t now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Children: sleep until SIGTERM (exit 0) or the parent's death (SIGKILL via PDEATHSIG).
// Signals stay blocked except inside sigsuspend, so a SIGTERM is never missed.
[[noreturn]] void child_main(pid_t parent, const sigset_t& run_mask) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) _exit(3);
  if (getppid() != parent) _exit(0);  // the parent died before prctl took effect
  while (!g_stop) sigsuspend(&run_mask);
  _exit(0);
}

void touch_memory(uint64_t mb) {
  if (mb == 0) return;
  const std::size_t bytes = static_cast<std::size_t>(mb) << 20;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die_errno("mmap " + std::to_string(mb) + " MiB");
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  auto* bytes_p = static_cast<volatile unsigned char*>(p);
  for (std::size_t off = 0; off < bytes; off += page)
    bytes_p[off] = static_cast<unsigned char>(off);
  // Kept mapped until exit.
}

int make_listener(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) die_errno("socket");
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    die_errno("bind 127.0.0.1:" + std::to_string(port));
  }
  if (listen(fd, 64) < 0) die_errno("listen");
  return fd;
}

constexpr std::string_view kResponse = "HTTP/1.0 200 OK\r\n\r\nok\n";
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSliceNs = 10 * kMs;
constexpr int64_t kConnLingerNs = 2000 * kMs;
constexpr std::size_t kMaxConns = 64;

struct Conn {
  int fd;
  int64_t deadline_ns;
};

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  if (!opt.say.empty()) {
    std::printf("%s\n", opt.say.c_str());
    std::fflush(stdout);
  }

  // SIGTERM/SIGINT/SIGCHLD stay blocked except inside ppoll, so none is missed between checks.
  sigset_t blocked, run_mask;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGCHLD);
  sigprocmask(SIG_BLOCK, &blocked, &run_mask);
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  if (opt.ignore_sigterm) {
    signal(SIGTERM, SIG_IGN);
  } else {
    sigaction(SIGTERM, &sa, nullptr);
  }
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = on_child;
  sigaction(SIGCHLD, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const pid_t self = getpid();
  for (int i = 0; i < opt.children; ++i) {
    const pid_t pid = fork();
    if (pid < 0) die_errno("fork");
    if (pid == 0) child_main(self, run_mask);
  }
  touch_memory(opt.memory_mb);  // after fork: children do not share these pages

  const int64_t start = now_ns(CLOCK_MONOTONIC);
  const bool want_listen = opt.port >= 0 && !opt.no_listen;
  const int64_t listen_at = start + opt.listen_delay_ms * kMs;
  const int64_t exit_at = opt.exit_after_ms >= 0 ? start + opt.exit_after_ms * kMs : INT64_MAX;
  int listener = -1;
  std::vector<Conn> conns;

  // CPU: slice k is [start + k*10ms, start + (k+1)*10ms). In each slice burn until this thread's
  // CPU time reaches share * (end of slice - start), then sleep to the next slice. Being behind
  // (descheduled) is caught up, but by at most 100 ms, so a stopped process does not spin later.
  const int64_t cpu_start = now_ns(CLOCK_THREAD_CPUTIME_ID);
  int64_t cpu_credit = 0;  // CPU time forgiven after a long stall
  int64_t next_slice = start;

  while (!g_stop) {
    int64_t now = now_ns(CLOCK_MONOTONIC);
    if (now >= exit_at) return opt.exit_code;
    if (want_listen && listener < 0 && now >= listen_at) listener = make_listener(opt.port);

    if (opt.cpu > 0 && now >= next_slice) {
      const int64_t slice_end = next_slice + kSliceNs;
      const auto target = static_cast<int64_t>(opt.cpu * static_cast<double>(slice_end - start));
      int64_t used = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start + cpu_credit;
      if (target - used > 100 * kMs) {
        cpu_credit += target - used - 100 * kMs;
        used = target - 100 * kMs;
      }
      const int64_t burn_until = std::min(slice_end, exit_at);
      while (used < target && now < burn_until) {
        for (int spin = 0; spin < 2000; ++spin) asm volatile("" ::: "memory");
        used = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start + cpu_credit;
        now = now_ns(CLOCK_MONOTONIC);
      }
      next_slice = slice_end;
      if (now >= next_slice) next_slice = now;  // overran: start the next slice now
    }

    // Sleep until the next thing to do or an event.
    int64_t wake = exit_at;
    if (opt.cpu > 0) wake = std::min(wake, next_slice);
    if (want_listen && listener < 0) wake = std::min(wake, listen_at);
    for (const auto& c : conns) wake = std::min(wake, c.deadline_ns);

    std::vector<pollfd> fds;
    if (listener >= 0) fds.push_back({listener, POLLIN, 0});
    for (const auto& c : conns) fds.push_back({c.fd, POLLIN, 0});
    now = now_ns(CLOCK_MONOTONIC);
    timespec ts{};
    timespec* tsp = nullptr;
    if (wake != INT64_MAX) {
      const int64_t wait = std::max<int64_t>(0, wake - now);
      ts.tv_sec = wait / 1'000'000'000;
      ts.tv_nsec = wait % 1'000'000'000;
      tsp = &ts;
    }
    const int r = ppoll(fds.data(), fds.size(), tsp, &run_mask);
    if (r < 0 && errno != EINTR) die_errno("ppoll");

    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }

    // Connections: the response is sent at accept; drain the request, close on EOF or deadline.
    now = now_ns(CLOCK_MONOTONIC);
    std::size_t idx = listener >= 0 ? 1 : 0;
    std::vector<Conn> keep;
    for (const auto& c : conns) {
      const short rev = r > 0 ? fds[idx].revents : 0;
      ++idx;
      bool close_it = now >= c.deadline_ns;
      if (rev != 0) {
        char buf[4096];
        const ssize_t n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) close_it = true;
      }
      if (close_it)
        close(c.fd);
      else
        keep.push_back(c);
    }
    conns.swap(keep);
    if (listener >= 0 && r > 0 && (fds[0].revents & POLLIN)) {
      for (;;) {
        const int c = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) break;
        if (send(c, kResponse.data(), kResponse.size(), MSG_NOSIGNAL) < 0 ||
            shutdown(c, SHUT_WR) < 0 || conns.size() >= kMaxConns) {
          close(c);
          continue;
        }
        conns.push_back({c, now + kConnLingerNs});
      }
    }
  }
  return 0;
}
