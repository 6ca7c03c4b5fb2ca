//! Poppy's job runner.
//!
//! A [`Runner`] claims jobs from the [`JobBoard`](poppy_core::ports::JobBoard),
//! runs each job's flow ([`poppy_core::flows`]) while heartbeating its lease,
//! and settles the job: complete, retry later with exponential backoff and
//! full jitter (never sooner than a provider's `Retry-After`), or — after
//! `max_attempts` failed runs — mark the service `failed` with the last
//! error and drop the job. A job whose worker died is reclaimed by another
//! once its lease lapses; graceful shutdown gives claims back at once.

#![forbid(unsafe_code)]

mod backoff;
mod config;
mod runner;

pub use backoff::backoff_delay;
pub use config::RunnerConfig;
pub use runner::{JobObserver, JobReport, Runner};
