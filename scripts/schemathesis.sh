#!/usr/bin/env bash
# HTTP fuzzing driven by the OpenAPI document: starts a poppy-server on
# loopback (SQLite in a temporary directory, the mock provider, an
# in-process worker), points schemathesis (PyPI, pinned, in its own venv)
# at GET /v1.0/openapi.json, and fails on any 5xx or answer that does not
# conform to the document (status code, content type, body schema).
#
#   scripts/schemathesis.sh            run (installs schemathesis on first use)
#
# Environment:
#   POPPY_SERVER_BIN          the poppy-server binary to test; default: built
#                             here with `cargo build --bin poppy-server`
#   SCHEMATHESIS_VENV         (.ci/venv-schemathesis)  SCHEMATHESIS_VERSION (4.32.5)
#   SCHEMATHESIS_PYTHON       (python3) interpreter the venv is made with
#   SCHEMATHESIS_EXAMPLES     (60) test cases per operation and phase; the
#                             whole run makes several thousand cases
#   SCHEMATHESIS_SEED         (1) seed, for reproducible runs
#   SCHEMATHESIS_CHECKS       (not_a_server_error,status_code_conformance,
#                             content_type_conformance,response_schema_conformance)
#   SCHEMATHESIS_WORKERS      (2) concurrent workers
#   SCHEMATHESIS_REPORT_DIR   where the JUnit report goes (.ci/schemathesis-report)
#
# Requests that fail at the network level are retried twice: the server
# closes idle kept-alive connections, and a client may race that close.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${SCHEMATHESIS_VENV:-.ci/venv-schemathesis}"
VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
PYTHON="${SCHEMATHESIS_PYTHON:-python3}"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-60}"
SEED="${SCHEMATHESIS_SEED:-1}"
CHECKS="${SCHEMATHESIS_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance}"
WORKERS="${SCHEMATHESIS_WORKERS:-2}"
REPORT_DIR="${SCHEMATHESIS_REPORT_DIR:-.ci/schemathesis-report}"

log() { printf 'schemathesis.sh: %s\n' "$*" >&2; }

# The pinned schemathesis in its own venv (reused when already there).
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $VERSION\$"; then
  log "installing schemathesis $VERSION into $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

if [ -n "${POPPY_SERVER_BIN:-}" ] && [ -x "$POPPY_SERVER_BIN" ]; then
  server_bin="$POPPY_SERVER_BIN"
else
  log "building poppy-server"
  cargo build --quiet --bin poppy-server
  server_bin="${CARGO_TARGET_DIR:-target}/debug/poppy-server"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/poppy-schemathesis.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
cat >"$work/poppy.toml" <<'EOF'
[worker]
idle_wait_ms = 20
backoff_base_ms = 10
backoff_max_ms = 50
max_attempts = 3
poll_interval_ms = 20

[limits]
max_services_per_project = 1000
EOF
RUST_LOG=warn "$server_bin" --listen "127.0.0.1:$port" --data-dir "$work/data" \
  --config "$work/poppy.toml" >"$work/server.log" 2>&1 &
server_pid=$!

base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null --max-time 2 "$base/v1.0/ping" 2>/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    log "poppy-server exited before it was ready:"; cat "$work/server.log" >&2; exit 1
  fi
  sleep 0.1
done
curl -fsS -o /dev/null --max-time 2 "$base/v1.0/ping" || { log "poppy-server did not start"; exit 1; }
log "fuzzing $base from its OpenAPI document ($EXAMPLES examples per operation, seed $SEED)"

mkdir -p "$REPORT_DIR"
case "$REPORT_DIR" in /*) ;; *) REPORT_DIR="$PWD/$REPORT_DIR" ;; esac
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
set +e
# Run from the scratch directory: schemathesis keeps its example database
# (.schemathesis/) in the current directory.
(cd "$work" && "$VENV/bin/schemathesis" run "$base/v1.0/openapi.json" \
  --header "X-Project-ID: schemathesis" \
  --header "X-Roles: admin" \
  --checks "$CHECKS" \
  --max-examples "$EXAMPLES" \
  --seed "$SEED" \
  --workers "$WORKERS" \
  --request-timeout 30 \
  --request-retries 2 \
  --report junit --report-junit-path "$REPORT_DIR/junit.xml" \
  --no-color) 2>&1 | tee "$work/run.log"
status=${PIPESTATUS[0]}
set -e

if ! kill -0 "$server_pid" 2>/dev/null; then
  log "poppy-server died during the run:"; tail -50 "$work/server.log" >&2; exit 1
fi
if [ "$status" -ne 0 ]; then
  log "schemathesis found problems (exit $status); server log tail:"
  tail -50 "$work/server.log" >&2
  exit "$status"
fi
# "N generated, N passed" → the plain closing line test harnesses read.
passed="$(sed -n 's/^ *\([0-9][0-9]*\) generated, \([0-9][0-9]*\) passed.*/\2/p' "$work/run.log" | tail -1)"
echo "schemathesis: ${passed:-0} passed, 0 failed"
