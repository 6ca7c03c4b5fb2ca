//! Building driver rows by hand, as the server would send them, so row
//! decoding is tested without a server.

use cdrs_tokio::frame::message_result::{
    BodyResResultRows, ColSpec, ColType, ColTypeOption, RowsMetadata, RowsMetadataFlags,
};
use cdrs_tokio::frame::Version;
use cdrs_tokio::types::rows::Row;
use cdrs_tokio::types::value::Value;
use cdrs_tokio::types::CBytes;

/// The CQL type of a column as the server describes it.
pub fn text() -> ColType {
    ColType::Varchar
}

/// One row with `columns` (name, type, value as bound in a statement).
pub fn row(columns: &[(&str, ColType, Value)]) -> Row {
    rows(
        &columns.iter().map(|(n, t, _)| (*n, *t)).collect::<Vec<_>>(),
        vec![columns.iter().map(|(_, _, v)| v.clone()).collect()],
    )
    .remove(0)
}

/// Rows with the given column specs and one `Vec<Value>` per row.
pub fn rows(columns: &[(&str, ColType)], data: Vec<Vec<Value>>) -> Vec<Row> {
    let col_specs: Vec<ColSpec> = columns
        .iter()
        .map(|(name, ty)| ColSpec {
            table_spec: None,
            name: (*name).to_owned(),
            col_type: ColTypeOption {
                id: *ty,
                value: None,
            },
        })
        .collect();
    let rows_content: Vec<Vec<CBytes>> = data
        .into_iter()
        .map(|values| {
            values
                .into_iter()
                .map(|value| match value {
                    Value::Some(bytes) => CBytes::new(bytes),
                    Value::Null | Value::NotSet => CBytes::new_null(),
                })
                .collect()
        })
        .collect();
    let count = i32::try_from(rows_content.len()).expect("row count");
    Row::from_body(BodyResResultRows {
        metadata: RowsMetadata {
            flags: RowsMetadataFlags::empty(),
            columns_count: i32::try_from(col_specs.len()).expect("column count"),
            paging_state: None,
            new_metadata_id: None,
            global_table_spec: None,
            col_specs,
        },
        rows_count: count,
        rows_content,
        protocol_version: Version::V4,
    })
}

/// The answer row of a conditional write: `[applied]` and then `extra`.
pub fn lwt_answer(applied: bool, extra: &[(&str, ColType, Value)]) -> Vec<Row> {
    let mut columns = vec![("[applied]", ColType::Boolean, Value::new(applied))];
    columns.extend(extra.iter().cloned());
    vec![row(&columns)]
}
