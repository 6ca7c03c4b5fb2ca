#!/usr/bin/env bash
# A local Poppy cluster on loopback: ZooKeeper (the job board), two API servers without
# in-process workers, and two workers, over shared storage — one SQLite file in WAL mode, or
# Cassandra when POPPY_CASSANDRA is set. For development and for the multi-process tests
# (tests/cluster.rs).
#
#   cluster.sh [start]   start everything, wait until the servers answer GET /v1.0/ping and the
#                        workers run; print the two base URLs (only those) on stdout
#   cluster.sh stop      stop the processes this script started (and its ZooKeeper, if it
#                        started one)
#   cluster.sh status    exit 0 and print the base URLs if every process is alive, else exit 1
#
# Build the binaries first: `cargo build --features zookeeper --bins` (or `--features full`).
#
# Environment:
#   CLUSTER_DIR      state dir: config.toml, data/, *.pid, *.log
#                    (default ${TMPDIR:-/tmp}/poppy-cluster)
#   CLUSTER_PORTS    the two servers' loopback ports (default "8891 8892")
#   CLUSTER_CONFIG   a TOML file to use instead of the generated one (it must configure
#                    [jobs] driver = "zookeeper"); the script still passes --listen / --data-dir
#   CLUSTER_ZK_ROOT  the job board's root znode in the generated config (default /poppy-cluster)
#   POPPY_BIN_DIR    where poppy-server and poppy-worker are (default <repo>/target/debug)
#   POPPY_ZOOKEEPER  host:port of a running ZooKeeper to use; unset: the one scripts/zookeeper.sh
#                    runs on ZK_PORT (default 21810; ZK_STATE_DIR as there), started (and
#                    stopped by `stop`) if it is not running
#   POPPY_CASSANDRA  host:port of a Cassandra node: store services there (keyspace
#                    CLUSTER_CASSANDRA_KEYSPACE, default poppy_cluster, migrated on start);
#                    needs binaries built with the `cassandra` feature
#   CLUSTER_START_TIMEOUT  seconds to wait for readiness (default 60)
#
# Processes run detached (setsid) with their output in $CLUSTER_DIR/<name>.log. `stop` only
# signals pids from its own pid files whose command line names this cluster's config file.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
CLUSTER_DIR="${CLUSTER_DIR:-${TMPDIR:-/tmp}/poppy-cluster}"
CLUSTER_PORTS="${CLUSTER_PORTS:-8891 8892}"
CLUSTER_ZK_ROOT="${CLUSTER_ZK_ROOT:-/poppy-cluster}"
POPPY_BIN_DIR="${POPPY_BIN_DIR:-$REPO/target/debug}"
CLUSTER_START_TIMEOUT="${CLUSTER_START_TIMEOUT:-60}"
CONFIG="$CLUSTER_DIR/config.toml"
SERVERS=(server-1 server-2)
WORKERS=(worker-1 worker-2)

log() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

read -r -a PORTS <<< "$CLUSTER_PORTS"
[ "${#PORTS[@]}" -eq 2 ] || die "CLUSTER_PORTS must name two ports, got '$CLUSTER_PORTS'"

urls() { for port in "${PORTS[@]}"; do echo "http://127.0.0.1:$port"; done; }

# The pid in <name>.pid if that process is alive and runs with this cluster's config.
pid_of() {
  local file="$CLUSTER_DIR/$1.pid" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "--config $CONFIG" || return 1
  echo "$pid"
}

# HTTP status of GET <path> on 127.0.0.1:<port>, through bash's /dev/tcp (no curl needed).
http_status() {
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$1" >&3
    head -n 1 <&3 | cut -d" " -f2
  ' "$1" "$2" 2>/dev/null || true
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
  local zk=$1 storage
  if [ -n "${POPPY_CASSANDRA:-}" ]; then
    storage="[storage]
driver = \"cassandra\"
contact_points = [\"$POPPY_CASSANDRA\"]
keyspace = \"${CLUSTER_CASSANDRA_KEYSPACE:-poppy_cluster}\"
automatic_schema_migration = true"
  else
    storage='[storage]
driver = "sqlite"
path = "poppy.db"'
  fi
  cat > "$CONFIG" <<EOF
# Written by scripts/cluster.sh.
data_dir = "$CLUSTER_DIR/data"

$storage

[jobs]
driver = "zookeeper"
hosts = "$zk"
root = "$CLUSTER_ZK_ROOT"

[worker]
# Jobs are posted apart from the services: the reconciler re-posts lost ones.
reconcile_every_ms = 5000
reconcile_min_age_ms = 10000
EOF
}

# Starts <name> detached: binary + args, output to <name>.log, pid to <name>.pid.
spawn() {
  local name=$1; shift
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$CLUSTER_DIR/$name.pid" "$@" \
    > "$CLUSTER_DIR/$name.log" 2>&1 < /dev/null &
}

wait_until() {
  local what=$1 deadline=$((SECONDS + CLUSTER_START_TIMEOUT)); shift
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then
      log "$what: not ready after ${CLUSTER_START_TIMEOUT}s"
      return 1
    fi
    sleep 0.1
  done
}

server_ready() { case "$(http_status "$1" /v1.0/ping)" in 200|204) return 0 ;; *) return 1 ;; esac; }
worker_ready() { grep -q "worker running" "$CLUSTER_DIR/$1.log" 2>/dev/null && pid_of "$1" >/dev/null; }
# 0: running; 1: not started yet (no pid file); 2: exited.
alive() {
  [ -s "$CLUSTER_DIR/$1.pid" ] || return 1
  pid_of "$1" >/dev/null && return 0
  log "$1 exited; last log lines:"
  tail -n 20 "$CLUSTER_DIR/$1.log" >&2
  return 2
}

