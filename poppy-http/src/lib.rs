//! Poppy's REST transport.

#![forbid(unsafe_code)]
