#!/usr/bin/env bash
# Installs every build, test and benchmark dependency from Debian packages.
# Idempotent: packages already present are skipped, so a second run is fast.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates curl
  libcurl4-openssl-dev zlib1g-dev libpcre2-dev
  nlohmann-json3-dev libfmt-dev libconcurrentqueue-dev
  catch2 libcli11-dev libcpp-httplib-dev libsqlite3-dev libicu-dev
  libbenchmark-dev libspdlog-dev
  chromium  # headless, for the dev console's browser test
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The MCP client test runs the official TypeScript SDK: Debian's node and npm, unless the machine
# already has a node of its own (never replaced).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
