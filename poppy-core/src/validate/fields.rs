//! Typed reads from raw JSON that record one [`FieldError`] per problem and
//! carry on, so a body's problems are all reported at once.

use serde_json::{Map, Value};

use crate::error::FieldError;

/// The field errors found so far.
#[derive(Debug, Default)]
pub(crate) struct Errors(Vec<FieldError>);

impl Errors {
    pub(crate) fn push(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

/// `base` extended by one reference token, escaped per RFC 6901.
pub(crate) fn join(base: &str, token: &str) -> String {
    format!("{base}/{}", token.replace('~', "~0").replace('/', "~1"))
}

/// `base` extended by an array index.
pub(crate) fn index(base: &str, i: usize) -> String {
    format!("{base}/{i}")
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An object; every key outside `allowed` is reported (but the object is
/// still returned so its known fields get checked too).
pub(crate) fn object<'a>(
    e: &mut Errors,
    v: &'a Value,
    path: &str,
    allowed: &[&str],
) -> Option<&'a Map<String, Value>> {
    let Value::Object(map) = v else {
        e.push(path, format!("must be an object, not {}", type_name(v)));
        return None;
    };
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            e.push(
                &join(path, key),
                format!(
                    "unknown field \"{key}\"; allowed fields are: {}",
                    allowed.join(", ")
                ),
            );
        }
    }
    Some(map)
}

/// The value of a required key, or an `is required` error.
pub(crate) fn required<'a>(
    e: &mut Errors,
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Option<&'a Value> {
    let v = map.get(key);
    if v.is_none() {
        e.push(&join(path, key), "is required");
    }
    v
}

/// An array with `min..=max` items. Returns the items even when the count
/// is wrong, so that each item is still checked.
pub(crate) fn array<'a>(
    e: &mut Errors,
    v: &'a Value,
    path: &str,
    min: usize,
    max: Option<usize>,
) -> Option<&'a [Value]> {
    let Value::Array(items) = v else {
        e.push(path, format!("must be an array, not {}", type_name(v)));
        return None;
    };
    let n = items.len();
    match max {
        Some(max) if n < min || n > max => {
            e.push(path, format!("must contain {min} to {max} items (got {n})"));
        }
        None if n < min => {
            e.push(path, format!("must contain at least {min} item(s)"));
        }
        _ => {}
    }
    Some(items)
}

/// A string of `min..=max` characters (counted as Unicode scalar values,
/// as the original's schema did).
pub(crate) fn string<'a>(
    e: &mut Errors,
    v: &'a Value,
    path: &str,
    min: usize,
    max: Option<usize>,
) -> Option<&'a str> {
    let Value::String(s) = v else {
        e.push(path, format!("must be a string, not {}", type_name(v)));
        return None;
    };
    let n = s.chars().count();
    match max {
        Some(max) if n < min || n > max => {
            e.push(
                path,
                format!("must be {min} to {max} characters long (got {n})"),
            );
            None
        }
        None if n < min => {
            e.push(path, format!("must be at least {min} characters long"));
            None
        }
        _ => Some(s),
    }
}

/// Like [`string`], but the length applies to the value with surrounding
/// whitespace removed, which is what is stored: a name of only spaces
/// would otherwise be stored empty and fail the next PATCH.
pub(crate) fn trimmed_string(
    e: &mut Errors,
    v: &Value,
    path: &str,
    min: usize,
    max: usize,
) -> Option<String> {
    let Value::String(s) = v else {
        e.push(path, format!("must be a string, not {}", type_name(v)));
        return None;
    };
    let n = s.chars().count();
    if n > max {
        e.push(
            path,
            format!("must be {min} to {max} characters long (got {n})"),
        );
        return None;
    }
    let t = s.trim();
    if t.chars().count() < min {
        e.push(
            path,
            format!("must be {min} to {max} characters long, not counting surrounding whitespace"),
        );
        return None;
    }
    Some(t.to_owned())
}

/// A boolean.
pub(crate) fn boolean(e: &mut Errors, v: &Value, path: &str) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        other => {
            e.push(path, format!("must be a boolean, not {}", type_name(other)));
            None
        }
    }
}

/// An integer in `min..=max`.
pub(crate) fn integer(e: &mut Errors, v: &Value, path: &str, min: i64, max: i64) -> Option<i64> {
    let Some(n) = v.as_i64().or_else(|| v.as_u64().map(|_| i64::MAX)) else {
        e.push(path, format!("must be an integer, not {}", type_name(v)));
        return None;
    };
    if n < min || n > max {
        e.push(path, format!("must be between {min} and {max} (got {v})"));
        return None;
    }
    Some(n)
}

/// One of the listed strings.
pub(crate) fn one_of<'a>(
    e: &mut Errors,
    v: &'a Value,
    path: &str,
    choices: &[&str],
) -> Option<&'a str> {
    match v {
        Value::String(s) if choices.contains(&s.as_str()) => Some(s),
        _ => {
            let list: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
            e.push(
                path,
                format!("must be one of {} (got {v})", list.join(", ")),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn join_escapes_reference_tokens() {
        assert_eq!(join("/a", "b/c~d"), "/a/b~1c~0d");
        assert_eq!(index("/a", 3), "/a/3");
    }

    #[test]
    fn object_reports_every_unknown_key_and_still_returns_the_map() {
        let mut e = Errors::default();
        let v = json!({"a": 1, "x": 2, "y": 3});
        assert!(object(&mut e, &v, "/o", &["a"]).is_some());
        let errs = e.into_vec();
        let paths: Vec<_> = errs.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["/o/x", "/o/y"]);
        assert!(errs[0].message.contains("unknown field \"x\""));
    }

    #[test]
    fn integer_rejects_floats_strings_and_out_of_range() {
        let mut e = Errors::default();
        assert_eq!(integer(&mut e, &json!(5), "/n", 0, 10), Some(5));
        assert_eq!(integer(&mut e, &json!(5.0), "/n", 0, 10), None);
        assert_eq!(integer(&mut e, &json!("5"), "/n", 0, 10), None);
        assert_eq!(integer(&mut e, &json!(-1), "/n", 0, 10), None);
        assert_eq!(integer(&mut e, &json!(u64::MAX), "/n", 0, 10), None);
        assert_eq!(e.into_vec().len(), 4);
    }

    #[test]
    fn string_counts_characters_not_bytes() {
        let mut e = Errors::default();
        assert_eq!(
            string(&mut e, &json!("երանգ"), "/s", 3, Some(5)),
            Some("երանգ")
        );
        assert!(e.is_empty());
    }
}
