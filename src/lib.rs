//! # Poppy
//!
//! A CDN-as-a-Service control plane: tenants describe a service once
//! (domains, origins, caching rules, restrictions, a flavor) through one REST
//! API, and Poppy provisions it on one or more CDN providers, creates the DNS
//! records, keeps the state and purges content on request.
//!
//! This crate is the facade and composition root: it re-exports the parts
//! ([`core`], [`adapters`], [`http`], [`worker`]), reads the [`config`], and
//! [`assemble`]s a running Poppy from it.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = poppy::config::Config::default();
//! let poppy = poppy::assemble(&config, &poppy::adapters::Registry::builtin()).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8888").await?;
//! poppy.serve(listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod assemble;
pub mod cli;
pub mod config;
pub mod default_config;
pub mod metrics;
pub mod telemetry;

pub use assemble::{assemble, check, AssembleError, Plan, Poppy};
pub use poppy_adapters as adapters;
pub use poppy_core as core;
pub use poppy_http as http;
pub use poppy_worker as worker;
