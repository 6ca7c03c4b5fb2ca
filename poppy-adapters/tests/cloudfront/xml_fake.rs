//! What moto does not emulate, against a wiremock fake of one CloudFront
//! distribution that is strict where AWS is: `If-Match` must be the current
//! ETag (`PreconditionFailed`, 412), only a disabled and deployed
//! distribution can be deleted (`DistributionNotDisabled`, 409), rollouts
//! stay `InProgress` for as many reads as a test says, and errors are
//! CloudFront's XML bodies (`CNAMEAlreadyExists`, `Throttling`…).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use poppy_adapters::provider::cloudfront::CloudFrontProvider;
use poppy_core::flows::Progress;
use poppy_core::model::{Domain, JobKind, ProviderStatus, PurgeTarget, Service, ServiceStatus};
use poppy_core::ports::{CdnProvider, PortError};
use poppy_core::ports::{JobBoard, ServiceStore};
use poppy_core::testkit::conformance::provider::{self as suite, Fault, FaultHooks};
use poppy_core::testkit::fixtures;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::faults::faults_support::Rig;
use crate::support::{driver, rich_service};

const NS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";
const ID: &str = "EDFDVBD6EXAMPLE";
const DOMAIN_NAME: &str = "d111111abcdef8.cloudfront.net";
const API: &str = "/2020-05-31/distribution";

/// CloudFront's error body.
fn aws_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    let body = format!(
        r#"<?xml version="1.0"?><ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>4b1c0a4e-fake</RequestId></ErrorResponse>"#
    );
    ResponseTemplate::new(status).set_body_raw(body, "text/xml")
}

/// The children of the root element of `xml` named `name` (depth 1 only:
/// `Enabled` also appears inside `Logging`, `TrustedSigners`…).
fn top_level(xml: &str, name: &str) -> Option<String> {
    let mut depth = 0i32;
    let mut i = 0;
    while let Some(start) = xml[i..].find('<').map(|p| p + i) {
        let end = xml[start..].find('>')? + start;
        let tag = &xml[start + 1..end];
        i = end + 1;
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if tag.starts_with('/') {
            depth -= 1;
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag_name = tag
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches('/');
        if depth == 1 && tag_name == name {
            if self_closing {
                return Some(String::new());
            }
            let close = format!("</{name}>");
            let stop = xml[i..].find(&close)? + i;
            return Some(xml[i..stop].to_owned());
        }
        if !self_closing {
            depth += 1;
        }
    }
    None
}

/// `xml` without its root element's tags.
fn inner(xml: &str) -> String {
    let body = xml.trim_start_matches(|c| c != '<');
    let body = if body.starts_with("<?") {
        body.find("?>")
            .map_or(body, |p| &body[p + 2..])
            .trim_start()
    } else {
        body
    };
    let open_end = body.find('>').map_or(0, |p| p + 1);
    let close_start = body.rfind("</").unwrap_or(body.len());
    body[open_end..close_start].to_owned()
}

/// A distribution config in CloudFront's XML (trimmed from moto's answer).
fn seed_config(caller: &str, comment: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><DistributionConfig xmlns="{NS}"><CallerReference>{caller}</CallerReference><Aliases><Quantity>0</Quantity></Aliases><Origins><Quantity>1</Quantity><Items><Origin><Id>poppy-origin-0</Id><DomainName>origin.example.org</DomainName><OriginPath></OriginPath><CustomHeaders><Quantity>0</Quantity></CustomHeaders><CustomOriginConfig><HTTPPort>80</HTTPPort><HTTPSPort>443</HTTPSPort><OriginProtocolPolicy>http-only</OriginProtocolPolicy></CustomOriginConfig></Origin></Items></Origins><DefaultCacheBehavior><TargetOriginId>poppy-origin-0</TargetOriginId><ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy><ForwardedValues><QueryString>true</QueryString><Cookies><Forward>none</Forward></Cookies></ForwardedValues><MinTTL>0</MinTTL><DefaultTTL>60</DefaultTTL><MaxTTL>60</MaxTTL></DefaultCacheBehavior><CacheBehaviors><Quantity>0</Quantity></CacheBehaviors><Comment>{comment}</Comment><Logging><Enabled>false</Enabled><IncludeCookies>false</IncludeCookies><Bucket></Bucket><Prefix></Prefix></Logging><PriceClass>PriceClass_All</PriceClass><Enabled>true</Enabled><Restrictions><GeoRestriction><RestrictionType>none</RestrictionType><Quantity>0</Quantity></GeoRestriction></Restrictions></DistributionConfig>"#
    )
}

