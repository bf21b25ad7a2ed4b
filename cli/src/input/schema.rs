//! What every file's schema is checked for or settled with, whatever its format: a column
//! named twice, a time zone no one reads, a column inference found empty.

use oplink::arrow::schema::{DataType, Field, Schema};

/// `schema` with text for every column inferred as `Null` (empty in every row inference
/// read): a value further on is then read, not dropped.
pub(super) fn text_for_null(schema: Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Null => field.as_ref().clone().with_data_type(DataType::Utf8),
            _ => field.as_ref().clone(),
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// The names of `schema`'s columns, each in backticks.
pub(super) fn names(schema: &Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|field| format!("`{}`", field.name()))
        .collect()
}

/// The first column of `schema` with timestamps, at any depth, in a time zone that is
/// neither a zone's name nor an offset, and that zone.
pub(super) fn unknown_zone(schema: &Schema) -> Option<(&str, &str)> {
    fn zone_in(ty: &DataType) -> Option<&str> {
        match ty {
            DataType::Timestamp(_, Some(zone)) => zone
                .parse::<arrow_array::timezone::Tz>()
                .is_err()
                .then_some(zone.as_ref()),
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::ListView(f)
            | DataType::LargeListView(f)
            | DataType::FixedSizeList(f, _)
            | DataType::Map(f, _)
            | DataType::RunEndEncoded(_, f) => zone_in(f.data_type()),
            DataType::Struct(fields) => fields.iter().find_map(|f| zone_in(f.data_type())),
            DataType::Union(fields, _) => fields.iter().find_map(|(_, f)| zone_in(f.data_type())),
            DataType::Dictionary(_, values) => zone_in(values),
            _ => None,
        }
    }
    schema
        .fields()
        .iter()
        .find_map(|f| Some((f.name().as_str(), zone_in(f.data_type())?)))
}

/// The first column name that `schema` holds twice, if any.
/// (In one pass: a file may have tens of thousands of columns.)
pub fn named_twice(schema: &Schema) -> Option<&str> {
    let mut seen = std::collections::HashSet::with_capacity(schema.fields().len());
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .find(|name| !seen.insert(*name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_name_given_twice_is_found() {
        let schema = |names: &[&str]| {
            Schema::new(
                names
                    .iter()
                    .map(|n| Field::new(*n, DataType::Int8, true))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(named_twice(&schema(&["a", "b", "c"])), None);
        assert_eq!(named_twice(&schema(&["a", "b", "b", "a"])), Some("b"));
        assert_eq!(named_twice(&schema(&[])), None);
    }
}
