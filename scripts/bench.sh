#!/usr/bin/env bash
# Runs every benchmark (release build, default features) and writes
# target/bench-summary.md and target/bench-summary.json:
#   1. criterion micro-benchmarks: benches/core.rs (validation, JSON Patch,
#      serde) and benches/sqlite.rs (store get/list/create, job claim);
#   2. the HTTP load harness, benches/load.rs, which measures the bare-hyper
#      ceiling and every scenario in one run and appends the criterion
#      results to the summary.
#
# Usage: scripts/bench.sh [--quick] [load-harness options...]
#   --quick   short criterion runs and a short load run (to try things out)
# Other options go to the load harness; `cargo bench --bench load -- --help`
# lists them (e.g. --connections 32, --duration 20, --only http,deployed).
#
# The numbers are only comparable within one run: run it when the machine
# is otherwise idle (the load average is printed before and after).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
criterion=(--noplot)
for arg in "$@"; do
  if [ "$arg" = "--quick" ]; then
    criterion+=(--warm-up-time 0.5 --measurement-time 1)
  fi
done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench --bench core -- "${criterion[@]}"
cargo bench --bench sqlite -- "${criterion[@]}"
cargo bench --bench load -- --out "$target/bench-summary" --criterion "$target/criterion" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "summary: $target/bench-summary.md, $target/bench-summary.json"
