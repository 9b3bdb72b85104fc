// rbee-hive: the node supervisor (serve) and its command-line client.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdlib>
#include <iostream>

#include <spdlog/spdlog.h>

#include "common/daemon_main.h"
#include "common/event_loop.h"
#include "common/log.h"
#include "common/sys/fd_limit.h"
#include "common/sys/malloc_tuning.h"
#include "common/token.h"
#include "hive/cli.h"
#include "hive/hive_daemon.h"

namespace {

int serve(const std::string& config_path, const std::string& log_level) {
  rbee::sys::tune_malloc_for_daemon();
  rbee::setup_logging(log_level);
  // A few fds per worker are kept open, and up to 1024 API connections: neither fits in the usual
  // soft limit of 1024. Workers get the original limit back (spawn.cpp).
  if (auto lim = rbee::sys::raise_fd_limit(); !lim)
    spdlog::warn("cannot raise the open-file limit: {}", lim.error().message);
  else if (lim->now != lim->before)
    spdlog::debug("open-file limit raised from {} to {}", lim->before, lim->now);
  else if (lim->now < 8192)  // 7 fds a worker on hybrid hosts, up to 18 with every controller
    spdlog::warn("open-file limit is {} (hard limit): about {} workers fit", lim->now,
                 lim->now / 12);
  auto [config, token] = rbee::cli::load_config_and_token<rbee::hive::HiveConfig>(
      config_path, rbee::hive::load_hive_config);

  boost::asio::io_context io;
  rbee::hive::HiveDaemon daemon(io, std::move(config), std::move(token));
  if (auto st = daemon.start(); !st) throw std::runtime_error(st.error().message);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int sig) {
    spdlog::info("signal {}: stopping; workers keep running", sig);
    daemon.stop();
    io.stop();
  });
  rbee::run_event_loop(io);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rbee-hive: runs inference workers in cgroups and reports what they use"};
  app.require_subcommand(1);
  app.set_version_flag("--version", RBEE_VERSION);
  rbee::hive::ClientContext ctx;
  std::string token_file;

  rbee::cli::ServeCommand serve_cmd(app, "run the Hive daemon");

  auto add_client = [&](CLI::App* cmd) {
    cmd->add_option("--hive", ctx.hive_url, "Hive URL")->capture_default_str();
    rbee::cli::add_token_file_option(cmd, token_file);
  };
  bool json = false, watch = false;
  auto* ps = app.add_subcommand("ps", "list workers");
  add_client(ps);
  ps->add_flag("--json", json, "print the API's JSON");
  ps->add_flag("-w,--watch", watch, "follow the live telemetry stream");

  std::string service;
  int port = 0;
  std::vector<std::string> args;
  auto* spawn = app.add_subcommand("spawn", "start a worker of a catalog service");
  add_client(spawn);
  spawn->add_option("service", service, "catalog service")->required();
  spawn->add_option("--port", port, "port (default: the first free from the base port)")
      ->check(CLI::Range(1, 65535));
  spawn->add_option("args", args, "extra arguments after --");

  std::string worker;
  auto* stop = app.add_subcommand("stop", "stop a worker");
  add_client(stop);
  stop->add_option("worker", worker, "SERVICE/INSTANCE")->required();

  unsigned tail = 100;
  auto* logs = app.add_subcommand("logs", "print a worker's log");
  add_client(logs);
  logs->add_option("worker", worker, "SERVICE/INSTANCE")->required();
  logs->add_option("--tail", tail, "lines")->capture_default_str();
  bool previous = false;
  logs->add_flag("--previous", previous, "the run before the current one (after a restart)");

  return rbee::cli::run_app(app, argc, argv, "rbee-hive", [&] {
    if (serve_cmd) return serve(serve_cmd.config_path, serve_cmd.log_level);
    ctx.token = rbee::cli::client_token(token_file);
    if (*ps) return rbee::hive::cli_ps(ctx, json, watch);
    if (*spawn)
      return rbee::hive::cli_spawn(
          ctx, service, port ? std::optional<uint16_t>(static_cast<uint16_t>(port)) : std::nullopt,
          args);
    if (*stop) return rbee::hive::cli_stop(ctx, worker);
    if (*logs) return rbee::hive::cli_logs(ctx, worker, tail, previous);
    return 0;
  });
}
