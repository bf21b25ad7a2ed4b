//! A small length-prefixed encoding for the standard services' own types.

use super::{Entries, FieldValue, LogEvent, LogFields, LogSpan};
use crate::service::Wire;
use crate::{Error, Result};

/// The kind byte of a span's field declared without a value (the others are 0 to 4).
const KIND_ABSENT: u8 = 255;

/// A small length-prefixed encoding for the services' own types.
struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn value(&mut self, value: Option<&FieldValue>) {
        match value {
            None => self.0.push(KIND_ABSENT),
            Some(FieldValue::I64(v)) => {
                self.0.push(0);
                self.u64(*v as u64);
            }
            Some(FieldValue::U64(v)) => {
                self.0.push(1);
                self.u64(*v);
            }
            Some(FieldValue::F64(v)) => {
                self.0.push(2);
                self.u64(v.to_bits());
            }
            Some(FieldValue::Bool(v)) => {
                self.0.push(3);
                self.0.push(u8::from(*v));
            }
            Some(FieldValue::Str(v)) => {
                self.0.push(4);
                self.bytes(v.as_bytes());
            }
        }
    }

    fn fields(&mut self, fields: &[(String, FieldValue)]) {
        self.u64(fields.len() as u64);
        for (name, value) in fields {
            self.bytes(name.as_bytes());
            self.value(Some(value));
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn short(&self) -> Error {
        Error::unlocated(format!("a {} is cut short", self.what))
    }
    fn u8(&mut self) -> Result<u8> {
        let (&first, rest) = self.bytes.split_first().ok_or_else(|| self.short())?;
        self.bytes = rest;
        Ok(first)
    }
    fn u64(&mut self) -> Result<u64> {
        let (head, rest) = self
            .bytes
            .split_first_chunk::<8>()
            .ok_or_else(|| self.short())?;
        self.bytes = rest;
        Ok(u64::from_le_bytes(*head))
    }
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = usize::try_from(self.u64()?).map_err(|_| self.short())?;
        if len > self.bytes.len() {
            return Err(self.short());
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }
    fn string(&mut self) -> Result<String> {
        let what = self.what;
        String::from_utf8(self.bytes()?.to_vec())
            .map_err(|_| Error::unlocated(format!("a {what} holds text that is not UTF-8")))
    }
    fn end(&self) -> Result<()> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Error::unlocated(format!(
                "a {} has {} too many",
                self.what,
                crate::__private::counted(self.bytes.len(), "byte", "bytes")
            )))
        }
    }

    fn value(&mut self) -> Result<FieldValue> {
        Ok(match self.u8()? {
            0 => FieldValue::I64(self.u64()? as i64),
            1 => FieldValue::U64(self.u64()?),
            2 => FieldValue::F64(f64::from_bits(self.u64()?)),
            3 => FieldValue::Bool(self.u8()? != 0),
            4 => FieldValue::Str(self.string()?),
            other => {
                return Err(Error::unlocated(format!(
                    "a {} field has unknown kind {other}",
                    self.what
                )));
            }
        })
    }

    /// A value, or `None` for a field declared without one.
    fn value_or_absent(&mut self) -> Result<Option<FieldValue>> {
        if self.bytes.first() == Some(&KIND_ABSENT) {
            self.bytes = &self.bytes[1..];
            return Ok(None);
        }
        self.value().map(Some)
    }

    fn fields(&mut self) -> Result<Vec<(String, FieldValue)>> {
        let count = self.u64()?;
        let mut fields = Vec::new();
        for _ in 0..count {
            let name = self.string()?;
            fields.push((name, self.value()?));
        }
        Ok(fields)
    }
}

