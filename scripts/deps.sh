#!/usr/bin/env bash
# Installs what olla needs to build and test on Debian bookworm, only what is missing.
# Usage: scripts/deps.sh [--test]   (--test adds clang and libFuzzer for scripts/fuzz.sh, Node.js
#                                     and the e2e tests' npm packages)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config ccache curl ca-certificates
          libboost1.81-dev nlohmann-json3-dev libspdlog-dev libyaml-cpp-dev libssl-dev
          libsimdjson-dev libmimalloc-dev
          libgtest-dev)  # small; the build configures its tests by default
if [[ "${1:-}" == "--test" ]]; then
  packages+=(clang libclang-rt-dev)  # the libFuzzer targets (scripts/fuzz.sh): clang, libFuzzer
  # Node.js may come from outside Debian's packages (as on the CI image, where nodejs ships npm):
  # any node >= 18 with npm will do; otherwise Debian's.
  if ! command -v npm >/dev/null || ! command -v node >/dev/null ||
     [[ "$(node -p 'process.versions.node.split(".")[0]')" -lt 18 ]]; then
    packages+=(nodejs npm)
  fi
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ "${1:-}" == "--test" ]]; then
  (cd tests/e2e && if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund --silent; else npm install --no-audit --no-fund --silent; fi)
fi
