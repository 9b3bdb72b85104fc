// SystemdBackend and BusConnection against a fake systemd manager on a private dbus-daemon: start
// jobs that end, end early or never end; PropertiesChanged only for the units the Hive follows;
// nothing of a connection runs after it is gone; its fds are CLOEXEC.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <set>

#include "common/sys/bus.h"
#include "common/sys/bus_raw.h"
#include "hive/systemd_backend.h"

extern char** environ;

using namespace rbee;
using namespace rbee::hive;
using namespace std::chrono_literals;

namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

bool have_dbus_daemon() {
  return ::access("/usr/bin/dbus-daemon", X_OK) == 0;
}

// A dbus-daemon of our own, made the "system bus" of this process while it lives.
class PrivateBus {
 public:
  PrivateBus() {
    char tmpl[] = "/tmp/rbee-bus-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    const std::string socket = dir_ + "/bus";
    const std::string address = "--address=unix:path=" + socket;
    std::vector<std::string> args = {"dbus-daemon", "--session",  "--nofork",
                                     "--nopidfile", "--nosyslog", address};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Its stderr (a warning when it cannot raise its fd limit) is no test output.
    posix_spawn_file_actions_t quiet;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
    const int r =
        ::posix_spawn(&pid_, "/usr/bin/dbus-daemon", &quiet, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&quiet);
    REQUIRE(r == 0);
    for (int i = 0; i < 500 && !std::filesystem::exists(socket); ++i) ::usleep(10000);
    REQUIRE(std::filesystem::exists(socket));
    ::setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + socket).c_str(), 1);
  }
  ~PrivateBus() {
    ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

// The few Manager methods the backend calls, and the signals systemd would send.
class FakeSystemd {
 public:
  enum class Jobs { after_reply, before_reply, never };
  Jobs jobs = Jobs::after_reply;
  std::vector<std::string> started, stopped, pinged;
  // The last StartTransientUnit's properties, one "Name=value" each, in the order sent.
  std::vector<std::string> properties;

  explicit FakeSystemd(boost::asio::io_context& io) {
    auto c = sys::BusConnection::open_system(io);
    REQUIRE(c);
    conn_ = std::move(*c);
    REQUIRE(sd_bus_request_name(sys::raw::bus(*conn_), kDest, 0) >= 0);
    sd_bus_slot* slot = nullptr;
    REQUIRE(sd_bus_add_object(sys::raw::bus(*conn_), &slot, kPath, &FakeSystemd::on_call, this) >=
            0);
    object_.reset(slot);
  }

  std::string job_path(uint32_t n) const {
    return std::string(kPath) + "/job/" + std::to_string(n);
  }

  void job_removed(uint32_t n, const std::string& unit, const char* result) {
    REQUIRE(sd_bus_emit_signal(sys::raw::bus(*conn_), kPath, kManager, "JobRemoved", "uoss", n,
                               job_path(n).c_str(), unit.c_str(), result) >= 0);
    conn_->kick();
  }

  // The Service properties systemd sends when a unit's main process exited with `status`.
  void exited(const std::string& unit, int32_t status) {
    char* path = nullptr;
    REQUIRE(sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit.c_str(), &path) >= 0);
    sd_bus_message* m = nullptr;
    REQUIRE(sd_bus_message_new_signal(sys::raw::bus(*conn_), &m, path,
                                      "org.freedesktop.DBus.Properties", "PropertiesChanged") >= 0);
    free(path);
    sys::raw::MessagePtr owned(m);
    REQUIRE(sd_bus_message_append(m, "s", "org.freedesktop.systemd1.Service") >= 0);
    REQUIRE(sd_bus_message_append(m, "a{sv}", 3, "ExecMainCode", "i", int32_t{CLD_EXITED},
                                  "ExecMainStatus", "i", status, "Result", "s", "exit-code") >= 0);
    REQUIRE(sd_bus_message_append(m, "as", 0) >= 0);
    REQUIRE(sys::raw::send(*conn_, m));
  }

 private:
  static int on_call(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* self = static_cast<FakeSystemd*>(userdata);
    const char* unit = nullptr;
    if (sd_bus_message_is_method_call(m, kManager, "Subscribe"))
      return sd_bus_reply_method_return(m, "");
    if (sd_bus_message_is_method_call(m, kManager, "Ping")) {
      self->pinged.push_back("ping");
      return 1;
    }
    if (sd_bus_message_is_method_call(m, kManager, "StopUnit")) {
      sd_bus_message_read(m, "s", &unit);
      self->stopped.push_back(unit);
      return sd_bus_reply_method_return(m, "o", self->job_path(++self->n_).c_str());
    }
    if (!sd_bus_message_is_method_call(m, kManager, "StartTransientUnit")) return 0;
    sd_bus_message_read(m, "s", &unit);
    self->started.push_back(unit);
    self->properties = read_properties(m);
    const uint32_t n = ++self->n_;
    if (self->jobs == Jobs::before_reply) self->job_removed(n, unit, "done");
    int r = sd_bus_reply_method_return(m, "o", self->job_path(n).c_str());
    if (self->jobs == Jobs::after_reply) self->job_removed(n, unit, "done");
    return r;
  }

  // StartTransientUnit's mode and a(sv), each value written out by its D-Bus type.
  static std::vector<std::string> read_properties(sd_bus_message* m) {
    std::vector<std::string> out;
    const char* mode = nullptr;
    REQUIRE(sd_bus_message_read(m, "s", &mode) >= 0);
    out.push_back(std::string("mode=") + mode);
    REQUIRE(sd_bus_message_enter_container(m, 'a', "(sv)") > 0);
    while (sd_bus_message_enter_container(m, 'r', "sv") > 0) {
      const char *name = nullptr, *sig = nullptr;
      char type = 0;
      REQUIRE(sd_bus_message_read(m, "s", &name) >= 0);
      REQUIRE(sd_bus_message_peek_type(m, &type, &sig) > 0);
      std::string value = std::string(sig) + ":";
      REQUIRE(sd_bus_message_enter_container(m, 'v', sig) > 0);
      const std::string_view s(sig);
      if (s == "s") {
        const char* v = nullptr;
        REQUIRE(sd_bus_message_read(m, "s", &v) >= 0);
        value += v;
      } else if (s == "b") {
        int v = 0;
        REQUIRE(sd_bus_message_read(m, "b", &v) >= 0);
        value += v ? "true" : "false";
      } else if (s == "u") {
        uint32_t v = 0;
        REQUIRE(sd_bus_message_read(m, "u", &v) >= 0);
        value += std::to_string(v);
      } else if (s == "t") {
        uint64_t v = 0;
        REQUIRE(sd_bus_message_read(m, "t", &v) >= 0);
        value += std::to_string(v);
      } else if (s == "as") {
        value += join(read_strv(m));
      } else if (s == "a(sasb)") {
        REQUIRE(sd_bus_message_enter_container(m, 'a', "(sasb)") > 0);
        while (sd_bus_message_enter_container(m, 'r', "sasb") > 0) {
          const char* path = nullptr;
          int ignore = 0;
          REQUIRE(sd_bus_message_read(m, "s", &path) >= 0);
          const auto argv = read_strv(m);
          REQUIRE(sd_bus_message_read(m, "b", &ignore) >= 0);
          value += std::string(path) + " " + join(argv) + (ignore ? " ignore" : "");
          REQUIRE(sd_bus_message_exit_container(m) >= 0);
        }
        REQUIRE(sd_bus_message_exit_container(m) >= 0);
      } else {
        REQUIRE(sd_bus_message_skip(m, sig) >= 0);
      }
      REQUIRE(sd_bus_message_exit_container(m) >= 0);
      REQUIRE(sd_bus_message_exit_container(m) >= 0);
      out.push_back(std::string(name) + "=" + value);
    }
    REQUIRE(sd_bus_message_exit_container(m) >= 0);
    char aux_type = 0;
    const char* aux = nullptr;
    REQUIRE(sd_bus_message_peek_type(m, &aux_type, &aux) > 0);
    out.push_back(std::string("aux=") + aux_type + aux);
    return out;
  }

  static std::vector<std::string> read_strv(sd_bus_message* m) {
    char** strv = nullptr;
    REQUIRE(sd_bus_message_read_strv(m, &strv) >= 0);
    std::vector<std::string> out;
    for (char** p = strv; p && *p; ++p) {
      out.emplace_back(*p);
      free(*p);
    }
    free(strv);
    return out;
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string out = "[";
    for (const auto& s : v) out += (out.size() > 1 ? "," : "") + s;
    return out + "]";
  }

  std::unique_ptr<sys::BusConnection> conn_;
  sys::raw::SlotPtr object_;
  uint32_t n_ = 0;
};

