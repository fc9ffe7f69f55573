#!/usr/bin/env bash
# Runs the docker-compose.yml topology without Docker, on loopback only:
#
#   redis-server   127.0.0.1:$REDIS_PORT (6390)   unless REDIS_URL is given
#   app1, app2     node dist/server.js on 127.0.0.1:3001 / :3002 (REDIS_URL, INSTANCE_ID)
#   lb             haproxy on 127.0.0.1:$LB_PORT (3000) with deploy/haproxy.cfg's loopback
#                  variant (scripts/haproxy-loopback.mjs writes it to $RUN_DIR/haproxy.cfg):
#                  the load balancer that ships, health-checking /health
#
#   scripts/run-cluster.sh            build, start everything, Ctrl-C stops it
#   SKIP_BUILD=1 scripts/run-cluster.sh
#   RUNTIME=src scripts/run-cluster.sh   no build: node --import tsx src/server.ts
#   REDIS_URL=redis://127.0.0.1:6379 APP_PORTS="3001 3002 3003" scripts/run-cluster.sh
#
# Needs haproxy (apt-get install haproxy) and redis-server (unless REDIS_URL is given).
#
# The PIDs of exactly the processes started here are written to $RUN_DIR/pids
# ("pid name" lines) and only those are stopped (SIGTERM, then SIGKILL after
# SHUTDOWN_GRACE_MS + 5 s) on Ctrl-C, on SIGTERM, or when Redis or the load
# balancer exits. Failover drill: kill one instance and watch its clients
# resume on the other; the script keeps running while an instance is left:
#   kill -TERM "$(awk '$2=="app1"{print $1}' "$RUN_DIR/pids")"
# Needs bash >= 5.1 (wait -n -p).
set -euo pipefail
cd "$(dirname "$0")/.."

LB_PORT="${LB_PORT:-3000}"
APP_PORTS="${APP_PORTS:-3001 3002}"
REDIS_PORT="${REDIS_PORT:-6390}"
BIND_HOST=127.0.0.1
SHUTDOWN_GRACE_MS="${SHUTDOWN_GRACE_MS:-10000}"
RUN_DIR="${RUN_DIR:-${TMPDIR:-/tmp}/focusroom-cluster.$$}"
mkdir -p "$RUN_DIR"
PID_FILE="$RUN_DIR/pids"
: >"$PID_FILE"

# Background jobs get their own process groups (job control), so a Ctrl-C in the
# terminal reaches only this script; it then stops each child exactly once.
set -m

declare -a PIDS=()
declare -a NAMES=()
declare -A PID_OF=()
STOPPING=0
FORCE=0

log() { printf '[cluster] %s\n' "$*" >&2; }

started() { # name pid
  NAMES+=("$1")
  PIDS+=("$2")
  PID_OF[$1]=$2
  printf '%s %s\n' "$2" "$1" >>"$PID_FILE"
  log "started $1 (pid $2)"
}

# SIGTERM the given indexes of PIDS, then wait for them; SIGKILL any still
# running after SHUTDOWN_GRACE_MS plus a margin (or at once on a second Ctrl-C).
stop_group() {
  local i pid
  for i in "$@"; do
    pid="${PIDS[$i]}"
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping ${NAMES[$i]} (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  local deadline=$((SECONDS + SHUTDOWN_GRACE_MS / 1000 + 5))
  for i in "$@"; do
    pid="${PIDS[$i]}"
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ] && [ "$FORCE" = 0 ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "${NAMES[$i]} (pid $pid) still running: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}

cleanup() {
  local status=$?
  [ "$STOPPING" = 1 ] && return
  STOPPING=1
  # A second Ctrl-C (or SIGTERM) while stopping: SIGKILL what is left, now.
  trap 'FORCE=1' INT TERM
  local i
  local -a first=() last=()
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    if [ "${NAMES[$i]}" = redis ]; then last+=("$i"); else first+=("$i"); fi
  done
  # Load balancer and instances first (they drain gracefully and may still need
  # Redis while doing so), Redis last.
  [ "${#first[@]}" -gt 0 ] && stop_group "${first[@]}"
  [ "${#last[@]}" -gt 0 ] && stop_group "${last[@]}"
  rm -f "$PID_FILE" "$RUN_DIR/haproxy.cfg"
  rmdir "$RUN_DIR" 2>/dev/null || true
  log "stopped"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until a command succeeds, or fails after $2 seconds (or if pid $3 died).
wait_for() { # description timeout_s pid command...
  local what=$1 timeout=$2 pid=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$what: process $pid exited"
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$what: not ready after ${timeout}s"
      return 1
    fi
    sleep 0.2
  done
}

# 200 from a URL, using node itself (no curl needed).
http_ok() {
  node -e "fetch(process.argv[1],{signal:AbortSignal.timeout(1000)}).then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))" "$1"
}

RUNTIME="${RUNTIME:-dist}"
case "$RUNTIME" in
  dist) APP_CMD=(node dist/server.js) ;;
  src) APP_CMD=(node --import tsx src/server.ts) ;;
  *) log "RUNTIME is dist or src"; exit 1 ;;
