#!/usr/bin/env bash
# Installs the built library into a temporary prefix, then builds and runs a consumer with
# find_package(promptetheus) and another with pkg-config.
# Usage: check_install.sh <build dir> <source dir of this script>
set -euo pipefail
build=$1
here=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" --component sdk >/dev/null

cmake -S "$here/consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
"$work/cmake-build/consumer" "$work/spool-cmake"
test "$(cat "$work"/spool-cmake/*.jsonl | wc -l)" -eq 3

export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib/x86_64-linux-gnu/pkgconfig"
c++ -std=c++17 "$here/consumer/main.cpp" -o "$work/pkg-consumer" $(pkg-config --cflags --libs promptetheus)
"$work/pkg-consumer" "$work/spool-pkg"
test "$(cat "$work"/spool-pkg/*.jsonl | wc -l)" -eq 3
echo "installed package works with find_package and pkg-config"