template <class Pred>
bool run_until(boost::asio::io_context& io, Pred pred, std::chrono::milliseconds limit = 5s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    io.run_for(5ms);
  }
  return true;
}

LaunchPlan plan_for(const WorkerId& id, std::chrono::milliseconds stop_timeout = 10s) {
  LaunchPlan p;
  p.id = id;
  p.argv = {"/bin/true"};
  p.stop_timeout = stop_timeout;
  return p;
}

struct Exit {
  WorkerId id;
  std::optional<int> code;
};

struct Rig {
  PrivateBus bus;
  boost::asio::io_context io;
  FakeSystemd systemd{io};
  std::unique_ptr<SystemdBackend> backend;
  std::vector<Exit> exits;

  explicit Rig(SystemdBackend::Options options = {}) {
    auto b = SystemdBackend::connect(io, -1, options);
    REQUIRE(b);
    backend = std::move(*b);
    backend->on_exit = [this](const WorkerId& id, const ExitInfo& info) {
      exits.push_back({id, info.exit_code});
    };
  }

  std::optional<Result<Launched>> launch(const LaunchPlan& plan) {
    std::optional<Result<Launched>> out;
    backend->launch(plan, 0, [&](Result<Launched> r) { out = std::move(r); });
    run_until(
        io, [&] { return out.has_value(); }, 10s);
    return out;
  }

