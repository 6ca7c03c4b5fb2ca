//! Poppy's job runner.

#![forbid(unsafe_code)]
