#include <catch2/catch.hpp>

#include "hive/hive_config.h"
#include "hive/hive_daemon.h"

using namespace rbee::hive;

TEST_CASE("catalog parses a full service table") {
  auto c = parse_hive_config(R"(
[hive]
listen = "0.0.0.0:7835"
hive_id = "gpu-01"
interval_ms = 500
full_read_every = 10
[services.llm]
command = ["llama-server", "--port", "{port}"]
base_port = 8080
env = { MODEL = "/models/x.gguf" }
restart = "on-failure"
memory_max = "4G"
cpu_max = 1.5
pids_max = 256
gpus = [0, 1]
)",
                             "t.toml");
  REQUIRE(c);
  CHECK(c->listen == "0.0.0.0:7835");
  CHECK(c->hive_id == "gpu-01");
  CHECK(c->interval_ms == 500);
  CHECK(c->full_read_every == 10u);
  const auto& s = c->services.at("llm");
  CHECK(s.command.size() == 3);
  CHECK(s.base_port == 8080);
  CHECK(s.env.at("MODEL") == "/models/x.gguf");
  CHECK(s.restart == RestartPolicy::on_failure);
  CHECK(s.memory_max == 4ull << 30);
  REQUIRE(s.cpu_max);
  CHECK(s.cpu_max->quota_us == 150000);
  CHECK(s.pids_max == 256u);
  CHECK(s.gpus == std::vector<uint32_t>{0, 1});
}

TEST_CASE("catalog errors name the key and what was expected") {
  auto check = [](const char* text, const char* needle) {
    auto c = parse_hive_config(text, "t.toml");
    REQUIRE_FALSE(c);
    INFO(c.error().message);
    CHECK(c.error().message.find(needle) != std::string::npos);
  };
  check("[services.llm]\nbase_port = 8080\n", "services.llm.command");
  check("[services.llm]\ncommand = [\"x\"]\n", "services.llm.base_port is required");
  check("[services.llm]\ncommand = [\"x\"]\nbase_port = 70000\n", "1024 to 65535");
  // Ports below 1024 belong to the host's own services (22 is ssh).
  check("[services.llm]\ncommand = [\"x\"]\nbase_port = 22\n", "1024 to 65535");
  check("[services.llm]\ncommand = [\"x\"]\nbase_port = 65000\nport_count = 1000\n",
        "services.llm.port_count");
  // No allowed_env entry or prefix may reach the variables the worker's environment rests on.
  for (const char* bad : {"LD_PRELOAD", "L*", "LD*", "RB*", "RBEE_PORT", "*", "A*B", "X=Y"})
    check((std::string("[services.llm]\ncommand = [\"x\"]\nbase_port = 8080\nallowed_env = [\"") +
           bad + "\"]\n")
              .c_str(),
          "services.llm.allowed_env");
  check("[services.llm]\ncommand = [\"x\"]\nbase_port = 8080\nrestart = \"always\"\n", "restart");
  check("[services.llm]\ncommand = [\"x\"]\nbase_port = 8080\nmemory_max = \"4X\"\n",
        "unknown unit");
  check("[services.\"Bad/Name\"]\ncommand = [\"x\"]\nbase_port = 8080\n", "service name");
  check("[hive]\nbackend = \"docker\"\n", "hive.backend");
  check("[hive]\nintervall_ms = 5\n", "unknown key hive.intervall_ms");
  // Root as every service's default would undo "never root unless the service says so".
  check("[hive]\nworker_user = \"root\"\n", "hive.worker_user must not be root");
  check("[hive]\nworker_user = \"0\"\n", "set user = \"root\" in its [services.NAME] table");
  check("[hive\n", "t.toml:1");
}

TEST_CASE("byte sizes and cpu cores parse with units and max") {
  CHECK(*parse_byte_size("512M") == std::optional<uint64_t>(512ull << 20));
  CHECK(*parse_byte_size("1024") == std::optional<uint64_t>(1024));
  CHECK_FALSE(parse_byte_size("max")->has_value());
  CHECK_FALSE(parse_byte_size("-1"));
  CHECK_FALSE(parse_byte_size("99999999999T"));
  CHECK(parse_cpu_cores("0.5")->value().quota_us == 50000);
  CHECK_FALSE(parse_cpu_cores("max")->has_value());
  CHECK_FALSE(parse_cpu_cores("0"));
  CHECK_FALSE(parse_cpu_cores("abc"));
}

TEST_CASE("catalog refuses a float where an integer is expected, however large") {
  // Found by the hive_config fuzzer: 2e20 used to reach an unchecked float-to-int conversion.
  for (const char* v : {"2e20", "8080.0", "-1e300", "inf", "nan"}) {
    auto c = parse_hive_config(
        std::string("[services.llm]\ncommand = [\"x\"]\nbase_port = ") + v + "\n", "t.toml");
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("base_port") != std::string::npos);
  }
  auto g = parse_hive_config("[services.llm]\ncommand = [\"x\"]\nbase_port = 8080\ngpus = [1e10]\n",
                             "t.toml");
  REQUIRE_FALSE(g);
  CHECK(g.error().message.find("gpus") != std::string::npos);
}

TEST_CASE("a request may set only the env names its service allows") {
  auto c = parse_hive_config(
      "[services.llm]\ncommand = [\"x\"]\nbase_port = 8080\n"
      "allowed_env = [\"HF_TOKEN\", \"VLLM_*\"]\nuser = \"nobody\"\ngroup = \"nogroup\"\n"
      "supplementary_groups = [\"video\"]\n",
      "t.toml");
  REQUIRE(c);
  const auto& s = c->services.at("llm");
  CHECK(s.user == "nobody");
  CHECK(s.group == "nogroup");
  CHECK(s.supplementary_groups == std::vector<std::string>{"video"});
  CHECK_FALSE(s.allow_args);
  CHECK(s.port_count == 1000);
  CHECK(env_allowed(s, "HF_TOKEN"));
  CHECK(env_allowed(s, "VLLM_LOGGING_LEVEL"));
  for (const char* no : {"HF_TOKENX", "BASH_ENV", "PERL5OPT", "PYTHONWARNINGS", "BROWSER",
                         "LD_PRELOAD", "RBEE_PORT", "PATH", "VLLM"})
    CHECK_FALSE(env_allowed(s, no));
  CHECK(c->worker_user == "rbee-worker");
}

TEST_CASE("backend auto: systemd only on a systemd host with the host's own cgroup root",
          "[config][backend]") {
  using rbee::hive::wants_systemd_backend;
  CHECK(wants_systemd_backend("auto", false, true));
  CHECK_FALSE(wants_systemd_backend("auto", true, true));  // a cgroup_root of its own
  CHECK_FALSE(wants_systemd_backend("auto", false, false));
  CHECK(wants_systemd_backend("systemd", true, false));  // asked for: start-up says why not
  CHECK_FALSE(wants_systemd_backend("cgroupfs", false, true));
}
