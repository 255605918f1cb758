#!/usr/bin/env bash
# olla's benchmark: olla against nginx as a keep-alive reverse proxy, in one run, rounds
# interleaved, medians reported. See docs/performance.md for what each figure means.
#
#   tests/bench/run.sh [--quick] [--no-build] [--threads "1 2"] [--only LIST] [--nice N]
#                      [--out FILE] [--keep-tmp]
#
#   --quick      2 s loads, 1 round, 1 thread, 2,000 held streams (about 1.5 minutes)
#                (default: 5 s loads, 4 rounds, 1 and 2 threads, 10,000 held streams; ~8 minutes)
#   --no-build   use build/bin as it is (default: scripts/deps.sh and scripts/build.sh first)
#   --threads    olla threads / nginx workers to compare (default "1 2", --quick "1")
#   --only LIST  some of startup,http,mock,reuse,sse,hold (default: all)
#   --nice N     run everything at nice N when allowed (default -10, so that other work on the
#                machine disturbs the figures less; 0 leaves the priority alone)
#   --out FILE   the report (default bench-results/latest.md; the raw samples go next to it
#                as <name>.jsonl)
#
# Installs wrk, nginx-light, node and curl from Debian when missing. Everything listens on
# 127.0.0.1 on free ports; configs, logs and pid files live in a temporary directory; every
# process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH=$ROOT/tests/bench

quick=0
build=1
keep_tmp=0
threads_list=""
only=startup,http,mock,reuse,sse,hold
nice_level=-10
out=bench-results/latest.md
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --keep-tmp) keep_tmp=1 ;;
    --threads) threads_list=$2; shift ;;
    --only) only=$2; shift ;;
    --nice) nice_level=$2; shift ;;
    --out) out=$2; shift ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

if ((quick)); then
  DUR=2 ROUNDS=1 HOLD_STREAMS=2000 START_RUNS=3 SSE_FRAMES=8
  threads_list=${threads_list:-1}
else
  DUR=5 ROUNDS=4 HOLD_STREAMS=10000 START_RUNS=5 SSE_FRAMES=12
  threads_list=${threads_list:-1 2}
fi
want() { [[ ,$only, == *,$1,* ]]; }
SSE_STREAMS=1000
SSE_DELAY_MS=200
HOLD_DELAY_MS=8000

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ----------------------------------------------------------------------------- tools and build

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v node >/dev/null || need+=(nodejs)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if ((build)); then
  log "building (Release)"
  scripts/deps.sh
  BUILD_TYPE=Release TARGETS="olla mock-litellm" scripts/build.sh >/dev/null
fi
for b in olla mock-litellm; do
  [[ -x build/bin/$b ]] || { echo "missing build/bin/$b (build first)" >&2; exit 1; }
done

# 10,000 held streams need 2 descriptors each in the proxy. Raise the soft limit as far as the
# hard one allows; the held-stream count is capped below it when the hard limit is lower.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
hold_cap=$(((NOFILE - 200) / 2))
HOLD_ASKED=$HOLD_STREAMS
((HOLD_STREAMS <= hold_cap)) || HOLD_STREAMS=$hold_cap
CLK_TCK=$(getconf CLK_TCK)

# Children inherit the priority: proxies, upstreams and load generators alike.
if [[ $nice_level != 0 ]]; then
  renice -n "$nice_level" -p $$ >/dev/null 2>&1 || nice_level=0
fi

# ----------------------------------------------------------------------------- processes

TMP=$(mktemp -d /tmp/olla-bench.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 30); do
    local alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if ((keep_tmp)); then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The whole run uses one copy of the binaries, even if build/ is rebuilt meanwhile.
mkdir -p "$TMP/bin"
cp build/bin/olla build/bin/mock-litellm "$TMP/bin/"
OLLA=$TMP/bin/olla
MOCK=$TMP/bin/mock-litellm

# start NAME cmd...: runs cmd in the background, output in $TMP/NAME.log; sets STARTED.
start() {
  local name=$1
  shift
  "$@" >"$TMP/$name.log" 2>&1 &
  STARTED=$!
  PIDS+=("$STARTED")
}

