#!/usr/bin/env bash
# Install (if needed) and run a throwaway standalone ZooKeeper for tests.
#
#   zookeeper.sh [start]   install Debian's `zookeeper` if missing, start a standalone server on
#                          $ZK_HOST:$ZK_PORT (default 127.0.0.1:2181) with a temporary data dir, wait
#                          until it answers `ruok`, print the connect string (only that) on stdout.
#                          Idempotent: if our server is already up, just prints the connect string.
#   zookeeper.sh stop      stop the server this script started (pid file), remove its state dir.
#   zookeeper.sh status    exit 0 and print the connect string if our server answers, else exit 1.
#
# Environment:
#   ZK_HOST (127.0.0.1)  ZK_PORT (2181)  ZK_STATE_DIR (${TMPDIR:-/tmp}/poppy-zk-$ZK_PORT)
#   ZK_START_TIMEOUT (60 s)  ZK_HEAP (256m)  ZK_KEEP_STATE=1 keeps the state dir on stop and
#   starts on its data (a restart keeps every znode).
#
# Logs go to stderr and $ZK_STATE_DIR/zookeeper.log; stdout carries only the connect string, so
#   export ZK_CONNECT="$(scripts/zookeeper.sh)"
# works. Needs root or passwordless sudo only for the one-time apt-get install.
set -euo pipefail

ZK_HOST="${ZK_HOST:-127.0.0.1}"
ZK_PORT="${ZK_PORT:-2181}"
ZK_STATE_DIR="${ZK_STATE_DIR:-${TMPDIR:-/tmp}/poppy-zk-${ZK_PORT}}"
ZK_START_TIMEOUT="${ZK_START_TIMEOUT:-60}"
ZK_HEAP="${ZK_HEAP:-256m}"
ZK_JAR=/usr/share/java/zookeeper.jar
PID_FILE="$ZK_STATE_DIR/zookeeper.pid"
CFG="$ZK_STATE_DIR/zoo.cfg"
LOG="$ZK_STATE_DIR/zookeeper.log"
MAIN=org.apache.zookeeper.server.ZooKeeperServerMain

log() { printf 'zookeeper.sh: %s\n' "$*" >&2; }

# Send a four-letter word; print the reply. Uses bash's /dev/tcp so netcat is not needed.
four_letter() {
  local cmd=$1
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf %s "$2" >&3
    cat <&3
  ' "$ZK_HOST" "$ZK_PORT" "$cmd" 2>/dev/null
}

answers() { [ "$(four_letter ruok || true)" = imok ]; }

# The pid in our pid file, if it is alive and really is our ZooKeeper (same config file).
our_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$MAIN $CFG" || return 1
  echo "$pid"
}

install_zookeeper() {
  if [ -f "$ZK_JAR" ] && command -v java >/dev/null 2>&1; then
    return 0
  fi
  log "installing Debian package zookeeper (apt-get)"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  local t0=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends zookeeper >&2
  log "installed in $((SECONDS - t0)) s"
  [ -f "$ZK_JAR" ] || { log "package installed but $ZK_JAR is missing"; exit 1; }
}

start() {
  if our_pid >/dev/null && answers; then
    log "already running (pid $(our_pid)) on $ZK_HOST:$ZK_PORT"
    echo "$ZK_HOST:$ZK_PORT"
    return 0
  fi
  if answers; then
    log "something not started by this script already answers on $ZK_HOST:$ZK_PORT;" \
        "set ZK_PORT to a free port (or stop that server)"
    exit 1
  fi
  install_zookeeper

  local t0=$SECONDS
  # ZK_KEEP_STATE=1 restarts on the data of the previous run (restart tests).
  [ "${ZK_KEEP_STATE:-0}" = 1 ] || rm -rf "$ZK_STATE_DIR/data"
  mkdir -p "$ZK_STATE_DIR/data"
  cat > "$CFG" <<EOF
tickTime=2000
dataDir=$ZK_STATE_DIR/data
clientPort=$ZK_PORT
clientPortAddress=$ZK_HOST
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr,conf,envi,isro
EOF
  # `exec` keeps the pid, so the pid file names the JVM itself; setsid detaches it from the caller's
  # process group so it outlives the calling shell step.
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$PID_FILE" \
    java -Xmx"$ZK_HEAP" -Dzookeeper.log.dir="$ZK_STATE_DIR" \
      -cp "$ZK_STATE_DIR:$ZK_JAR" "$MAIN" "$CFG" \
      > "$LOG" 2>&1 < /dev/null &

  local deadline=$((SECONDS + ZK_START_TIMEOUT))
  until answers; do
    if [ $SECONDS -ge $deadline ]; then
      log "no answer on $ZK_HOST:$ZK_PORT after ${ZK_START_TIMEOUT}s; last log lines:"
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
  log "started pid $(our_pid) in $((SECONDS - t0)) s; state in $ZK_STATE_DIR"
  echo "$ZK_HOST:$ZK_PORT"
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
  if [ "${ZK_KEEP_STATE:-0}" != 1 ] && [ -d "$ZK_STATE_DIR" ]; then
    rm -rf "$ZK_STATE_DIR"
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop_server ;;
  status)
    if our_pid >/dev/null && answers; then echo "$ZK_HOST:$ZK_PORT"; else exit 1; fi ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
