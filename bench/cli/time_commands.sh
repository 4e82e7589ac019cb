#!/bin/sh
# Times replay, replay --tree and fingerprint on a generated ~100 000-event session.
# usage: bench/cli/time_commands.sh [path/to/promptetheus] [work dir]
# Uses hyperfine when installed (apt-get install hyperfine), else /usr/bin/time.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cli=${1:-"$here/../../build-cli/bin/promptetheus"}
work=${2:-/tmp/promptetheus-cli-bench}
mkdir -p "$work"
# The session is recorded with the SDK itself (bench/cli_session_generator.cpp), built next to
# the CLI: <build>/bin/promptetheus and <build>/bench/cli_session_generator.
generator="$(dirname "$cli")/../bench/cli_session_generator"
if [ ! -f "$work/spool/bench_large.jsonl" ]; then
  "$generator" "$work/spool" 100000
fi
cd "$work"
ls -l spool/bench_large.jsonl
if command -v hyperfine >/dev/null 2>&1; then
  hyperfine --warmup 2 --runs 15 -N \
    "$cli replay bench_large --dir spool" \
    "$cli replay bench_large --dir spool --tree" \
    "$cli fingerprint bench_large --dir spool" \
    --export-markdown "$work/results.md"
  cat "$work/results.md"
else
  for args in "replay bench_large --dir spool" "replay bench_large --dir spool --tree" \
              "fingerprint bench_large --dir spool"; do
    /usr/bin/time -f "%e s wall, %U s user, %S s sys: $args" $cli $args >/dev/null
  done
fi
