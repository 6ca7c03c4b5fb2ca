//! EdgeGrid request signing (`EG1-HMAC-SHA256`), the authentication every
//! Akamai {OPEN} API (PAPI, Fast Purge) requires.
//!
//! The algorithm, as Akamai's client libraries implement it:
//! 1. `signing_key = base64(HMAC-SHA256(key = client_secret, msg = timestamp))`.
//! 2. `auth = "EG1-HMAC-SHA256 client_token=…;access_token=…;timestamp=…;nonce=…;"`.
//! 3. `data = method \t scheme \t host \t path?query \t canonical headers \t
//!    content hash \t auth`, where the content hash is
//!    `base64(SHA-256(body[..max_body]))` for a POST with a body and empty
//!    otherwise, and the canonical headers are `name:value` (name lower-case,
//!    value trimmed with inner whitespace runs collapsed) for each header
//!    named in `headers_to_sign`, joined by tabs.
//! 4. `Authorization: auth + "signature=" + base64(HMAC-SHA256(key =
//!    signing_key, msg = data))`.
//!
//! The unit tests check this against Akamai's published test vectors.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The scheme name that starts every EdgeGrid `Authorization` header.
pub const SCHEME: &str = "EG1-HMAC-SHA256";

/// How much of a POST body is hashed (Akamai's default `max_body`).
pub const DEFAULT_MAX_BODY: usize = 131_072;

/// An API client's credentials. `Debug` shows none of them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    client_token: String,
    client_secret: String,
    access_token: String,
}

impl Credentials {
    pub fn new(
        client_token: impl Into<String>,
        client_secret: impl Into<String>,
        access_token: impl Into<String>,
    ) -> Self {
        Self {
            client_token: client_token.into(),
            client_secret: client_secret.into(),
            access_token: access_token.into(),
        }
    }
}

impl Credentials {
    /// `text` with every credential replaced by `<redacted>`: for messages
    /// built from what a server answered, which might echo one.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in [&self.client_secret, &self.client_token, &self.access_token] {
            if !secret.is_empty() {
                text = text.replace(secret.as_str(), "<redacted>");
            }
        }
        text
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_token", &"<redacted>")
            .field("client_secret", &"<redacted>")
            .field("access_token", &"<redacted>")
            .finish()
    }
}

/// The parts of an HTTP request the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// `GET`, `POST`… (upper-cased before signing).
    pub method: &'a str,
    /// `https` (or `http` against a contract server).
    pub scheme: &'a str,
    /// The `Host` header value: host name, and `:port` when not the default.
    pub host: &'a str,
    /// Path and, if any, `?query`, exactly as sent.
    pub path_and_query: &'a str,
    /// Request headers, for the ones named in the signer's `headers_to_sign`.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// Signs requests with one set of credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Signer {
    credentials: Credentials,
    headers_to_sign: Vec<String>,
    max_body: usize,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("credentials", &self.credentials)
            .field("headers_to_sign", &self.headers_to_sign)
            .field("max_body", &self.max_body)
            .finish()
    }
}

impl Signer {
    /// A signer that signs no headers and hashes up to [`DEFAULT_MAX_BODY`]
    /// bytes of a body, as Akamai's APIs expect by default.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            headers_to_sign: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Also signs these headers (in this order), when the request has them.
    pub fn with_headers_to_sign(mut self, headers: &[&str]) -> Self {
        self.headers_to_sign = headers.iter().map(|h| (*h).to_owned()).collect();
        self
    }

    /// The credentials this signer signs with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Hashes at most `max_body` bytes of a POST body.
    pub fn with_max_body(mut self, max_body: usize) -> Self {
        self.max_body = max_body;
        self
    }

    /// The `Authorization` header for `request`, signed now with a fresh nonce.
    pub fn authorization(&self, request: &RequestParts<'_>) -> String {
        self.authorization_at(request, &timestamp(SystemTime::now()), &new_nonce())
    }

    /// The `Authorization` header for `request` with a given timestamp and
    /// nonce (deterministic: for tests and for verifying a signature).
    pub fn authorization_at(
        &self,
        request: &RequestParts<'_>,
        timestamp: &str,
        nonce: &str,
    ) -> String {
        let auth = self.unsigned_header(timestamp, nonce);
        let data = self.data_to_sign(request, &auth);
        let key = signing_key(&self.credentials.client_secret, timestamp);
        format!(
            "{auth}signature={}",
            STANDARD.encode(hmac(key.as_bytes(), data.as_bytes()))
        )
    }

