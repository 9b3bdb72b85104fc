// rbee-queen: the aggregator (serve) and its command-line client.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <functional>
#include <iostream>

#include <spdlog/spdlog.h>

#include "common/daemon_main.h"
#include "common/event_loop.h"
#include "common/log.h"
#include "common/sys/fd_limit.h"
#include "common/sys/notify.h"
#include "common/token.h"
#include "queen/cli.h"
#include "queen/queen_daemon.h"

namespace {

int serve(const std::string& config_path, const std::string& log_level) {
  rbee::setup_logging(log_level);
  // Room for the server's 1024 connections besides the daemon's own files (the usual soft
  // limit is 1024).
  if (auto lim = rbee::sys::raise_fd_limit(); !lim)
    spdlog::warn("cannot raise the open-file limit: {}", lim.error().message);
  else if (lim->now < 2048)
    spdlog::warn("open-file limit is {} (hard limit): idle connections can use it up", lim->now);
  auto [config, token] = rbee::cli::load_config_and_token<rbee::queen::QueenConfig>(
      config_path, rbee::queen::load_queen_config);

  boost::asio::io_context io;
  rbee::queen::QueenDaemon daemon(io, std::move(config), std::move(token));
  if (auto st = daemon.start(); !st) throw std::runtime_error(st.error().message);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int sig) {
    spdlog::info("signal {}: stopping", sig);
    rbee::sys::notify_stopping();
    daemon.stop();
    io.stop();
  });
  // Type=notify under systemd: ready once serving; the watchdog is pinged from the loop itself.
  rbee::sys::notify_ready("serving");
  boost::asio::steady_timer watchdog(io);
  std::function<void()> ping = [&] {
    if (auto every = rbee::sys::watchdog_interval()) {
      watchdog.expires_after(*every);
      watchdog.async_wait([&](boost::system::error_code ec) {
        if (ec) return;
        rbee::sys::notify_watchdog();
        ping();
      });
    }
  };
  ping();
  rbee::run_event_loop(io);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rbee-queen: finds the Hives in your SSH config and aggregates their workers"};
  app.require_subcommand(1);
  app.set_version_flag("--version", RBEE_VERSION);
  rbee::queen::ClientContext ctx;
  std::string token_file;

  rbee::cli::ServeCommand serve_cmd(app, "run the Queen daemon");

  auto add_client = [&](CLI::App* cmd) {
    cmd->add_option("--queen", ctx.queen_url, "Queen URL")->capture_default_str();
    rbee::cli::add_token_file_option(cmd, token_file);
  };
  bool json = false;
  rbee::queen::WatchOptions watch;
  double every_s = 1.0;
  auto add_watch = [&](CLI::App* cmd) {
    cmd->add_flag("-w,--watch", watch.enabled,
                  "ask again every --interval: redrawn in place on a terminal, appended in a pipe");
    cmd->add_option("--interval", every_s, "seconds between two --watch reads")
        ->check(CLI::Range(0.1, 3600.0))
        ->capture_default_str();
    cmd->add_option("--count", watch.count, "with --watch: stop after this many reads (0: never)");
  };
  auto* hives = app.add_subcommand("hives", "list the Hives and their status");
  add_client(hives);
  add_watch(hives);
  hives->add_flag("--json", json, "print the API's JSON");

  std::string service, state, hive;
  auto* workers = app.add_subcommand("workers", "list the workers of every Hive");
  add_client(workers);
  workers->add_option("--service", service, "only this service");
  workers->add_option("--state", state, "only this state (ready, failed, ...)");
  workers->add_option("--hive", hive, "only this Hive (id or alias)");
  workers->add_flag("--json", json, "print the API's JSON");
  add_watch(workers);

  auto* refresh =
      app.add_subcommand("refresh", "re-read the SSH config and contact every Hive now");
  add_client(refresh);

  std::string config_path, ssh_config;
  auto* discover = app.add_subcommand(
      "discover", "print the Hives the Queen would contact, without contacting any");
  discover->add_option("--config", config_path, "Queen TOML config file")->check(CLI::ExistingFile);
  discover->add_option("--ssh-config", ssh_config,
                       "SSH config (default: queen.ssh_config or ~/.ssh/config)");
  discover->add_flag("--json", json, "print JSON");

  return rbee::cli::run_app(app, argc, argv, "rbee-queen", [&] {
    if (serve_cmd) return serve(serve_cmd.config_path, serve_cmd.log_level);
    ctx.token = rbee::cli::client_token(token_file);
    watch.every = std::chrono::milliseconds(static_cast<long>(every_s * 1000));
    if (*hives) return rbee::queen::cli_hives(ctx, json, watch);
    if (*workers) return rbee::queen::cli_workers(ctx, service, state, hive, json, watch);
    if (*refresh) return rbee::queen::cli_refresh(ctx);
    if (*discover) return rbee::queen::cli_discover(config_path, ssh_config, json);
    return 0;
  });
}