impl Wire for Entries {
    const SCHEMA: &'static str =
        "u64 count, then per entry: u64 key length, key, u64 value length, value (little-endian)";
    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer(out);
        w.u64(self.0.len() as u64);
        for (key, value) in &self.0 {
            w.bytes(key);
            w.bytes(value);
        }
    }

    /// Also reads no bytes at all as no entries: the snapshot a build without `snapshot`
    /// hands over in a reload is empty, and an operator's `restore` that decodes its
    /// snapshot as `Entries` takes it as no state.
    fn decode(bytes: &[u8]) -> Result<Entries> {
        if bytes.is_empty() {
            return Ok(Entries::default());
        }
        let mut r = Reader {
            bytes,
            what: "list of state entries",
        };
        let count = r.u64()?;
        let mut entries = Vec::new();
        for _ in 0..count {
            let key = r.bytes()?.to_vec();
            let value = r.bytes()?.to_vec();
            entries.push((key, value));
        }
        r.end()?;
        Ok(Entries(entries))
    }
}

impl Wire for LogEvent {
    const SCHEMA: &'static str = "u8 level, target, file, u64 line, message, u64 field count, then per field: name, u8 kind (0 i64, 1 u64, 2 f64, 3 bool, 4 text) and value; text as u64 length and UTF-8 (little-endian)";
    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer(out);
        w.0.push(self.level);
        w.bytes(self.target.as_bytes());
        w.bytes(self.file.as_deref().unwrap_or_default().as_bytes());
        w.u64(u64::from(self.line));
        w.bytes(self.message.as_bytes());
        w.fields(&self.fields);
    }

    fn decode(bytes: &[u8]) -> Result<LogEvent> {
        let mut r = Reader {
            bytes,
            what: "log event",
        };
        let level = r.u8()?;
        let target = r.string()?;
        let file = Some(r.string()?).filter(|f| !f.is_empty());
        let line = u32::try_from(r.u64()?).unwrap_or(0);
        let message = r.string()?;
        let fields = r.fields()?;
        r.end()?;
        Ok(LogEvent {
            level,
            target,
            file,
            line,
            message,
            fields,
        })
    }
}

impl Wire for LogSpan {
    const SCHEMA: &'static str = "u8 level, name, target, file, u64 line, u64 field count, then per field: name, u8 kind (0 i64, 1 u64, 2 f64, 3 bool, 4 text, 255 no value yet) and value; text as u64 length and UTF-8 (little-endian)";
    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer(out);
        w.0.push(self.level);
        w.bytes(self.name.as_bytes());
        w.bytes(self.target.as_bytes());
        w.bytes(self.file.as_deref().unwrap_or_default().as_bytes());
        w.u64(u64::from(self.line));
        w.u64(self.fields.len() as u64);
        for (name, value) in &self.fields {
            w.bytes(name.as_bytes());
            w.value(value.as_ref());
        }
    }

    fn decode(bytes: &[u8]) -> Result<LogSpan> {
        let mut r = Reader {
            bytes,
            what: "log span",
        };
        let level = r.u8()?;
        let name = r.string()?;
        let target = r.string()?;
        let file = Some(r.string()?).filter(|f| !f.is_empty());
        let line = u32::try_from(r.u64()?).unwrap_or(0);
        let count = r.u64()?;
        let mut fields = Vec::new();
        for _ in 0..count {
            let name = r.string()?;
            fields.push((name, r.value_or_absent()?));
        }
        r.end()?;
        Ok(LogSpan {
            level,
            name,
            target,
            file,
            line,
            fields,
        })
    }
}

