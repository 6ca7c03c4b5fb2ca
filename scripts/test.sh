#!/usr/bin/env bash
# Runs every test of the workspace: unit, conformance, HTTP end-to-end and
# process-level tests, with every adapter feature on. Extra arguments go to
# `cargo test` (e.g. `scripts/test.sh -p poppy-core`).
#
# The external services some tests need are installed (first run only) and
# started here, on loopback, by the project's own scripts, and stopped on
# exit:
#   - ZooKeeper (Debian's package)   -> POPPY_TEST_ZOOKEEPER=host:port
#   - moto (PyPI, AWS emulation)     -> POPPY_TEST_MOTO=http://host:port
# Set POPPY_TEST_NO_SERVICES=1 to skip them (their tests then skip too).
set -euo pipefail
cd "$(dirname "$0")/.."

started=()
cleanup() {
  for s in "${started[@]}"; do bash "scripts/$s.sh" stop >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

if [ -z "${POPPY_TEST_NO_SERVICES:-}" ]; then
  export ZK_PORT="${ZK_PORT:-21810}" MOTO_PORT="${MOTO_PORT:-5055}"
  # Stop on exit only what this run started (a developer's running ones stay up).
  bash scripts/zookeeper.sh status >/dev/null 2>&1 || started+=(zookeeper)
  bash scripts/moto.sh status >/dev/null 2>&1 || started+=(moto)
  POPPY_TEST_ZOOKEEPER="$(bash scripts/zookeeper.sh)"
  POPPY_TEST_MOTO="$(bash scripts/moto.sh)"
  export POPPY_TEST_ZOOKEEPER POPPY_TEST_MOTO
  echo "test services: zookeeper=$POPPY_TEST_ZOOKEEPER moto=$POPPY_TEST_MOTO" >&2
fi

cargo test --workspace --all-features "$@"

# HTTP fuzzing from the OpenAPI document, against the poppy-server just built.
if [ -z "${POPPY_TEST_NO_SERVICES:-}" ]; then
  POPPY_SERVER_BIN="${CARGO_TARGET_DIR:-target}/debug/poppy-server" bash scripts/schemathesis.sh
fi
