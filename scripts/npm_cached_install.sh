#!/usr/bin/env bash
# Installs the pinned npm packages of a test or example (its package.json and package-lock.json)
# with `npm ci`, once per lock file: into a cache directory outside the repository keyed by the
# lock file's hash, reused afterwards. Prints that directory; the caller copies its scripts
# there, since ES modules resolve packages next to the script.
# Without node or npm it fails: the checks that use it never skip.
#
# usage: scripts/npm_cached_install.sh <directory with package.json> <cache name>
set -euo pipefail

source_dir=${1:?usage: npm_cached_install.sh <directory with package.json> <cache name>}
name=${2:?usage: npm_cached_install.sh <directory with package.json> <cache name>}
command -v node >/dev/null || { echo "node is missing (scripts/setup.sh installs it)" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is missing (scripts/setup.sh installs it)" >&2; exit 1; }

lock_hash=$(sha256sum "$source_dir/package-lock.json" | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/promptetheus-test/$name-$lock_hash
if [[ ! -f "$cache/.installed" ]]; then
  rm -rf "$cache"
  mkdir -p "$cache"
  cp "$source_dir/package.json" "$source_dir/package-lock.json" "$cache/"
  (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error) >&2
  touch "$cache/.installed"
fi
echo "$cache"