#[derive(Default)]
struct State {
    /// The distribution's config as CloudFront would store it (XML).
    config: Option<String>,
    etag: u32,
    deleted: bool,
    /// Statuses the next `GetDistribution`s report (then `Deployed`).
    statuses: VecDeque<&'static str>,
    /// Another writer updates the distribution before each of the next
    /// `n` updates or deletes arrive.
    concurrent_writes: u32,
    /// The next `n` deletes answer `DistributionNotDisabled` anyway.
    not_disabled: u32,
    /// `CreateDistribution` answers this error.
    create_error: Option<(u16, &'static str, String)>,
    /// Every request answers this (the suite's faults).
    fault: Option<ResponseTemplate>,
}

struct CloudFront {
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    fn etag(&self) -> String {
        format!("E{}EXAMPLE", self.etag)
    }

    fn distribution_xml(&self, status: &str) -> String {
        let config = self.config.as_deref().map(inner).unwrap_or_default();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Distribution xmlns="{NS}"><Id>{ID}</Id><ARN>arn:aws:cloudfront::123456789012:distribution/{ID}</ARN><Status>{status}</Status><LastModifiedTime>2021-11-27T10:34:26.802Z</LastModifiedTime><InProgressInvalidationBatches>0</InProgressInvalidationBatches><DomainName>{DOMAIN_NAME}</DomainName><DistributionConfig>{config}</DistributionConfig></Distribution>"#
        )
    }

    fn with_etag(&self, template: ResponseTemplate) -> ResponseTemplate {
        template.insert_header("ETag", self.etag().as_str())
    }

    fn enabled(&self) -> bool {
        self.config
            .as_deref()
            .and_then(|c| top_level(c, "Enabled"))
            .is_some_and(|v| v.trim() == "true")
    }

    /// Checks `If-Match`, after another writer's change if one is due.
    fn precondition(&mut self, request: &Request) -> Option<ResponseTemplate> {
        if self.concurrent_writes > 0 {
            self.concurrent_writes -= 1;
            self.etag += 1;
        }
        let if_match = request
            .headers
            .get("if-match")
            .and_then(|v| v.to_str().ok());
        if if_match != Some(self.etag().as_str()) {
            return Some(aws_error(
                412,
                "PreconditionFailed",
                "The precondition given in one or more of the request-header fields evaluated to false.",
            ));
        }
        None
    }
}

