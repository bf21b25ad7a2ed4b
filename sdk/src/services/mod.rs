//! The standard host services every operator has without declaring them, themselves
//! declared with `#[host_callbacks]`: [`Log`], [`State`] and [`Clock`], and [`Spans`],
//! which an operator uses when its host has it (oplink's does); and [`Lookup`], a
//! service of oplink's own that an operator declares in `requires = [..]` and a host may
//! provide (the `oplink` command line does, from files).
//!
//! Operators rarely call them by hand: `tracing` macros reach [`Log`] and [`Spans`] on
//! their own, and [`Context::state`](crate::Context::state) and
//! [`Context::now`](crate::Context::now) wrap the other two. Every operator's descriptor
//! lists the first three among its requirements, so a host checks them like any other
//! service before it creates an instance; listing one in `requires = [..]` as well is
//! allowed and changes nothing.

mod encoding;

use crate::Result;
use crate::service::{Service, ServiceRequirement};

/// Where a plugin's `tracing` events go: the host re-emits each one into its own
/// subscriber, tagged with the operator and the instance.
#[crate::host_callbacks(crate = crate, name = "oplink.Log")]
pub trait Log {
    /// The most verbose level the host wants: one of the [`level`] numbers, or
    /// [`level::OFF`] for nothing at all.
    fn max_level(&self) -> u8;
    /// One event of a plugin's `tracing`, with its fields.
    fn event(&self, event: LogEvent);
    /// A plain message at `level` (one of the [`level`] numbers) under `target`: the form
    /// for plugins written in C.
    fn message(&self, level: u8, target: &str, text: &str);
}

/// Where a plugin's `tracing` spans go: the host opens each as a span of its own
/// subscriber (tagged with the operator and the instance, under the host's span of the
/// call), and enters, records, exits and closes it as the plugin does, so the plugin's
/// events inside it are inside it in the host too.
///
/// Always provided by oplink's host, and never required: a Rust plugin looks it up when an
/// instance is created and, from a host that does not offer it, forwards events only.
/// A span's key is the host's; `0` from [`open`](Spans::open) means the host does not want
/// the span (its level is filtered out), and the plugin then does not call about it again.
#[crate::host_callbacks(crate = crate, name = "oplink.Spans")]
pub trait Spans {
    /// Opens a span inside the host's current one; its key, or `0` when the host does not
    /// want it.
    fn open(&self, span: LogSpan) -> u64;
    /// Records values of fields the span declared (others are ignored).
    fn record(&self, span: u64, fields: LogFields);
    /// The span is entered on this thread.
    fn enter(&self, span: u64);
    /// The span is exited on this thread.
    fn exit(&self, span: u64);
    /// The plugin holds the span no more. (The host closes what an instance opened and did
    /// not close when the instance goes.)
    fn close(&self, span: u64);
}

/// The numbers of log levels as they cross: the same on both sides and in C.
pub mod level {
    /// Nothing at all (as a maximum level).
    pub const OFF: u8 = 0;
    /// `tracing::Level::ERROR`.
    pub const ERROR: u8 = 1;
    /// `tracing::Level::WARN`.
    pub const WARN: u8 = 2;
    /// `tracing::Level::INFO`.
    pub const INFO: u8 = 3;
    /// `tracing::Level::DEBUG`.
    pub const DEBUG: u8 = 4;
    /// `tracing::Level::TRACE`.
    pub const TRACE: u8 = 5;

    /// The number of a `tracing` level.
    pub fn of(level: &tracing_core::Level) -> u8 {
        match *level {
            tracing_core::Level::ERROR => ERROR,
            tracing_core::Level::WARN => WARN,
            tracing_core::Level::INFO => INFO,
            tracing_core::Level::DEBUG => DEBUG,
            tracing_core::Level::TRACE => TRACE,
        }
    }

    /// The `tracing` level of a number; anything above `TRACE` is `TRACE`, `OFF` is `None`.
    pub fn to_tracing(level: u8) -> Option<tracing_core::Level> {
        Some(match level {
            OFF => return None,
            ERROR => tracing_core::Level::ERROR,
            WARN => tracing_core::Level::WARN,
            INFO => tracing_core::Level::INFO,
            DEBUG => tracing_core::Level::DEBUG,
            _ => tracing_core::Level::TRACE,
        })
    }

    /// The number of the most verbose level a `tracing` filter lets through.
    pub fn of_filter(filter: tracing_core::LevelFilter) -> u8 {
        filter.into_level().map_or(OFF, |l| of(&l))
    }
}

/// Keys to bytes, scoped to the operator instance: two instances never see each other's
/// keys. Usable from every method that has a [`Context`](crate::Context).
#[crate::host_callbacks(crate = crate, name = "oplink.State")]
pub trait State {
    /// The value of `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Sets `key` to `value`.
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()>;
    /// Removes `key`; whether it was there.
    fn delete(&self, key: &[u8]) -> Result<bool>;
    /// Every entry whose key starts with `prefix`, in ascending key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries>;
}

/// The host's clock.
#[crate::host_callbacks(crate = crate, name = "oplink.Clock")]
pub trait Clock {
    /// Nanoseconds since the Unix epoch.
    fn now_nanos(&self) -> i64;
}

/// Named tables of text keyed by text that the host holds, such as reference data to join
/// with (`oplink run --lookup tiers=tiers.csv` provides it from files). Not a standard
/// service: an operator lists it in `requires = [oplink::services::Lookup]`, and hosts that
/// do not provide it refuse to create that operator.
#[crate::host_callbacks(crate = crate, name = "oplink.Lookup")]
pub trait Lookup {
    /// The value of `key` in the table `table`; `None` when the table has no such key, an
    /// error when the host has no such table.
    fn get(&self, table: &str, key: &str) -> Result<Option<String>>;
}

