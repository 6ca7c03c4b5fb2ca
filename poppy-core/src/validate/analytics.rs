//! The query of `GET /services/{id}/analytics` (§2.6.8), and the
//! `YYYY-mm-ddTHH:MM:SS` (UTC) timestamps it and its answer use.

use super::domain::is_valid_domain;
use super::fields::Errors;
use crate::error::FieldError;
use crate::ports::{AnalyticsQuery, MetricType};

/// The window when `startTime` is not given: the last 24 hours.
pub const DEFAULT_WINDOW_SECS: i64 = 24 * 3600;

/// A validated analytics query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analytics {
    pub domain: String,
    pub metric: MetricType,
    /// Seconds since the Unix epoch, `start <= end`.
    pub start: i64,
    pub end: i64,
}

/// Validates `query` against the clock `now` (seconds since the epoch):
/// `domain` a valid domain, `metricType` one of the original's metrics,
/// `startTime`/`endTime` timestamps (defaults: `now - 24h`, `now`) with the
/// start not after the end. Every problem is reported.
pub fn query(query: &AnalyticsQuery, now: i64) -> Result<Analytics, Vec<FieldError>> {
    let mut e = Errors::default();
    let domain = query.domain.clone().unwrap_or_default();
    if !is_valid_domain(&domain) {
        e.push("/domain", format!("domain {domain} is not valid."));
    }
    let metric = match query.metric_type.as_deref() {
        None => {
            e.push("/metricType", "is required");
            None
        }
        Some(raw) => match raw.parse::<MetricType>() {
            Ok(m) => Some(m),
            Err(message) => {
                e.push("/metricType", message);
                None
            }
        },
    };
    let mut time = |raw: &Option<String>, key: &str, default: i64| match raw {
        None => Some(default),
        Some(text) => {
            let parsed = parse_timestamp(text);
            if parsed.is_none() {
                e.push(
                    &format!("/{key}"),
                    format!("{text} is not a valid time stamp; the format is YYYY-mm-ddTHH:MM:SS"),
                );
            }
            parsed
        }
    };
    let end = time(&query.end_time, "endTime", now);
    let start = time(&query.start_time, "startTime", now - DEFAULT_WINDOW_SECS);
    if let (Some(start), Some(end)) = (start, end) {
        if start > end {
            e.push("/startTime", "startTime cannot be later than endTime");
        }
    }
    match (metric, start, end) {
        (Some(metric), Some(start), Some(end)) if e.is_empty() => Ok(Analytics {
            domain,
            metric,
            start,
            end,
        }),
        _ => Err(e.into_vec()),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses `YYYY-mm-ddTHH:MM:SS` (UTC) into seconds since the epoch.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('T')?;
    let number = |s: &str, len: usize| -> Option<i64> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut d = date.split('-');
    let (year, month, day) = (
        number(d.next()?, 4)?,
        number(d.next()?, 2)?,
        number(d.next()?, 2)?,
    );
    let mut t = time.split(':');
    let (hour, minute, second) = (
        number(t.next()?, 2)?,
        number(t.next()?, 2)?,
        number(t.next()?, 2)?,
    );
    if d.next().is_some() || t.next().is_some() {
        return None;
    }
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Formats seconds since the epoch as `YYYY-mm-ddTHH:MM:SS` (UTC).
pub fn format_timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        (rest % 3600) / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(
        domain: &str,
        metric: Option<&str>,
        start: Option<&str>,
        end: Option<&str>,
    ) -> AnalyticsQuery {
        AnalyticsQuery {
            domain: Some(domain.to_owned()),
            start_time: start.map(str::to_owned),
            end_time: end.map(str::to_owned),
            metric_type: metric.map(str::to_owned),
        }
    }

    #[test]
    fn timestamps_round_trip() {
        for (text, secs) in [
            ("1970-01-01T00:00:00", 0),
            ("2016-02-29T12:34:56", 1_456_749_296),
            ("2000-03-01T00:00:00", 951_868_800),
        ] {
            assert_eq!(parse_timestamp(text), Some(secs), "{text}");
            assert_eq!(format_timestamp(secs), text);
        }
        for bad in [
            "2015-02-29T00:00:00",
            "2016-13-01T00:00:00",
            "2016-1-01T00:00:00",
            "2016-01-01 00:00:00",
            "2016-01-01T24:00:00",
            "2016-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn defaults_are_the_last_day() {
        let a = query(&q("www.a.com", Some("requestCount"), None, None), 100_000).unwrap();
        assert_eq!((a.start, a.end), (100_000 - DEFAULT_WINDOW_SECS, 100_000));
        assert_eq!(a.metric, MetricType::RequestCount);
    }

    #[test]
    fn every_problem_is_reported() {
        let errors = query(
            &q(
                "not a domain",
                Some("bytes"),
                Some("2016-01-02T00:00:00"),
                Some("yesterday"),
            ),
            0,
        )
        .unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/domain", "/metricType", "/endTime"]);
        let errors = query(
            &q(
                "www.a.com",
                None,
                Some("2016-01-02T00:00:00"),
                Some("2016-01-01T00:00:00"),
            ),
            0,
        )
        .unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/metricType", "/startTime"]);
    }
}
