//! The Property Manager API (PAPI v1) calls the driver makes, typed.
//!
//! Every property call carries `contractId` and `groupId`; ids are the
//! prefixed ones (`prp_…`, `ctr_…`), asked for with `PAPI-Use-Prefixes`.

use poppy_core::ports::PortError;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::client::{Api, Body};
use super::config::Settings;
use super::error;

const JSON: &str = "application/json";

#[derive(Debug, Deserialize)]
struct Items<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

/// A property as `GET /papi/v1/properties/{id}` shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Property {
    pub latest_version: u32,
    #[serde(default)]
    pub staging_version: Option<u32>,
    #[serde(default)]
    pub production_version: Option<u32>,
}

impl Property {
    /// The version active on `network`, if any.
    pub fn active_version(&self, network: &str) -> Option<u32> {
        if network == "PRODUCTION" {
            self.production_version
        } else {
            self.staging_version
        }
    }
}

#[derive(Debug, Deserialize)]
struct PropertiesResponse {
    properties: Items<Property>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Version {
    pub staging_status: String,
    pub production_status: String,
    #[serde(default)]
    pub etag: Option<String>,
}

impl Version {
    /// A version can be edited only while it was never activated anywhere.
    pub fn is_editable(&self) -> bool {
        self.staging_status == "INACTIVE" && self.production_status == "INACTIVE"
    }
}

#[derive(Debug, Deserialize)]
struct VersionsResponse {
    versions: Items<Version>,
}

/// One activation or deactivation of a property version.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Activation {
    pub property_version: u32,
    pub network: String,
    pub activation_type: String,
    pub status: String,
    #[serde(default)]
    pub submit_date: Option<String>,
}

impl Activation {
    /// Still rolling out (or being cancelled).
    pub fn is_pending(&self) -> bool {
        matches!(
            self.status.as_str(),
            "NEW"
                | "PENDING"
                | "ZONE_1"
                | "ZONE_2"
                | "ZONE_3"
                | "PENDING_DEACTIVATION"
                | "PENDING_CANCELLATION"
        )
    }
}

/// The most recent activation on `network`: latest `submitDate`, and on a
/// tie the one PAPI lists first (it lists newest first).
pub(super) fn newest_on<'a>(
    activations: &'a [Activation],
    network: &str,
) -> Option<&'a Activation> {
    let mut best: Option<&Activation> = None;
    for a in activations.iter().filter(|a| a.network == network) {
        match best {
            Some(b) if a.submit_date <= b.submit_date => {}
            _ => best = Some(a),
        }
    }
    best
}