  // Every message the backend sent before this one has been handled by the bus (its match rules
  // are in place): messages of one connection are handled in order.
  void barrier() {
    static int n = 0;
    const std::string unit = "rbee-barrier@" + std::to_string(++n) + ".service";
    backend->stop(WorkerId{"barrier", std::to_string(n)}, -1, 0ms);
    REQUIRE(run_until(io, [&] {
      return std::find(systemd.stopped.begin(), systemd.stopped.end(), unit) !=
             systemd.stopped.end();
    }));
  }
};

std::set<int> fds_without_cloexec() {
  std::set<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::stoi(e.path().filename().string());
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) out.insert(fd);
  }
  return out;
}

}  // namespace

TEST_CASE("systemd backend: a start completes on its job's JobRemoved, before or after the reply") {
  REQUIRE(have_dbus_daemon());  // scripts/setup.sh installs dbus: no silent skip
  Rig rig;
  for (auto mode : {FakeSystemd::Jobs::after_reply, FakeSystemd::Jobs::before_reply}) {
    rig.systemd.jobs = mode;
    const std::string port = mode == FakeSystemd::Jobs::after_reply ? "9001" : "9002";
    auto out = rig.launch(plan_for({"tw", port}));
    REQUIRE(out.has_value());
    INFO((*out ? "" : out->error().message));
    REQUIRE(*out);
    CHECK((*out)->unit == "rbee-tw@" + port + ".service");
  }
}

TEST_CASE("systemd backend: a transient unit carries the command, account, sandbox and limits") {
  REQUIRE(have_dbus_daemon());  // scripts/setup.sh installs dbus: no silent skip
  Rig rig;
  ServiceSpec spec;
  spec.read_write_paths = {"/srv/models", "/var/cache/llm"};
  spec.restart = RestartPolicy::on_failure;
  spec.memory_max = 8ull << 30;
  spec.cpu_max = CpuMax{200000, 100000};
  spec.pids_max = 512;
  sys::Credentials account;
  account.uid = 990;
  account.gid = 980;
  account.groups = {980, 44};
  LaunchPlan plan = plan_for({"llm", "8080"}, 15s);
  plan.argv = {"/usr/bin/llm-server", "--port", "8080"};
  plan.env = {"PORT=8080", "RBEE_SPAWNED_BY=hive"};
  plan.working_directory = "/srv/models";
  plan.service = &spec;
  plan.account = &account;
  auto out = rig.launch(plan);
  REQUIRE(out.has_value());
  INFO((*out ? "" : out->error().message));
  REQUIRE(*out);
  const std::vector<std::string> want = {
      "mode=fail",
      "Description=s:rbee worker llm/8080",
      "Slice=s:rbee-llm.slice",
      "Type=s:exec",
      "ExecStart=a(sasb):/usr/bin/llm-server [/usr/bin/llm-server,--port,8080]",
      "Environment=as:[PORT=8080,RBEE_SPAWNED_BY=hive]",
      "WorkingDirectory=s:/srv/models",
      "CPUAccounting=b:true",
      "IOAccounting=b:true",
      "MemoryAccounting=b:true",
      "TasksAccounting=b:true",
      "User=s:990",
      "Group=s:980",
      "SupplementaryGroups=as:[980,44]",
      "CapabilityBoundingSet=t:0",
      "AmbientCapabilities=t:0",
      "NoNewPrivileges=b:true",
      "PrivateTmp=b:true",
      "ProtectKernelTunables=b:true",
      "ProtectKernelModules=b:true",
      "ProtectKernelLogs=b:true",
      "ProtectControlGroups=b:true",
      "ProtectClock=b:true",
      "ProtectHostname=b:true",
      "RestrictSUIDSGID=b:true",
      "LockPersonality=b:true",
      "RestrictRealtime=b:true",
      "ProtectSystem=s:full",
      "ProtectHome=s:read-only",
      "UMask=u:23",
      "ReadWritePaths=as:[/srv/models,/var/cache/llm]",
      "MemoryMax=t:8589934592",
      "TasksMax=t:512",
      "CPUQuotaPerSecUSec=t:2000000",
      "Restart=s:on-failure",
      "RestartUSec=t:1000000",
      "TimeoutStopUSec=t:15000000",
      "CollectMode=s:inactive-or-failed",
      "aux=a(sa(sv))",
  };
  CHECK(rig.systemd.properties == want);
}

