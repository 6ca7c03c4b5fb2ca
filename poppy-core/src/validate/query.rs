//! Query strings and URL parameters: list paging (§2.1.3, §2.6.4), purge
//! (§2.6.7) and the admin project id.

use crate::error::Error;
use crate::model::{PurgeTarget, ServiceId, DEFAULT_REQUEST_URL};
use crate::ports::{ListQuery, PurgeQuery};

const DEFAULT_LIMIT: u32 = 10;

pub(super) fn list_query(
    query: &ListQuery,
    max_limit: u32,
) -> Result<(Option<ServiceId>, u32), Error> {
    let limit = match query.limit.as_deref() {
        // The original defaulted to 10 even when the configured maximum was
        // lower, failing every request without a limit; cap the default.
        None => DEFAULT_LIMIT.min(max_limit.max(1)),
        Some(raw) => parse_limit(raw, max_limit)?,
    };
    let marker = match query.marker.as_deref() {
        None => None,
        Some(raw) => Some(
            raw.trim()
                .parse::<ServiceId>()
                .map_err(|_| Error::BadRequest("Marker must be a valid UUID".to_owned()))?,
        ),
    };
    Ok((marker, limit))
}

fn parse_limit(raw: &str, max_limit: u32) -> Result<u32, Error> {
    let not_integer = || {
        Error::BadRequest(format!(
            "Limit should be an integer greater than 0 and less or equal to {max_limit}"
        ))
    };
    let t = raw.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_integer());
    }
    // All digits: too many of them is just a very large number.
    let value = digits.parse::<u64>().unwrap_or(u64::MAX);
    if negative || value == 0 {
        return Err(Error::BadRequest(
            "Limit should be greater than 0".to_owned(),
        ));
    }
    match u32::try_from(value) {
        Ok(v) if v <= max_limit => Ok(v),
        _ => Err(Error::BadRequest(format!(
            "Limit should be less than or equal to {max_limit}"
        ))),
    }
}

pub(super) fn purge_query(query: &PurgeQuery) -> Result<(PurgeTarget, bool), Error> {
    let url = query.url.as_deref().unwrap_or(DEFAULT_REQUEST_URL);
    if !url.is_ascii() {
        return Err(Error::BadRequest(
            "non ascii character present in url".to_owned(),
        ));
    }
    let hard = match query.hard.as_deref() {
        None => true,
        Some(h) if h.eq_ignore_ascii_case("true") => true,
        Some(h) if h.eq_ignore_ascii_case("false") => false,
        Some(_) => {
            return Err(Error::BadRequest(
                "hard can only be set to True or False".to_owned(),
            ))
        }
    };
    let all = query
        .all
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("true"));
    if all && url != DEFAULT_REQUEST_URL {
        return Err(Error::BadRequest(
            "Cannot provide all=true and a url at the same time".to_owned(),
        ));
    }
    let target = if all {
        PurgeTarget::All
    } else {
        PurgeTarget::Url(url.to_owned())
    };
    Ok((target, hard))
}

