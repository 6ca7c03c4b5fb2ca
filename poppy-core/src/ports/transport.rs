//! The driving adapter's lifecycle.

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use super::Api;

/// Resolves when the process should stop accepting work.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Something that serves the API (HTTP, …) until `shutdown` resolves,
/// finishing in-flight requests.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    async fn serve(&self, api: Api, shutdown: Shutdown) -> std::io::Result<()>;
}
