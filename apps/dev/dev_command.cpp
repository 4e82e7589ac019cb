#include "dev/dev_command.hpp"

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <pthread.h>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "dev/dev_server.hpp"
#include "promptetheus/options.hpp"

namespace promptetheus::devserver {
namespace {

struct DevCommandArgs {
  DevServerOptions options;
  std::vector<std::string> api_keys;
};

// Keys given with --api-key, plus PROMPTETHEUS_DEV_API_KEY; pt_dev_key when neither is set.
std::vector<std::string> resolve_api_keys(const std::vector<std::string>& flags) {
  std::vector<std::string> keys = flags;
  if (const char* env = std::getenv("PROMPTETHEUS_DEV_API_KEY"); env && *env) keys.emplace_back(env);
  if (keys.empty()) keys.emplace_back("pt_dev_key");
  return keys;
}

int run(DevCommandArgs& args) {
  args.options.credentials.api_keys = resolve_api_keys(args.api_keys);
  args.options.prices = Options::from_env().prices;  // PROMPTETHEUS_PRICES, config.toml `prices`

  // Block SIGINT/SIGTERM before the server starts its threads (they inherit the mask), then wait
  // for one synchronously: shutdown runs on this thread, never inside a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);

  if (!is_loopback_host(args.options.host)) {
    std::cerr << "promptetheus dev: warning: listening on " << args.options.host
              << ", beyond this machine: the dev API key and console token are public defaults, so "
                 "anyone who can reach this address can read and write its data\n";
  }
  DevServer server;
  try {
    server.start(args.options);
  } catch (const std::exception& e) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    std::cerr << "promptetheus dev: " << e.what() << '\n';
    return 1;
  }
  std::cout << "Promptetheus dev server listening on " << server.base_url() << std::endl;
  std::cout << "Console: " << server.base_url() << "/" << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server.stop();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  std::cout << "Promptetheus dev server stopped" << std::endl;
  return 0;
}

}  // namespace

void add_dev_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DevCommandArgs>();
  auto* dev = app.add_subcommand("dev", "Run the local ingestion server (HTTP API of the SDK)");
  dev->add_option("--host", args->options.host, "Address to bind")->capture_default_str();
  dev->add_option("--port", args->options.port, "Port to bind (0 = any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  dev->add_option("--data-dir", args->options.data_dir, "Directory for the database and artifacts")
      ->capture_default_str();
  dev->add_option("--db", args->options.db_path,
                  "SQLite database file (default: <data-dir>/promptetheus.db)");
  dev->add_option("--api-key", args->api_keys,
                  "Accepted API key; repeat for several (default: pt_dev_key, or "
                  "PROMPTETHEUS_DEV_API_KEY)");
  dev->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace promptetheus::devserver
