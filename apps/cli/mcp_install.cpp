#include "mcp_install.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "atomic_file.hpp"
#include "cli_common.hpp"
#include "toml_table_edit.hpp"

namespace promptetheus::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

constexpr const char* kDefaultHostedUrl = "https://mcp.promptetheus.dev/promptetheus";
constexpr const char* kDefaultServerName = "promptetheus";
// The exit code of the reference's argument checks (contract §6.4: blank arguments exit 2).
constexpr int kBlankArgumentExit = 2;

struct InstallOptions {
  std::string client;
  std::string workspace, project_ref;
  std::string server_name = kDefaultServerName;
  std::string hosted_url = kDefaultHostedUrl;
  std::string command = "promptetheus";
  std::string dir;
  bool print = false;
  bool global = false;
};

std::string stripped(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n\f\v");
  return text.substr(first, last - first + 1);
}

McpClient client_named(const std::string& name) {
  if (name == "codex") return McpClient::codex;
  if (name == "claude") return McpClient::claude;
  return McpClient::cursor;
}

// Every byte outside A-Za-z0-9_.-~ as %XX (uppercase), as Python's quote(s, safe="") does.
std::string percent_encoded(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
        c == '-' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

// The reference's TOML quoting of the snippet: only \ and " are escaped.
std::string reference_toml_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

ordered_json launch_entry(const LocalServerLaunch& launch) {
  ordered_json entry = ordered_json::object();
  entry["command"] = launch.command;
  entry["args"] = launch.args;
  return entry;
}

std::string codex_table_body(const LocalServerLaunch& launch) {
  std::string args;
  for (const auto& arg : launch.args) {
    if (!args.empty()) args += ", ";
    args += toml_basic_string(arg);
  }
  return "command = " + toml_basic_string(launch.command) + "\nargs = [" + args + "]\n";
}

// "[json.exception.parse_error.101] parse error at ..." -> "parse error at ...".
std::string without_exception_tag(const std::string& what) {
  if (!what.empty() && what.front() == '[') {
    const auto close = what.find("] ");
    if (close != std::string::npos) return what.substr(close + 2);
  }
  return what;
}

enum class Change { added, updated, unchanged };

struct EditResult {
  std::optional<Change> change;  // nullopt: failed, see error
  std::string text;
  std::string error;
};

// Sets mcpServers.<name> in a JSON configuration, keeping every other key and its order.
EditResult edit_json_config(const std::string& existing, const std::string& name, const LocalServerLaunch& launch) {
  EditResult result;
  ordered_json root = ordered_json::object();
  if (!stripped(existing).empty()) {
    try {
      root = ordered_json::parse(existing);
    } catch (const std::exception& e) {
      result.error = "not valid JSON: " + without_exception_tag(e.what());
      return result;
    }
  }
  if (!root.is_object()) {
    result.error = "the top level is not a JSON object";
    return result;
  }
  if (root.contains("mcpServers") && !root["mcpServers"].is_object()) {
    result.error = "\"mcpServers\" is not a JSON object";
    return result;
  }
  ordered_json& servers = root["mcpServers"];
  if (servers.is_null()) servers = ordered_json::object();
  const ordered_json entry = launch_entry(launch);
  const auto found = servers.find(name);
  if (found != servers.end() && *found == entry) {
    result.change = Change::unchanged;
    return result;
  }
  result.change = found == servers.end() ? Change::added : Change::updated;
  servers[name] = entry;
  try {
    result.text = root.dump(2) + "\n";
  } catch (const std::exception& e) {
    result.change.reset();
    result.error = "the new configuration is not valid UTF-8: " + without_exception_tag(e.what());
  }
  return result;
}

EditResult edit_codex_config(const std::string& existing, const std::string& name, const LocalServerLaunch& launch) {
  EditResult result;
  const TomlTableEdit edit = set_toml_table(existing, {"mcp_servers", name}, codex_table_body(launch));
  switch (edit.change) {
    case TomlTableChange::failed: result.error = edit.error; break;
    case TomlTableChange::added: result.change = Change::added; break;
    case TomlTableChange::updated: result.change = Change::updated; break;
    case TomlTableChange::unchanged: result.change = Change::unchanged; break;
  }
  result.text = edit.text;
  return result;
}

std::string home_directory() {
  const char* home = std::getenv("HOME");
  return home ? home : "";
}

// Where the client reads its MCP servers: Claude Code's project file, Codex's user config,
// Cursor's project (or, with --global, user) file.
std::optional<std::string> config_path(McpClient client, bool global, std::string& error) {
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (ec && (client == McpClient::claude || (client == McpClient::cursor && !global))) {
    error = "cannot read the current directory: " + ec.message();
    return std::nullopt;
  }
  const std::string home = home_directory();
  switch (client) {
    case McpClient::claude:
      return (cwd / ".mcp.json").string();
    case McpClient::cursor:
      if (!global) return (cwd / ".cursor" / "mcp.json").string();
      if (home.empty()) break;
      return (fs::path(home) / ".cursor" / "mcp.json").string();
    case McpClient::codex: {
      const char* codex_home = std::getenv("CODEX_HOME");
      if (codex_home && *codex_home) return (fs::absolute(fs::path(codex_home), ec) / "config.toml").string();
      if (home.empty()) break;
      return (fs::path(home) / ".codex" / "config.toml").string();
    }
  }
  error = "HOME is not set, so the client's configuration file cannot be found";
  return std::nullopt;
}

// The file's text, "" when it does not exist; nullopt (with `error`) when it cannot be read.
std::optional<std::string> read_existing(const std::string& path, std::string& error) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) return std::string();
  if (ec) {
    error = "cannot read it: " + ec.message();
    return std::nullopt;
  }
  if (status.type() != fs::file_type::regular) {
    error = "it is not a regular file";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    error = "cannot read it";
    return std::nullopt;
  }
  return text.str();
}

