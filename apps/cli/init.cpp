// `promptetheus init` (contract §6.5): bootstraps a project through the console API and prints
// (and optionally saves) its API key. Files holding the key are written with mode 0600.
#include <CLI/CLI.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "analysis/session_store.hpp"
#include "api_access.hpp"
#include "cli_common.hpp"
#include "cli_http.hpp"
#include "core/files.hpp"
#include "transport/spool.hpp"

namespace promptetheus::cli {

namespace {

// Without --api-url (or PROMPTETHEUS_API_URL) init talks to the local dev server (kLocalApiUrl),
// whose console token is public: nothing is sent to a hosted service unless the user names it.

struct InitOptions {
  std::string api_url, console_token, agent_name, env_path;
  std::string workspace_name = "Promptetheus Workspace";
  std::string project_name = "Default Project";
  bool write_env = false, write_config = false;
};

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string shell_quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) out += c == '\'' ? std::string("'\"'\"'") : std::string(1, c);
  return out + "'";
}

std::string json_string(const std::string& v) { return nlohmann::json(v).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace); }

/// name, then slug, then id of a response object; else the fallback.
std::string display_name(const nlohmann::json& obj, const std::string& fallback) {
  if (!obj.is_object()) return fallback;
  for (const char* key : {"name", "slug", "id"}) {
    auto it = obj.find(key);
    if (it != obj.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty())) {
      return it->is_string() ? it->get<std::string>() : it->dump();
    }
  }
  return fallback;
}

/// Rewrites `key<sep>value` lines of a file (keys found by `key_of`), appending missing keys.
bool update_lines(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries,
                  std::string (*key_of)(const std::string&), std::string& error) {
  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
  }
  std::vector<bool> found(entries.size(), false);
  for (auto& line : lines) {
    const std::string key = key_of(line);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (!key.empty() && key == entries[i].first) {
        line = entries[i].second;
        found[i] = true;
      }
    }
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!found[i]) lines.push_back(entries[i].second);
  }
  std::string text;
  for (std::size_t i = 0; i < lines.size(); ++i) text += lines[i] + "\n";
  const std::size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) detail::make_private_dirs(path.substr(0, slash));
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    error = "could not write " + path;
    return false;
  }
  ::chmod(path.c_str(), 0600);
  return true;
}

std::string env_key(const std::string& line) {
  std::size_t i = line.find_first_not_of(" \t");
  if (i == std::string::npos || line[i] == '#') return "";
  const std::size_t eq = line.find('=', i);
  if (eq == std::string::npos) return "";
  std::string key = line.substr(i, eq - i);
  while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
  if (key.rfind("export ", 0) == 0) key = key.substr(7);
  return key;
}

}  // namespace