stop() {
  local p=$1
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  forget "$p"
}

forget() { # pid: no longer ours to stop
  local keep=() q
  for q in "${PIDS[@]}"; do [[ $q == "$1" ]] || keep+=("$q"); done
  PIDS=("${keep[@]}")
}

# wait_200 URL [seconds]: until GET URL answers 200.
wait_200() {
  local url=$1 limit=${2:-15}
  local deadline=$((SECONDS + limit))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true) == 200 ]]; do
    ((SECONDS < deadline)) || { echo "no 200 from $url within ${limit}s" >&2; return 1; }
    sleep 0.05
  done
}

# Free ports below the ephemeral range, so the load's own outgoing connections cannot take them.
read -r -a PORTS <<<"$(node -e '
  const net = require("net"); const n = Number(process.argv[1]); const got = [];
  const tryOne = () => {
    if (got.length === n) { console.log(got.map((s) => s.address().port).join(" "));
                            got.forEach((s) => s.close()); return; }
    const s = net.createServer(); const p = 20000 + Math.floor(Math.random() * 12000);
    s.once("error", tryOne); s.listen(p, "127.0.0.1", () => { got.push(s); tryOne(); });
  };
  tryOne();' 40)"
next_port() { PORT=${PORTS[0]}; PORTS=("${PORTS[@]:1}"); }

children() { local p; for p in $(pgrep -P "$1" || true); do echo "$p"; done; }

# cpu_ticks PID...: utime+stime of the processes, in clock ticks.
cpu_ticks() {
  local t=0 p v
  for p in "$@"; do
    v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo "$t"
}

RESULTS=$TMP/results.jsonl
: >"$RESULTS"
record() { printf '%s\n' "$1" >>"$RESULTS"; }

# alive TARGET PID WHAT: records (once) a proxy that is no longer running, with how it ended.
declare -A GONE=()
alive() {
  local target=$1 pid=$2 what=$3 st=0
  kill -0 "$pid" 2>/dev/null && return 0
  [[ -n ${GONE[$pid]:-} ]] && return 1
  GONE[$pid]=1
  wait "$pid" 2>/dev/null || st=$?
  local how="exit status $st"
  ((st > 128)) && how="signal $((st - 128)) ($(kill -l $((st - 128)) 2>/dev/null || echo '?'))"
  log "  $target is gone ($how) during $what"
  record "{\"kind\":\"crash\",\"target\":\"$target\",\"during\":\"$what\",\"how\":\"$how\"}"
  return 1
}

# ----------------------------------------------------------------------------- configs

CHAT_JSON='{"id":"chatcmpl-1","object":"chat.completion","created":1705320600,"model":"gpt-4","choices":[{"index":0,"message":{"role":"assistant","content":"Quantum computing uses qubits that"},"finish_reason":"stop"}],"usage":{"prompt_tokens":25,"completion_tokens":5,"total_tokens":30}}'
MODELS_JSON='{"object":"list","data":[{"id":"gpt-4","object":"model","created":1698959748,"owned_by":"openai"}]}'

nginx_common() { # dir
  cat <<EOF
pid $1/nginx.pid;
error_log $1/error.log warn;
worker_rlimit_nofile $NOFILE;
EOF
}

nginx_http_common() { # dir
  cat <<EOF
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path $1/tmp;
  proxy_temp_path $1/tmp;
  fastcgi_temp_path $1/tmp;
  uwsgi_temp_path $1/tmp;
  scgi_temp_path $1/tmp;
EOF
}

