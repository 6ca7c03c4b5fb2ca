#!/usr/bin/env bash
# Install (if needed) and run moto's standalone server — a local AWS emulator for Route53/CloudFront tests.
#
#   moto.sh [start]   create a venv ($MOTO_VENV, default .ci/venv relative to the current directory),
#                     pip-install moto[server]==$MOTO_VERSION (+ boto3) if not already there, start
#                     moto_server on $MOTO_HOST:$MOTO_PORT (default 127.0.0.1:5000) in the background,
#                     wait until it answers, print the endpoint URL (only that) on stdout.
#                     Idempotent: if our server is already up, just prints the endpoint.
#   moto.sh stop      stop the server this script started (pid file).
#   moto.sh status    exit 0 and print the endpoint if our server answers, else exit 1.
#   moto.sh reset     wipe all emulated state (POST /moto-api/reset) — cheap isolation between tests.
#
# Environment:
#   MOTO_VENV (.ci/venv)  MOTO_VERSION (5.2.5)  MOTO_HOST (127.0.0.1)  MOTO_PORT (5000)
#   MOTO_STATE_DIR (${TMPDIR:-/tmp}/poppy-moto-$MOTO_PORT)  MOTO_START_TIMEOUT (60 s)
#   MOTO_PYTHON (python3) — interpreter used to create the venv.
#
# Clients use the endpoint with any credentials, e.g.
#   export AWS_ENDPOINT_URL="$(scripts/moto.sh)" AWS_ACCESS_KEY_ID=testing \
#          AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
set -euo pipefail

MOTO_VENV="${MOTO_VENV:-.ci/venv}"
MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
MOTO_HOST="${MOTO_HOST:-127.0.0.1}"
MOTO_PORT="${MOTO_PORT:-5000}"
MOTO_STATE_DIR="${MOTO_STATE_DIR:-${TMPDIR:-/tmp}/poppy-moto-${MOTO_PORT}}"
MOTO_START_TIMEOUT="${MOTO_START_TIMEOUT:-60}"
MOTO_PYTHON="${MOTO_PYTHON:-python3}"
PID_FILE="$MOTO_STATE_DIR/moto.pid"
LOG="$MOTO_STATE_DIR/moto.log"
URL="http://$MOTO_HOST:$MOTO_PORT"

log() { printf 'moto.sh: %s\n' "$*" >&2; }

# Absolute venv path, so the pid check below does not depend on the caller's directory.
case "$MOTO_VENV" in /*) ;; *) MOTO_VENV="$PWD/$MOTO_VENV" ;; esac
PY="$MOTO_VENV/bin/python"

answers() {
  # moto's own API answers on every moto_server; a 200 here means the server is serving requests.
  curl -fsS -o /dev/null --max-time 2 "$URL/moto-api/data.json" 2>/dev/null
}

our_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "moto_server -H $MOTO_HOST -p $MOTO_PORT" || return 1
  echo "$pid"
}

install_moto() {
  if [ -x "$PY" ] && "$PY" - "$MOTO_VERSION" <<'EOF' 2>/dev/null
import sys, importlib.metadata as m
sys.exit(0 if m.version("moto") == sys.argv[1] and m.version("flask") else 1)
EOF
  then
    return 0
  fi
  local t0=$SECONDS
  log "creating venv $MOTO_VENV and installing moto[server]==$MOTO_VERSION"
  [ -x "$PY" ] || "$MOTO_PYTHON" -m venv "$MOTO_VENV"
  "$PY" -m pip install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" boto3 >&2
  log "installed in $((SECONDS - t0)) s"
}

start() {
  if our_pid >/dev/null && answers; then
    log "already running (pid $(our_pid)) at $URL"
    echo "$URL"
    return 0
  fi
  if answers; then
    log "something not started by this script already answers at $URL; set MOTO_PORT to a free port"
    exit 1
  fi
  command -v curl >/dev/null || { log "curl is required"; exit 1; }
  install_moto

  local t0=$SECONDS
  mkdir -p "$MOTO_STATE_DIR"
  # `exec` keeps the pid, so the pid file names the server itself; setsid detaches it from the
  # caller's process group so it outlives the calling shell step.
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$PID_FILE" \
    "$MOTO_VENV/bin/moto_server" -H "$MOTO_HOST" -p "$MOTO_PORT" \
    > "$LOG" 2>&1 < /dev/null &

  local deadline=$((SECONDS + MOTO_START_TIMEOUT))
  until answers; do
    if [ $SECONDS -ge $deadline ]; then
      log "no answer at $URL after ${MOTO_START_TIMEOUT}s; last log lines:"
      tail -n 30 "$LOG" >&2 || true
      stop_server || true
      exit 1
    fi
    # The pid file is written just before `exec`, so test liveness, not the command line, here.
    if [ -f "$PID_FILE" ] && ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
      log "server exited during start-up; log:"
      tail -n 30 "$LOG" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  log "started pid $(our_pid) in $((SECONDS - t0)) s; log in $LOG"
  echo "$URL"
}

stop_server() {
  local pid
  if pid="$(our_pid)"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid ignored TERM; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped pid $pid"
  else
    log "no server started by this script is running (pid file $PID_FILE)"
  fi
  rm -f "$PID_FILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop_server ;;
  status)
    if our_pid >/dev/null && answers; then echo "$URL"; else exit 1; fi ;;
  reset)
    our_pid >/dev/null || { log "not running"; exit 1; }
    curl -fsS -X POST -o /dev/null --max-time 5 "$URL/moto-api/reset" ;;
  *) echo "usage: $0 [start|stop|status|reset]" >&2; exit 2 ;;
esac
