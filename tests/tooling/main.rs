//! Operator and tenant tooling against a real Poppy: the Prometheus
//! exposition after a scripted workload, the `poppy` CLI driven as a real
//! process, and `poppy-server --check-config` / `--print-default-config`.
//! Every server is in-process (SQLite in a temporary directory, mock
//! providers, default DNS, in-process worker) on an ephemeral loopback port.

mod support;

mod cli;
mod metrics;
mod server_flags;
