//! The flavor body (§2.7).

use serde_json::Value;

use super::fields::{self, index, join, Errors};
use crate::error::FieldError;
use crate::model::{Flavor, FlavorProvider};

const FLAVOR_KEYS: &[&str] = &["id", "providers", "limits", "links"];
const PROVIDER_KEYS: &[&str] = &["provider", "links"];
const LINK_KEYS: &[&str] = &["href", "rel"];

pub(super) fn validate(body: &Value, configured: &[String]) -> Result<Flavor, Vec<FieldError>> {
    let mut e = Errors::default();
    let Some(map) = fields::object(&mut e, body, "", FLAVOR_KEYS) else {
        return Err(e.into_vec());
    };
    let id = fields::required(&mut e, map, "id", "")
        .and_then(|v| fields::string(&mut e, v, "/id", 3, Some(64)))
        .map(str::to_owned);

    let mut providers = Vec::new();
    if let Some(items) = fields::required(&mut e, map, "providers", "")
        .and_then(|v| fields::array(&mut e, v, "/providers", 1, None))
    {
        for (i, item) in items.iter().enumerate() {
            if let Some(p) = provider(&mut e, item, &index("/providers", i), configured) {
                providers.push(p);
            }
        }
    }

    match id {
        Some(id) if e.is_empty() => Ok(Flavor {
            id,
            providers,
            // Accepted and returned as given; nothing interprets it.
            limits: map.get("limits").cloned(),
        }),
        _ => Err(e.into_vec()),
    }
}

