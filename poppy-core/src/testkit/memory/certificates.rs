//! In-memory [`CertificateStore`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use super::faults::{lock, FailureKind, Faults};
use crate::model::{CertQueue, CertStatus, ProjectId, SslCertificate};
use crate::ports::{CertificateStore, PortError};

const STORE: &str = "memory certificates";

/// Operations of [`MemoryCertificateStore`] that can be told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertStoreOp {
    Create,
    Get,
    Update,
    Delete,
    ListByStatus,
    Queue,
    Enqueue,
    ReplaceQueue,
    TakeQueue,
    GetSetting,
    PutSetting,
}

impl CertStoreOp {
    fn name(self) -> &'static str {
        match self {
            CertStoreOp::Create => "create",
            CertStoreOp::Get => "get",
            CertStoreOp::Update => "update",
            CertStoreOp::Delete => "delete",
            CertStoreOp::ListByStatus => "list_by_status",
            CertStoreOp::Queue => "queue",
            CertStoreOp::Enqueue => "enqueue",
            CertStoreOp::ReplaceQueue => "replace_queue",
            CertStoreOp::TakeQueue => "take_queue",
            CertStoreOp::GetSetting => "get_setting",
            CertStoreOp::PutSetting => "put_setting",
        }
    }
}

#[derive(Debug, Default)]
struct State {
    certs: BTreeMap<String, SslCertificate>,
    queues: BTreeMap<(String, &'static str), Vec<Value>>,
    settings: BTreeMap<(String, String), Value>,
}

/// A [`CertificateStore`] in memory. Clones share state; failures can be
/// injected per operation with [`MemoryCertificateStore::fail_next`].
#[derive(Debug, Clone, Default)]
pub struct MemoryCertificateStore {
    state: Arc<Mutex<State>>,
    faults: Arc<Faults<CertStoreOp>>,
}

impl MemoryCertificateStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next `times` calls of `op` fail with `kind` and change nothing.
    pub fn fail_next(&self, op: CertStoreOp, times: u32, kind: FailureKind) {
        self.faults.fail_next(op, times, kind);
    }

    /// Every record, by domain.
    pub fn certificates(&self) -> Vec<SslCertificate> {
        lock(&self.state).certs.values().cloned().collect()
    }

    fn check(&self, op: CertStoreOp) -> Result<(), PortError> {
        match self.faults.take(op) {
            Some(kind) => Err(kind.to_error(STORE, op.name())),
            None => Ok(()),
        }
    }
}

fn key(provider: &str, queue: CertQueue) -> (String, &'static str) {
    (provider.to_owned(), queue.as_str())
}

#[async_trait]
impl CertificateStore for MemoryCertificateStore {
    fn name(&self) -> &str {
        "memory"
    }

    async fn create(&self, cert: &SslCertificate) -> Result<(), PortError> {
        self.check(CertStoreOp::Create)?;
        let mut state = lock(&self.state);
        let domain = cert.domain_name.to_ascii_lowercase();
        if state.certs.contains_key(&domain) {
            return Err(PortError::Conflict(format!(
                "Certificate already exists for {domain}"
            )));
        }
        state.certs.insert(domain, cert.clone());
        Ok(())
    }

    async fn get(&self, domain: &str) -> Result<Option<SslCertificate>, PortError> {
        self.check(CertStoreOp::Get)?;
        Ok(lock(&self.state)
            .certs
            .get(&domain.to_ascii_lowercase())
            .cloned())
    }

    async fn update(&self, cert: &SslCertificate) -> Result<(), PortError> {
        self.check(CertStoreOp::Update)?;
        let mut state = lock(&self.state);
        let domain = cert.domain_name.to_ascii_lowercase();
        match state.certs.get_mut(&domain) {
            Some(stored) => {
                *stored = cert.clone();
                Ok(())
            }
            None => Err(PortError::NotFound(format!("certificate for {domain}"))),
        }
    }

    async fn delete(&self, domain: &str, project: &ProjectId) -> Result<(), PortError> {
        self.check(CertStoreOp::Delete)?;
        let mut state = lock(&self.state);
        let domain = domain.to_ascii_lowercase();
        if state
            .certs
            .get(&domain)
            .is_some_and(|c| &c.project_id == project)
        {
            state.certs.remove(&domain);
        }
        Ok(())
    }

    async fn list_by_status(&self, status: CertStatus) -> Result<Vec<String>, PortError> {
        self.check(CertStoreOp::ListByStatus)?;
        Ok(lock(&self.state)
            .certs
            .iter()
            .filter(|(_, c)| c.status == status)
            .map(|(d, _)| d.clone())
            .collect())
    }

    async fn queue(&self, provider: &str, queue: CertQueue) -> Result<Vec<Value>, PortError> {
        self.check(CertStoreOp::Queue)?;
        Ok(lock(&self.state)
            .queues
            .get(&key(provider, queue))
            .cloned()
            .unwrap_or_default())
    }

    async fn enqueue(
        &self,
        provider: &str,
        queue: CertQueue,
        item: &Value,
    ) -> Result<(), PortError> {
        self.check(CertStoreOp::Enqueue)?;
        lock(&self.state)
            .queues
            .entry(key(provider, queue))
            .or_default()
            .push(item.clone());
        Ok(())
    }

    async fn replace_queue(
        &self,
        provider: &str,
        queue: CertQueue,
        items: &[Value],
    ) -> Result<Vec<Value>, PortError> {
        self.check(CertStoreOp::ReplaceQueue)?;
        Ok(lock(&self.state)
            .queues
            .insert(key(provider, queue), items.to_vec())
            .unwrap_or_default())
    }

    async fn take_queue(&self, provider: &str, queue: CertQueue) -> Result<Vec<Value>, PortError> {
        self.check(CertStoreOp::TakeQueue)?;
        Ok(lock(&self.state)
            .queues
            .remove(&key(provider, queue))
            .unwrap_or_default())
    }

    async fn get_setting(&self, provider: &str, key: &str) -> Result<Option<Value>, PortError> {
        self.check(CertStoreOp::GetSetting)?;
        Ok(lock(&self.state)
            .settings
            .get(&(provider.to_owned(), key.to_owned()))
            .cloned())
    }

    async fn put_setting(&self, provider: &str, key: &str, value: &Value) -> Result<(), PortError> {
        self.check(CertStoreOp::PutSetting)?;
        lock(&self.state)
            .settings
            .insert((provider.to_owned(), key.to_owned()), value.clone());
        Ok(())
    }
}