TEST_CASE("systemd backend: a Hive that is not root runs a unit as itself, never as root") {
  REQUIRE(have_dbus_daemon());  // scripts/setup.sh installs dbus: no silent skip
  sys::Credentials own;
  own.uid = 4321;
  own.gid = 4320;
  own.groups = {4320};
  Rig rig(SystemdBackend::Options{.hive_account = own});
  auto out = rig.launch(plan_for({"llm", "8081"}));  // the plan names no account
  REQUIRE(out.has_value());
  INFO((*out ? "" : out->error().message));
  REQUIRE(*out);
  const auto& props = rig.systemd.properties;
  for (const char* want : {"User=s:4321", "Group=s:4320", "SupplementaryGroups=as:[4320]",
                           "CapabilityBoundingSet=t:0", "NoNewPrivileges=b:true"}) {
    INFO(want);
    CHECK(std::find(props.begin(), props.end(), want) != props.end());
  }
}

TEST_CASE("systemd backend: a start whose JobRemoved never comes fails at its deadline") {
  REQUIRE(have_dbus_daemon());  // scripts/setup.sh installs dbus: no silent skip
  Rig rig(SystemdBackend::Options{.min_start_timeout = 0ms});
  rig.systemd.jobs = FakeSystemd::Jobs::never;
  int completions = 0;
  std::optional<Result<Launched>> out;
  const auto t0 = std::chrono::steady_clock::now();
  rig.backend->launch(plan_for({"tw", "9001"}, 300ms), 0, [&](Result<Launched> r) {
    ++completions;
    out = std::move(r);
  });
  REQUIRE(run_until(
      rig.io, [&] { return out.has_value(); }, 5s));
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= 300ms);
  REQUIRE_FALSE(*out);
  const std::string& error = out->error().message;
  INFO(error);
  CHECK(error.find("rbee-tw@9001.service") != std::string::npos);
  CHECK(error.find("/org/freedesktop/systemd1/job/1") != std::string::npos);
  CHECK(error.find("300 ms") != std::string::npos);
  // The unit is stopped, so a start that comes through late leaves nothing running.
  REQUIRE(run_until(rig.io, [&] { return !rig.systemd.stopped.empty(); }));
  CHECK(rig.systemd.stopped.front() == "rbee-tw@9001.service");

  // Late news of that start reaches nothing: the job's end, the unit's exit.
  rig.systemd.job_removed(1, "rbee-tw@9001.service", "done");
  rig.systemd.exited("rbee-tw@9001.service", 3);
  rig.barrier();
  rig.io.run_for(50ms);
  CHECK(completions == 1);
  CHECK(rig.exits.empty());
}

