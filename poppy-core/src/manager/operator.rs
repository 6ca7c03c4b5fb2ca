//! The operator endpoints of [`OperatorApi`]: access-URL changes and
//! domain migration (§2.9.4, §2.9.9 `service`) here, the certificate ones
//! in `certificates.rs`.
//!
//! DNS changes go through the [`DnsManager`](crate::ports::DnsManager)
//! port: `set_enabled(true)` on an access URL points its operator CNAME at
//! its `provider_url` (so it moves a CNAME to a new target, or makes the
//! record of a new operator name), `delete` removes a record, and `create`
//! makes the record of a domain that had none. Unlike the original (§9.2
//! #6), this works with every DNS driver that implements those calls.

use async_trait::async_trait;
use serde_json::Value;

use super::Manager;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::model::{AccessUrl, CertConfigKind, CertificateType, ProviderLink, Service, ServiceId};
use crate::ports::{
    AccessUrlChange, BackgroundJobReport, ConfigUpdate, OperatorApi, PortError, QueueUpdate,
    RetryRun,
};
use crate::validate;

/// A store `Conflict` while an operator changes a service: another writer
/// was first.
fn stored(result: std::result::Result<u64, PortError>, service: &ServiceId) -> Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(PortError::Conflict(m)) => Err(Error::Conflict(format!(
            "service {service} was changed by another request, retry: {m}"
        ))),
        Err(e) => Err(e.into()),
    }
}

#[async_trait]
impl OperatorApi for Manager {
    async fn patch_provider_details(
        &self,
        service_id: &str,
        body: Value,
    ) -> Result<AccessUrlChange> {
        let id = validate::service_id(service_id)?;
        let change = validate::certificate::access_url_patch(&body)?;
        let domain = change.domain_name.as_str();
        let Some(mut service) = self.load(&change.project_id, &id).await? else {
            return Err(Error::NotFound(format!("Service {id} could not be found")));
        };
        let found = service.provider_details.iter().find_map(|(name, detail)| {
            detail
                .access_urls
                .iter()
                .position(|u| u.domain == domain)
                .map(|i| (name.clone(), i))
        });
        let Some((provider, index)) = found else {
            return Err(Error::NotFound(format!(
                "Domain {domain} could not be found"
            )));
        };
        let Some(current) = service
            .provider_details
            .get(&provider)
            .and_then(|d| d.access_urls.get(index))
            .cloned()
        else {
            return Err(Error::NotFound(format!(
                "Domain {domain} could not be found"
            )));
        };
        if current.shared_ssl_flag {
            return Err(Error::BadRequest(
                "Changing access urls for shared ssl domains is not supported.".to_owned(),
            ));
        }
        if !change.operator_url.starts_with(domain) {
            return Err(Error::BadRequest(
                "Invalid access_url/domain_name.".to_owned(),
            ));
        }
        if current.operator_url.as_deref() == Some(change.operator_url.as_str()) {
            return Ok(AccessUrlChange::Unchanged);
        }
        if current.provider_url.as_deref() != Some(change.provider_url.as_str()) {
            return Err(Error::BadRequest(
                "Please use the migrate domain functionality to migrate the domain to a new cert."
                    .to_owned(),
            ));
        }
        let mut moved = current.clone();
        moved.operator_url = Some(change.operator_url.clone());
        let dns = &self.backends.dns;
        dns.set_enabled(std::slice::from_ref(&moved), true).await?;
        if current.operator_url.is_some() {
            dns.delete(std::slice::from_ref(&current)).await?;
        }
        if let Some(url) = service
            .provider_details
            .get_mut(&provider)
            .and_then(|d| d.access_urls.get_mut(index))
        {
            *url = moved;
        }
        service.updated_at = now_ms();
        stored(self.backends.store.update(&service, None).await, &id)?;
        Ok(AccessUrlChange::Changed)
    }

    async fn certificates_by_status(&self, status: Option<&str>) -> Result<Vec<String>> {
        self.certificates_by_status_impl(status).await
    }

    async fn patch_certificate_status(&self, domain: &str, body: Value) -> Result<()> {
        self.patch_certificate_status_impl(domain, body).await
    }

