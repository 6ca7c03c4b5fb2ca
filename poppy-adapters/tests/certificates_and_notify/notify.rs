//! The log and webhook notifiers.

use poppy_adapters::notify::log::LogNotifier;
use poppy_core::model::{ProjectId, ServiceId};
use poppy_core::ports::{Notification, NotificationKind, Notifier};

fn notification(kind: NotificationKind) -> Notification {
    Notification {
        kind,
        project_id: ProjectId::new("p1"),
        service_id: ServiceId::new_random(),
        flow: "create_service".into(),
        message: "service deployed".into(),
    }
}

#[tokio::test]
async fn the_log_notifier_never_fails() {
    for kind in [
        NotificationKind::Deployed,
        NotificationKind::Failed,
        NotificationKind::Deleted,
    ] {
        LogNotifier::new()
            .notify(&notification(kind))
            .await
            .expect("logged");
    }
}

#[cfg(feature = "notify-webhook")]
mod webhook {
    use poppy_adapters::notify::webhook::{
        verify, WebhookConfig, WebhookNotifier, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
    };
    use poppy_core::ports::{NotificationKind, Notifier, PortError};
    use serde_json::Value;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::notification;

    const SECRET: &str = "hook-secret";

    fn notifier(url: String, attempts: u32) -> WebhookNotifier {
        WebhookNotifier::build(WebhookConfig {
            url,
            secret: Some(SECRET.into()),
            max_attempts: attempts,
            backoff_base_ms: 1,
            backoff_max_ms: 5,
            timeout_ms: 2_000,
            ..WebhookConfig::default()
        })
        .expect("valid config")
    }

    fn header<'a>(request: &'a wiremock::Request, name: &str) -> &'a str {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    #[tokio::test]
    async fn deliveries_are_signed_and_retried_until_accepted() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hook"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/hook"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&server)
            .await;
        let n = notification(NotificationKind::Failed);
        notifier(format!("{}/hook", server.uri()), 5)
            .notify(&n)
            .await
            .expect("delivered on the third attempt");

        let requests = server.received_requests().await.expect("recorded");
        assert_eq!(requests.len(), 3);
        let delivery = header(&requests[0], DELIVERY_HEADER).to_owned();
        for request in &requests {
            assert_eq!(
                header(request, DELIVERY_HEADER),
                delivery,
                "one delivery id"
            );
            assert_eq!(header(request, EVENT_HEADER), "failed");
            let ts: u64 = header(request, TIMESTAMP_HEADER).parse().expect("seconds");
            let signature = header(request, SIGNATURE_HEADER);
            assert!(
                verify(SECRET, ts, &request.body, signature),
                "bad signature"
            );
            assert!(!verify("other", ts, &request.body, signature));
        }
        let body: Value = serde_json::from_slice(&requests[0].body).expect("JSON");
        assert_eq!(body["delivery_id"], Value::String(delivery));
        assert_eq!(body["kind"], "failed");
        assert_eq!(body["project_id"], "p1");
        assert_eq!(body["service_id"], n.service_id.to_string());
        assert_eq!(body["flow"], "create_service");
        assert_eq!(body["message"], "service deployed");
    }

    #[tokio::test]
    async fn a_refusal_is_final_and_an_outage_gives_up_after_the_attempts() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/refuse"))
            .respond_with(ResponseTemplate::new(400))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/down"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&server)
            .await;
        let n = notification(NotificationKind::Deployed);
        let err = notifier(format!("{}/refuse", server.uri()), 4)
            .notify(&n)
            .await
            .unwrap_err();
        assert!(matches!(err, PortError::Invalid(_)), "{err:?}");
        let err = notifier(format!("{}/down", server.uri()), 3)
            .notify(&n)
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
        assert!(err.to_string().contains("3 attempts"), "{err}");
        let requests = server.received_requests().await.expect("recorded");
        let count = |p: &str| requests.iter().filter(|r| r.url.path() == p).count();
        assert_eq!((count("/refuse"), count("/down")), (1, 3));
    }

    #[tokio::test]
    async fn an_unreachable_receiver_is_unavailable() {
        // A port nothing listens on: bind, note it, close.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        drop(listener);
        let err = notifier(url, 2)
            .notify(&notification(NotificationKind::Deleted))
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
    }
}
