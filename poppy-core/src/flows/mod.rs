//! Provisioning flows.
