#pragma once
// What both daemons' main() share: the `serve` subcommand and its options, loading a daemon's
// config and token, a client's --token-file, and running the chosen subcommand with one line on
// stderr for an error. Header-only: only the two executables (which link CLI11) include it.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/result.h"
#include "common/token.h"

namespace rbee::cli {

// `serve`: runs the daemon, with --config FILE and --log-level. The options are bound to this
// object's members, so it stays where it was made.
class ServeCommand {
 public:
  ServeCommand(CLI::App& app, const std::string& description)
      : cmd_(app.add_subcommand("serve", description)) {
    cmd_->add_option("--config", config_path, "TOML config file")->check(CLI::ExistingFile);
    cmd_->add_option("--log-level", log_level, "trace, debug, info, warn, error");
  }
  ServeCommand(const ServeCommand&) = delete;
  ServeCommand& operator=(const ServeCommand&) = delete;
  explicit operator bool() const { return static_cast<bool>(*cmd_); }

  std::string config_path;
  std::string log_level = "info";

 private:
  CLI::App* cmd_;
};

// The config at `path` read by `load` (the defaults when path is empty), and the token its
// token_file names (RBEE_TOKEN overrides it). Throws on an error in either.
template <class Config, class Load>
std::pair<Config, std::string> load_config_and_token(const std::string& path, Load&& load) {
  Config config;
  if (!path.empty()) {
    auto loaded = load(path);
    if (!loaded) throw std::runtime_error(loaded.error().message);
    config = std::move(*loaded);
  }
  auto token = load_token(config.token_file);
  if (!token) throw std::runtime_error(token.error().message);
  return {std::move(config), std::move(*token)};
}

// A client's token: from --token-file PATH when given, else $RBEE_TOKEN, else none. There is no
// --token: a command line is readable by every local user (/proc/PID/cmdline). Throws when the
// file is refused (see read_token_file).
inline void add_token_file_option(CLI::App* cmd, std::string& token_file) {
  cmd->add_option("--token-file", token_file,
                  "file holding the bearer token, mode 0600 (default: $RBEE_TOKEN)");
}
inline std::string client_token(const std::string& token_file) {
  if (token_file.empty()) {
    const char* env = std::getenv("RBEE_TOKEN");
    return env ? env : "";
  }
  auto token = read_token_file(token_file);
  if (!token) throw std::runtime_error(token.error().message);
  return std::move(*token);
}

// Parses the command line (CLI11 answers --help, --version and errors in it) and runs `dispatch`;
// an exception becomes "<prog>: <what>" on stderr and exit code 1.
inline int run_app(CLI::App& app, int argc, char** argv, const char* prog,
                   const std::function<int()>& dispatch) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return dispatch();
  } catch (const std::exception& e) {
    std::cerr << prog << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace rbee::cli