impl Respond for CloudFront {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut s = lock(&self.state);
        if let Some(fault) = &s.fault {
            return fault.clone();
        }
        let path = request.url.path().to_owned();
        let method = request.method.as_str();
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let exists = s.config.is_some() && !s.deleted;
        let missing = || {
            aws_error(
                404,
                "NoSuchDistribution",
                "The specified distribution does not exist.",
            )
        };
        match (method, path.strip_prefix(API)) {
            ("POST", Some("")) => {
                if let Some((status, code, message)) = s.create_error.clone() {
                    return aws_error(status, code, &message);
                }
                s.config = Some(body);
                s.deleted = false;
                s.etag += 1;
                let xml = s.distribution_xml("InProgress");
                s.with_etag(ResponseTemplate::new(201).set_body_raw(xml, "text/xml"))
                    .insert_header(
                        "Location",
                        format!("https://cloudfront.amazonaws.com{API}/{ID}").as_str(),
                    )
            }
            ("GET", Some("")) => {
                let items = if exists {
                    let config = s.config.clone().unwrap_or_default();
                    let comment = top_level(&config, "Comment").unwrap_or_default();
                    let enabled = top_level(&config, "Enabled").unwrap_or_default();
                    format!(
                        "<DistributionSummary><Id>{ID}</Id><ARN>arn:aws:cloudfront::123456789012:distribution/{ID}</ARN><Status>Deployed</Status><LastModifiedTime>2021-11-27T10:34:26.802Z</LastModifiedTime><DomainName>{DOMAIN_NAME}</DomainName><Comment>{comment}</Comment><Enabled>{enabled}</Enabled></DistributionSummary>"
                    )
                } else {
                    String::new()
                };
                let quantity = u8::from(exists);
                let xml = format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><DistributionList xmlns="{NS}"><Marker></Marker><MaxItems>100</MaxItems><IsTruncated>false</IsTruncated><Quantity>{quantity}</Quantity><Items>{items}</Items></DistributionList>"#
                );
                ResponseTemplate::new(200).set_body_raw(xml, "text/xml")
            }
            (_, Some(rest)) if !exists && rest.starts_with(&format!("/{ID}")) => missing(),
            ("GET", Some(rest)) if rest == format!("/{ID}/config") => {
                let config = s.config.clone().unwrap_or_default();
                s.with_etag(ResponseTemplate::new(200).set_body_raw(config, "text/xml"))
            }
            ("PUT", Some(rest)) if rest == format!("/{ID}/config") => {
                if let Some(e) = s.precondition(request) {
                    return e;
                }
                s.config = Some(body);
                s.etag += 1;
                let xml = s.distribution_xml("InProgress");
                s.with_etag(ResponseTemplate::new(200).set_body_raw(xml, "text/xml"))
            }
            ("GET", Some(rest)) if rest == format!("/{ID}") => {
                let status = s.statuses.pop_front().unwrap_or("Deployed");
                let xml = s.distribution_xml(status);
                s.with_etag(ResponseTemplate::new(200).set_body_raw(xml, "text/xml"))
            }
            ("DELETE", Some(rest)) if rest == format!("/{ID}") => {
                if let Some(e) = s.precondition(request) {
                    return e;
                }
                if s.enabled() || !s.statuses.is_empty() || s.not_disabled > 0 {
                    s.not_disabled = s.not_disabled.saturating_sub(1);
                    return aws_error(
                        409,
                        "DistributionNotDisabled",
                        "The distribution you are trying to delete has not been disabled.",
                    );
                }
                s.deleted = true;
                ResponseTemplate::new(204)
            }
            ("POST", Some(rest)) if rest == format!("/{ID}/invalidation") => {
                let xml = format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><Invalidation xmlns="{NS}"><Id>I2J0I21PCUYOIK</Id><Status>InProgress</Status><CreateTime>2021-11-27T10:34:26.802Z</CreateTime><InvalidationBatch>{}</InvalidationBatch></Invalidation>"#,
                    inner(&body)
                );
                ResponseTemplate::new(201).set_body_raw(xml, "text/xml")
            }
            _ => missing(),
        }
    }
}

/// The fake on a loopback port.
struct FakeCloudFront {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl FakeCloudFront {
    async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        Mock::given(any())
            .respond_with(CloudFront {
                state: state.clone(),
            })
            .mount(&server)
            .await;
        Self { server, state }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn driver(&self, disable_poll_secs: u64) -> CloudFrontProvider {
        let mut config = driver(&self.server.uri(), disable_poll_secs)
            .config()
            .clone();
        // `Fault::Slow` answers slower than this.
        config.timeout_secs = 1;
        CloudFrontProvider::build(config).expect("a valid config")
    }

    /// `(method, path, If-Match)` of every request so far.
    async fn requests(&self) -> Vec<(String, String, Option<String>)> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| {
                (
                    r.method.to_string(),
                    r.url.path().to_owned(),
                    r.headers
                        .get("if-match")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                )
            })
            .collect()
    }

    /// Creates the distribution of `service` through `driver`.
    async fn seeded(&self, driver: &CloudFrontProvider, service: &Service) -> String {
        let created = driver.create(service).await.expect("create");
        assert_eq!(created.provider_service_id, ID);
        created.provider_service_id
    }
}

#[async_trait]
impl FaultHooks for FakeCloudFront {
    async fn inject(&self, fault: &Fault) -> bool {
        let retry = |t: ResponseTemplate, after: &Option<Duration>| match after {
            Some(d) => t.insert_header("Retry-After", d.as_secs().to_string().as_str()),
            None => t,
        };
        let response = match fault {
            Fault::Throttled { retry_after } => {
                retry(aws_error(400, "Throttling", "Rate exceeded"), retry_after)
            }
            Fault::ServerError { retry_after } => retry(
                aws_error(503, "ServiceUnavailable", "CloudFront is unavailable"),
                retry_after,
            ),
            Fault::Rejected { message } => aws_error(400, "InvalidArgument", message),
            Fault::Slow => ResponseTemplate::new(200).set_delay(Duration::from_millis(1_600)),
            _ => return false,
        };
        self.state().fault = Some(response);
        true
    }