int run_hosted(const InstallOptions& o) {
  const std::pair<const char*, const std::string*> required[] = {
      {"--workspace", &o.workspace}, {"--project-ref", &o.project_ref}, {"--server-name", &o.server_name}};
  for (const auto& [flag, value] : required) {
    if (stripped(*value).empty()) {
      print_error(std::string(flag) + " must not be empty");
      return kBlankArgumentExit;
    }
  }
  write_out(hosted_install_output(client_named(o.client), o.workspace, o.project_ref, stripped(o.server_name),
                                  o.hosted_url));
  return 0;
}

int run_local(const InstallOptions& o) {
  const std::string name = stripped(o.server_name);
  if (name.empty()) {
    print_error("--server-name must not be empty");
    return kBlankArgumentExit;
  }
  const McpClient client = client_named(o.client);
  if (o.global && client != McpClient::cursor) {
    print_error("--global applies to --client cursor only (Codex has a single configuration file; Claude Code's "
                "project file is .mcp.json in the current directory)");
    return kUsageErrorExit;
  }
  LocalServerLaunch launch{stripped(o.command), {"mcp"}};
  if (launch.command.empty()) {
    print_error("--command must not be empty");
    return kBlankArgumentExit;
  }
  if (!o.dir.empty()) {
    // The client starts the server from a directory of its choosing: the spool must be absolute.
    std::error_code ec;
    const fs::path dir = fs::absolute(fs::path(o.dir), ec);
    if (ec) {
      print_error("cannot make --dir absolute: " + ec.message());
      return 1;
    }
    launch.args.push_back("--dir");
    launch.args.push_back(dir.lexically_normal().string());
  }
  if (o.print) {
    write_out(local_install_snippet(client, name, launch));
    return 0;
  }

  std::string error;
  const auto path = config_path(client, o.global, error);
  if (!path) {
    print_error("promptetheus mcp install: " + error);
    return 1;
  }
  const auto existing = read_existing(*path, error);
  const EditResult edit = !existing ? EditResult{std::nullopt, {}, error}
                          : client == McpClient::codex ? edit_codex_config(*existing, name, launch)
                                                       : edit_json_config(*existing, name, launch);
  if (!edit.change) {
    print_error("promptetheus mcp install: " + *path + ": " + edit.error + ". The file was left unchanged.");
    return 1;
  }
  if (*edit.change == Change::unchanged) {
    print_line(name + " in " + *path + " is already up to date");
    return 0;
  }
  if (!write_file_atomically(*path, edit.text, error)) {
    print_error("promptetheus mcp install: " + error + ". The file was left unchanged.");
    return 1;
  }
  print_line((*edit.change == Change::added ? "Added " + name + " to " : "Updated " + name + " in ") + *path);
  return 0;
}

}  // namespace

