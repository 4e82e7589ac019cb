#!/usr/bin/env bash
# Builds the benchmarks in Release and runs every one of them, then prints a summary.
#
# usage: bench/run.sh [BUILD_DIR]            (default: <repo>/build-bench)
#
# Environment:
#   BENCH_REPETITIONS  repetitions of every benchmark (default 5); figures are medians of these
#   BENCH_FILTER       a Google Benchmark regex to run only some benchmarks (default: all)
#   BENCH_OUT          where console logs and JSON results go (default: BUILD_DIR/bench-results)
#   BENCH_JOBS         parallel build jobs (default 2)
#
# Every Google Benchmark executable built from bench/*.cpp is run with its repetitions
# interleaved at random (--benchmark_enable_random_interleaving), so that a change in machine
# load spreads over all benchmarks instead of biasing one; other load programs there run with
# their own defaults. Then every bench/cli/*.sh is run with the CLI binary as its argument
# (`sh bench/cli/X.sh BUILD_DIR/bin/promptetheus`). Nothing here asserts a timing: targets are
# reported as met or MISSED, and the script fails only if something could not be built or run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-bench}
reps=${BENCH_REPETITIONS:-5}
out=${BENCH_OUT:-$build/bench-results}
jobs=${BENCH_JOBS:-2}

echo "== configure and build (Release) in $build"
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPROMPTETHEUS_BUILD_BENCH=ON \
  -DPROMPTETHEUS_BUILD_TESTS=OFF -DPROMPTETHEUS_BUILD_EXAMPLES=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
shopt -s nullglob
cli_scripts=("$root"/bench/cli/*.sh)
targets=(promptetheus_benchmarks)
if (( ${#cli_scripts[@]} > 0 )); then targets+=(promptetheus_cli); fi
cmake --build "$build" --target "${targets[@]}" -j "$jobs"

mkdir -p "$out"
machine() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "load:   $(uptime)"
}
machine | tee "$out/machine.txt"

failed=0
ran=()
for exe in "$build"/bench/*; do
  [[ -f "$exe" && -x "$exe" ]] || continue
  name=$(basename "$exe")
  echo
  echo "== $name"
  args=()
  if "$exe" --benchmark_list_tests=true >/dev/null 2>&1; then
    # A Google Benchmark program.
    args=(--benchmark_repetitions="$reps" --benchmark_enable_random_interleaving=true
          --benchmark_out="$out/$name.json" --benchmark_out_format=json)
    if [[ -n "${BENCH_FILTER:-}" ]]; then args+=(--benchmark_filter="$BENCH_FILTER"); fi
  fi
  # Other load programs run with their own defaults.
  if "$exe" "${args[@]+"${args[@]}"}" 2>&1 | tee "$out/$name.txt"; then
    ran+=("$name")
  else
    echo "!! $name failed" | tee -a "$out/$name.txt"
    failed=1
  fi
done

for script in "${cli_scripts[@]}"; do
  name=cli-$(basename "$script" .sh)
  echo
  echo "== bench/cli/$(basename "$script")"
  if sh "$script" "$build/bin/promptetheus" 2>&1 | tee "$out/$name.txt"; then
    ran+=("$name")
  else
    echo "!! bench/cli/$(basename "$script") failed" | tee -a "$out/$name.txt"
    failed=1
  fi
done

echo
echo "================================ summary ================================"
machine
for name in "${ran[@]}"; do
  log="$out/$name.txt"
  echo
  echo "-- $name"
  if grep -q '^Summary:' "$log"; then
    # The program prints its own summary (medians of runs next to targets).
    sed -n '/^Summary:/,$p' "$log"
  elif grep -q '_median' "$log"; then
    grep '_median' "$log"
  else
    tail -n 15 "$log"
  fi
done
echo
echo "logs and JSON: $out"
exit "$failed"