#[derive(Debug, Deserialize)]
struct ActivationsResponse {
    activations: Items<Activation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EdgeHostname {
    edge_hostname_domain: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EdgeHostnamesResponse {
    edge_hostnames: Items<EdgeHostname>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchHit {
    property_id: String,
    property_name: String,
    #[serde(default)]
    contract_id: Option<String>,
    #[serde(default)]
    group_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SearchResponse {
    versions: Items<SearchHit>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedProperty {
    property_id: String,
    property_name: String,
}

#[derive(Debug, Deserialize)]
struct ListedProperties {
    properties: Items<ListedProperty>,
}

/// `ctr_1-AB` and `1-AB` name the same contract.
fn same_id(a: &str, b: &str) -> bool {
    let bare = |s: &str| s.split_once('_').map_or(s, |(_, rest)| rest).to_owned();
    bare(a) == bare(b)
}

/// The id in a PAPI link: `…/{segment}/{id}?…` → `id`.
fn id_in_link(link: &str, segment: &str) -> Option<String> {
    let path = link.split('?').next()?;
    let rest = path.split_once(&format!("/{segment}/"))?.1;
    let id = rest.split('/').next()?;
    (!id.is_empty()).then(|| id.to_owned())
}

pub(super) struct Papi<'a> {
    pub api: &'a Api,
    pub settings: &'a Settings,
}

impl Papi<'_> {
    fn scope(&self) -> [(&str, &str); 2] {
        [
            ("contractId", self.settings.contract_id.as_str()),
            ("groupId", self.settings.group_id.as_str()),
        ]
    }

    async fn get(&self, path: &str) -> Result<super::client::Answer, PortError> {
        self.api.call(Method::GET, path, &self.scope(), None).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        json: &Value,
        content_type: &str,
    ) -> Result<super::client::Answer, PortError> {
        self.api
            .call(method, path, query, Some(Body { content_type, json }))
            .await
    }

    /// The property named `name` in the configured contract and group.
    pub async fn find_property(&self, name: &str) -> Result<Option<String>, PortError> {
        let answer = self
            .send(
                Method::POST,
                "/papi/v1/search/find-by-value",
                &[],
                &json!({"propertyName": name}),
                JSON,
            )
            .await?;
        let found: SearchResponse = answer.json()?;
        Ok(found
            .versions
            .items
            .into_iter()
            .find(|hit| {
                hit.property_name == name
                    && hit
                        .contract_id
                        .as_deref()
                        .is_none_or(|c| same_id(c, &self.settings.contract_id))
                    && hit
                        .group_id
                        .as_deref()
                        .is_none_or(|g| same_id(g, &self.settings.group_id))
            })
            .map(|hit| hit.property_id))
    }

    /// The property named `name` among the group's properties (the search
    /// index can lag behind a property just made).
    pub async fn find_in_group(&self, name: &str) -> Result<Option<String>, PortError> {
        let listed: ListedProperties = self.get("/papi/v1/properties").await?.json()?;
        Ok(listed
            .properties
            .items
            .into_iter()
            .find(|p| p.property_name == name)
            .map(|p| p.property_id))
    }

    /// Makes a property named `name`, cloned from the template when one is
    /// configured, and returns its id.
    pub async fn create_property(&self, name: &str) -> Result<String, PortError> {
        let s = self.settings;
        let mut body = json!({
            "productId": s.product_id,
            "propertyName": name,
            "ruleFormat": s.rule_format,
        });
        if let Some((template, version)) = &s.template {
            let version = match version {
                Some(v) => *v,
                None => self.get_property(template).await?.latest_version,
            };
            body["cloneFrom"] =
                json!({"propertyId": template, "version": version, "copyHostnames": false});
        }
        let answer = self
            .send(
                Method::POST,
                "/papi/v1/properties",
                &self.scope(),
                &body,
                JSON,
            )
            .await?;
        let link: Value = answer.json()?;
        link.get("propertyLink")
            .and_then(Value::as_str)
            .and_then(|l| id_in_link(l, "properties"))
            .ok_or_else(|| error::unreadable(&answer.what, "no propertyLink"))
    }

    /// `NotFound` when the property does not exist.
    pub async fn get_property(&self, id: &str) -> Result<Property, PortError> {
        let answer = self.get(&format!("/papi/v1/properties/{id}")).await?;
        if answer.status == 404 {
            return Err(PortError::NotFound(format!("akamai property '{id}'")));
        }
        let found: PropertiesResponse = answer.json()?;
        found
            .properties
            .items
            .into_iter()
            .next()
            .ok_or_else(|| PortError::NotFound(format!("akamai property '{id}'")))
    }

    pub async fn get_version(&self, id: &str, version: u32) -> Result<Version, PortError> {
        let answer = self
            .get(&format!("/papi/v1/properties/{id}/versions/{version}"))
            .await?;
        let found: VersionsResponse = answer.json()?;
        found
            .versions
            .items
            .into_iter()
            .next()
            .ok_or_else(|| error::unreadable(&answer.what, "no version in the answer"))
    }

    /// A new version copied from `from`; returns its number.
    pub async fn create_version(
        &self,
        id: &str,
        from: u32,
        etag: Option<&str>,
    ) -> Result<u32, PortError> {
        let mut body = json!({"createFromVersion": from});
        if let Some(etag) = etag {
            body["createFromVersionEtag"] = json!(etag);
        }
        let answer = self
            .send(
                Method::POST,
                &format!("/papi/v1/properties/{id}/versions"),
                &self.scope(),
                &body,
                JSON,
            )
            .await?;
        let link: Value = answer.json()?;
        link.get("versionLink")
            .and_then(Value::as_str)
            .and_then(|l| id_in_link(l, "versions"))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| error::unreadable(&answer.what, "no versionLink"))
    }

    /// The version's rule tree, `{"rules": …}` with PAPI's other fields.
    pub async fn get_rules(&self, id: &str, version: u32) -> Result<Value, PortError> {
        self.get(&format!(
            "/papi/v1/properties/{id}/versions/{version}/rules"
        ))
        .await?
        .json()
    }

    pub async fn put_rules(&self, id: &str, version: u32, tree: &Value) -> Result<(), PortError> {
        let content_type = format!(
            "application/vnd.akamai.papirules.{}+json",
            self.settings.rule_format
        );
        let [contract, group] = self.scope();
        let answer = self
            .send(
                Method::PUT,
                &format!("/papi/v1/properties/{id}/versions/{version}/rules"),
                &[contract, group, ("validateRules", "true")],
                tree,
                &content_type,
            )
            .await?;
        let result: Value = answer.json()?;
        refuse_errors(&answer.what, &result)
    }

    pub async fn put_hostnames(
        &self,
        id: &str,
        version: u32,
        hostnames: &Value,
    ) -> Result<(), PortError> {
        let answer = self
            .send(
                Method::PUT,
                &format!("/papi/v1/properties/{id}/versions/{version}/hostnames"),
                &self.scope(),
                hostnames,
                JSON,
            )
            .await?;
        let result: Value = answer.json()?;
        refuse_errors(&answer.what, &result)
    }

    /// The host names of a version (`hostnames.items`: `cnameFrom`,
    /// `cnameTo`, `cnameType`, …), as PAPI lists them.
    pub async fn get_hostnames(&self, id: &str, version: u32) -> Result<Vec<Value>, PortError> {
        let answer = self
            .get(&format!(
                "/papi/v1/properties/{id}/versions/{version}/hostnames"
            ))
            .await?;
        if answer.status == 404 {
            return Err(PortError::NotFound(format!(
                "akamai property '{id}' version {version}"
            )));
        }
        let found: Value = answer.json()?;
        match found.pointer("/hostnames/items") {
            Some(Value::Array(items)) => Ok(items.clone()),
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(_) => Err(error::unreadable(
                &answer.what,
                "hostnames.items is not a list",
            )),
        }
    }

    /// Domains of the edge hostnames in the contract and group, lower-case.
    pub async fn edge_hostnames(&self) -> Result<Vec<String>, PortError> {
        let found: EdgeHostnamesResponse = self.get("/papi/v1/edgehostnames").await?.json()?;
        Ok(found
            .edge_hostnames
            .items
            .into_iter()
            .map(|e| e.edge_hostname_domain.to_ascii_lowercase())
            .collect())
    }

    /// Makes a non-secure edge hostname `<prefix>.<suffix>`.
    pub async fn create_edge_hostname(&self, prefix: &str, suffix: &str) -> Result<(), PortError> {
        let body = json!({
            "productId": self.settings.product_id,
            "domainPrefix": prefix,
            "domainSuffix": suffix,
            "secure": false,
            "ipVersionBehavior": "IPV4",
        });
        let answer = self
            .send(
                Method::POST,
                "/papi/v1/edgehostnames",
                &self.scope(),
                &body,
                JSON,
            )
            .await?;
        answer.json::<Value>().map(|_| ())
    }

    pub async fn activations(&self, id: &str) -> Result<Vec<Activation>, PortError> {
        let answer = self
            .get(&format!("/papi/v1/properties/{id}/activations"))
            .await?;
        if answer.status == 404 {
            return Err(PortError::NotFound(format!("akamai property '{id}'")));
        }
        let found: ActivationsResponse = answer.json()?;
        Ok(found.activations.items)
    }

    /// Asks for an activation (`ACTIVATE` / `DEACTIVATE`) of `version` on the
    /// configured network.
    pub async fn activate(
        &self,
        id: &str,
        version: u32,
        kind: &str,
        note: &str,
    ) -> Result<(), PortError> {
        let body = json!({
            "propertyVersion": version,
            "network": self.settings.network.papi(),
            "activationType": kind,
            "note": note,
            "notifyEmails": self.settings.activation_emails,
            "acknowledgeAllWarnings": true,
            "useFastFallback": false,
        });
        let answer = self
            .send(
                Method::POST,
                &format!("/papi/v1/properties/{id}/activations"),
                &self.scope(),
                &body,
                JSON,
            )
            .await?;
        answer.json::<Value>().map(|_| ())
    }

    /// Deletes the property; one already gone is fine.
    pub async fn delete_property(&self, id: &str) -> Result<(), PortError> {
        let answer = self
            .api
            .call(
                Method::DELETE,
                &format!("/papi/v1/properties/{id}"),
                &self.scope(),
                None,
            )
            .await?;
        if answer.status == 404 || answer.is_success() {
            Ok(())
        } else {
            Err(answer.error())
        }
    }

    /// A cheap authenticated call: the groups the credentials see.
    pub async fn groups(&self) -> Result<(), PortError> {
        let answer = self
            .api
            .call(Method::GET, "/papi/v1/groups", &[], None)
            .await?;
        answer.json::<Value>().map(|_| ())
    }
}

/// PAPI answers a rule tree or hostname update with 200 and lists what is
/// wrong in `errors`; such a version cannot be activated.
fn refuse_errors(what: &str, result: &Value) -> Result<(), PortError> {
    match result.get("errors").and_then(Value::as_array) {
        Some(errors) if !errors.is_empty() => {
            let problem: error::Problem =
                serde_json::from_value(json!({"errors": errors})).unwrap_or_default();
            Err(PortError::Invalid(format!(
                "akamai refused {what}: {}",
                problem
                    .message()
                    .unwrap_or_else(|| "validation errors".to_owned())
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activation(version: u32, network: &str, date: Option<&str>, status: &str) -> Activation {
        Activation {
            property_version: version,
            network: network.to_owned(),
            activation_type: "ACTIVATE".to_owned(),
            status: status.to_owned(),
            submit_date: date.map(str::to_owned),
        }
    }

    #[test]
    fn links_give_their_ids() {
        assert_eq!(
            id_in_link(
                "/papi/v1/properties/prp_173136?contractId=ctr_1&groupId=grp_2",
                "properties"
            )
            .as_deref(),
            Some("prp_173136")
        );
        assert_eq!(
            id_in_link(
                "/papi/v1/properties/prp_1/versions/2?contractId=ctr_1",
                "versions"
            )
            .as_deref(),
            Some("2")
        );
        assert_eq!(id_in_link("/papi/v1/other", "properties"), None);
    }

    #[test]
    fn the_newest_activation_of_a_network_wins() {
        let list = [
            activation(3, "STAGING", Some("2024-01-03T00:00:00Z"), "PENDING"),
            activation(4, "PRODUCTION", Some("2024-01-04T00:00:00Z"), "ACTIVE"),
            activation(2, "STAGING", Some("2024-01-02T00:00:00Z"), "ACTIVE"),
        ];
        let newest = newest_on(&list, "STAGING").expect("one");
        assert_eq!(newest.property_version, 3);
        assert!(newest.is_pending());
        assert!(newest_on(&list[..0], "STAGING").is_none());
    }

    #[test]
    fn prefixed_and_bare_ids_compare_equal() {
        assert!(same_id("ctr_C-1", "C-1"));
        assert!(same_id("grp_2", "grp_2"));
        assert!(!same_id("grp_2", "grp_3"));
    }

    #[test]
    fn rule_errors_are_refusals() {
        let ok = json!({"rules": {}, "errors": []});
        assert!(refuse_errors("PUT /r", &ok).is_ok());
        let bad =
            json!({"errors": [{"detail": "origin hostname missing", "errorLocation": "#/rules"}]});
        match refuse_errors("PUT /r", &bad) {
            Err(PortError::Invalid(m)) => {
                assert!(m.contains("origin hostname missing (at #/rules)"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }
}
