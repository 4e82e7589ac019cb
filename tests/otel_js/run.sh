#!/usr/bin/env bash
# Runs the OpenTelemetry JS SDK checks: otlp_receiver.mjs (the official OTLP/HTTP exporters
# against `promptetheus dev`'s /v1/traces), trace_context.mjs (the W3C trace context of the C++
# SDK against the JS propagator, through trace_context_probe) and export_schema.mjs (the
# `promptetheus export --format otlp` document and the SDK's live OTLP export, through the
# probe, against the OTLP protobuf schema).
#
# usage: tests/otel_js/run.sh <promptetheus binary> <trace_context_probe binary>
#
# The pinned packages (package-lock.json) are installed with `npm ci` once per lock file, into a
# cache directory outside the repository keyed by the lock file's hash, and reused afterwards.
# Without node or npm the test fails: it never skips.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cli=${1:?usage: run.sh <promptetheus binary> <trace_context_probe binary>}
probe=${2:?usage: run.sh <promptetheus binary> <trace_context_probe binary>}
cache=$(bash "$here/../../scripts/npm_cached_install.sh" "$here" otel-js)
cp "$here"/*.mjs "$cache/"  # ESM resolves packages next to the script

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
echo "otlp_receiver:"
node "$cache/otlp_receiver.mjs" "$cli" "$scratch"
echo "trace_context:"
node "$cache/trace_context.mjs" "$probe"
echo "export_schema:"
node "$cache/export_schema.mjs" "$cli" "$probe" "$scratch"
