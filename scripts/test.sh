#!/usr/bin/env bash
# Builds and runs the whole test suite: a release build, then ASan+UBSan and TSan builds.
# Usage: scripts/test.sh [--quick]   (--quick: the release build only)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)
run_suite() {
  local dir=$1 exclude=$2; shift 2
  echo "=== build $dir ($*)"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "=== test $dir"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 300 ${exclude:+-E "$exclude"})
}

# The sanitizer builds compile at -O1 with line tables only (-g1): the level the sanitizers'
# documentation recommends, and about half the compile time of -O2 -g with the same reports
# (file and line in every stack). They skip the package tests, which install and consume the
# library: the release build runs them.
sanitizer_flags=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DPROMPTETHEUS_BUILD_EXAMPLES=OFF)

# Warnings are errors in the release build. Not in the sanitizer builds: GCC's instrumentation
# there raises false -Warray-bounds reports on standard algorithms (std::sort of a small array).
run_suite build "" -DPROMPTETHEUS_WERROR=ON
if [ "${1:-}" != "--quick" ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-asan "^package:" -DPROMPTETHEUS_SANITIZE=address,undefined "${sanitizer_flags[@]}"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    run_suite build-tsan "^package:" -DPROMPTETHEUS_SANITIZE=thread "${sanitizer_flags[@]}"
fi
echo "=== all test suites passed"