    /// The header without its signature: what step 2 of the algorithm makes.
    fn unsigned_header(&self, timestamp: &str, nonce: &str) -> String {
        format!(
            "{SCHEME} client_token={};access_token={};timestamp={timestamp};nonce={nonce};",
            self.credentials.client_token, self.credentials.access_token
        )
    }

    /// The string the signature covers, ending with `auth_header` (the
    /// unsigned header; empty in Akamai's `expectedDataToSign` vectors).
    pub fn data_to_sign(&self, request: &RequestParts<'_>, auth_header: &str) -> String {
        [
            request.method.to_ascii_uppercase().as_str(),
            request.scheme,
            request.host,
            request.path_and_query,
            &self.canonical_headers(request.headers),
            &content_hash(request.method, request.body, self.max_body),
            auth_header,
        ]
        .join("\t")
    }

    fn canonical_headers(&self, headers: &[(&str, &str)]) -> String {
        self.headers_to_sign
            .iter()
            .filter_map(|wanted| {
                headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
                    .map(|(_, value)| {
                        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
                        format!("{}:{value}", wanted.to_ascii_lowercase())
                    })
            })
            .collect::<Vec<_>>()
            .join("\t")
    }

    /// Whether `authorization` is a valid signature of `request` by these
    /// credentials (what Akamai's edge checks; a contract server uses it).
    pub fn verify(&self, request: &RequestParts<'_>, authorization: &str) -> bool {
        match parse_authorization(authorization) {
            Some(fields) => {
                fields.client_token == self.credentials.client_token
                    && fields.access_token == self.credentials.access_token
                    && self.authorization_at(request, &fields.timestamp, &fields.nonce)
                        == authorization
            }
            None => false,
        }
    }
}

/// The fields of an EdgeGrid `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationFields {
    pub client_token: String,
    pub access_token: String,
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
}

impl fmt::Debug for AuthorizationFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationFields")
            .field("client_token", &"<redacted>")
            .field("access_token", &"<redacted>")
            .field("timestamp", &self.timestamp)
            .field("nonce", &self.nonce)
            .field("signature", &self.signature)
            .finish()
    }
}

/// Splits an EdgeGrid `Authorization` header into its fields; `None` when it
/// is not one (wrong scheme, a field missing or repeated, fields out of order).
pub fn parse_authorization(header: &str) -> Option<AuthorizationFields> {
    let rest = header.strip_prefix(SCHEME)?.strip_prefix(' ')?;
    let mut values = Vec::with_capacity(5);
    let names = [
        "client_token",
        "access_token",
        "timestamp",
        "nonce",
        "signature",
    ];
    let mut parts = rest.split(';');
    for name in names {
        let (key, value) = parts.next()?.split_once('=')?;
        if key != name || value.is_empty() {
            return None;
        }
        values.push(value.to_owned());
    }
    if parts.next().is_some() {
        return None;
    }
    let mut values = values.into_iter();
    Some(AuthorizationFields {
        client_token: values.next()?,
        access_token: values.next()?,
        timestamp: values.next()?,
        nonce: values.next()?,
        signature: values.next()?,
    })
}

/// `base64(HMAC-SHA256(key = client_secret, msg = timestamp))`.
pub fn signing_key(client_secret: &str, timestamp: &str) -> String {
    STANDARD.encode(hmac(client_secret.as_bytes(), timestamp.as_bytes()))
}

