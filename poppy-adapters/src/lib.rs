//! Driven adapters for Poppy's ports, each behind the Cargo feature of its name.

#![forbid(unsafe_code)]