    async fn clear(&self) {
        self.state().fault = None;
    }
}

#[tokio::test]
async fn error_kinds_follow_the_contract() {
    let fake = FakeCloudFront::start().await;
    suite::error_kinds_are_mapped(&fake.driver(60), &fake).await;
}

#[tokio::test]
async fn a_precondition_failure_is_read_again_and_retried_once_with_the_new_etag() {
    let fake = FakeCloudFront::start().await;
    let driver = fake.driver(60);
    let service = rich_service();
    let id = fake.seeded(&driver, &service).await;
    fake.state().concurrent_writes = 1;
    let before = fake.requests().await.len();

    let mut changed = service.clone();
    changed.spec.domains.push(Domain::http("extra.example.com"));
    let updated = driver
        .update(&id, &changed)
        .await
        .expect("update after one retry");
    assert_eq!(updated.links.len(), 3);
    assert!(updated.links.iter().all(|l| l.href == DOMAIN_NAME));

    let config_path = format!("{API}/{ID}/config");
    let after: Vec<_> = fake.requests().await[before..].to_vec();
    let expected = vec![
        ("GET".to_owned(), config_path.clone(), None),
        (
            "PUT".to_owned(),
            config_path.clone(),
            Some("E1EXAMPLE".to_owned()),
        ),
        ("GET".to_owned(), config_path.clone(), None),
        (
            "PUT".to_owned(),
            config_path.clone(),
            Some("E2EXAMPLE".to_owned()),
        ),
    ];
    assert_eq!(after, expected);
    let stored = fake.state().config.clone().unwrap_or_default();
    assert!(
        stored.contains("extra.example.com"),
        "the update landed: {stored}"
    );
}

#[tokio::test]
async fn two_precondition_failures_ask_the_flow_to_retry() {
    let fake = FakeCloudFront::start().await;
    let driver = fake.driver(60);
    let service = rich_service();
    let id = fake.seeded(&driver, &service).await;
    fake.state().concurrent_writes = 2;
    let error = driver.update(&id, &service).await.expect_err("gave up");
    assert!(matches!(error, PortError::Unavailable { .. }), "{error:?}");
    assert!(error.to_string().contains("PreconditionFailed"), "{error}");
}

#[tokio::test]
async fn delete_disables_waits_through_in_progress_then_deletes() {
    let fake = FakeCloudFront::start().await;
    let driver = fake.driver(7);
    let service = rich_service();
    let id = fake.seeded(&driver, &service).await;
    fake.state().statuses = VecDeque::from(["InProgress", "InProgress", "InProgress"]);

    for round in 1..=3 {
        match driver.delete(&id, &service).await {
            Err(PortError::Unavailable {
                retry_after,
                message,
                ..
            }) => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)), "round {round}");
                assert!(message.contains("still deploying"), "{message}");
            }
            other => panic!("round {round}: expected a wait, got {other:?}"),
        }
    }
    let puts: Vec<_> = fake
        .requests()
        .await
        .into_iter()
        .filter(|(m, _, _)| m == "PUT")
        .collect();
    assert_eq!(puts.len(), 1, "disabled once, not on every round: {puts:?}");
    let stored = fake.state().config.clone().unwrap_or_default();
    assert_eq!(
        top_level(&stored, "Enabled").as_deref(),
        Some("false"),
        "the distribution was disabled"
    );

    driver
        .delete(&id, &service)
        .await
        .expect("deleted once Deployed");
    let last = fake.requests().await.pop().expect("a request");
    assert_eq!(last.0, "DELETE");
    assert_eq!(
        last.2.as_deref(),
        Some("E2EXAMPLE"),
        "deleted with the current ETag"
    );
    driver.delete(&id, &service).await.expect("already gone");
    let error = driver.status(&id).await.expect_err("gone");
    assert!(matches!(error, PortError::NotFound(_)), "{error:?}");
}

