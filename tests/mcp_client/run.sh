#!/usr/bin/env bash
# Runs client.mjs (the official MCP TypeScript SDK client against `promptetheus mcp`).
#
# usage: tests/mcp_client/run.sh <promptetheus binary> [calendar_agent binary]
#
# The pinned packages (package-lock.json) are installed with `npm ci` once per lock file, into a
# cache directory outside the repository keyed by the lock file's hash, and reused afterwards.
# Without node or npm the test fails: it never skips.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cli=${1:?usage: run.sh <promptetheus binary>}
cache=$(bash "$here/../../scripts/npm_cached_install.sh" "$here" mcp-client)
cp "$here/client.mjs" "$cache/client.mjs"  # ESM resolves packages next to the script

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
node "$cache/client.mjs" "$cli" "$scratch" ${2:+"$2"}
