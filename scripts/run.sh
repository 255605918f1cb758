#!/usr/bin/env bash
# Builds olla (Release) and starts it on config/olla.yaml.
#   scripts/run.sh          the gateway alone, with the config's endpoints
#   scripts/run.sh --demo   also starts the bundled mock LiteLLM on 127.0.0.1:4000 first, so the
#                           README's curl examples answer on a machine without a LiteLLM
# Extra arguments go to olla (e.g. -c other.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
demo=0
if [[ "${1:-}" == "--demo" ]]; then demo=1; shift; fi
scripts/deps.sh
TARGETS="olla mock-litellm" scripts/build.sh >/dev/null
if ((demo)); then
  ./build/bin/mock-litellm --host 127.0.0.1 --port 4000 --chunk-delay-ms 50 &
  mock_pid=$!
  trap 'kill $mock_pid 2>/dev/null || true' EXIT
fi
./build/bin/olla "$@"
