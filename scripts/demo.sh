#!/usr/bin/env bash
# The demo: the calendar booking agent records a failing session, first to the spool (the
# embedded default), then over HTTP to a local `promptetheus dev` server; the CLI shows both,
# and the run is shown at its console URL (kept open until Enter when run from a terminal).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target calendar_agent promptetheus_cli -j"$(nproc 2>/dev/null || echo 2)"
agent="$root/build/bin/calendar_agent"
cli="$root/build/bin/promptetheus"

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

echo
echo "== 1. Spool (no configuration): the agent books the wrong day"
env -u PROMPTETHEUS_API_KEY -u PROMPTETHEUS_TRANSPORT "$agent" scopes 2>&1 | tee agent.out
session=$(sed -n 's/^scopes session: //p' agent.out)
echo
echo "== Recorded sessions"
"$cli" sessions
echo
echo "== promptetheus replay $session"
"$cli" replay "$session"
echo
echo "== promptetheus replay $session --tree"
"$cli" replay "$session" --tree
echo
echo "== promptetheus fingerprint $session"
"$cli" fingerprint "$session"

echo
echo "== 2. HTTP: the same agent delivering to a local promptetheus dev server"
port=$((20000 + RANDOM % 20000))
"$cli" dev --port "$port" --db "$work/dev.sqlite" --data-dir "$work/dev-data" > dev.log 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
cat dev.log
PROMPTETHEUS_API_KEY=pt_dev_key PROMPTETHEUS_API_URL="http://127.0.0.1:$port" PROMPTETHEUS_SPOOL_DIR="$work/http-spool" \
  "$agent" scopes 2>&1 | tee agent-http.out
session=$(sed -n 's/^scopes session: //p' agent-http.out)
echo
echo "== The run, read back from the server: promptetheus replay $session --api http://127.0.0.1:$port"
"$cli" replay "$session" --api "http://127.0.0.1:$port"
echo
echo "== promptetheus failures --api http://127.0.0.1:$port"
"$cli" failures --api "http://127.0.0.1:$port"
echo
console="http://127.0.0.1:$port/#/session/$session"
echo "== The run in the web console: $console"
curl -fsS "http://127.0.0.1:$port/" | grep -o '<title>[^<]*</title>'
if [ -t 0 ] && [ -t 1 ]; then
  command -v xdg-open >/dev/null 2>&1 && xdg-open "$console" >/dev/null 2>&1 || true
  read -r -p "The console is open at $console — press Enter to stop the server. " _
fi