TEST_CASE("systemd backend: exit reasons arrive for followed units only") {
  REQUIRE(have_dbus_daemon());  // scripts/setup.sh installs dbus: no silent skip
  Rig rig;
  auto out = rig.launch(plan_for({"tw", "9001"}));
  REQUIRE(out.has_value());
  INFO((*out ? "" : out->error().message));
  REQUIRE(*out);

  // Neither a unit in the layout the Hive did not start or adopt, nor any other unit, reaches it;
  // the systemd signals of one sender keep their order, so the last one arrives last.
  rig.systemd.exited("rbee-other@9999.service", 7);
  rig.systemd.exited("ssh.service", 8);
  rig.systemd.exited("rbee-tw@9001.service", 3);
  REQUIRE(run_until(rig.io, [&] { return !rig.exits.empty(); }));
  rig.io.run_for(50ms);
  REQUIRE(rig.exits.size() == 1);
  CHECK(rig.exits[0].id == WorkerId{"tw", "9001"});
  CHECK(rig.exits[0].code == 3);

  // Adopted (after a Hive restart, or started by someone else): followed from then on.
  rig.backend->watch(WorkerId{"ext", "9100"});
  rig.barrier();
  rig.systemd.exited("rbee-ext@9100.service", 4);
  REQUIRE(run_until(rig.io, [&] { return rig.exits.size() == 2; }));
  CHECK(rig.exits[1].id == WorkerId{"ext", "9100"});
  CHECK(rig.exits[1].code == 4);

  // Removed (retention over): no longer followed.
  rig.backend->remove(WorkerId{"tw", "9001"});
  rig.barrier();
  rig.systemd.exited("rbee-tw@9001.service", 5);
  rig.systemd.exited("rbee-ext@9100.service", 6);
  REQUIRE(run_until(rig.io, [&] { return rig.exits.size() == 3; }));
  rig.io.run_for(50ms);
  REQUIRE(rig.exits.size() == 3);
  CHECK(rig.exits[2].id == WorkerId{"ext", "9100"});
  CHECK(rig.exits[2].code == 6);
}

TEST_CASE("systemd backend: nothing of a destroyed backend runs") {
  REQUIRE(have_dbus_daemon());  // scripts/setup.sh installs dbus: no silent skip
  Rig rig;
  rig.systemd.jobs = FakeSystemd::Jobs::never;
  bool ran = false;
  rig.backend->launch(plan_for({"tw", "9001"}, 100ms), 0, [&](Result<Launched>) { ran = true; });
  REQUIRE(run_until(rig.io, [&] { return !rig.systemd.started.empty(); }));
  rig.backend.reset();  // its start's reply is on the way, its deadline pending
  rig.io.run_for(400ms);
  CHECK_FALSE(ran);
}

TEST_CASE("bus connection: handlers and timers never run after it is gone") {
  REQUIRE(have_dbus_daemon());  // scripts/setup.sh installs dbus: no silent skip
  PrivateBus bus;
  boost::asio::io_context io;
  auto conn = sys::BusConnection::open_system(io);
  REQUIRE(conn);
  bool fired = false;
  (*conn)->after(0ms, [&] { fired = true; });
  (*conn)->kick();  // a posted process() of the connection
  conn->reset();
  io.run_for(100ms);  // what was posted runs now: it must find nothing
  CHECK_FALSE(fired);
}

TEST_CASE("bus connection: its fds are CLOEXEC") {
  REQUIRE(have_dbus_daemon());  // scripts/setup.sh installs dbus: no silent skip
  PrivateBus bus;
  boost::asio::io_context io;
  const auto before = fds_without_cloexec();
  auto conn = sys::BusConnection::open_system(io);
  REQUIRE(conn);
  CHECK(fds_without_cloexec() == before);
}

TEST_CASE("bus connection: a message sent just before it closes still goes out") {
  REQUIRE(have_dbus_daemon());  // scripts/setup.sh installs dbus: no silent skip
  PrivateBus bus;
  boost::asio::io_context io;
  FakeSystemd systemd(io);
  {
    auto conn = sys::BusConnection::open_system(io);
    REQUIRE(conn);
    REQUIRE(run_until(io, [&] {  // connected: Hello answered
      const char* name = nullptr;
      return sd_bus_get_unique_name(sys::raw::bus(**conn), &name) >= 0;
    }));
    sd_bus_message* m = nullptr;
    REQUIRE(sd_bus_message_new_method_call(sys::raw::bus(**conn), &m, kDest, kPath, kManager,
                                           "Ping") >= 0);
    sys::raw::MessagePtr owned(m);
    sd_bus_message_set_expect_reply(m, 0);
    REQUIRE(sys::raw::send(**conn, m));
  }  // closed without the loop having run since
  REQUIRE(run_until(io, [&] { return !systemd.pinged.empty(); }));
}
