#!/usr/bin/env bash
# Runs every test of the workspace: unit, conformance, HTTP end-to-end and
# process-level tests, with every adapter feature on. Extra arguments go to
# `cargo test` (e.g. `scripts/test.sh -p poppy-core`).
#
# External services a test needs are started here by the project's own
# scripts (none yet for the embedded set: SQLite is in-process).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --all-features "$@"
