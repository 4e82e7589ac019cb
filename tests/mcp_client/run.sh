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
command -v node >/dev/null || { echo "node is missing (scripts/setup.sh installs it)" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is missing (scripts/setup.sh installs it)" >&2; exit 1; }

lock_hash=$(sha256sum "$here/package-lock.json" | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/promptetheus-test/mcp-client-$lock_hash
if [[ ! -f "$cache/.installed" ]]; then
  rm -rf "$cache"
  mkdir -p "$cache"
  cp "$here/package.json" "$here/package-lock.json" "$cache/"
  (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$cache/.installed"
fi
cp "$here/client.mjs" "$cache/client.mjs"  # ESM resolves packages next to the script

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
node "$cache/client.mjs" "$cli" "$scratch" ${2:+"$2"}
