#!/usr/bin/env bash
# Runs the traced-call example end to end and checks it: starts `promptetheus dev` on a free
# port with a scratch data directory, then traced_call.mjs (a Node.js caller and callee
# instrumented with the official OpenTelemetry JS SDK around the C++ agent), which reads the
# joined session back from the server. The server is stopped however the run ends.
#
# usage: examples/traced_call/run.sh <promptetheus binary> <traced_call_agent binary>
#
# The pinned packages (package-lock.json) are installed with `npm ci` once per lock file, into a
# cache directory outside the repository keyed by the lock file's hash, and reused afterwards.
# Without node or npm the check fails: it never skips.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cli=${1:?usage: run.sh <promptetheus binary> <traced_call_agent binary>}
agent=${2:?usage: run.sh <promptetheus binary> <traced_call_agent binary>}
cache=$(bash "$here/../../scripts/npm_cached_install.sh" "$here" traced-call)
cp "$here/traced_call.mjs" "$cache/traced_call.mjs"  # ESM resolves packages next to the script

scratch=$(mktemp -d)
server_pid=
node_pid=
stop() {
  for pid in $node_pid $server_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$scratch"
}
trap stop EXIT

# Port 0: the server picks a free port and prints it; the run reads it from that line. The key
# is named so that a PROMPTETHEUS_DEV_API_KEY in the environment cannot replace it.
"$cli" dev --host 127.0.0.1 --port 0 --data-dir "$scratch/data" --api-key pt_dev_key >"$scratch/server.log" 2>&1 &
server_pid=$!
api_url=
for _ in $(seq 1 200); do
  api_url=$(sed -n 's/^Promptetheus dev server listening on \(http:[^ ]*\).*$/\1/p' "$scratch/server.log" | head -n 1)
  [[ -n "$api_url" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "promptetheus dev exited before listening:" >&2
    cat "$scratch/server.log" >&2
    exit 1
  fi
  sleep 0.05
done
if [[ -z "$api_url" ]]; then
  echo "promptetheus dev did not report its address within 10 s:" >&2
  cat "$scratch/server.log" >&2
  exit 1
fi

# In the background and waited for, so that a TERM (ctest's timeout) runs the trap at once
# instead of after node exits.
status=0
node "$cache/traced_call.mjs" "$api_url" "$agent" "$scratch" &
node_pid=$!
wait "$node_pid" || status=$?
node_pid=
if [[ $status -ne 0 ]]; then
  echo "--- promptetheus dev output ---" >&2
  cat "$scratch/server.log" >&2
fi
exit "$status"