#[tokio::test]
async fn distribution_not_disabled_is_retryable() {
    let fake = FakeCloudFront::start().await;
    let driver = fake.driver(5);
    let service = rich_service();
    let id = fake.seeded(&driver, &service).await;
    fake.state().not_disabled = 1;
    let error = driver.delete(&id, &service).await.expect_err("not yet");
    match error {
        PortError::Unavailable {
            retry_after,
            message,
            ..
        } => {
            assert_eq!(retry_after, Some(Duration::from_secs(5)));
            assert!(message.contains("DistributionNotDisabled"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    driver.delete(&id, &service).await.expect("deleted");
}

#[tokio::test]
async fn a_taken_alias_is_invalid_naming_the_domain() {
    let fake = FakeCloudFront::start().await;
    let driver = fake.driver(60);
    let mut service = rich_service();
    service.spec.domains.truncate(1);
    fake.state().create_error = Some((
        409,
        "CNAMEAlreadyExists",
        "One or more of the CNAMEs you provided are already associated with a different resource."
            .to_owned(),
    ));
    match driver.create(&service).await {
        Err(PortError::Invalid(message)) => {
            assert!(message.contains("/domains/0/domain"), "{message}");
            assert!(
                message.contains(&service.spec.domains[0].domain),
                "{message}"
            );
            assert!(message.contains("CNAMEAlreadyExists"), "{message}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn a_retried_create_adopts_the_distribution_with_its_caller_reference() {
    let fake = FakeCloudFront::start().await;
    let driver = fake.driver(60);
    let service = rich_service();
    {
        let mut s = fake.state();
        s.config = Some(seed_config(
            &service.id.to_string(),
            &driver.comment(&service),
        ));
        s.etag = 1;
        s.create_error = Some((
            409,
            "DistributionAlreadyExists",
            "The caller reference that you are using to create a distribution is associated with another distribution.".to_owned(),
        ));
    }
    let deployment = driver.create(&service).await.expect("adopted");
    assert_eq!(deployment.provider_service_id, ID);
    let stored = fake.state().config.clone().unwrap_or_default();
    assert!(
        stored.contains(&service.spec.domains[0].domain),
        "the definition was pushed"
    );
}

#[tokio::test]
async fn a_long_rollout_reports_deploy_in_progress_until_deployed() {
    let fake = FakeCloudFront::start().await;
    let driver = fake.driver(60);
    let service = rich_service();
    let created = driver.create(&service).await.expect("create");
    assert_eq!(created.status, ProviderStatus::DeployInProgress);
    fake.state().statuses = VecDeque::from(["InProgress"; 4]);
    for _ in 0..4 {
        assert_eq!(
            driver.status(ID).await.expect("status"),
            ProviderStatus::DeployInProgress
        );
    }
    assert_eq!(
        driver.status(ID).await.expect("status"),
        ProviderStatus::Deployed
    );
}

#[tokio::test]
async fn purges_are_invalidations_and_credentials_never_show() {
    let fake = FakeCloudFront::start().await;
    let driver = fake.driver(60);
    let service = rich_service();
    let id = fake.seeded(&driver, &service).await;
    driver
        .purge(
            &id,
            &service,
            &PurgeTarget::Url("img/a.png".to_owned()),
            true,
        )
        .await
        .expect("purge");
    let invalidation = fake
        .server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .rfind(|r| r.url.path().ends_with("/invalidation"))
        .expect("an invalidation");
    let body = String::from_utf8_lossy(&invalidation.body).into_owned();
    assert!(body.contains("<Path>/img/a.png</Path>"), "{body}");
    let error = driver
        .purge(&id, &service, &PurgeTarget::Url("/a*/b".to_owned()), true)
        .await
        .expect_err("star in the middle");
    assert!(matches!(error, PortError::Invalid(_)), "{error:?}");

    assert!(
        !format!("{driver:?}").contains("testing-secret-key"),
        "{driver:?}"
    );
    fake.state().fault = Some(aws_error(403, "AccessDenied", "User is not authorized"));
    let error = driver.status(&id).await.expect_err("denied");
    assert!(
        matches!(&error, PortError::Invalid(m) if m.contains("credentials")),
        "{error:?}"
    );
    assert!(!format!("{error:?}").contains("testing-secret-key"));
}

#[tokio::test]
async fn an_update_is_in_progress_until_the_distribution_is_deployed() {
    let fake = FakeCloudFront::start().await;
    let driver = fake.driver(60);
    let service = rich_service();
    let id = fake.seeded(&driver, &service).await;
    let mut changed = service.clone();
    changed.spec.domains.push(Domain::http("more.example.com"));
    let updated = driver.update(&id, &changed).await.expect("update");
    assert_eq!(
        updated.status,
        ProviderStatus::DeployInProgress,
        "CloudFront accepted the change as InProgress; it is not live yet"
    );
    fake.state().statuses = VecDeque::from(["InProgress"; 3]);
    for _ in 0..3 {
        assert_eq!(
            driver.status(&id).await.expect("status"),
            ProviderStatus::DeployInProgress
        );
    }
    assert_eq!(
        driver.status(&id).await.expect("status"),
        ProviderStatus::Deployed
    );
}

/// Reads of `GET /distribution/<id>` (the rollout status) so far.
async fn status_reads(fake: &FakeCloudFront) -> usize {
    let path = format!("{API}/{ID}");
    fake.requests()
        .await
        .iter()
        .filter(|(method, p, _)| method == "GET" && *p == path)
        .count()
}

/// The worker's create and update flows keep a service in progress while
/// CloudFront reads `InProgress`, polling `status` until `Deployed`.
#[tokio::test]
async fn the_flows_poll_a_long_rollout_until_the_distribution_is_deployed() {
    const READS: usize = 6;
    let fake = FakeCloudFront::start().await;
    let rig = Rig::new(Arc::new(fake.driver(60)));
    let service = rich_service();
    fake.state().statuses = VecDeque::from(["InProgress"; READS]);
    rig.submit(std::slice::from_ref(&service)).await;
    let done = rig
        .run(Rig::runner_config(1, 5), Duration::from_secs(30))
        .await;
    assert_eq!(done[0].status, ServiceStatus::Deployed, "{:?}", done[0]);
    assert_eq!(
        done[0].provider_details["cloudfront"].status,
        ProviderStatus::Deployed
    );
    assert!(
        fake.state().statuses.is_empty(),
        "deployed only after every InProgress read"
    );
    assert_eq!(status_reads(&fake).await, READS + 1);
    let create = rig.jobs.completed();
    assert_eq!(create.len(), 1);
    assert_eq!(Progress::load(&create[0].progress).polls, READS as u32);

    // An update: the new definition is pushed, then polled until live.
    let mut current = done[0].clone();
    let previous = current.spec.clone();
    let added = fixtures::unique_domain();
    current.spec.domains.push(Domain::http(added.as_str()));
    current.status = ServiceStatus::UpdateInProgress;
    rig.store
        .update(&current, None)
        .await
        .expect("store the update");
    rig.jobs
        .post(&fixtures::job_of(
            &current,
            JobKind::UpdateService {
                previous: Box::new(previous),
            },
        ))
        .await
        .expect("post the update job");
    fake.state().statuses = VecDeque::from(["InProgress"; READS]);
    let reads_before = status_reads(&fake).await;
    let done = rig
        .run(Rig::runner_config(1, 5), Duration::from_secs(30))
        .await;
    let updated = &done[0];
    assert_eq!(updated.status, ServiceStatus::Deployed, "{updated:?}");
    let detail = &updated.provider_details["cloudfront"];
    assert_eq!(detail.status, ProviderStatus::Deployed);
    assert_eq!(detail.access_urls.len(), 3, "{detail:?}");
    assert!(
        fake.state().statuses.is_empty(),
        "the update waited for every InProgress read"
    );
    assert_eq!(status_reads(&fake).await - reads_before, READS + 1);
    let stored = fake.state().config.clone().unwrap_or_default();
    assert!(stored.contains(&added), "the update landed: {stored}");
    let jobs = rig.jobs.completed();
    let update = jobs
        .iter()
        .find(|j| matches!(j.kind, JobKind::UpdateService { .. }))
        .expect("the update job completed");
    assert_eq!(Progress::load(&update.progress).polls, READS as u32);
}