/// `base64(SHA-256(body[..max_body]))` for a POST with a body, else empty:
/// Akamai hashes only POST bodies.
pub fn content_hash(method: &str, body: &[u8], max_body: usize) -> String {
    if !method.eq_ignore_ascii_case("POST") || body.is_empty() {
        return String::new();
    }
    let hashed = &body[..body.len().min(max_body)];
    STANDARD.encode(Sha256::digest(hashed))
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this never fails; an empty MAC is
    // only a fallback that no server would accept.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// A fresh random nonce (a UUID v4, as Akamai's libraries use).
pub fn new_nonce() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// `time` in EdgeGrid's format, `yyyyMMddTHH:mm:ss+0000` (UTC).
pub fn timestamp(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_unix_seconds(secs)
}

/// Formats seconds since the Unix epoch as an EdgeGrid timestamp.
pub fn format_unix_seconds(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}:{:02}:{:02}+0000",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Gregorian date of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`, restricted to dates on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    //! Vectors from Akamai's EdgeGrid client for Python,
    //! github.com/akamai/AkamaiOPEN-edgegrid-python,
    //! `akamai/edgegrid/test/testdata.json` and `testcases.json` (the same
    //! set the other EdgeGrid libraries ship). Re-encoded here as Rust data.

    use super::*;

    const HOST: &str = "akaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net";
    const CLIENT_TOKEN: &str = "akab-client-token-xxx-xxxxxxxxxxxxxxxx";
    const ACCESS_TOKEN: &str = "akab-access-token-xxx-xxxxxxxxxxxxxxxx";
    const CLIENT_SECRET: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=";
    const NONCE: &str = "nonce-xx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    const TIMESTAMP: &str = "20140321T19:34:21+0000";
    const MAX_BODY: usize = 2048;

    fn signer() -> Signer {
        Signer::new(Credentials::new(CLIENT_TOKEN, CLIENT_SECRET, ACCESS_TOKEN))
            .with_headers_to_sign(&["X-Test1", "X-Test2", "X-Test3"])
            .with_max_body(MAX_BODY)
    }

    fn expected(signature: &str) -> String {
        format!(
            "EG1-HMAC-SHA256 client_token={CLIENT_TOKEN};access_token={ACCESS_TOKEN};\
             timestamp={TIMESTAMP};nonce={NONCE};signature={signature}"
        )
    }

    struct Vector {
        name: &'static str,
        method: &'static str,
        path: &'static str,
        headers: &'static [(&'static str, &'static str)],
        body: String,
        data_to_sign: Option<&'static str>,
        signature: &'static str,
    }

    fn vectors() -> Vec<Vector> {
        let d = |n: usize| "d".repeat(n);
        vec![
            Vector {
                name: "simple GET",
                method: "GET",
                path: "/",
                headers: &[],
                body: String::new(),
                data_to_sign: Some("GET\thttps\takaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net\t/\t\t\t"),
                signature: "tL+y4hxyHxgWVD30X3pWnGKHcPzmrIF+LThiAOhMxYU=",
            },
            Vector {
                name: "GET with querystring",
                method: "GET",
                path: "/testapi/v1/t1?p1=1&p2=2",
                headers: &[],
                body: String::new(),
                data_to_sign: Some("GET\thttps\takaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net\t/testapi/v1/t1?p1=1&p2=2\t\t\t"),
                signature: "hKDH1UlnQySSHjvIcZpDMbQHihTQ0XyVAKZaApabdeA=",
            },
            Vector {
                name: "POST inside limit",
                method: "POST",
                path: "/testapi/v1/t3",
                headers: &[],
                body: "datadatadatadatadatadatadatadata".to_owned(),
                data_to_sign: Some("POST\thttps\takaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net\t/testapi/v1/t3\t\tfDimoYqXOLntG3If/Z0K2aS9I19Pkv9P5OMCoL8lY0w=\t"),
                signature: "hXm4iCxtpN22m4cbZb4lVLW5rhX8Ca82vCFqXzSTPe4=",
            },
            Vector {
                name: "POST too large (only max_body bytes are hashed)",
                method: "POST",
                path: "/testapi/v1/t3",
                headers: &[],
                body: d(MAX_BODY + 1000),
                data_to_sign: Some("POST\thttps\takaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net\t/testapi/v1/t3\t\tiysZKJ78BqF0NvDrpv9Hc3pJBWC5f5apR4qUK/Qfo5k=\t"),
                signature: "6Q6PiTipLae6n4GsSIDTCJ54bEbHUBp+4MUXrbQCBoY=",
            },
            Vector {
                name: "POST length equals max_body",
                method: "POST",
                path: "/testapi/v1/t3",
                headers: &[],
                body: d(MAX_BODY),
                data_to_sign: None,
                signature: "6Q6PiTipLae6n4GsSIDTCJ54bEbHUBp+4MUXrbQCBoY=",
            },
            Vector {
                name: "POST empty body",
                method: "POST",
                path: "/testapi/v1/t6",
                headers: &[],
                body: String::new(),
                data_to_sign: Some("POST\thttps\takaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net\t/testapi/v1/t6\t\t\t"),
                signature: "1gEDxeQGD5GovIkJJGcBaKnZ+VaPtrc4qBUHixjsPCQ=",
            },
            Vector {
                name: "Simple header signing with GET",
                method: "GET",
                path: "/testapi/v1/t4",
                headers: &[("X-Test1", "test-simple-header")],
                body: String::new(),
                data_to_sign: Some("GET\thttps\takaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net\t/testapi/v1/t4\tx-test1:test-simple-header\t\t"),
                signature: "8F9AybcRw+PLxnvT+H0JRkjROrrUgsxJTnRXMzqvcwY=",
            },
            Vector {
                name: "Header containing spaces",
                method: "GET",
                path: "/testapi/v1/t4",
                headers: &[("X-Test1", "\"     test-header-with-spaces     \"")],
                body: String::new(),
                data_to_sign: Some("GET\thttps\takaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net\t/testapi/v1/t4\tx-test1:\" test-header-with-spaces \"\t\t"),
                signature: "ucq2AbjCNtobHfCTuS38fdkl5UDdWHZhQX46fYR8CqI=",
            },
            Vector {
                name: "Header with leading and interior spaces",
                method: "GET",
                path: "/testapi/v1/t4",
                headers: &[("X-Test1", "     first-thing      second-thing")],
                body: String::new(),
                data_to_sign: None,
                signature: "WtnneL539UadAAOJwnsXvPqT4Kt6z7HMgBEwAFpt3+c=",
            },
            Vector {
                name: "Headers out of order",
                method: "GET",
                path: "/testapi/v1/t4",
                headers: &[("X-Test2", "t2"), ("X-Test1", "t1"), ("X-Test3", "t3")],
                body: String::new(),
                data_to_sign: Some("GET\thttps\takaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net\t/testapi/v1/t4\tx-test1:t1\tx-test2:t2\tx-test3:t3\t\t"),
                signature: "Wus73Nx8jOYM+kkBFF2q8D1EATRIMr0WLWwpLBgkBqY=",
            },
            Vector {
                name: "Extra header",
                method: "GET",
                path: "/testapi/v1/t5",
                headers: &[
                    ("X-Test2", "t2"),
                    ("X-Test1", "t1"),
                    ("X-Test3", "t3"),
                    ("X-Extra", "this won't be included"),
                ],
                body: String::new(),
                data_to_sign: Some("GET\thttps\takaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net\t/testapi/v1/t5\tx-test1:t1\tx-test2:t2\tx-test3:t3\t\t"),
                signature: "Knd/jc0A5Ghhizjayr0AUUvl2MZjBpS3FDSzvtq4Ixc=",
            },
            Vector {
                name: "PUT test (bodies of other methods are not hashed)",
                method: "PUT",
                path: "/testapi/v1/t6",
                headers: &[],
                body: "PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP".to_owned(),
                data_to_sign: Some("PUT\thttps\takaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net\t/testapi/v1/t6\t\t\t"),
                signature: "GNBWEYSEWOLtu+7dD52da2C39aX/Jchpon3K/AmBqBU=",
            },
            Vector {
                name: "GET with query params",
                method: "GET",
                path: "/testapi/v1/configs/111?from=12345&limit=200000",
                headers: &[],
                body: String::new(),
                data_to_sign: None,
                signature: "XM+hsuSs6nuy/5eDRty1IjtVCAdr8xPFRAZ/b8RXDm8=",
            },
            Vector {
                name: "GET with query params and separator in path",
                method: "GET",
                path: "/testapi/v1/configs/111;222;333?from=12345&limit=200000",
                headers: &[],
                body: String::new(),
                data_to_sign: None,
                signature: "pmQF7Is2+O4r/mMojPR4yeF58BrempNNoBX5/DT0Fxs=",
            },
        ]
    }

    #[test]
    fn published_vectors_sign_as_akamai_expects() {
        let signer = signer();
        for v in vectors() {
            let request = RequestParts {
                method: v.method,
                scheme: "https",
                host: HOST,
                path_and_query: v.path,
                headers: v.headers,
                body: v.body.as_bytes(),
            };
            if let Some(data) = v.data_to_sign {
                assert_eq!(
                    signer.data_to_sign(&request, ""),
                    data,
                    "data to sign of '{}'",
                    v.name
                );
            }
            let header = signer.authorization_at(&request, TIMESTAMP, NONCE);
            assert_eq!(
                header,
                expected(v.signature),
                "authorization of '{}'",
                v.name
            );
            assert!(signer.verify(&request, &header), "verify '{}'", v.name);
        }
    }

    #[test]
    fn published_signing_key_content_hash_and_json_vectors() {
        assert_eq!(
            signing_key(CLIENT_SECRET, TIMESTAMP),
            "znsRMDBRqTXGJ7Ojip3/h2FGPu3LuoMYWgv9PKEnE/o="
        );
        assert_eq!(
            content_hash("POST", b"test_body", MAX_BODY),
            "REPGqEEubBHzJMhwqDZtbt515/ntEvAMNriNR53zcdY="
        );
        // `jsontest_hash`: a JSON POST with a query string, default settings.
        let signer = Signer::new(Credentials::new(CLIENT_TOKEN, CLIENT_SECRET, ACCESS_TOKEN));
        let request = RequestParts {
            method: "POST",
            scheme: "https",
            host: HOST,
            path_and_query: "/testapi/v1/t3?extended=true",
            headers: &[],
            body: br#"{"key": "value"}"#,
        };
        assert_eq!(
            signer.authorization_at(&request, TIMESTAMP, NONCE),
            expected("nONuDe50qGrPius4Rg4D2jfi/2zDZWAYRUG6RudJLNM=")
        );
    }

    #[test]
    fn a_changed_request_or_foreign_header_does_not_verify() {
        let signer = signer();
        let request = RequestParts {
            method: "POST",
            scheme: "https",
            host: HOST,
            path_and_query: "/papi/v1/properties?contractId=c&groupId=g",
            headers: &[],
            body: b"{}",
        };
        let header = signer.authorization(&request);
        assert!(signer.verify(&request, &header));
        let tampered = RequestParts {
            body: b"{\"x\":1}",
            ..request
        };
        assert!(!signer.verify(&tampered, &header));
        let other_query = RequestParts {
            path_and_query: "/papi/v1/properties?contractId=c&groupId=h",
            ..request
        };
        assert!(!signer.verify(&other_query, &header));
        let other = Signer::new(Credentials::new(
            CLIENT_TOKEN,
            "another-secret",
            ACCESS_TOKEN,
        ));
        assert!(!other.verify(&request, &header));
        assert!(!signer.verify(&request, "Bearer abc"));
    }

    #[test]
    fn authorization_headers_parse_into_their_fields() {
        let fields = parse_authorization(&expected("c2lnbmF0dXJl")).expect("parses");
        assert_eq!(fields.client_token, CLIENT_TOKEN);
        assert_eq!(fields.access_token, ACCESS_TOKEN);
        assert_eq!(fields.timestamp, TIMESTAMP);
        assert_eq!(fields.nonce, NONCE);
        assert_eq!(fields.signature, "c2lnbmF0dXJl");
        assert!(parse_authorization("EG1-HMAC-SHA256 client_token=a;access_token=b").is_none());
        assert!(parse_authorization(
            "EG1-HMAC-SHA256 access_token=b;client_token=a;timestamp=t;nonce=n;signature=s"
        )
        .is_none());
    }

    #[test]
    fn timestamps_are_utc_in_edgegrid_format() {
        // The vectors' timestamp, 2014-03-21 19:34:21 UTC.
        assert_eq!(format_unix_seconds(1_395_430_461), TIMESTAMP);
        assert_eq!(format_unix_seconds(0), "19700101T00:00:00+0000");
        // A leap day and the end of a leap year.
        assert_eq!(format_unix_seconds(951_782_400), "20000229T00:00:00+0000");
        assert_eq!(format_unix_seconds(1_735_689_599), "20241231T23:59:59+0000");
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let signer = signer();
        let shown = format!("{signer:?}");
        for secret in [CLIENT_SECRET, CLIENT_TOKEN, ACCESS_TOKEN] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let fields = parse_authorization(&expected("sig")).expect("parses");
        assert!(!format!("{fields:?}").contains(CLIENT_TOKEN));
        let echoed = format!("bad token {CLIENT_TOKEN} with {CLIENT_SECRET}");
        assert_eq!(
            signer.credentials().redact(&echoed),
            "bad token <redacted> with <redacted>"
        );
    }
}
