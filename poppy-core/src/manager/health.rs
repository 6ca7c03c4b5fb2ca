//! Ping and health (§2.4, §2.5).

use super::Manager;
use crate::ports::{ComponentHealth, HealthReport};

impl Manager {
    pub(super) async fn health_report(&self) -> HealthReport {
        let b = &self.backends;
        let mut providers = Vec::new();
        for (name, provider) in b.providers.iter() {
            providers.push(ComponentHealth {
                name: name.clone(),
                online: provider.is_alive().await,
            });
        }
        HealthReport {
            storage: ComponentHealth {
                name: b.store.name().to_owned(),
                online: b.store.is_alive().await,
            },
            distributed_task: ComponentHealth {
                name: b.jobs.name().to_owned(),
                online: b.jobs.is_alive().await,
            },
            dns: ComponentHealth {
                name: b.dns.name().to_owned(),
                online: b.dns.is_alive().await,
            },
            providers,
        }
    }
}