esac
command -v haproxy >/dev/null || { log "haproxy not found (apt-get install haproxy)"; exit 1; }

if [ "$RUNTIME" = dist ] && { [ "${SKIP_BUILD:-0}" != 1 ] || [ ! -f dist/server.js ]; }; then
  log "building (npm run build)"
  npm run build --silent
fi

if [ -z "${REDIS_URL:-}" ]; then
  command -v redis-server >/dev/null || { log "redis-server not found (apt-get install redis-server), or set REDIS_URL"; exit 1; }
  redis-server --port "$REDIS_PORT" --bind "$BIND_HOST" --save '' --appendonly no --loglevel warning &
  started redis $!
  REDIS_URL="redis://$BIND_HOST:$REDIS_PORT"
  if command -v redis-cli >/dev/null; then
    wait_for redis 10 "${PID_OF[redis]}" redis-cli -h "$BIND_HOST" -p "$REDIS_PORT" ping
  else
    sleep 0.5
  fi
fi
export REDIS_URL

backend_args=()
n=0
for port in $APP_PORTS; do
  n=$((n + 1))
  # TRUST_PROXY as in docker-compose.yml: haproxy sets X-Forwarded-For to the real client.
  PORT="$port" HOST="$BIND_HOST" INSTANCE_ID="app$n" SHUTDOWN_GRACE_MS="$SHUTDOWN_GRACE_MS" TRUST_PROXY=true \
    "${APP_CMD[@]}" &
  started "app$n" $!
  backend_args+=(--backend "$BIND_HOST:$port")
done

# Wait until each instance answers /health 200 (it is 503 while Redis is unreachable).
n=0
for port in $APP_PORTS; do
  n=$((n + 1))
  wait_for "app$n" 30 "${PID_OF[app$n]}" http_ok "http://$BIND_HOST:$port/health"
done

# haproxy in the foreground (-db), as in its container.
node scripts/haproxy-loopback.mjs --lb-port "$LB_PORT" "${backend_args[@]}" >"$RUN_DIR/haproxy.cfg"
haproxy -c -q -f "$RUN_DIR/haproxy.cfg"
haproxy -db -f "$RUN_DIR/haproxy.cfg" &
started lb $!
wait_for lb 15 "${PID_OF[lb]}" http_ok "http://$BIND_HOST:$LB_PORT/health"

log "up: http://$BIND_HOST:$LB_PORT  (REDIS_URL=$REDIS_URL, pids in $PID_FILE)"
log "Ctrl-C to stop"

# Run until Redis or the load balancer exits (or a signal arrives); the EXIT
# trap then stops the rest. An instance that exits is only reported: that is
# the failover drill (clients reconnect through the LB to the other instance).
declare -A ALIVE=()
for name in "${!PID_OF[@]}"; do ALIVE[${PID_OF[$name]}]=$name; done
status=0
while [ "${#ALIVE[@]}" -gt 0 ]; do
  set +e
  wait -n -p done_pid "${!ALIVE[@]}"
  status=$?
  set -e
  [ -n "${done_pid:-}" ] || continue
  name="${ALIVE[$done_pid]}"
  unset "ALIVE[$done_pid]"
  case "$name" in
    app*)
      log "$name (pid $done_pid) exited with status $status; the others keep running"
      remaining=0
      for n in "${ALIVE[@]}"; do case "$n" in app*) remaining=$((remaining + 1)) ;; esac; done
      if [ "$remaining" -eq 0 ]; then
        log "no instance left: stopping the cluster"
        exit 1
      fi
      ;;
    *)
      log "$name (pid $done_pid) exited with status $status: stopping the cluster"
      exit "$status"
      ;;
  esac
  done_pid=
done
