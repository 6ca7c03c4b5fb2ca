//! Poppy facade.
