// The hosted proxy tools of the reference MCP server (contract §8.1): five tools that POST their
// arguments to the hosted Promptetheus API's `/mcp/*` routes and hand back what it answered.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "mcp_tool.hpp"
#include "promptetheus/options.hpp"

namespace promptetheus::cli::mcp {

/// The reference's timeout for one call to the hosted API.
inline constexpr std::chrono::milliseconds kHostedRequestTimeout{8000};

/// The configuration error of contract §8.1 when `options` lacks the API URL or key (blank
/// after trimming), naming the missing variables; nullopt when both are set.
std::optional<std::string> hosted_config_error(const Options& options);

/// The five hosted tools, calling `api_url` (trailing `/` removed) with `api_key` as the
/// bearer token. Every outcome, an HTTP or network failure included, is a ToolResult::ok with
/// the reference's `{ok, status, source, ...}` object; only arguments of the wrong type are
/// tool errors.
ToolSet hosted_tools(const std::string& api_url, const std::string& api_key,
                     std::chrono::milliseconds timeout = kHostedRequestTimeout);

}  // namespace promptetheus::cli::mcp
