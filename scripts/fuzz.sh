#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) into build-fuzz/ (reused) and runs each one for a
# short time on a copy of its seed corpus, so the repository is never modified. Fails when a target
# finds a crash, a leak, a timeout or an out-of-memory; the input that did it is kept in
# build-fuzz/fuzz-artifacts/. Longer runs and reproducing a crash: docs/fuzzing.md.
#
# Usage: scripts/fuzz.sh [--ci] [TARGET...]   (targets: route headers request response sse config; all
#        when none is named)
#   --ci   run only when OLLA_CI_FUZZ=1; scripts/test.sh calls it so
# Environment: FUZZ_SECONDS (15 per target), FUZZ_BUILD_DIR (build-fuzz), JOBS (2).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--ci" ]]; then
  shift
  if [[ "${OLLA_CI_FUZZ:-}" != 1 ]]; then
    exit 0
  fi
fi

ALL_TARGETS=(route headers request response sse config)
targets=("$@")
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-15}
JOBS=${JOBS:-2}
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1  # hits across checkouts

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found; scripts/deps.sh --test installs clang and libFuzzer" >&2
  exit 1
fi

echo "== fuzz: building $BUILD_DIR (clang, libFuzzer, ASan+UBSan)"
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOLLA_FUZZ=ON -DOLLA_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$JOBS" --target fuzz

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
keep="$BUILD_DIR/fuzz-artifacts"
failed=()
for t in "${targets[@]}"; do
  bin="$BUILD_DIR/bin/fuzz_$t"
  [[ -x "$bin" ]] || { echo "fuzz: no target '$t' (have: ${ALL_TARGETS[*]})" >&2; exit 2; }
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  cp tests/fuzz/corpus/"$t"/* "$work/$t/corpus/"
  log="$work/$t/log"
  rc=0
  "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict="tests/fuzz/dict/$t.dict" -artifact_prefix="$work/$t/artifacts/fuzz_$t-" \
    "$work/$t/corpus" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  if ((rc == 0)); then
    echo "fuzz_$t: ok, ${runs:-?} runs in ${SECONDS_EACH}s (${speed:-?}/s), $cov"
  else
    failed+=("fuzz_$t")
    mkdir -p "$keep"
    cp "$work/$t/artifacts/"* "$keep/" 2>/dev/null || true
    echo "fuzz_$t: FAILED (exit $rc); the input is in $keep/ (reproduce: $bin <file>)"
    grep -E 'invariant violated|threw|ERROR:|SUMMARY:|upstream|Test unit written' "$log" | head -20 ||
      true
    tail -n 40 "$log" | grep -E '^ +#[0-9]+ ' | head -15 || true
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: ${#failed[@]} target(s) found a problem: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ran clean"
