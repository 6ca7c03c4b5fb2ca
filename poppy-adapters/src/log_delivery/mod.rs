//! Log delivery ([`poppy_core::ports::LogDelivery`]): the container in the
//! tenant's object store that the CDN's access logs go to (§5.2 step 3).
//! `swift` (feature `swift`) authenticates to Keystone with the tenant's
//! token and makes an OpenStack Swift container, as the original did.

#[cfg(feature = "swift")]
pub mod swift;
