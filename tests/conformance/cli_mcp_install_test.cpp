// `promptetheus mcp install`: the reference's hosted snippets byte for byte (contract §6.4,
// CLI-12, CLI-13), and the local mode that edits an MCP client's configuration file without
// disturbing anything else in it.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "conformance/subprocess.hpp"

namespace {

using promptetheus::test::ProcessResult;
using promptetheus::test::run_process;
using promptetheus::test::TempDir;

// A scratch world: a project directory to run in, a home and a Codex home.
struct Scratch {
  TempDir root;
  std::string project = root.path() + "/project";
  std::string home = root.path() + "/home";
  std::string codex_home = root.path() + "/codex";

  Scratch() {
    ::mkdir(project.c_str(), 0700);
    ::mkdir(home.c_str(), 0700);
  }

  ProcessResult run(std::vector<std::string> args, std::vector<std::string> env = {}) const {
    args.insert(args.begin(), {"mcp", "install"});
    env.insert(env.begin(), {"HOME=" + home, "CODEX_HOME=" + codex_home});
    return run_process(PROMPTETHEUS_CLI_PATH, args, project, env);
  }
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  REQUIRE(out);
  out << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Every path under `dir`, sorted, one a line (the directory itself excluded).
std::string files_under(const std::string& dir) {
  return run_process("/bin/sh", {"-c", "find \"$0\" -mindepth 1 | LC_ALL=C sort", dir}, "").out;
}

const std::string kTeamAlphaUrl = "https://mcp.promptetheus.dev/promptetheus/team%20alpha/abc123";
const std::string kHostedHeader =
    "Promptetheus hosted MCP\n"
    "  URL        : " + kTeamAlphaUrl + "\n"
    "  workspace  : team alpha\n"
    "  project_ref: abc123\n"
    "  access     : read-only Promptetheus evidence scoped to this project\n"
    "\n";

std::string hosted_json_snippet(const std::string& name) {
  return "{\n"
         "  \"mcpServers\": {\n"
         "    \"" + name + "\": {\n"
         "      \"command\": \"npx\",\n"
         "      \"args\": [\n"
         "        \"-y\",\n"
         "        \"mcp-remote\",\n"
         "        \"" + kTeamAlphaUrl + "\"\n"
         "      ]\n"
         "    }\n"
         "  }\n"
         "}\n";
}

}  // namespace

TEST_CASE("mcp install hosted: the Codex snippet of the contract, byte for byte, and no file written",
          "[conformance][cli][mcp]") {
  Scratch s;
  const auto r = s.run({"--client", "codex", "--workspace", "team alpha", "--project-ref", "abc123"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == kHostedHeader +
                     "Codex config snippet:\n"
                     "[mcp_servers.\"promptetheus\"]\n"
                     "command = \"npx\"\n"
                     "args = [\"-y\", \"mcp-remote\", \"" + kTeamAlphaUrl + "\"]\n");
  CHECK(files_under(s.root.path()) == s.root.path() + "/home\n" + s.root.path() + "/project\n");
}

TEST_CASE("mcp install hosted: the Claude Desktop and Cursor JSON snippets", "[conformance][cli][mcp]") {
  Scratch s;
  const auto claude = s.run({"--client", "claude", "--workspace", "team alpha", "--project-ref", "abc123"});
  CHECK(claude.exit_code == 0);
  CHECK(claude.out == kHostedHeader + "Claude Desktop config snippet:\n" + hosted_json_snippet("promptetheus"));

  const auto cursor = s.run(
      {"--client", "cursor", "--workspace", "team alpha", "--project-ref", "abc123", "--server-name", "pt-evidence"});
  CHECK(cursor.exit_code == 0);
  CHECK(cursor.out ==
        kHostedHeader + "Cursor workspace .cursor/mcp.json snippet:\n" + hosted_json_snippet("pt-evidence"));
  CHECK(cursor.out.find("\"command\": \"npx\"") != std::string::npos);
  CHECK(cursor.out.find("\"mcp-remote\"") != std::string::npos);
  CHECK_FALSE(exists(s.project + "/.cursor"));
  CHECK_FALSE(exists(s.project + "/.mcp.json"));
}

TEST_CASE("mcp install hosted: percent-encoding, TOML escaping and ASCII-only JSON", "[conformance][cli][mcp]") {
  Scratch s;
  SECTION("the URL encodes the trimmed values, the header lines print them raw") {
    const auto r = s.run({"--client", "codex", "--workspace", " a/b\xC3\xA9~_.- ", "--project-ref", "p?q#",
                          "--hosted-url", "http://example.test/base//"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("  URL        : http://example.test/base/a%2Fb%C3%A9~_.-/p%3Fq%23\n") != std::string::npos);
    CHECK(r.out.find("  workspace  :  a/b\xC3\xA9~_.- \n") != std::string::npos);
    CHECK(r.out.find("  project_ref: p?q#\n") != std::string::npos);
  }
  SECTION("backslashes and quotes in the Codex name are escaped, the name is trimmed") {
    const auto r = s.run({"--client", "codex", "--workspace", "w", "--project-ref", "r", "--server-name", " my \"pt\"\\x "});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("\n[mcp_servers.\"my \\\"pt\\\"\\\\x\"]\n") != std::string::npos);
  }
  SECTION("the JSON snippet escapes non-ASCII characters") {
    const auto r = s.run({"--client", "claude", "--workspace", "w", "--project-ref", "r", "--server-name", "caf\xC3\xA9"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("    \"caf\\u00e9\": {\n") != std::string::npos);
  }
}

TEST_CASE("mcp install hosted: a blank workspace, project ref or server name exits 2", "[conformance][cli][mcp]") {
  Scratch s;
  const auto workspace = s.run({"--client", "codex", "--workspace", "  ", "--project-ref", "abc"});
  CHECK(workspace.exit_code == 2);
  CHECK(workspace.err.find("--workspace must not be empty") != std::string::npos);
  CHECK(workspace.out.empty());

  const auto project_ref = s.run({"--client", "cursor", "--workspace", "w", "--project-ref", " \t"});
  CHECK(project_ref.exit_code == 2);
  CHECK(project_ref.err.find("--project-ref must not be empty") != std::string::npos);

  const auto missing_ref = s.run({"--client", "cursor", "--workspace", "w"});
  CHECK(missing_ref.exit_code == 2);
  CHECK(missing_ref.err.find("--project-ref must not be empty") != std::string::npos);

  const auto name = s.run({"--client", "claude", "--workspace", "w", "--project-ref", "r", "--server-name", " "});
  CHECK(name.exit_code == 2);
  CHECK(name.err.find("--server-name must not be empty") != std::string::npos);
}

TEST_CASE("mcp install claude: adds the local server to .mcp.json and keeps the other servers and keys",
          "[conformance][cli][mcp]") {
  Scratch s;
  const std::string path = s.project + "/.mcp.json";
  write_file(path, R"({"theme": "dark", "mcpServers": {"other": {"command": "other-server", "args": ["-v"]}}, "z": [1, 2]})");

  const auto first = s.run({"--client", "claude", "--dir", "spool/../my-spool"});
  CHECK(first.exit_code == 0);
  CHECK(first.err.empty());
  CHECK(first.out == "Added promptetheus to " + path + "\n");
  const std::string written = read_file(path);
  CHECK(written ==
        "{\n"
        "  \"theme\": \"dark\",\n"
        "  \"mcpServers\": {\n"
        "    \"other\": {\n"
        "      \"command\": \"other-server\",\n"
        "      \"args\": [\n"
        "        \"-v\"\n"
        "      ]\n"
        "    },\n"
        "    \"promptetheus\": {\n"
        "      \"command\": \"promptetheus\",\n"
        "      \"args\": [\n"
        "        \"mcp\",\n"
        "        \"--dir\",\n"
        "        \"" + s.project + "/my-spool\"\n"
        "      ]\n"
        "    }\n"
        "  },\n"
        "  \"z\": [\n"
        "    1,\n"
        "    2\n"
        "  ]\n"
        "}\n");

  const auto second = s.run({"--client", "claude", "--dir", "my-spool"});
  CHECK(second.exit_code == 0);
  CHECK(second.out == "promptetheus in " + path + " is already up to date\n");
  CHECK(read_file(path) == written);

  const auto changed = s.run({"--client", "claude", "--command", "/opt/pt/bin/promptetheus"});
  CHECK(changed.exit_code == 0);
  CHECK(changed.out == "Updated promptetheus in " + path + "\n");
  const auto doc = nlohmann::ordered_json::parse(read_file(path));
  CHECK(doc["theme"] == "dark");
  CHECK(doc["z"] == nlohmann::ordered_json::array({1, 2}));
  CHECK(doc["mcpServers"]["other"] == nlohmann::ordered_json::parse(R"({"command": "other-server", "args": ["-v"]})"));
  CHECK(doc["mcpServers"]["promptetheus"] ==
        nlohmann::ordered_json::parse(R"({"command": "/opt/pt/bin/promptetheus", "args": ["mcp"]})"));
  // No temporary file is left next to the configuration.
  CHECK(files_under(s.project) == path + "\n");
}

TEST_CASE("mcp install codex: replaces only our table of config.toml, keeping every other byte",
          "[conformance][cli][mcp]") {
  Scratch s;
  ::mkdir(s.codex_home.c_str(), 0700);
  const std::string path = s.codex_home + "/config.toml";
  const std::string before_ours =
      "# my codex config\n"
      "model = \"o3\"\n"
      "notes = \"\"\"\n"
      "[mcp_servers.promptetheus]\n"
      "is text here\"\"\"\n"
      "\n"
      "[mcp_servers.other]\n"
      "command = \"other-server\"\n"
      "args = [\n"
      "  \"--flag\",\n"
      "]\n"
      "\n"
      "[mcp_servers.\"promptetheus\"]  # ours\n";
  const std::string after_ours =
      "\n"
      "# about the next table\n"
      "\n"
      "[profiles.fast]\n"
      "model = \"o4-mini\"\n";
  write_file(path, before_ours + "command = \"old\"\nargs = []\nenv = { A = \"1\" }\n" + after_ours);

  const auto first = s.run({"--client", "codex", "--server-name", "promptetheus"});
  CHECK(first.exit_code == 0);
  CHECK(first.err.empty());
  CHECK(first.out == "Updated promptetheus in " + path + "\n");
  const std::string written = read_file(path);
  CHECK(written == before_ours + "command = \"promptetheus\"\nargs = [\"mcp\"]\n" + after_ours);

  const auto second = s.run({"--client", "codex"});
  CHECK(second.out == "promptetheus in " + path + " is already up to date\n");
  CHECK(read_file(path) == written);

  const auto changed = s.run({"--client", "codex", "--command", "/usr/local/bin/promptetheus", "--dir", "/data/spool"});
  CHECK(changed.exit_code == 0);
  CHECK(read_file(path) == before_ours +
                               "command = \"/usr/local/bin/promptetheus\"\n"
                               "args = [\"mcp\", \"--dir\", \"/data/spool\"]\n" +
                               after_ours);
}

TEST_CASE("mcp install codex: appends the table, creating the directory, and defaults to ~/.codex",
          "[conformance][cli][mcp]") {
  Scratch s;
  SECTION("CODEX_HOME without a config yet") {
    const auto r = s.run({"--client", "codex", "--server-name", "pt local"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Added pt local to " + s.codex_home + "/config.toml\n");
    CHECK(read_file(s.codex_home + "/config.toml") ==
          "[mcp_servers.\"pt local\"]\ncommand = \"promptetheus\"\nargs = [\"mcp\"]\n");
    const auto again = s.run({"--client", "codex", "--server-name", "pt local"});
    CHECK(again.out == "pt local in " + s.codex_home + "/config.toml is already up to date\n");
  }
  SECTION("an existing file without the table gets it after a blank line") {
    const std::string path = s.home + "/.codex/config.toml";
    ::mkdir((s.home + "/.codex").c_str(), 0700);
    write_file(path, "model = \"o3\"\n[mcp_servers.other]\ncommand = \"x\"");
    const auto r = s.run({"--client", "codex"}, {"CODEX_HOME="});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Added promptetheus to " + path + "\n");
    const std::string written = read_file(path);
    CHECK(written ==
          "model = \"o3\"\n[mcp_servers.other]\ncommand = \"x\"\n\n"
          "[mcp_servers.promptetheus]\ncommand = \"promptetheus\"\nargs = [\"mcp\"]\n");
    s.run({"--client", "codex"}, {"CODEX_HOME="});
    CHECK(read_file(path) == written);
  }
}

TEST_CASE("mcp install cursor: the project's .cursor/mcp.json, or the user's with --global",
          "[conformance][cli][mcp]") {
  Scratch s;
  SECTION("project file, created with its directory") {
    const auto r = s.run({"--client", "cursor"});
    CHECK(r.exit_code == 0);
    const std::string path = s.project + "/.cursor/mcp.json";
    CHECK(r.out == "Added promptetheus to " + path + "\n");
    CHECK(read_file(path) ==
          "{\n  \"mcpServers\": {\n    \"promptetheus\": {\n      \"command\": \"promptetheus\",\n"
          "      \"args\": [\n        \"mcp\"\n      ]\n    }\n  }\n}\n");
  }
  SECTION("global file with another server") {
    ::mkdir((s.home + "/.cursor").c_str(), 0700);
    const std::string path = s.home + "/.cursor/mcp.json";
    write_file(path, "{\"mcpServers\": {\"github\": {\"url\": \"https://example.test/mcp\"}}}\n");
    ::chmod(path.c_str(), 0640);
    const auto r = s.run({"--client", "cursor", "--global", "--server-name", "pt"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Added pt to " + path + "\n");
    const auto doc = nlohmann::ordered_json::parse(read_file(path));
    CHECK(doc["mcpServers"]["github"]["url"] == "https://example.test/mcp");
    CHECK(doc["mcpServers"]["pt"]["args"] == nlohmann::ordered_json::array({"mcp"}));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);  // the user's permissions survive the replacement
    CHECK_FALSE(exists(s.project + "/.cursor"));
    const std::string written = read_file(path);
    s.run({"--client", "cursor", "--global", "--server-name", "pt"});
    CHECK(read_file(path) == written);
  }
  SECTION("--global with another client is a usage error") {
    const auto r = s.run({"--client", "claude", "--global"});
    CHECK(r.exit_code == 64);
    CHECK(r.err.find("--global") != std::string::npos);
    CHECK_FALSE(exists(s.project + "/.mcp.json"));
  }
}

TEST_CASE("mcp install: a configuration linked into place stays a link", "[conformance][cli][mcp]") {
  Scratch s;
  const std::string dotfiles = s.root.path() + "/dotfiles";
  ::mkdir(dotfiles.c_str(), 0700);
  write_file(dotfiles + "/mcp.json", "{\"mcpServers\": {}}");
  const std::string link = s.project + "/.mcp.json";
  REQUIRE(::symlink((dotfiles + "/mcp.json").c_str(), link.c_str()) == 0);
  const auto r = s.run({"--client", "claude"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Added promptetheus to " + link + "\n");
  struct stat st {};
  REQUIRE(::lstat(link.c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  CHECK(nlohmann::json::parse(read_file(dotfiles + "/mcp.json"))["mcpServers"]["promptetheus"]["command"] ==
        "promptetheus");
  CHECK(files_under(dotfiles) == dotfiles + "/mcp.json\n");
}

TEST_CASE("mcp install: a malformed configuration is reported and left untouched", "[conformance][cli][mcp]") {
  Scratch s;
  SECTION("invalid JSON") {
    const std::string path = s.project + "/.mcp.json";
    const std::string text = "{\"mcpServers\": {\"other\": {\"command\": \"x\",}}\n";
    write_file(path, text);
    const auto r = s.run({"--client", "claude"});
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find(path + ": not valid JSON") != std::string::npos);
    CHECK(r.err.find("left unchanged") != std::string::npos);
    CHECK(read_file(path) == text);
    CHECK(files_under(s.project) == path + "\n");
  }
  SECTION("mcpServers that is not an object") {
    const std::string path = s.project + "/.mcp.json";
    write_file(path, "{\"mcpServers\": []}");
    const auto r = s.run({"--client", "claude"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("\"mcpServers\" is not a JSON object") != std::string::npos);
    CHECK(read_file(path) == "{\"mcpServers\": []}");
  }
  SECTION("a TOML header that is not closed") {
    ::mkdir(s.codex_home.c_str(), 0700);
    const std::string path = s.codex_home + "/config.toml";
    write_file(path, "model = \"o3\"\n[mcp_servers.other\ncommand = \"x\"\n");
    const auto r = s.run({"--client", "codex"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("not valid TOML at line 2") != std::string::npos);
    CHECK(read_file(path) == "model = \"o3\"\n[mcp_servers.other\ncommand = \"x\"\n");
  }
  SECTION("our server defined with dotted keys, which a table would contradict") {
    ::mkdir(s.codex_home.c_str(), 0700);
    const std::string path = s.codex_home + "/config.toml";
    write_file(path, "[mcp_servers]\npromptetheus.command = \"x\"\n");
    const auto r = s.run({"--client", "codex"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("dotted key or an inline table") != std::string::npos);
    CHECK(read_file(path) == "[mcp_servers]\npromptetheus.command = \"x\"\n");
  }
}

TEST_CASE("mcp install --print shows the configuration and writes nothing", "[conformance][cli][mcp]") {
  Scratch s;
  const auto codex = s.run({"--client", "codex", "--print", "--command", "pt \"x\"", "--dir", "/s"});
  CHECK(codex.exit_code == 0);
  CHECK(codex.out == "[mcp_servers.promptetheus]\ncommand = \"pt \\\"x\\\"\"\nargs = [\"mcp\", \"--dir\", \"/s\"]\n");
  const auto claude = s.run({"--client", "claude", "--print"});
  CHECK(claude.exit_code == 0);
  CHECK(nlohmann::json::parse(claude.out) ==
        nlohmann::json::parse(R"({"mcpServers": {"promptetheus": {"command": "promptetheus", "args": ["mcp"]}}})"));
  const auto cursor = s.run({"--client", "cursor", "--global", "--print"});
  CHECK(cursor.exit_code == 0);
  CHECK(files_under(s.root.path()) == s.root.path() + "/home\n" + s.root.path() + "/project\n");
}

TEST_CASE("mcp install: the hosted and local options do not mix", "[conformance][cli][mcp]") {
  Scratch s;
  const auto r = s.run({"--client", "claude", "--workspace", "w", "--project-ref", "r", "--print"});
  CHECK(r.exit_code == 64);
  CHECK(r.out.empty());
  const auto bad_client = s.run({"--client", "vscode"});
  CHECK(bad_client.exit_code == 64);
}