start() {
  if status >/dev/null 2>&1; then
    log "already running in $CLUSTER_DIR"
    urls
    return 0
  fi
  local server="$POPPY_BIN_DIR/poppy-server" worker="$POPPY_BIN_DIR/poppy-worker"
  [ -x "$server" ] && [ -x "$worker" ] ||
    die "no poppy-server/poppy-worker in $POPPY_BIN_DIR; run: cargo build --features zookeeper --bins"
  for port in "${PORTS[@]}"; do port_free "$port" || die "port $port is in use; set CLUSTER_PORTS"; done
  mkdir -p "$CLUSTER_DIR/data"

  local zk="${POPPY_ZOOKEEPER:-}"
  if [ -z "$zk" ]; then
    export ZK_PORT="${ZK_PORT:-21810}"
    if zk="$(bash "$REPO/scripts/zookeeper.sh" status 2>/dev/null)"; then
      log "using the ZooKeeper already running on $zk"
    else
      zk="$(bash "$REPO/scripts/zookeeper.sh" start)"
      # Ours to stop: remember how to address it.
      echo "$ZK_PORT ${ZK_STATE_DIR:-}" > "$CLUSTER_DIR/zookeeper.started"
    fi
  fi
  if [ -n "${CLUSTER_CONFIG:-}" ]; then
    cp "$CLUSTER_CONFIG" "$CONFIG"
  else
    write_config "$zk"
  fi

  # The first server creates (and migrates) the storage before the others open it.
  local i
  for i in 0 1; do
    spawn "${SERVERS[$i]}" "$server" --config "$CONFIG" --data-dir "$CLUSTER_DIR/data" \
      --listen "127.0.0.1:${PORTS[$i]}" --no-worker
    if ! wait_until "${SERVERS[$i]}" check_server "$i"; then stop_all; exit 1; fi
  done
  for name in "${WORKERS[@]}"; do
    spawn "$name" "$worker" --config "$CONFIG" --data-dir "$CLUSTER_DIR/data"
  done
  for name in "${WORKERS[@]}"; do
    if ! wait_until "$name" check_worker "$name"; then stop_all; exit 1; fi
  done
  log "running: servers ${PORTS[*]}, workers ${WORKERS[*]}, zookeeper $zk, state in $CLUSTER_DIR"
  urls
}

check_server() {
  local i=$1 rc=0
  alive "${SERVERS[$i]}" || rc=$?
  [ $rc -ne 2 ] || exit_start_failed
  [ $rc -eq 0 ] && server_ready "${PORTS[$i]}"
}

check_worker() {
  local rc=0
  alive "$1" || rc=$?
  [ $rc -ne 2 ] || exit_start_failed
  [ $rc -eq 0 ] && worker_ready "$1"
}

exit_start_failed() { stop_all; exit 1; }

stop_one() {
  local name=$1 pid
  if pid="$(pid_of "$name")"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) ignored TERM; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$CLUSTER_DIR/$name.pid"
}

stop_all() {
  local name
  # Workers first: they release their claims; then the servers.
  for name in "${WORKERS[@]}" "${SERVERS[@]}"; do stop_one "$name"; done
  if [ -f "$CLUSTER_DIR/zookeeper.started" ]; then
    local port state
    read -r port state < "$CLUSTER_DIR/zookeeper.started" || true
    if [ -n "${state:-}" ]; then
      ZK_PORT="$port" ZK_STATE_DIR="$state" bash "$REPO/scripts/zookeeper.sh" stop || true
    else
      ZK_PORT="$port" bash "$REPO/scripts/zookeeper.sh" stop || true
    fi
    rm -f "$CLUSTER_DIR/zookeeper.started"
  fi
}

status() {
  local name ok=0
  for name in "${SERVERS[@]}" "${WORKERS[@]}"; do
    if pid="$(pid_of "$name")"; then
      log "$name: running (pid $pid)"
    else
      log "$name: not running"
      ok=1
    fi
  done
  [ $ok -eq 0 ] && urls
  return $ok
}

case "${1:-start}" in
  start) start ;;
  stop) stop_all ;;
  status) status ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