impl Wire for LogFields {
    const SCHEMA: &'static str = "u64 field count, then per field: name, u8 kind (0 i64, 1 u64, 2 f64, 3 bool, 4 text) and value; text as u64 length and UTF-8 (little-endian)";
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out).fields(&self.0);
    }

    fn decode(bytes: &[u8]) -> Result<LogFields> {
        let mut r = Reader {
            bytes,
            what: "span record",
        };
        let fields = r.fields()?;
        r.end()?;
        Ok(LogFields(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::FieldValue;

    #[test]
    fn log_events_and_entries_round_trip_and_reject_bad_bytes() {
        let event = LogEvent {
            level: 3,
            target: "threshold".into(),
            file: Some("src/lib.rs".into()),
            line: 12,
            message: "kept rows".into(),
            fields: vec![
                ("kept".into(), FieldValue::U64(3)),
                ("delta".into(), FieldValue::I64(-2)),
                ("ratio".into(), FieldValue::F64(0.5)),
                ("full".into(), FieldValue::Bool(true)),
                ("column".into(), FieldValue::Str("amount".into())),
            ],
        };
        let mut bytes = Vec::new();
        event.encode(&mut bytes);
        assert_eq!(LogEvent::decode(&bytes).unwrap(), event);
        assert_eq!(
            LogEvent::decode(&bytes[..bytes.len() - 1])
                .unwrap_err()
                .to_string(),
            "a log event is cut short"
        );
        // Text that is not UTF-8 (the target's first byte, after the level and its length).
        let mut spoiled = bytes.clone();
        spoiled[9] = 0xff;
        assert_eq!(
            LogEvent::decode(&spoiled).unwrap_err().to_string(),
            "a log event holds text that is not UTF-8"
        );
        // A field of a kind no writer uses: one field, every string empty, so its kind is
        // the byte after the level, four lengths, the line, the count and the name's length.
        let bare = LogEvent {
            level: 1,
            target: String::new(),
            file: None,
            line: 0,
            message: String::new(),
            fields: vec![(String::new(), FieldValue::Bool(true))],
        };
        let mut bytes = Vec::new();
        bare.encode(&mut bytes);
        assert_eq!(bytes[49], 3, "the Bool kind");
        bytes[49] = 9;
        assert_eq!(
            LogEvent::decode(&bytes).unwrap_err().to_string(),
            "a log event field has unknown kind 9"
        );

        let entries = Entries(vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), vec![]),
        ]);
        let mut bytes = Vec::new();
        entries.encode(&mut bytes);
        assert_eq!(Entries::decode(&bytes).unwrap(), entries);
        assert_eq!(Entries::decode(&[]).unwrap(), Entries::default());
        assert_eq!(
            Entries::decode(&bytes[..3]).unwrap_err().to_string(),
            "a list of state entries is cut short"
        );
        bytes.push(0);
        assert_eq!(
            Entries::decode(&bytes).unwrap_err().to_string(),
            "a list of state entries has 1 byte too many"
        );
        bytes.push(0);
        assert_eq!(
            Entries::decode(&bytes).unwrap_err().to_string(),
            "a list of state entries has 2 bytes too many"
        );
    }

    #[test]
    fn log_spans_and_fields_round_trip_and_reject_bad_bytes() {
        let span = LogSpan {
            level: 4,
            name: "enrich_rows".into(),
            target: "enrich".into(),
            file: Some("src/lib.rs".into()),
            line: 70,
            fields: vec![
                ("column".into(), Some(FieldValue::Str("customer".into()))),
                ("unknown".into(), None),
                ("rows".into(), Some(FieldValue::U64(2))),
            ],
        };
        let mut bytes = Vec::new();
        span.encode(&mut bytes);
        assert_eq!(LogSpan::decode(&bytes).unwrap(), span);
        assert_eq!(
            LogSpan::decode(&bytes[..bytes.len() - 1])
                .unwrap_err()
                .to_string(),
            "a log span is cut short"
        );
        // A field without a value is only for a span's opening, not for what is recorded.
        let fields = LogFields(vec![("unknown".into(), FieldValue::I64(-1))]);
        let mut bytes = Vec::new();
        fields.encode(&mut bytes);
        assert_eq!(LogFields::decode(&bytes).unwrap(), fields);
        let kind = bytes.len() - 9;
        assert_eq!(bytes[kind], 0, "the I64 kind");
        bytes[kind] = KIND_ABSENT;
        assert_eq!(
            LogFields::decode(&bytes).unwrap_err().to_string(),
            "a span record field has unknown kind 255"
        );
    }
}
