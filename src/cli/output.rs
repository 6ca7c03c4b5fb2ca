//! Printing results: the server's JSON as is, or aligned tables.

use serde_json::{json, Value};

use super::Output;

/// Prints results to stdout in the chosen format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    format: Output,
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn items<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Rows under a header, each column as wide as its widest cell.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = vec![line(header.to_vec())];
    for row in rows {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    out.join("\n")
}

fn domains(service: &Value) -> String {
    items(service, "domains")
        .iter()
        .map(|d| text(d, "domain"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Printer {
    pub(crate) fn new(format: Output) -> Self {
        Self { format }
    }

    fn json(value: &Value) {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
        );
    }

    pub(crate) fn accepted(&self, id: &str, action: &str) {
        match self.format {
            Output::Json => Self::json(&json!({"id": id, "accepted": action})),
            Output::Table => println!("service {id}: {action} accepted"),
        }
    }

    pub(crate) fn gone(&self, id: &str) {
        match self.format {
            Output::Json => Self::json(&json!({"id": id, "status": "deleted"})),
            Output::Table => println!("service {id}: deleted"),
        }
    }

    pub(crate) fn services(&self, page: &Value) {
        match self.format {
            Output::Json => Self::json(page),
            Output::Table => {
                let rows: Vec<Vec<String>> = items(page, "services")
                    .iter()
                    .map(|s| {
                        vec![
                            text(s, "id").to_owned(),
                            text(s, "name").to_owned(),
                            text(s, "status").to_owned(),
                            text(s, "flavor_id").to_owned(),
                            domains(s),
                        ]
                    })
                    .collect();
                println!(
                    "{}",
                    table(&["ID", "NAME", "STATUS", "FLAVOR", "DOMAINS"], &rows)
                );
                if let Some(next) = items(page, "links")
                    .iter()
                    .find(|l| text(l, "rel") == "next")
                {
                    println!("more: {}", text(next, "href"));
                }
            }
        }
    }

    pub(crate) fn service(&self, service: &Value) {
        match self.format {
            Output::Json => Self::json(service),
            Output::Table => {
                let mut rows = vec![
                    vec!["id".to_owned(), text(service, "id").to_owned()],
                    vec!["name".to_owned(), text(service, "name").to_owned()],
                    vec!["status".to_owned(), text(service, "status").to_owned()],
                    vec!["flavor".to_owned(), text(service, "flavor_id").to_owned()],
                ];
                for d in items(service, "domains") {
                    let mut value = format!("{} ({})", text(d, "domain"), text(d, "protocol"));
                    if let Some(cert) = d.get("certificate").and_then(Value::as_str) {
                        value.push_str(&format!(", {cert} certificate"));
                    }
                    rows.push(vec!["domain".to_owned(), value]);
                }
                for o in items(service, "origins") {
                    let port = o.get("port").and_then(Value::as_u64).unwrap_or(80);
                    rows.push(vec![
                        "origin".to_owned(),
                        format!("{}:{port}", text(o, "origin")),
                    ]);
                }
                for l in items(service, "links") {
                    if text(l, "rel") == "access_url" {
                        rows.push(vec!["access url".to_owned(), text(l, "href").to_owned()]);
                    }
                }
                for e in items(service, "errors") {
                    rows.push(vec!["error".to_owned(), text(e, "message").to_owned()]);
                }
                println!("{}", table(&["FIELD", "VALUE"], &rows));
            }
        }
    }

    pub(crate) fn flavors(&self, list: &Value) {
        match self.format {
            Output::Json => Self::json(list),
            Output::Table => {
                let rows: Vec<Vec<String>> = items(list, "flavors")
                    .iter()
                    .map(|f| vec![text(f, "id").to_owned(), providers(f)])
                    .collect();
                println!("{}", table(&["ID", "PROVIDERS"], &rows));
            }
        }
    }

    pub(crate) fn flavor(&self, flavor: &Value) {
        match self.format {
            Output::Json => Self::json(flavor),
            Output::Table => {
                let rows = vec![vec![text(flavor, "id").to_owned(), providers(flavor)]];
                println!("{}", table(&["ID", "PROVIDERS"], &rows));
            }
        }
    }

    pub(crate) fn flavor_deleted(&self, id: &str) {
        match self.format {
            Output::Json => Self::json(&json!({"id": id, "status": "deleted"})),
            Output::Table => println!("flavor {id}: deleted"),
        }
    }
}

fn providers(flavor: &Value) -> String {
    items(flavor, "providers")
        .iter()
        .map(|p| text(p, "provider"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_the_widest_cell() {
        let rows = vec![
            vec!["a".to_owned(), "long value".to_owned()],
            vec!["longer key".to_owned(), "v".to_owned()],
        ];
        assert_eq!(
            table(&["K", "V"], &rows),
            "K           V\na           long value\nlonger key  v"
        );
    }
}