fn provider(
    e: &mut Errors,
    v: &Value,
    path: &str,
    configured: &[String],
) -> Option<FlavorProvider> {
    let map = fields::object(e, v, path, PROVIDER_KEYS)?;
    let name_path = join(path, "provider");
    let name = fields::required(e, map, "provider", path)
        .and_then(|v| fields::string(e, v, &name_path, 1, None))
        .and_then(|p| {
            if configured.iter().any(|c| c == p) {
                Some(p)
            } else {
                let choices: Vec<String> = configured.iter().map(|c| format!("'{c}'")).collect();
                e.push(
                    &name_path,
                    format!(
                        "{p} is not a valid Provider.  Please choose from [{}]",
                        choices.join(", ")
                    ),
                );
                None
            }
        });

    let links_path = join(path, "links");
    let mut first_url = None;
    if let Some(links) = fields::required(e, map, "links", path)
        .and_then(|v| fields::array(e, v, &links_path, 1, None))
    {
        for (j, link) in links.iter().enumerate() {
            let link_path = index(&links_path, j);
            let Some(link) = fields::object(e, link, &link_path, LINK_KEYS) else {
                continue;
            };
            let href = fields::required(e, link, "href", &link_path)
                .and_then(|v| fields::string(e, v, &join(&link_path, "href"), 2, None));
            let rel = fields::required(e, link, "rel", &link_path)
                .and_then(|v| fields::one_of(e, v, &join(&link_path, "rel"), &["provider_url"]));
            if let (Some(href), Some(_), None) = (href, rel, &first_url) {
                first_url = Some(href.to_owned());
            }
        }
    }
    Some(FlavorProvider {
        provider: name?.to_owned(),
        provider_url: first_url?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::error::FieldError;
    use crate::model::{Flavor, FlavorProvider};
    use crate::validate::flavor;

    fn configured() -> Vec<String> {
        vec!["fastly".to_owned(), "akamai".to_owned()]
    }

    fn limits() -> Value {
        json!([{"origins": {"min": 1, "max": 5}}, {"domains": {"min": 1, "max": 5}},
               {"caching": {"min": 3600, "max": 604800, "incr": 300}}])
    }

    fn body(id: &str, providers: Value) -> Value {
        json!({"id": id, "limits": limits(), "providers": providers})
    }

    fn fastly(href: &str) -> Value {
        json!([{"provider": "fastly", "links": [{"href": href, "rel": "provider_url"}]}])
    }

    fn errors(body: &Value) -> Vec<FieldError> {
        match flavor(body, &configured()) {
            Ok(f) => panic!("expected errors, got {f:?}"),
            Err(errors) => errors,
        }
    }

    fn assert_error(errors: &[FieldError], path: &str, needle: &str) {
        assert!(
            errors
                .iter()
                .any(|e| e.path == path && e.message.contains(needle)),
            "no error at {path} containing {needle:?} in {errors:#?}"
        );
    }

    #[test]
    fn all_fields() {
        let got = flavor(
            &body("standard", fastly("http://www.chinacache.com")),
            &configured(),
        );
        assert_eq!(
            got,
            Ok(Flavor {
                id: "standard".to_owned(),
                providers: vec![FlavorProvider {
                    provider: "fastly".to_owned(),
                    provider_url: "http://www.chinacache.com".to_owned(),
                }],
                limits: Some(limits()),
            })
        );
    }

    #[test]
    fn non_ascii_id_and_provider_url() {
        assert!(flavor(
            &body("երանգ", fastly("http://www.fastly.com")),
            &configured()
        )
        .is_ok());
        assert!(flavor(
            &body("standard", fastly("http://العربية.com")),
            &configured()
        )
        .is_ok());
    }

    #[test]
    fn first_link_is_the_provider_url_and_links_and_limits_are_optional_extras() {
        let got = flavor(
            &json!({"id": "multi", "links": [{"href": "x", "rel": "self"}], "providers": [
                {"provider": "akamai", "links": [{"href": "http://first", "rel": "provider_url"},
                                                  {"href": "http://second", "rel": "provider_url"}]},
                {"provider": "fastly", "links": [{"href": "http://f", "rel": "provider_url"}]}
            ]}),
            &configured(),
        );
        let got = got.ok();
        let urls: Option<Vec<String>> = got
            .as_ref()
            .map(|f| f.providers.iter().map(|p| p.provider_url.clone()).collect());
        assert_eq!(
            urls,
            Some(vec!["http://first".to_owned(), "http://f".to_owned()])
        );
        assert_eq!(got.and_then(|f| f.limits), None);
    }

    #[test]
    fn providers_are_required_and_non_empty() {
        assert_error(
            &errors(&body("standard", json!([]))),
            "/providers",
            "at least 1",
        );
        assert_error(
            &errors(&json!({"id": "standard"})),
            "/providers",
            "is required",
        );
        assert_error(
            &errors(&body(
                "standard",
                json!([{"provider": "fastly", "links": []}]),
            )),
            "/providers/0/links",
            "at least 1",
        );
        assert_error(
            &errors(&body(
                "standard",
                json!([{"links": [{"href": "http://x", "rel": "provider_url"}]}]),
            )),
            "/providers/0/provider",
            "is required",
        );
    }

    #[test]
    fn links_need_a_provider_url_rel_and_an_href() {
        assert_error(
            &errors(&body(
                "standard",
                json!([{"provider": "fastly", "links": [{"href": "http://fastly.com", "rel": "no_provider_url"}]}]),
            )),
            "/providers/0/links/0/rel",
            "must be one of \"provider_url\"",
        );
        let errs = errors(&body(
            "standard",
            json!([
                {"provider": "fastly", "links": [{"href": "http://www.fastly.com"}]},
                {"provider": "akamai", "links": [{"href": "http://www.cloudfront.com", "rel": ""}]}
            ]),
        ));
        assert_error(&errs, "/providers/0/links/0/rel", "is required");
        assert_error(&errs, "/providers/1/links/0/rel", "must be one of");
        assert_error(
            &errors(&body("standard", fastly(""))),
            "/providers/0/links/0/href",
            "at least 2",
        );
    }

    #[test]
    fn unconfigured_provider() {
        assert_error(
            &errors(&body(
                "standard",
                json!([{"provider": "genie", "links": [{"href": "http://www.magiclamp.com", "rel": "provider_url"}]}]),
            )),
            "/providers/0/provider",
            "genie is not a valid Provider.  Please choose from ['fastly', 'akamai']",
        );
    }

    #[test]
    fn id_rules() {
        assert_error(&errors(&body("ab", fastly("http://x"))), "/id", "3 to 64");
        assert_error(
            &errors(&body(&"x".repeat(65), fastly("http://x"))),
            "/id",
            "3 to 64",
        );
        assert_error(
            &errors(&json!({"providers": fastly("http://x")})),
            "/id",
            "is required",
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let errs = errors(
            &json!({"id": "standard", "provider_list": [], "providers": [
                {"provider": "fastly", "extra": 1, "links": [{"href": "http://x", "rel": "provider_url", "type": "t"}]}
            ]}),
        );
        assert_error(&errs, "/provider_list", "unknown field");
        assert_error(&errs, "/providers/0/extra", "unknown field");
        assert_error(&errs, "/providers/0/links/0/type", "unknown field");
        assert_error(&errors(&json!([])), "", "must be an object");
    }
}
