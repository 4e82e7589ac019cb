#!/usr/bin/env bash
# Installs the library into a temporary prefix, then builds and runs a consumer with
# find_package(promptetheus) and another with pkg-config. When the installed library is shared,
# also checks its soname and that it exports the public API only.
# Usage: check_install.sh <build dir> <source dir of this script> <project version>
#        check_install.sh --build-shared <project source dir> <source dir of this script> <project version>
#   The second form first configures and builds a shared library alone (no tools, tests or
#   examples; CXX is the compiler), and installs that.
set -euo pipefail
build_shared=0
if [ "${1:-}" = "--build-shared" ]; then
  build_shared=1
  shift
fi
from=$1
here=$2
version=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

if [ "$build_shared" = 1 ]; then
  # No optimisation (build type "None"): only linking and the installed layout are under test.
  cmake -S "$from" -B "$work/lib-build" -DCMAKE_BUILD_TYPE=None -DBUILD_SHARED_LIBS=ON \
    -DPROMPTETHEUS_BUILD_TOOLS=OFF -DPROMPTETHEUS_BUILD_TESTS=OFF -DPROMPTETHEUS_BUILD_EXAMPLES=OFF \
    -DPROMPTETHEUS_INSTALL=ON >/dev/null
  cmake --build "$work/lib-build" -j2 >/dev/null
  from="$work/lib-build"
fi
cmake --install "$from" --prefix "$prefix" --component sdk >/dev/null

libdir=$(dirname "$(find "$prefix" -name 'libpromptetheus.*' -print -quit)")
shared_lib="$libdir/libpromptetheus.so"
if [ -e "$shared_lib" ]; then
  # The soname follows the version compatibility rule (src/CMakeLists.txt): major.minor before
  # 1.0, the major version from 1.0 on.
  IFS=. read -r major minor _ <<<"$version"
  if [ "$major" = 0 ]; then soversion="$major.$minor"; else soversion="$major"; fi
  soname=$(readelf -d "$shared_lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  if [ "$soname" != "libpromptetheus.so.$soversion" ]; then
    echo "soname is '$soname', expected libpromptetheus.so.$soversion" >&2
    exit 1
  fi
  test -e "$libdir/$soname"
  # Only the PROMPTETHEUS_API surface is exported: no internal (detail::) symbol.
  exported=$(nm -DC --defined-only "$shared_lib")
  if grep -q 'promptetheus::\(v0::\)\?detail::' <<<"$exported"; then
    echo "the shared library exports internal symbols:" >&2
    grep 'promptetheus::\(v0::\)\?detail::' <<<"$exported" | head -20 >&2
    exit 1
  fi
  grep -q ' promptetheus::v0::init(' <<<"$exported"
  grep -q ' promptetheus::v0::version()' <<<"$exported"
  export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

cmake -S "$here/consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
"$work/cmake-build/consumer" "$work/spool-cmake"
test "$(cat "$work"/spool-cmake/*.jsonl | wc -l)" -eq 3

export PKG_CONFIG_PATH="$libdir/pkgconfig"
c++ -std=c++17 "$here/consumer/main.cpp" -o "$work/pkg-consumer" $(pkg-config --cflags --libs promptetheus)
"$work/pkg-consumer" "$work/spool-pkg"
test "$(cat "$work"/spool-pkg/*.jsonl | wc -l)" -eq 3

if [ -e "$shared_lib" ]; then
  # Both consumers run against the installed shared library, not a copy linked in.
  for program in "$work/cmake-build/consumer" "$work/pkg-consumer"; do
    readelf -d "$program" | grep -q "(NEEDED).*\[$soname\]"
  done
  echo "installed shared package ($soname) works with find_package and pkg-config"
else
  echo "installed static package works with find_package and pkg-config"
fi
