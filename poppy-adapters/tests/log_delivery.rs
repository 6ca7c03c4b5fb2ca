//! Log delivery (§5.2 step 3-5, §5.3 step 3): the flows with the
//! log-delivery port, and the Swift driver against a Keystone + Swift
//! stand-in on loopback.

#[path = "log_delivery/flows.rs"]
mod flows;

#[cfg(feature = "swift")]
#[path = "log_delivery/fake.rs"]
mod fake;
#[cfg(feature = "swift")]
#[path = "log_delivery/swift.rs"]
mod swift;
