#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test (unit, integration, e2e with the
# official openai npm package). Ends with ctest's summary.
#
# Stages, in order:
#   1. build/ (Release) and the libFuzzer targets' short runs (scripts/fuzz.sh, 15 s each);
#   2. every test on the Release build;
#   3. every test again built with ASan+UBSan in build-asan/ (reused); its summary is the last one.
# A failing stage stops the script. The fuzzing runs unless OLLA_CI_FUZZ=0 (its clang build takes
# 3-5 minutes the first time). Stage 3 runs by default under CI=true, elsewhere with
# OLLA_CI_SANITIZE=1 (a cold sanitized build takes about 15 minutes on 2 cores); =0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache hits across checkouts (CI clones into a fresh directory): paths relative to the checkout,
# and the compiler's working directory left out of the hash.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1
export OLLA_CI_FUZZ="${OLLA_CI_FUZZ:-1}"
sanitize_default=0
[[ "${CI:-}" == true ]] && sanitize_default=1
OLLA_CI_SANITIZE="${OLLA_CI_SANITIZE:-$sanitize_default}"

scripts/deps.sh --test
scripts/build.sh
scripts/fuzz.sh --ci  # libFuzzer targets, 15 s each, when OLLA_CI_FUZZ=1
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --timeout 300 -j "${CTEST_JOBS:-2}")

if [[ "$OLLA_CI_SANITIZE" != 1 ]]; then
  exit 0
fi
echo "== sanitize: building build-asan (ASan+UBSan, RelWithDebInfo), then every test again"
if [[ ! -f build-asan/build.ninja ]]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOLLA_SANITIZE=ON >/dev/null
fi
cmake --build build-asan -j "${JOBS:-2}"
cd build-asan
# Findings abort the test (UBSan is built with -fno-sanitize-recover); leaks fail it at exit.
# One test at a time: the integration tests' timing bounds are tight for sanitized binaries.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure --timeout 600 -j "${SANITIZE_CTEST_JOBS:-1}"
