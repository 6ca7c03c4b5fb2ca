//! Test kit (feature `testkit`): in-memory adapters for every driven port,
//! fixtures, and the conformance suites every adapter runs.
//!
//! - [`memory`]: `MemoryServiceStore`, `MemoryFlavorStore`, `MemoryJobBoard`,
//!   `MemoryProvider`, `MemoryDns`, `MemoryNotifier`. Each is `Clone` (clones
//!   share state), records what it was asked to do and can be told to fail.
//! - [`fixtures`]: valid services, specs, flavors and jobs in one call, with
//!   unique domains so suites can run again and again against one backend.
//! - [`conformance`]: `conformance::<port>::run_all(&dyn Port)` asserts the
//!   "# Contract" of a port's docs; each check is also a public function.

pub mod conformance;
pub mod fixtures;
pub mod memory;