    async fn migrate_domain(&self, provider: &str, body: Value) -> Result<()> {
        let migration = validate::certificate::domain_migration(&body)?;
        let domain = migration.domain_name.as_str();
        let not_found = || Error::NotFound(format!("Domain {domain} could not be found"));
        let service_missing = || {
            Error::NotFound(format!(
                "Service {} could not be found",
                migration.service_id
            ))
        };
        let id: ServiceId = migration
            .service_id
            .parse()
            .map_err(|_| service_missing())?;
        if self.backends.providers.get(provider).is_none() {
            return Err(Error::NotFound(format!(
                "Provider {provider} is not configured"
            )));
        }
        let Some(mut service) = self.load(&migration.project_id, &id).await? else {
            return Err(service_missing());
        };
        if !service.domain_names().any(|d| d == domain) {
            return Err(not_found());
        }
        let new_cert = match self
            .backends
            .providers
            .get(provider)
            .and_then(|p| p.certificates())
        {
            Some(certificates) => certificates.edge_host_name(&migration.new_cert),
            None => migration.new_cert.clone(),
        };
        let Some(detail) = service.provider_details.get(provider).cloned() else {
            return Err(not_found());
        };
        let mut detail = detail;
        detail
            .domains_certificate_status
            .insert(domain.to_owned(), migration.cert_status);
        let existing = detail
            .access_urls
            .iter()
            .position(|u| u.domain == domain && u.operator_url.is_some());
        match existing {
            Some(i) => {
                let mut url = detail.access_urls[i].clone();
                url.provider_url = Some(new_cert.clone());
                self.backends
                    .dns
                    .set_enabled(std::slice::from_ref(&url), true)
                    .await?;
                detail.access_urls[i] = url;
            }
            None => {
                let urls = self.create_cname(&service, domain, &new_cert).await?;
                detail.access_urls.retain(|u| u.domain != domain);
                detail.access_urls.extend(urls);
            }
        }
        self.migrate_cert_record(provider, &service, domain, &migration)
            .await?;
        service.provider_details.insert(provider.to_owned(), detail);
        service.updated_at = now_ms();
        stored(self.backends.store.update(&service, None).await, &id)
    }

    async fn background_job(&self, provider: &str, body: Value) -> Result<BackgroundJobReport> {
        self.background_job_impl(provider, body).await
    }

    async fn san_mapping(&self, provider: &str) -> Result<Vec<Value>> {
        self.san_mapping_impl(provider).await
    }

    async fn replace_san_mapping(&self, provider: &str, body: Value) -> Result<QueueUpdate> {
        self.replace_san_mapping_impl(provider, body).await
    }

    async fn retry_list(&self, provider: &str) -> Result<Vec<Value>> {
        self.retry_list_impl(provider).await
    }

    async fn replace_retry_list(&self, provider: &str, body: Value) -> Result<QueueUpdate> {
        self.replace_retry_list_impl(provider, body).await
    }

    async fn rerun_retry_list(&self, provider: &str) -> Result<RetryRun> {
        self.rerun_retry_list_impl(provider).await
    }

    async fn certificate_config(
        &self,
        provider: &str,
        kind: CertConfigKind,
        name: &str,
    ) -> Result<Value> {
        self.certificate_config_impl(provider, kind, name).await
    }

    async fn update_certificate_config(
        &self,
        provider: &str,
        kind: CertConfigKind,
        name: &str,
        body: Value,
    ) -> Result<ConfigUpdate> {
        self.update_certificate_config_impl(provider, kind, name, body)
            .await
    }
}

impl Manager {
    /// Makes the operator CNAME of a domain that had none, pointing at
    /// `target`.
    async fn create_cname(
        &self,
        service: &Service,
        domain: &str,
        target: &str,
    ) -> Result<Vec<AccessUrl>> {
        let certificate = service
            .spec
            .domains
            .iter()
            .find(|d| d.domain == domain)
            .and_then(|d| d.certificate)
            .or(Some(CertificateType::San));
        let link = ProviderLink {
            domain: domain.to_owned(),
            href: target.to_owned(),
            certificate,
        };
        Ok(self.backends.dns.create(service, &[link]).await?)
    }

    /// The certificate record of a migrated domain takes the new status
    /// (when the deployment keeps certificates and the record is the
    /// service's project's).
    async fn migrate_cert_record(
        &self,
        provider: &str,
        service: &Service,
        domain: &str,
        migration: &validate::certificate::DomainMigration,
    ) -> Result<()> {
        let Some(store) = self.backends.certificates.clone() else {
            return Ok(());
        };
        let Some(mut cert) = store.get(domain).await? else {
            return Ok(());
        };
        if cert.project_id != service.project_id {
            return Ok(());
        }
        let details = cert.cert_details.entry(provider.to_owned()).or_default();
        details.extra_info.status = migration.cert_status;
        details.extra_info.san_cert = Some(migration.new_cert.clone());
        cert.settle_status();
        cert.updated_at = now_ms();
        match store.update(&cert).await {
            Ok(()) | Err(PortError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
