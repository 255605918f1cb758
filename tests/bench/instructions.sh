#!/usr/bin/env bash
# User-space instructions per proxied request, olla against nginx, counted by valgrind's callgrind.
# Instruction counts do not depend on what else the machine is doing, so unlike run.sh's timings
# they compare across runs and machines of the same build; kernel time (system calls, TCP) is not
# in them.
#
#   tests/bench/instructions.sh [--no-build] [--requests N] [--olla BINARY]
#
# For each proxy: starts it under callgrind in front of an nginx upstream answering the fixed chat
# completion, sends N and then N + 5,000 non-streaming chat requests over 8 keep-alive connections
# (two runs, so start-up and shutdown cancel out), and prints (Ir(N + 5000) - Ir(N)) / 5000.
# Installs valgrind, nginx-light, node and curl from Debian when missing. Everything listens on
# 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
build=1
base=500
olla_bin=$ROOT/build/bin/olla
while (($#)); do
  case "$1" in
    --no-build) build=0 ;;
    --requests) base=$2; shift ;;
    --olla) olla_bin=$(realpath "$2"); build=0; shift ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done
more=5000

need=()
for tool in valgrind nginx node curl; do command -v "$tool" >/dev/null || need+=("$tool"); done
if ((${#need[@]})); then
  pkgs=("${need[@]/nginx/nginx-light}")
  pkgs=("${pkgs[@]/node/nodejs}")
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi
if ((build)); then
  scripts/deps.sh
  BUILD_TYPE=Release TARGETS=olla scripts/build.sh >/dev/null
fi

TMP=$(mktemp -d /tmp/olla-instr.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
UP=$(free_port)
PROXY=$(free_port)
CHAT='{"id":"chatcmpl-1","object":"chat.completion","created":1705320600,"model":"gpt-4","choices":[{"index":0,"message":{"role":"assistant","content":"Quantum computing uses qubits that"},"finish_reason":"stop"}],"usage":{"prompt_tokens":25,"completion_tokens":5,"total_tokens":30}}'
MODELS='{"object":"list","data":[{"id":"gpt-4","object":"model","created":1698959748,"owned_by":"openai"}]}'
temps() { # dir
  echo "client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1; uwsgi_temp_path $1; scgi_temp_path $1;"
}

mkdir -p "$TMP/up" "$TMP/ngx"
cat >"$TMP/up/nginx.conf" <<EOF
pid $TMP/up/nginx.pid;
error_log $TMP/up/error.log warn;
worker_processes 1;
events { worker_connections 1024; }
http {
  access_log off; keepalive_requests 1000000; $(temps "$TMP/up")
  server {
    listen 127.0.0.1:$UP;
    location = /health/liveliness { default_type application/json; return 200 '"ok"'; }
    location = /v1/models { default_type application/json; return 200 '$MODELS'; }
    location = /model/info { default_type application/json; return 200 '{"data":[]}'; }
    location / { default_type application/json; return 200 '$CHAT'; }
  }
}
EOF
nginx -p "$TMP/up" -c "$TMP/up/nginx.conf" -g 'daemon off;' >"$TMP/up.log" 2>&1 &
PIDS+=($!)

cat >"$TMP/ngx/nginx.conf" <<EOF
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/error.log warn;
master_process off;
worker_processes 1;
events { worker_connections 1024; }
http {
  access_log off; keepalive_requests 1000000; $(temps "$TMP/ngx")
  upstream litellm { server 127.0.0.1:$UP; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$PROXY;
    location = /health { return 200; }
    location /olla/litellm/ {
      proxy_pass http://litellm/; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
EOF
cat >"$TMP/olla.yaml" <<EOF
server: { host: 127.0.0.1, port: $PROXY, threads: 1 }
proxy: { load_balancer: least-connections }
discovery:
  type: static
  static:
    endpoints:
      - { url: "http://127.0.0.1:$UP", name: bench-upstream, type: litellm,
          health_check_url: /health/liveliness, check_interval: 60s }
logging: { level: warn, format: json }
EOF
# Sends exactly N chat requests over 8 keep-alive connections (wrk would run for its whole -d).
cat >"$TMP/load.mjs" <<'EOF'
import http from "node:http";
const [url, total] = [process.argv[2], Number(process.argv[3])];
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const body = JSON.stringify({ model: "gpt-4", messages: [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "Explain quantum computing in simple terms." }],
  temperature: 0.7, max_tokens: 500, stream: false });
let sent = 0, failed = 0;
const one = () => new Promise((resolve) => {
  const req = http.request(url, { method: "POST", agent,
    headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } },
    (res) => { if (res.statusCode !== 200) failed++; res.resume(); res.on("end", resolve); });
  req.on("error", () => { failed++; resolve(); });
  req.end(body);
});
const worker = async () => { while (sent < total) { sent++; await one(); } };
await Promise.all(Array.from({ length: 8 }, worker));
agent.destroy();
if (failed) { console.error(`${failed} request(s) failed`); process.exit(1); }
EOF

# ir NAME HEALTH_PATH REQUESTS CMD...: total instructions of CMD serving REQUESTS requests.
ir() {
  local name=$1 health=$2 n=$3
  shift 3
  rm -f "$TMP/$name.cg"*
  valgrind --tool=callgrind --callgrind-out-file="$TMP/$name.cg" "$@" >"$TMP/$name.log" 2>&1 &
  local vp=$!
  PIDS+=("$vp")
  for _ in $(seq 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PROXY$health") == 200 ]] && break
    sleep 0.1
  done
  node "$TMP/load.mjs" "http://127.0.0.1:$PROXY/olla/litellm/v1/chat/completions" "$n"
  kill -TERM "$vp"
  wait "$vp" 2>/dev/null || true
  grep -h '^summary:' "$TMP/$name.cg"* | awk '{ s += $2 } END { print s }'
}

per_request() { # name health cmd...
  local name=$1 health=$2 a b
  shift 2
  a=$(ir "$name" "$health" "$base" "$@")
  b=$(ir "$name" "$health" $((base + more)) "$@")
  echo $(((b - a) / more))
}

olla_ir=$(per_request olla /internal/health "$olla_bin" -c "$TMP/olla.yaml")
nginx_ir=$(per_request nginx /health nginx -p "$TMP/ngx" -c "$TMP/ngx/nginx.conf" -g 'daemon off;')
printf 'instructions per proxied request (callgrind, user space, 8 connections, %d requests)\n' "$more"
printf '  olla   %8d  (%s)\n' "$olla_ir" "$olla_bin"
printf '  nginx  %8d  (%s)\n' "$nginx_ir" "$(nginx -v 2>&1 | sed 's/.*\///')"
awk -v o="$olla_ir" -v n="$nginx_ir" 'BEGIN { printf "  olla / nginx  %.2fx\n", o / n }'
