#!/usr/bin/env bash
# Runs bench/outage_soak RUNS times in a row (default 10) against a build with benchmarks
# (cmake -DPROMPTETHEUS_BUILD_BENCH=ON) and prints one JSON line per run.
#   bench/outage_soak.sh [build-dir] [runs] [events]
set -euo pipefail
build=${1:-build}
runs=${2:-10}
events=${3:-1000000}
cmake --build "$build" --target outage_soak -j"$(nproc)" >/dev/null
status=0
for i in $(seq 1 "$runs"); do
  "$build/bench/outage_soak" "$events" "${TMPDIR:-/tmp}/promptetheus-outage-soak-$$" || status=1
done
exit $status