std::string hosted_install_output(McpClient client, const std::string& workspace, const std::string& project_ref,
                                  const std::string& server_name, const std::string& hosted_url) {
  std::string base = hosted_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string url = base + "/" + percent_encoded(stripped(workspace)) + "/" + percent_encoded(stripped(project_ref));
  std::string out = "Promptetheus hosted MCP\n";
  out += "  URL        : " + url + "\n";
  out += "  workspace  : " + workspace + "\n";
  out += "  project_ref: " + project_ref + "\n";
  out += "  access     : read-only Promptetheus evidence scoped to this project\n\n";
  if (client == McpClient::codex) {
    out += "Codex config snippet:\n";
    out += "[mcp_servers." + reference_toml_string(server_name) + "]\n";
    out += "command = \"npx\"\n";
    out += "args = [\"-y\", \"mcp-remote\", " + reference_toml_string(url) + "]\n";
    return out;
  }
  out += client == McpClient::claude ? "Claude Desktop config snippet:\n" : "Cursor workspace .cursor/mcp.json snippet:\n";
  ordered_json snippet = ordered_json::object();
  snippet["mcpServers"][server_name] = launch_entry({"npx", {"-y", "mcp-remote", url}});
  // ensure_ascii, as the reference's json.dumps writes it.
  out += snippet.dump(2, ' ', true, ordered_json::error_handler_t::replace) + "\n";
  return out;
}

std::string local_install_snippet(McpClient client, const std::string& server_name, const LocalServerLaunch& launch) {
  if (client == McpClient::codex) {
    return "[" + toml_key("mcp_servers") + "." + toml_key(server_name) + "]\n" + codex_table_body(launch);
  }
  ordered_json snippet = ordered_json::object();
  snippet["mcpServers"][server_name] = launch_entry(launch);
  return snippet.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

void add_mcp_install_command(CLI::App& mcp, ExitCode& rc) {
  auto o = std::make_shared<InstallOptions>();
  auto* cmd = mcp.add_subcommand(
      "install",
      "Configure an MCP client to start the local Promptetheus server (or, with --workspace and --project-ref, "
      "print the hosted server's snippet)");
  cmd->add_option("--client", o->client, "The MCP client to configure")
      ->required()
      ->check(CLI::IsMember({"codex", "claude", "cursor"}));
  cmd->add_option("--server-name", o->server_name, "The server's name in the client's configuration")
      ->capture_default_str();
  auto* command = cmd->add_option("--command", o->command, "The executable the client runs (local server)")
                      ->capture_default_str();
  auto* dir = cmd->add_option("--dir", o->dir, "Spool directory the local server reads (made absolute)");
  auto* print = cmd->add_flag("--print", o->print, "Print the configuration instead of writing it");
  auto* global = cmd->add_flag("--global", o->global, "Cursor: write ~/.cursor/mcp.json instead of the project's");
  auto* workspace = cmd->add_option("--workspace", o->workspace, "Hosted server: the workspace");
  auto* project_ref = cmd->add_option("--project-ref", o->project_ref, "Hosted server: the project reference");
  auto* hosted_url = cmd->add_option("--hosted-url", o->hosted_url, "Hosted server: its base URL")->capture_default_str();
  // The two modes take different options; mixing them is a usage error rather than a surprise.
  for (auto* local_only : {command, dir, print, global}) {
    for (auto* hosted_only : {workspace, project_ref, hosted_url}) local_only->excludes(hosted_only);
  }
  cmd->callback([o, workspace, project_ref, hosted_url, &rc] {
    const bool hosted = workspace->count() > 0 || project_ref->count() > 0 || hosted_url->count() > 0;
    rc.value = hosted ? run_hosted(*o) : run_local(*o);
  });
}

}  // namespace promptetheus::cli