# The anchors' upstream: nginx answering a fixed chat completion. A second port serves the same
# with an access log of connection serial numbers, to count upstream connections per request.
start_nginx_upstream() { # port logport
  local dir=$TMP/upstream
  mkdir -p "$dir/tmp"
  cat >"$dir/locations.conf" <<EOF
location = /health/liveliness { default_type application/json; return 200 "\"I'm alive!\""; }
location = /v1/models { default_type application/json; return 200 '$MODELS_JSON'; }
location = /model/info { default_type application/json; return 200 '{"data":[]}'; }
location / { default_type application/json; return 200 '$CHAT_JSON'; }
EOF
  cat >"$dir/nginx.conf" <<EOF
$(nginx_common "$dir")
worker_processes 1;
events { worker_connections 4096; }
http {
$(nginx_http_common "$dir")
  log_format conn '\$connection \$uri';
  server { listen 127.0.0.1:$1 backlog=4096; include $dir/locations.conf; }
  server {
    listen 127.0.0.1:$2 backlog=4096;
    access_log $dir/conn.log conn buffer=64k flush=100ms;
    include $dir/locations.conf;
  }
}
EOF
  start nginx-upstream nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;'
  wait_200 "http://127.0.0.1:$1/health/liveliness"
}

# nginx as the reverse proxy under test, olla's path layout, keep-alive pool to the upstream.
# With one worker per CPU each keeps to its own, as olla's workers do (server.cpu_affinity: auto).
nginx_proxy_conf() { # dir port upstream_port workers
  mkdir -p "$1/tmp"
  local affinity=""
  if (($4 > 1 && $4 == $(nproc))); then affinity="worker_cpu_affinity auto;"; fi
  cat >"$1/nginx.conf" <<EOF
$(nginx_common "$1")
worker_processes $4;
$affinity
events { worker_connections $NOFILE; }
http {
$(nginx_http_common "$1")
  upstream litellm {
    server 127.0.0.1:$3;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$2 backlog=4096;
    location = /nginx-health { return 200; }
    location /olla/litellm/ {
      proxy_pass http://litellm/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
EOF
}

olla_conf() { # file port upstream_port threads
  cat >"$1" <<EOF
server:
  host: 127.0.0.1
  port: $2
  threads: $4
  shutdown_timeout: 1s
proxy:
  load_balancer: least-connections
discovery:
  type: static
  static:
    endpoints:
      - url: http://127.0.0.1:$3
        name: bench-upstream
        type: litellm
        health_check_url: /health/liveliness
        check_interval: 5s
        check_timeout: 2s
logging:
  level: warn
  format: json
EOF
}

# start_proxy KIND NAME UPSTREAM_PORT THREADS: sets PROXY_PID and PROXY_URL.
start_proxy() {
  local kind=$1 name=$2 up=$3 threads=$4 dir=$TMP/$2
  mkdir -p "$dir"
  next_port
  PROXY_URL=http://127.0.0.1:$PORT/olla/litellm
  if [[ $kind == olla ]]; then
    olla_conf "$dir/olla.yaml" "$PORT" "$up" "$threads"
    start "$name" "$OLLA" -c "$dir/olla.yaml"
    PROXY_PID=$STARTED
    wait_200 "http://127.0.0.1:$PORT/olla/litellm/health"
  else
    nginx_proxy_conf "$dir" "$PORT" "$up" "$threads"
    start "$name" nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;'
    PROXY_PID=$STARTED
    wait_200 "http://127.0.0.1:$PORT/nginx-health"
  fi
}

# Processes whose CPU counts for a proxy: olla itself; nginx's master and workers.
proxy_pids() { echo "$1"; children "$1"; }

# log_notes KIND NAME: up to 3 distinct warnings from a proxy's log, as a JSON array.
log_notes() {
  local f
  if [[ $1 == nginx ]]; then f=$TMP/$2/error.log; else f=$TMP/$2.log; fi
  [[ -f $f ]] || { echo '[]'; return; }
  {
    if [[ $1 == nginx ]]; then
      sed -n 's/^.*\[\(warn\|error\|alert\|crit\|emerg\)\] [0-9#]*: \(\*[0-9]* \)\{0,1\}//p' "$f"
    else
      sed -n 's/^.*"msg":"\([^"]*\)".*$/\1/p' "$f"
    fi
  } | sed 's/, client: .*//' | awk '!seen[$0]++' | head -n 3 | sed 's/\\/\\\\/g; s/"/\\"/g; s/.*/"&"/' |
    paste -sd, | sed 's/^/[/; s/$/]/'
}

# ----------------------------------------------------------------------------- measurements

# http_run UPSTREAM THREADS TARGET C ROUND URL PIDS...: one wrk load, recorded.
http_run() {
  local upstream=$1 threads=$2 target=$3 c=$4 round=$5 url=$6
  shift 6
  local pids=("$@") t0 t1 out line
  t0=$(cpu_ticks "${pids[@]}")
  out=$(timeout $((DUR + 20)) wrk -t1 -c"$c" -d"${DUR}s" --timeout 5s -s "$BENCH/chat.lua" \
    "$url/v1/chat/completions" 2>&1) || true
  t1=$(cpu_ticks "${pids[@]}")
  line=$(sed -n 's/^WRK //p' <<<"$out")
  if [[ -z $line ]]; then
    log "wrk gave no result for $target c=$c: $(tail -n 3 <<<"$out")"
    return 0
  fi
  local cpu_s crashed=false
  cpu_s=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", d / hz }')
  ((${#pids[@]})) || cpu_s=null
  # A proxy that died during the load: its sample is kept for the record, not for medians.
  if ((${#pids[@]})) && ! kill -0 "${pids[0]}" 2>/dev/null; then crashed=true cpu_s=null; fi
  record "{\"kind\":\"http\",\"upstream\":\"$upstream\",\"threads\":$threads,\"target\":\"$target\",\"c\":$c,\"round\":$round,\"cpu_s\":$cpu_s,\"crashed\":$crashed,\"wrk\":$line}"
  log "  $upstream t=$threads c=$c $target: $(sed -E 's/.*"rps":([0-9.]+).*"p99_us":([0-9]+).*/\1 req\/s, p99 \2 us/' <<<"$line")"
}

warm() { # url
  timeout 10 wrk -t1 -c64 -d1s -s "$BENCH/chat.lua" "$1/v1/chat/completions" >/dev/null 2>&1 || true
}

# http_block UPSTREAM_NAME UPSTREAM_PORT THREADS WITH_DIRECT
http_block() {
  local upname=$1 up=$2 threads=$3 direct=$4
  log "non-streaming, upstream $upname, $threads thread(s)"
  start_proxy nginx "nginx-$upname-t$threads" "$up" "$threads"
  local nginx_pid=$PROXY_PID nginx_url=$PROXY_URL
  start_proxy olla "olla-$upname-t$threads" "$up" "$threads"
  local olla_pid=$PROXY_PID olla_url=$PROXY_URL
  local direct_url=http://127.0.0.1:$up nginx_pids
  mapfile -t nginx_pids < <(proxy_pids "$nginx_pid")
  if ((direct)); then warm "$direct_url"; fi
  warm "$nginx_url"
  warm "$olla_url"
  local r c proxy
  for ((r = 1; r <= ROUNDS; r++)); do
    for c in 8 64; do
      if ((direct)); then http_run "$upname" "$threads" direct "$c" "$r" "$direct_url"; fi
      # The two proxies take turns going first: this machine's speed drifts within a round.
      for proxy in $( ((r % 2)) && echo nginx olla || echo olla nginx); do
        if [[ $proxy == nginx ]] && alive nginx "$nginx_pid" "$upname t=$threads c=$c round $r"; then
          http_run "$upname" "$threads" nginx "$c" "$r" "$nginx_url" "${nginx_pids[@]}"
          alive nginx "$nginx_pid" "$upname t=$threads c=$c round $r" || true
        fi
        if [[ $proxy == olla ]] && alive olla "$olla_pid" "$upname t=$threads c=$c round $r"; then
          http_run "$upname" "$threads" olla "$c" "$r" "$olla_url" "$olla_pid"
          alive olla "$olla_pid" "$upname t=$threads c=$c round $r" || true
        fi
      done
    done
  done
  if [[ $upname == nginx-json && $threads == 1 ]] && perf_ok; then
    for c in 8 64; do
      perf_run nginx "$c" "$nginx_url" "$(IFS=,; echo "${nginx_pids[*]}")"
      perf_run olla "$c" "$olla_url" "$olla_pid"
    done
    # Clients that open a connection per request (curl in a loop, scripts without a session).
    perf_run nginx 64 "$nginx_url" "$(IFS=,; echo "${nginx_pids[*]}")" close
    perf_run olla 64 "$olla_url" "$olla_pid" close
  fi
  stop "$olla_pid"
  stop "$nginx_pid"
}

PERF_EVENTS="task-clock,context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_readv,syscalls:sys_enter_writev,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_recvmsg,syscalls:sys_enter_sendmsg,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_ioctl,syscalls:sys_enter_futex,syscalls:sys_enter_accept,syscalls:sys_enter_accept4,syscalls:sys_enter_setsockopt,syscalls:sys_enter_getpeername,syscalls:sys_enter_shutdown,syscalls:sys_enter_close"
PERF_OK=""
perf_ok() {
  if [[ -z $PERF_OK ]]; then
    PERF_OK=0
    if command -v perf >/dev/null &&
      perf stat -x, -e "$PERF_EVENTS" -o "$TMP/perf-probe.txt" -- true >/dev/null 2>&1 &&
      ! grep -q 'not supported\|not counted' "$TMP/perf-probe.txt"; then
      PERF_OK=1
    fi
  fi
  ((PERF_OK))
}

# perf_run TARGET C URL PIDLIST [close]: one extra load with perf stat counting syscalls and
# context switches of the proxy; kept out of the timed rounds because tracing slows it down a
# little. With "close", wrk sends `Connection: close`: a new client connection for each request.
perf_run() {
  local target=$1 c=$2 url=$3 pidlist=$4 conn=${5:-keep-alive} f=$TMP/perf-$1-$2-${5:-ka}.txt
  local out line extra=()
  [[ $conn == close ]] && extra=(-H "Connection: close")
  perf stat -x, -e "$PERF_EVENTS" -p "$pidlist" -o "$f" -- sleep $((DUR + 1)) >/dev/null 2>&1 &
  local perf_pid=$!
  PIDS+=("$perf_pid")
  sleep 0.5
  out=$(timeout $((DUR + 20)) wrk -t1 -c"$c" -d"${DUR}s" --timeout 5s "${extra[@]}" \
    -s "$BENCH/chat.lua" "$url/v1/chat/completions" 2>&1) || true
  wait "$perf_pid" 2>/dev/null || true
  forget "$perf_pid"
  line=$(sed -n 's/^WRK //p' <<<"$out")
  [[ -n $line ]] || return 0
  local counters
  counters=$(awk -F, '$1 ~ /^[0-9.]+$/ { sub(/^(raw_)?syscalls:sys_enter_?/, "", $3);
      if ($3 == "") $3 = "syscalls"; printf "%s\"%s\":%s", (n++ ? "," : ""), $3, $1 }' "$f")
  record "{\"kind\":\"perf\",\"target\":\"$target\",\"c\":$c,\"conn\":\"$conn\",\"wrk\":$line,\"counters\":{$counters}}"
}

# Upstream connection reuse: a load through each proxy to the upstream port that logs nginx's
# connection serial number per request; reuse = 1 - distinct connections / requests.
reuse_run() { # target logport
  local target=$1 logport=$2 log=$TMP/upstream/conn.log
  start_proxy "$target" "reuse-$target" "$logport" 1
  local pid=$PROXY_PID url=$PROXY_URL
  sleep 0.3
  local before
  before=$(wc -l <"$log" 2>/dev/null || echo 0)
  timeout $((DUR + 20)) wrk -t1 -c64 -d"${DUR}s" --timeout 5s -s "$BENCH/chat.lua" \
    "$url/v1/chat/completions" >/dev/null 2>&1 || true
  sleep 0.5
  local stats
  stats=$(tail -n +"$((before + 1))" "$log" | awk '$2 == "/v1/chat/completions" { n++; c[$1] = 1 }
      END { m = 0; for (k in c) m++; printf "\"requests\":%d,\"connections\":%d", n, m }')
  record "{\"kind\":\"reuse\",\"target\":\"$target\",$stats}"
  log "  reuse $target: $stats"
  alive "$target" "$pid" "connection reuse" || true
  stop "$pid"
}

startup_run() { # target upstream_port i
  local target=$1 up=$2 dir=$TMP/start-$1-$3 line
  mkdir -p "$dir"
  next_port
  if [[ $target == olla ]]; then
    olla_conf "$dir/olla.yaml" "$PORT" "$up" 1
    line=$(timeout 30 node "$BENCH/startup.mjs" --port "$PORT" --serving-path /internal/health \
      --ready-path /olla/litellm/health -- "$OLLA" -c "$dir/olla.yaml" | sed -n 's/^START //p')
  else
    nginx_proxy_conf "$dir" "$PORT" "$up" 1
    line=$(timeout 30 node "$BENCH/startup.mjs" --port "$PORT" --serving-path /nginx-health \
      -- nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' | sed -n 's/^START //p')
  fi
  if [[ -n $line ]]; then
    record "{\"kind\":\"startup\",\"target\":\"$target\",\"run\":$3,${line:1}"
  else
    log "  no start-up result for $target"
  fi
}

sse_block() {
  log "SSE: $SSE_STREAMS concurrent streams, $SSE_FRAMES frames ${SSE_DELAY_MS} ms apart"
  next_port
  local up=$PORT
  start sse-upstream node "$BENCH/sse_latency.mjs" upstream --port "$up" \
    --frames "$SSE_FRAMES" --delay-ms "$SSE_DELAY_MS"
  local up_pid=$STARTED
  wait_200 "http://127.0.0.1:$up/health/liveliness"
  start_proxy nginx nginx-sse "$up" 1
  local nginx_pid=$PROXY_PID nginx_url=$PROXY_URL
  start_proxy olla olla-sse "$up" 1
  local olla_pid=$PROXY_PID olla_url=$PROXY_URL
  local r target url line t0 t1 cpu_s pids nginx_pids
  mapfile -t nginx_pids < <(proxy_pids "$nginx_pid")
  # Warm-up (JIT of the node processes, first connections), not recorded.
  for url in "http://127.0.0.1:$up" "$nginx_url" "$olla_url"; do
    timeout 30 node "$BENCH/sse_latency.mjs" latency --url "$url/v1/chat/completions" \
      --streams 200 --delay-ms "$SSE_DELAY_MS" --timeout-s 20 >/dev/null || true
  done
  for ((r = 1; r <= ROUNDS; r++)); do
    # The direct path first (the baseline of the round), then the proxies, taking turns.
    for target in direct $( ((r % 2)) && echo nginx olla || echo olla nginx); do
      case $target in
        direct) url=http://127.0.0.1:$up pids=() ;;
        nginx) url=$nginx_url pids=("${nginx_pids[@]}") ;;
        olla) url=$olla_url pids=("$olla_pid") ;;
      esac
      t0=$(cpu_ticks "${pids[@]}")
      line=$(timeout 60 node "$BENCH/sse_latency.mjs" latency --url "$url/v1/chat/completions" \
        --streams "$SSE_STREAMS" --delay-ms "$SSE_DELAY_MS" --timeout-s 40 | sed -n 's/^SSE //p')
      t1=$(cpu_ticks "${pids[@]}")
      [[ -n $line ]] || { log "  no SSE result for $target"; continue; }
      cpu_s=null
      ((${#pids[@]})) && cpu_s=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", d / hz }')
      record "{\"kind\":\"sse\",\"target\":\"$target\",\"round\":$r,\"cpu_s\":$cpu_s,${line:1}"
      log "  $target: $(grep -o '"frame_latency_us":{[^}]*}' <<<"$line")"
    done
    alive nginx "$nginx_pid" "SSE round $r" || true
    alive olla "$olla_pid" "SSE round $r" || true
  done
  stop "$olla_pid"
  stop "$nginx_pid"
  stop "$up_pid"
}

hold_block() {
  log "held streams: $HOLD_STREAMS concurrent, each idling ${HOLD_DELAY_MS} ms between frames"
  next_port
  local up=$PORT
  start mock-hold "$MOCK" --host 127.0.0.1 --port "$up" --threads 2 --chunks 10 \
    --chunk-delay-ms "$HOLD_DELAY_MS"
  local mock_pid=$STARTED
  wait_200 "http://127.0.0.1:$up/health/liveliness"
  local target line pids
  for target in olla nginx; do
    start_proxy "$target" "hold-$target" "$up" 1
    sleep 1
    pids=$(proxy_pids "$PROXY_PID" | paste -sd,)
    line=$(timeout 120 node "$BENCH/sse_latency.mjs" hold --url "$PROXY_URL/v1/chat/completions" \
      --streams "$HOLD_STREAMS" --rate 2500 --pids "$pids" --upstream-port "$up" \
      --timeout-s 30 | sed -n 's/^HOLD //p')
    if [[ -n $line ]]; then
      record "{\"kind\":\"hold\",\"target\":\"$target\",\"asked\":$HOLD_ASKED,\"nofile\":$NOFILE,\"notes\":$(log_notes "$target" "hold-$target"),${line:1}"
      log "  $target: $line"
    else
      log "  no result for $target"
    fi
    alive "$target" "$PROXY_PID" "held streams" || true
    stop "$PROXY_PID"
    sleep 1
  done
  stop "$mock_pid"
}

# ----------------------------------------------------------------------------- the run

started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
record "{\"kind\":\"meta\",\"date\":\"$started_at\",\"quick\":$quick,\"dur_s\":$DUR,\"rounds\":$ROUNDS,\"nproc\":$(nproc),\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//; s/"/\\"/g')\",\"kernel\":\"$(uname -r)\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"nofile\":$NOFILE,\"nice\":$nice_level,\"commit\":\"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src include 2>/dev/null || echo +local changes)\",\"olla_built\":\"$(date -u -r build/bin/olla +%Y-%m-%dT%H:%M:%SZ)\",\"olla_version\":\"$("$OLLA" --version 2>/dev/null | head -n1 | sed 's/"/\\"/g')\",\"nginx\":\"$(nginx -v 2>&1 | sed 's/.*\///')\",\"wrk\":\"$(wrk -v 2>&1 | head -n1 | awk '{print $2}')\",\"node\":\"$(node --version)\"}"

log "temp dir $TMP; loads of ${DUR}s, $ROUNDS round(s), threads: $threads_list"
next_port
UP_JSON=$PORT
next_port
UP_LOG=$PORT
start_nginx_upstream "$UP_JSON" "$UP_LOG"
next_port
UP_MOCK=$PORT
start mock "$MOCK" --host 127.0.0.1 --port "$UP_MOCK" --threads 1
wait_200 "http://127.0.0.1:$UP_MOCK/health/liveliness"

if want startup; then
  log "start-up and idle memory ($START_RUNS runs each)"
  for ((i = 1; i <= START_RUNS; i++)); do
    startup_run olla "$UP_JSON" "$i"
    startup_run nginx "$UP_JSON" "$i"
  done
fi

if want http; then
  first=1
  for t in $threads_list; do
    http_block nginx-json "$UP_JSON" "$t" "$first"
    first=0
  done
fi
if want mock; then http_block mock "$UP_MOCK" 1 1; fi

if want reuse; then
  log "upstream connection reuse (c=64, upstream nginx with a connection log)"
  reuse_run nginx "$UP_LOG"
  reuse_run olla "$UP_LOG"
fi

if want sse; then sse_block; fi
if want hold; then hold_block; fi

finished_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
record "{\"kind\":\"end\",\"date\":\"$finished_at\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"

mkdir -p "$(dirname "$out")"
cp "$RESULTS" "${out%.md}.jsonl"
node "$BENCH/summarize.mjs" "$RESULTS" | tee "$out"
log "report written to $out (raw samples: ${out%.md}.jsonl)"