/// Key-value pairs in ascending key order, as [`State::scan_prefix`] returns them. Iterate
/// it as a list of `(key, value)` pairs:
///
/// ```
/// use oplink::services::Entries;
///
/// let entries = Entries(vec![(b"n/ann".to_vec(), 2u64.to_le_bytes().to_vec())]);
/// assert_eq!(entries.len(), 1);
/// for (key, value) in &entries {
///     assert_eq!((key.as_slice(), value.len()), (&b"n/ann"[..], 8));
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entries(pub Vec<(Vec<u8>, Vec<u8>)>);

impl Entries {
    /// The pairs, in key order.
    pub fn iter(&self) -> std::slice::Iter<'_, (Vec<u8>, Vec<u8>)> {
        self.0.iter()
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for Entries {
    type Item = (Vec<u8>, Vec<u8>);
    type IntoIter = std::vec::IntoIter<(Vec<u8>, Vec<u8>)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Entries {
    type Item = &'a (Vec<u8>, Vec<u8>);
    type IntoIter = std::slice::Iter<'a, (Vec<u8>, Vec<u8>)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A field value of a [`LogEvent`].
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// Text, or anything recorded through `Debug`/`Display`.
    Str(String),
}

/// One `tracing` event of a plugin.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEvent {
    /// One of the [`level`] numbers.
    pub level: u8,
    /// The event's target (by default the plugin's module path).
    pub target: String,
    /// Source file and line, when known.
    pub file: Option<String>,
    /// Line in `file` (0 when unknown).
    pub line: u32,
    /// The event's message (its `message` field), empty when it has none.
    pub message: String,
    /// The other fields, in the order they were written.
    pub fields: Vec<(String, FieldValue)>,
}

/// One `tracing` span of a plugin, as it is opened.
#[derive(Clone, Debug, PartialEq)]
pub struct LogSpan {
    /// One of the [`level`] numbers.
    pub level: u8,
    /// The span's name.
    pub name: String,
    /// The span's target (by default the plugin's module path).
    pub target: String,
    /// Source file, when known.
    pub file: Option<String>,
    /// Line in `file` (0 when unknown).
    pub line: u32,
    /// Every field the span declares, in order, with its value when it was given at the
    /// opening (one declared `tracing::field::Empty` has none until it is recorded).
    pub fields: Vec<(String, Option<FieldValue>)>,
}

/// Values recorded into a span after it was opened ([`Spans::record`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogFields(pub Vec<(String, FieldValue)>);

/// The standard services, as every operator's descriptor lists them.
pub const STANDARD: [ServiceRequirement; 3] = [
    <dyn Log as Service>::REQUIREMENT,
    <dyn State as Service>::REQUIREMENT,
    <dyn Clock as Service>::REQUIREMENT,
];

/// Whether `name` is one of the standard services (`oplink.Spans` included, which no
/// operator requires).
pub fn is_standard(name: &str) -> bool {
    [
        <dyn Log as Service>::NAME,
        <dyn State as Service>::NAME,
        <dyn Clock as Service>::NAME,
        <dyn Spans as Service>::NAME,
    ]
    .contains(&name)
}

/// The C declarations of the standard services and of `oplink.Lookup`, for `oplink.h`:
/// each one's table, name, fingerprint and methods (for a C operator's list of
/// requirements), as [`crate::service::c_declarations`] writes them.
pub fn c_section() -> String {
    use crate::service::c_declarations;
    [
        c_declarations::<dyn Log>("Log"),
        c_declarations::<dyn State>("State"),
        c_declarations::<dyn Clock>("Clock"),
        format!(
            "/* Standard, but not required: a host may offer it (oplink's does) and an operator may\n * look it up without listing it; a Rust operator forwards its spans through it when there. */\n{}",
            c_declarations::<dyn Spans>("Spans")
        ),
        format!(
            "/* Not a standard service: an operator that calls it lists it in its requirements, and\n * a host that does not provide it (`oplink run` does, with `--lookup`) refuses it. */\n{}",
            c_declarations::<dyn Lookup>("Lookup")
        ),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard services' identities. When one fails, a standard service changed: that
    /// refuses every plugin built before, so it needs a new ABI major (or an appended method
    /// and a new minor) and a regenerated `oplink.h`.
    #[test]
    fn the_standard_services_fingerprints_are_pinned() {
        assert_eq!(<dyn Log>::FINGERPRINT, 0xa755_e8b4_1675_8270, "oplink.Log");
        assert_eq!(
            <dyn State>::FINGERPRINT,
            0xe110_0a16_7eea_8f06,
            "oplink.State"
        );
        assert_eq!(
            <dyn Clock>::FINGERPRINT,
            0x6d72_ec46_c0f4_4dab,
            "oplink.Clock"
        );
        assert_eq!(
            <dyn Spans>::FINGERPRINT,
            0xfdbe_83af_82a3_5cb4,
            "oplink.Spans"
        );
    }

    /// The check a host makes of a library's declared fingerprint agrees with the
    /// fingerprint a service computes of itself.
    #[test]
    fn a_fingerprint_follows_from_the_methods_alone() {
        fn check<S: Service + ?Sized>() {
            let methods = S::METHODS.iter().map(|m| m.fingerprint);
            assert_eq!(
                crate::service::fingerprint_of(S::NAME, methods),
                S::FINGERPRINT,
                "{}",
                S::NAME
            );
        }
        check::<dyn Log>();
        check::<dyn State>();
        check::<dyn Clock>();
        check::<dyn Spans>();
        check::<dyn Lookup>();
    }
}
