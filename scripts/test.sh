#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test (unit, integration, e2e with the
# official openai npm package). Ends with ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 300 -j "${CTEST_JOBS:-2}"
