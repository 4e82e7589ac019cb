// Reading runs from a server's read routes (the dev server, or any server that has
// GET /api/traces/{id}/events and /api/sessions): where, with which console token, and the
// session fetched as the spool reader would have read it.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "analysis/session_store.hpp"

namespace CLI { class App; }

namespace promptetheus::cli {

/// The local dev server, and its console token, which is public (`promptetheus dev` prints it).
inline constexpr const char* kLocalApiUrl = "http://127.0.0.1:4318";
inline constexpr const char* kLocalConsoleToken = "pt_console_token";

/// The exit code when a server named with --api cannot be read (unreachable, refused the token,
/// answered something else than the read routes do), distinct from "not found" (1) and from
/// diff's "regression found" (2).
inline constexpr int kApiErrorExit = 3;

/// How long a read from a server named with --api may take; a lookup at the configured server
/// for a session that is not in the spool gets kLookupTimeout.
inline constexpr std::chrono::milliseconds kReadTimeout{30000};
inline constexpr std::chrono::milliseconds kLookupTimeout{3000};

/// A server on this machine (`http://127.0.0.1…`, `localhost`, `[::1]`).
bool is_loopback_url(const std::string& url);

/// The console token for `url`: `given`, else PROMPTETHEUS_CONSOLE_TOKEN, else the dev token
/// for a loopback URL, else "".
std::string console_token_for(const std::string& url, const std::string& given);

struct ApiOptions {
  std::string url;            // --api: read from this server only
  std::string console_token;  // --console-token
};
/// Registers `--api URL` and `--console-token TOKEN` on a command that reads runs.
void add_api_options(CLI::App& cmd, ApiOptions& options);

struct ApiAccess {
  std::string url;  // without a trailing '/'
  std::string console_token;
};
/// The server to read from: `--api`, else the configured API URL (PROMPTETHEUS_API_URL, then
/// config.toml's api_url, then the local dev server).
ApiAccess api_access(const ApiOptions& options);

enum class FetchOutcome { found, not_found, failed };
/// GET <url>/api/traces/<id>/events. `found`: `out` holds the events (source: the URL);
/// `not_found`: the server has no such session (404); `failed`: `error` says why (unreachable,
/// 401/403, another status, a body that is not the route's JSON). Never throws but bad_alloc.
/// `timeout` bounds the connection and the whole transfer.
FetchOutcome fetch_session(const ApiAccess& api, const std::string& id, analysis::Session& out,
                           std::string& error, std::chrono::milliseconds timeout = kReadTimeout);

/// GET <url><path> with the console token, for a route answering `{"<key>": [...]}`: true with
/// that list in `out`, else false with `error` saying why. Never throws but bad_alloc.
bool fetch_list(const ApiAccess& api, const std::string& path, const char* key, nlohmann::json& out,
                std::string& error);

/// A path segment with every byte outside [A-Za-z0-9._~-] percent-encoded.
std::string encode_path_segment(const std::string& segment);

}  // namespace promptetheus::cli