void add_init_command(CLI::App& app, ExitCode& rc) {
  auto opts = std::make_shared<InitOptions>();
  auto* cmd = app.add_subcommand("init", "Create a project through the console API and print its key");
  cmd->add_option("--api-url", opts->api_url, "API base URL");
  cmd->add_option("--console-token", opts->console_token, "Console token (or PROMPTETHEUS_CONSOLE_TOKEN)");
  cmd->add_option("--workspace-name", opts->workspace_name)->capture_default_str();
  cmd->add_option("--project-name", opts->project_name)->capture_default_str();
  cmd->add_option("--agent-name", opts->agent_name);
  auto* env_opt = cmd->add_option("--write-env", opts->env_path, "Write the key to an env file (default .env)")
                      ->expected(0, 1);
  cmd->add_flag("--write-config", opts->write_config, "Write ~/.promptetheus/config.toml");
  cmd->callback([opts, env_opt, &rc] {
    opts->write_env = env_opt->count() > 0;
    if (opts->write_env && opts->env_path.empty()) opts->env_path = ".env";
    std::string api_url = opts->api_url.empty() ? env_or("PROMPTETHEUS_API_URL", kLocalApiUrl) : opts->api_url;
    while (!api_url.empty() && api_url.back() == '/') api_url.pop_back();
    const std::string token = console_token_for(api_url, opts->console_token);
    if (token.empty()) {
      write_out(
          "Cannot bootstrap: no console token configured.\n"
          "Set PROMPTETHEUS_CONSOLE_TOKEN or pass --console-token.\n\n"
          "For local self-hosted development, the default dev token is:\n"
          "  promptetheus init --api-url http://127.0.0.1:4318 --console-token pt_console_token\n");
      rc.value = 2;
      return;
    }
    nlohmann::json body = {{"workspace_name", opts->workspace_name}, {"project_name", opts->project_name}};
    if (!opts->agent_name.empty()) body["agent_name"] = opts->agent_name;
    const std::string url = api_url + "/api/onboarding/bootstrap";
    const HttpReply r = http_post_json(url, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                                       token, std::chrono::seconds(30));
    const auto response = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status == 0) {
      // No answer at all: say so, and how to start the local server it was meant for.
      print_line("Promptetheus bootstrap failed: " +
                 (r.timed_out ? "timed out connecting to " + url : "could not reach " + url + ": " + r.reason) + ".");
      if (is_loopback_url(api_url)) {
        print_line("Is the local server running? Start it with `promptetheus dev`, or pass --api-url for another server.");
      }
      rc.value = 1;
      return;
    }
    if (r.status < 200 || r.status >= 300) {
      print_line("Promptetheus bootstrap failed (HTTP " + std::to_string(r.status) + ").");
      if (response.is_object() && response.contains("detail") && !response["detail"].is_null()) {
        const auto& d = response["detail"];
        print_line(d.is_string() ? d.get<std::string>() : d.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
      rc.value = 1;
      return;
    }
    const std::string api_key =
        response.is_object() && response.contains("api_key") && response["api_key"].is_string()
            ? response["api_key"].get<std::string>() : "";
    if (api_key.empty()) {
      print_line("Promptetheus project already exists, but the raw API key is not recoverable.");
      if (response.is_object() && response.contains("api_key_preview") && response["api_key_preview"].is_string()) {
        print_line("Existing key: " + response["api_key_preview"].get<std::string>());
      }
      print_line("Rotate the key in the dashboard, or create a new project name and run init again.");
      rc.value = 1;
      return;
    }
    const nlohmann::json empty;
    std::string out = "Promptetheus project ready\n";
    out += "  API URL  : " + api_url + "\n";
    out += "  workspace: " + display_name(response.value("workspace", empty), opts->workspace_name) + "\n";
    out += "  project  : " + display_name(response.value("project", empty), opts->project_name) + "\n\n";
    out += "Save this key; it is shown once:\n  " + api_key + "\n\n";
    out += "For your shell:\n  export PROMPTETHEUS_API_KEY=" + shell_quote(api_key) + "\n";
    out += "  export PROMPTETHEUS_API_URL=" + shell_quote(api_url) + "\n";
    write_out(out);
    rc.value = 0;
    std::string error;
    if (opts->write_env) {
      if (update_lines(opts->env_path,
                       {{"PROMPTETHEUS_API_KEY", "PROMPTETHEUS_API_KEY=" + shell_quote(api_key)},
                        {"PROMPTETHEUS_API_URL", "PROMPTETHEUS_API_URL=" + shell_quote(api_url)}},
                       &env_key, error)) {
        print_line("Wrote env vars to " + opts->env_path + ".");
      } else {
        print_error(error);
        rc.value = 1;
      }
    }
    if (opts->write_config) {
      const char* home = std::getenv("HOME");
      const std::string path = std::string(home ? home : ".") + "/.promptetheus/config.toml";
      auto toml_key = [](const std::string& line) -> std::string {
        const std::size_t eq = line.find('=');
        if (eq == std::string::npos) return "";
        std::string key = line.substr(0, eq);
        key.erase(0, key.find_first_not_of(" \t"));
        while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
        return key;
      };
      if (update_lines(path, {{"api_url", "api_url = " + json_string(api_url)}, {"api_key", "api_key = " + json_string(api_key)}},
                       +toml_key, error)) {
        print_line("Wrote SDK config to " + path + ".");
      } else {
        print_error(error);
        rc.value = 1;
      }
    }
  });
}

}  // namespace promptetheus::cli
