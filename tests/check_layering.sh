#!/usr/bin/env bash
# The SDK's layers: src/core (events, sessions, the pipeline) talks to transports through the
# interfaces of core/delivery_parts.hpp only; src/transport may use core; src/client assembles
# both. Fails, naming the lines, when core includes a header of another layer.
set -euo pipefail
src="$1"
if grep -rnE '#include "(transport|client|analysis)/' "$src/core"; then
  echo "src/core must not include src/transport, src/client or src/analysis (lines above)" >&2
  exit 1
fi
if grep -rnE '#include "client/' "$src/transport"; then
  echo "src/transport must not include src/client (lines above)" >&2
  exit 1
fi
echo "layering ok"
