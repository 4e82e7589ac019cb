#!/usr/bin/env bash
# Builds and runs the whole test suite: a release build, then ASan+UBSan and TSan builds.
# Usage: scripts/test.sh [--quick]   (--quick: the release build only)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)
run_suite() {
  local dir=$1; shift
  echo "=== build $dir ($*)"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "=== test $dir"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 300)
}

# Warnings are errors in the release build. Not in the sanitizer builds: GCC's instrumentation
# there raises false -Warray-bounds reports on standard algorithms (std::sort of a small array).
run_suite build -DPROMPTETHEUS_WERROR=ON
if [ "${1:-}" != "--quick" ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-asan -DPROMPTETHEUS_SANITIZE=address,undefined -DPROMPTETHEUS_BUILD_EXAMPLES=OFF
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    run_suite build-tsan -DPROMPTETHEUS_SANITIZE=thread -DPROMPTETHEUS_BUILD_EXAMPLES=OFF
fi
echo "=== all test suites passed"
