#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test (unit, integration, e2e with the
# official openai npm package). Ends with ctest's summary.
# Optional stages: OLLA_CI_FUZZ=1 runs the libFuzzer targets (scripts/fuzz.sh, 15 s each) before
# the tests; OLLA_CI_SANITIZE=1 runs the same tests again built with ASan+UBSan in build-asan/
# (reused), whose summary is then the last one. A failing first run stops the script before it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
scripts/build.sh
scripts/fuzz.sh --ci  # libFuzzer targets, 15 s each, when OLLA_CI_FUZZ=1
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --timeout 300 -j "${CTEST_JOBS:-2}")

if [[ "${OLLA_CI_SANITIZE:-}" != 1 ]]; then
  exit 0
fi
echo "== sanitize: building build-asan (ASan+UBSan, RelWithDebInfo), then the tests again"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOLLA_SANITIZE=ON >/dev/null
cmake --build build-asan -j "${JOBS:-2}"
cd build-asan
# Findings abort the test (UBSan is built with -fno-sanitize-recover); leaks fail it at exit.
# One test at a time: the integration tests' timing bounds are tight for sanitized binaries.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure --timeout 300 -j "${SANITIZE_CTEST_JOBS:-1}"