pub(super) fn project_id_param(project: &str) -> Result<(), Error> {
    if project.is_empty() {
        return Err(Error::BadRequest("Empty value not permitted".to_owned()));
    }
    let ok = project.chars().count() <= 256
        && project
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest(format!("Invalid project_id : {project}")))
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::model::{PurgeTarget, ServiceId};
    use crate::ports::{ListQuery, PurgeQuery};
    use crate::validate::{list_query, project_id_param, purge_query, service_id};

    fn list(limit: Option<&str>, marker: Option<&str>) -> Result<(Option<ServiceId>, u32), String> {
        let query = ListQuery {
            limit: limit.map(str::to_owned),
            marker: marker.map(str::to_owned),
        };
        list_query(&query, 20).map_err(|e| {
            assert!(matches!(e, Error::BadRequest(_)), "{e:?}");
            e.to_string()
        })
    }

    #[test]
    fn limit_defaults_to_ten() {
        assert_eq!(list(None, None), Ok((None, 10)));
        assert_eq!(list_query(&ListQuery::default(), 5).ok(), Some((None, 5)));
    }

    #[test]
    fn limit_bounds_and_messages() {
        assert_eq!(list(Some("1"), None), Ok((None, 1)));
        assert_eq!(list(Some("20"), None), Ok((None, 20)));
        assert_eq!(list(Some(" 7 "), None), Ok((None, 7)));
        for zero_or_less in ["0", "-1", "-0", "-99999999999999999999999"] {
            assert_eq!(
                list(Some(zero_or_less), None),
                Err("Limit should be greater than 0".to_owned())
            );
        }
        for too_big in ["21", "4294967296", "99999999999999999999999"] {
            assert_eq!(
                list(Some(too_big), None),
                Err("Limit should be less than or equal to 20".to_owned())
            );
        }
        for not_int in ["ten", "", "1.5", "1e3", "--1", "0x10"] {
            assert_eq!(
                list(Some(not_int), None),
                Err("Limit should be an integer greater than 0 and less or equal to 20".to_owned())
            );
        }
    }

    #[test]
    fn marker_must_be_a_uuid() {
        let id = "96c4e9ab-1b8c-4d5e-9f2a-0123456789ab";
        assert_eq!(list(None, Some(id)), Ok((id.parse().ok(), 10)));
        for bad in ["", "abc", "96c4e9ab-1b8c-4d5e-9f2a"] {
            assert_eq!(
                list(None, Some(bad)),
                Err("Marker must be a valid UUID".to_owned())
            );
        }
    }

    fn purge(
        url: Option<&str>,
        all: Option<&str>,
        hard: Option<&str>,
    ) -> Result<(PurgeTarget, bool), String> {
        purge_query(&PurgeQuery {
            url: url.map(str::to_owned),
            all: all.map(str::to_owned),
            hard: hard.map(str::to_owned),
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn purge_defaults() {
        assert_eq!(
            purge(None, None, None),
            Ok((PurgeTarget::Url("/*".to_owned()), true))
        );
        assert_eq!(
            purge(Some("/img/a.png"), None, None),
            Ok((PurgeTarget::Url("/img/a.png".to_owned()), true))
        );
    }

    #[test]
    fn purge_all_is_case_insensitive_and_excludes_a_url() {
        for all in ["true", "TRUE", "True"] {
            assert_eq!(purge(None, Some(all), None), Ok((PurgeTarget::All, true)));
            assert_eq!(
                purge(Some("/*"), Some(all), None),
                Ok((PurgeTarget::All, true))
            );
            assert_eq!(
                purge(Some("myurl.com"), Some(all), None),
                Err("Cannot provide all=true and a url at the same time".to_owned())
            );
        }
        for not_all in ["false", "yes", "1", ""] {
            assert_eq!(
                purge(None, Some(not_all), None),
                Ok((PurgeTarget::Url("/*".to_owned()), true))
            );
        }
    }

    #[test]
    fn purge_hard_is_true_or_false() {
        assert_eq!(purge(None, None, Some("False")).map(|p| p.1), Ok(false));
        assert_eq!(purge(None, None, Some("false")).map(|p| p.1), Ok(false));
        assert_eq!(purge(None, None, Some("TRUE")).map(|p| p.1), Ok(true));
        for bad in ["", "yes", "0", "maybe"] {
            assert_eq!(
                purge(None, None, Some(bad)),
                Err("hard can only be set to True or False".to_owned())
            );
        }
    }

    #[test]
    fn purge_url_must_be_ascii() {
        assert_eq!(
            purge(Some("/ünïcode"), None, None),
            Err("non ascii character present in url".to_owned())
        );
    }

    #[test]
    fn project_ids() {
        for ok in ["000001", "my_project-1.x", &"p".repeat(256)] {
            assert!(project_id_param(ok).is_ok(), "{ok}");
        }
        for bad in ["a b", "a/b", "ü", &"p".repeat(257)] {
            assert_eq!(
                project_id_param(bad).map_err(|e| e.to_string()),
                Err(format!("Invalid project_id : {bad}"))
            );
        }
        assert_eq!(
            project_id_param("").map_err(|e| e.to_string()),
            Err("Empty value not permitted".to_owned())
        );
    }

    #[test]
    fn service_ids() {
        assert!(service_id("96c4e9ab-1b8c-4d5e-9f2a-0123456789ab").is_ok());
        assert_eq!(
            service_id("nope").map_err(|e| e.to_string()),
            Err("Invalid service id".to_owned())
        );
    }
}
