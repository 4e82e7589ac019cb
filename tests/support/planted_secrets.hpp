// A session with secrets planted in every kind of field, and a way to look for them in every
// file a run leaves: the "nothing secret leaves the process" tests of each transport share them.
#pragma once

#include <filesystem>
#include <fstream>
#include <cstddef>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "promptetheus/promptetheus.hpp"

namespace planted {

namespace pt = promptetheus;
namespace fs = std::filesystem;
using nlohmann::json;

/// Secrets planted in every kind of field; none may be recorded with redaction on.
inline const std::vector<std::string> kSecrets = {
    "sk-live0123456789abcdefXYZ",       // provider key (pattern)
    "alice.secret@example.com",         // e-mail (pattern)
    "AKIAABCDEFGHIJKLMNOP",             // AWS key id (pattern)
    "ghp_abcdefghijklmnopqrstuvwxyz0123",  // GitHub token (pattern)
    "hunter2-password-value",           // under a sensitive key
    "tok-under-a-nested-key",           // under a sensitive key, nested in arguments
    "metadata-credential-value",        // under a sensitive key in metadata
    "4111 1111 1111 1111",              // card number (pattern)
};

/// Records a session (14 events) carrying every secret in its agent name, goal, tags, session
/// metadata, messages, span name, tool arguments and results, retrieval, DOM snapshot, the
/// metadata of a screenshot (whose bytes are stored as an artifact), error, goal_check and event
/// metadata. The llm_call is its 9th event (index 8).
inline constexpr std::size_t kSecretSessionEvents = 14;
inline void record_secret_session(const pt::SessionOptions& base) {
  pt::SessionOptions options = base;
  options.agent = "agent of alice.secret@example.com";
  options.user_goal = "use sk-live0123456789abcdefXYZ to book";
  options.tags = {"owner:alice.secret@example.com", "plain"};
  options.metadata = {{"password", "hunter2-password-value"}, {"note", "AKIAABCDEFGHIJKLMNOP"}};
  pt::Session session(options);
  session.user_message("my key is sk-live0123456789abcdefXYZ, mail alice.secret@example.com",
                       {{"credential", "metadata-credential-value"}});
  session.agent_message("card 4111 1111 1111 1111 noted");
  {
    pt::Span span(session, "lookup ghp_abcdefghijklmnopqrstuvwxyz0123");
    pt::ToolCall call(session, "crm.search",
                      {{"query", "alice.secret@example.com"},
                       {"auth", {{"access_token", "tok-under-a-nested-key"}, {"user", "alice"}}},
                       {"list", {"AKIAABCDEFGHIJKLMNOP", 3, nullptr}}});
    call.set_result({{"rows", {{{"email", "alice.secret@example.com"}, {"api_key", "hunter2-password-value"}}}}});
  }
  session.retrieval("who is alice.secret@example.com", json::array({{{"text", "sk-live0123456789abcdefXYZ"}}}));
  session.llm_call("gpt-4o", {1200, 300, 850});
  session.dom_snapshot("https://crm.example/?key=sk-live0123456789abcdefXYZ", "Signed in as alice.secret@example.com",
                       {{"password", "hunter2-password-value"}});
  session.screenshot(std::vector<std::uint8_t>{0x89, 'P', 'N', 'G'}, {{"page", "inbox of alice.secret@example.com"}});
  session.error("token ghp_abcdefghijklmnopqrstuvwxyz0123 expired", "LookupError");
  session.goal_check(true, {"mailed alice.secret@example.com"});
  session.end();
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

/// Every file under `dir`, recursively, with its content.
inline std::map<std::string, std::string> files_under(const fs::path& dir) {
  std::map<std::string, std::string> files;
  if (!fs::exists(dir)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files[entry.path().string()] = read_file(entry.path());
  }
  return files;
}

}  // namespace planted
