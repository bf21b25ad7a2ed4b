//! Operators that call host services.
//!
//! * `enrich` adds a `tier` column from the host's [`Catalog`], logs through `tracing` (events
//!   inside a span) and counts the customers it has seen in its instance state.
//! * `echo` sends every type of the vocabulary through the host's [`Echo`] and checks that
//!   it comes back unchanged; its configuration can make it call a failing host method.
//! * `undeclared` asks for the catalog without declaring it, which is an error.
//! * `counter` lists the standard `State` service in `requires` and counts changes in it.
//! * `lookup` adds a column looked up in a table of the host's [`Lookup`] service, the one
//!   the `oplink` command line provides from files (`oplink run --lookup tiers=tiers.csv`).
//! * `background` logs from a thread it spawns, as its instance, through
//!   [`Context::log_handle`].
//! * `strays` leaves its `tracing` spans entered after its calls, or drops them on a
//!   thread of its own, for testing hosts.

use std::sync::Arc;

use oplink::prelude::*;
use oplink::service::Json;
use oplink::services::Lookup;
use oplink::tracing;
use services::{Catalog, Customer, Echo};

/// Configuration of `enrich`: the column holding customer ids.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichConfig {
    /// Name of the `Utf8` column with customer ids.
    pub customer_column: String,
}

/// Adds a `tier` column (`Utf8`, null for customers the catalog does not know).
#[derive(Debug)]
pub struct Enrich {
    cfg: EnrichConfig,
}

#[oplink::operator(
    name = "enrich",
    version = "0.1.0",
    description = "Adds each customer's tier from the host's catalog",
    requires = [Catalog]
)]
impl Enrich {
    fn new(cfg: EnrichConfig) -> Result<Self> {
        Ok(Enrich { cfg })
    }

    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        let catalog = ctx.service::<dyn Catalog>()?;
        each_side(change, |rows| self.enrich(ctx, catalog, rows))
    }

    /// The customers seen so far, from the instance's state.
    fn flush_state(&mut self, ctx: &mut Context) -> Result<()> {
        let seen = ctx.state()?.scan_prefix(b"seen/")?.0.len();
        tracing::info!(seen, "flushed");
        Ok(())
    }
}

impl Enrich {
    fn enrich(&self, ctx: &Context, catalog: &dyn Catalog, rows: Rows) -> Result<Rows> {
        let column = rows
            .batch()
            .column_by_name(&self.cfg.customer_column)
            .ok_or_else(|| Error::msg(format!("no column `{}`", self.cfg.customer_column)))?;
        let customers = column
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| {
                Error::msg(format!(
                    "`{}` is not a Utf8 column",
                    self.cfg.customer_column
                ))
            })?;
        // Events inside the span are inside it in the host's subscriber too.
        let span = tracing::info_span!(
            "enrich_rows",
            column = %self.cfg.customer_column,
            unknown = tracing::field::Empty
        );
        let _in_span = span.enter();
        let state = ctx.state()?;
        let mut tiers = Vec::with_capacity(customers.len());
        for customer in customers.iter() {
            let tier = match customer {
                Some(customer) => {
                    state.put(format!("seen/{customer}").as_bytes(), b"")?;
                    catalog.tier(customer)
                }
                None => None,
            };
            tiers.push(tier);
        }
        let unknown = tiers.iter().filter(|t| t.is_none()).count();
        span.record("unknown", unknown);
        tracing::debug!(rows = tiers.len(), unknown, "enriched a batch");
        if unknown > 0 {
            tracing::warn!(unknown, column = %self.cfg.customer_column, "customers missing from the catalog");
        }
        with_column(rows, "tier", StringArray::from(tiers))
    }
}

/// Configuration of `echo`: `{"call": "all"}` (the default) round-trips every type;
/// `"fail"`, `"panic"` and `"panic_plain"` call the matching failing method of [`Echo`];
/// `"u64_loop"` and `"string_loop"` call `Echo::u64` or `Echo::str` (with 1 KiB of text)
/// `times` times, for the benchmark.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EchoConfig {
    /// What `apply` calls.
    #[serde(default)]
    pub call: EchoCall,
    /// How many calls the loops make.
    #[serde(default)]
    pub times: u64,
}

/// What `echo`'s `apply` calls.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EchoCall {
    /// Every method of the vocabulary.
    #[default]
    All,
    /// `Echo::fail`, which returns an error.
    Fail,
    /// `Echo::panic`, which panics in the host.
    Panic,
    /// `Echo::panic_plain`, which panics in a method without `Result`.
    PanicPlain,
    /// `Echo::u64`, `times` times.
    U64Loop,
    /// `Echo::str` with 1 KiB of text, `times` times.
    StringLoop,
    /// Every method of the vocabulary from 4 threads at once, spawned inside the call
    /// (`std::thread::scope`: the service is lent for the call).
    OnThreads,
}

/// Round-trips every type through the host and returns its input unchanged.
#[derive(Debug)]
pub struct EchoAll {
    call: EchoCall,
    times: u64,
}

#[oplink::operator(
    name = "echo",
    version = "0.1.0",
    description = "Sends every type of the vocabulary through the host's Echo",
    requires = [Echo]
)]
impl EchoAll {
    fn new(cfg: EchoConfig) -> Result<Self> {
        Ok(EchoAll {
            call: cfg.call,
            times: cfg.times,
        })
    }

    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        let echo = ctx.service::<dyn Echo>()?;
        match self.call {
            EchoCall::All => round_trip_all(echo, &change)?,
            EchoCall::OnThreads => std::thread::scope(|scope| {
                let workers: Vec<_> = (0..4)
                    .map(|_| scope.spawn(|| round_trip_all(echo, &change)))
                    .collect();
                workers
                    .into_iter()
                    .try_for_each(|worker| worker.join().expect("a worker panicked"))
            })?,
            EchoCall::Fail => {
                echo.fail("the host says no")?;
            }
            EchoCall::Panic => {
                echo.panic("the host fell over")?;
            }
            EchoCall::PanicPlain => {
                echo.panic_plain("the host fell over");
            }
            EchoCall::U64Loop => {
                for i in 0..self.times {
                    std::hint::black_box(echo.u64(i));
                }
            }
            EchoCall::StringLoop => {
                let text = "x".repeat(1024);
                for _ in 0..self.times {
                    std::hint::black_box(echo.str(&text));
                }
            }
        }
        Ok(change)
    }
}

fn check<T: PartialEq + std::fmt::Debug>(what: &str, sent: T, back: T) -> Result<()> {
    if sent == back {
        Ok(())
    } else {
        Err(Error::msg(format!("{what}: sent {sent:?}, got {back:?}")))
    }
}

/// Sends a value of every type and checks what comes back.
pub fn round_trip_all(echo: &dyn Echo, change: &Change) -> Result<()> {
    check("i8", i8::MIN, echo.i8(i8::MIN))?;
    check("i16", -12_345, echo.i16(-12_345))?;
    check("i32", i32::MAX, echo.i32(i32::MAX))?;
    check("i64", i64::MIN, echo.i64(i64::MIN))?;
    check("u8", u8::MAX, echo.u8(u8::MAX))?;
    check("u16", 65_000, echo.u16(65_000))?;
    check("u32", u32::MAX, echo.u32(u32::MAX))?;
    check("u64", u64::MAX, echo.u64(u64::MAX))?;
    check("usize", usize::MAX, echo.usize(usize::MAX))?;
    check("isize", isize::MIN, echo.isize(isize::MIN))?;
    check("f32", 1.5f32, echo.f32(1.5))?;
    check("f64", -0.25f64, echo.f64(-0.25))?;
    check("bool true", true, echo.bool(true))?;
    check("bool false", false, echo.bool(false))?;
    check("char", 'é', echo.char('é'))?;
    check("&str", "héllo".to_owned(), echo.str("héllo"))?;
    check("empty &str", String::new(), echo.str(""))?;
    check(
        "String",
        "owned".to_owned(),
        echo.string("owned".to_owned()),
    )?;
    check("&[u8]", vec![0, 1, 255], echo.bytes(&[0, 1, 255]))?;
    check("Vec<u8>", vec![9u8; 1024], echo.byte_vec(vec![9; 1024]))?;
    check(
        "&[f64]",
        vec![1.0, f64::MAX],
        echo.f64_slice(&[1.0, f64::MAX]),
    )?;
    check("empty &[f64]", Vec::<f64>::new(), echo.f64_slice(&[]))?;
    check("Vec<i32>", vec![-1, 0, 1], echo.i32_vec(vec![-1, 0, 1]))?;
    check("Some(&str)", Some("x".to_owned()), echo.option(Some("x")))?;
    check("None::<&str>", None, echo.option(None))?;
    check("Some(u64)", Some(7), echo.option_u64(Some(7)))?;
    check("None::<u64>", None, echo.option_u64(None))?;
    check("Result", 41, echo.result(41)?)?;
    check(
        "Result<_, String>",
        "fine".to_owned(),
        echo.result_string_error("fine").map_err(Error::msg)?,
    )?;
    check("()", (), echo.unit(1))?;
    let customer = Customer {
        id: "c1".into(),
        tier: "gold".into(),
        orders: 3,
    };
    check(
        "Json<Customer>",
        customer.clone(),
        echo.customer(Json(customer.clone())).0,
    )?;
    for diff in &change.diffs {
        if let Diff::Insert { post } = diff {
            check(
                "RecordBatch",
                post.batch().clone(),
                echo.batch(post.batch().clone()),
            )?;
        }
    }
    Ok(())
}

/// Asks for the catalog without listing it in `requires`.
#[derive(Debug)]
pub struct Undeclared;

#[oplink::operator(
    name = "undeclared",
    version = "0.1.0",
    description = "Asks for a service it did not declare (an error, for the tests)"
)]
impl Undeclared {
    fn new() -> Result<Self> {
        Ok(Undeclared)
    }

    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        ctx.service::<dyn Catalog>()?.tier("c1");
        Ok(change)
    }
}

/// Counts the changes it has seen in its state, reached as a service it lists explicitly
/// (`requires = [State]`; the standard services need not be listed, but may be).
#[derive(Debug)]
pub struct Counter;

#[oplink::operator(
    name = "counter",
    version = "0.1.0",
    description = "Counts changes in the instance's state",
    requires = [oplink::services::State]
)]
impl Counter {
    fn new() -> Result<Self> {
        Ok(Counter)
    }

    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        let state = ctx.service::<dyn oplink::services::State>()?;
        let seen = state
            .get(b"changes")?
            .map(|bytes| u64::from_le_bytes(bytes.try_into().unwrap_or_default()))
            .unwrap_or(0);
        state.put(b"changes", &(seen + 1).to_le_bytes())?;
        Ok(change)
    }
}

/// Configuration of `lookup`: `{"column": "customer", "table": "tiers"}` looks each value of
/// the `Utf8` column `customer` up in the host's table `tiers` and adds the answers as a
/// `Utf8` column named `into` (by default the table's name; null where the table has no
/// such key).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupConfig {
    /// The `Utf8` column whose values are the keys.
    pub column: String,
    /// The host's table to look them up in.
    pub table: String,
    /// The name of the added column (default: the table's name).
    #[serde(default)]
    pub into: Option<String>,
}

/// Adds a column of values looked up in a table the host holds.
#[derive(Debug)]
pub struct LookupColumn {
    column: String,
    table: String,
    into: String,
}

#[oplink::operator(
    name = "lookup",
    version = "0.1.0",
    description = "Adds a column looked up in a table of the host's `oplink.Lookup` service",
    requires = [Lookup]
)]
impl LookupColumn {
    fn new(cfg: LookupConfig) -> Result<Self> {
        Ok(LookupColumn {
            into: cfg.into.unwrap_or_else(|| cfg.table.clone()),
            column: cfg.column,
            table: cfg.table,
        })
    }

    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        let tables = ctx.service::<dyn Lookup>()?;
        each_side(change, |rows| self.add(tables, rows))
    }
}

impl LookupColumn {
    fn add(&self, tables: &dyn Lookup, rows: Rows) -> Result<Rows> {
        let column = rows
            .batch()
            .column_by_name(&self.column)
            .ok_or_else(|| Error::msg(format!("the input has no column `{}`", self.column)))?;
        let keys = column
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| {
                Error::msg(format!(
                    "column `{}` is {}, expected Utf8",
                    self.column,
                    column.data_type()
                ))
            })?;
        let values = keys
            .iter()
            .map(|key| match key {
                Some(key) => tables.get(&self.table, key),
                None => Ok(None),
            })
            .collect::<Result<StringArray>>()?;
        with_column(rows, &self.into, values)
    }
}

/// `change` with `f` applied to the rows of every side of every diff.
fn each_side(change: Change, mut f: impl FnMut(Rows) -> Result<Rows>) -> Result<Change> {
    let mut out = change.empty_like();
    for diff in change.diffs {
        out.diffs.push(match diff {
            Diff::Insert { post } => Diff::Insert { post: f(post)? },
            Diff::Update { pre, post } => Diff::Update {
                pre: f(pre)?,
                post: f(post)?,
            },
            Diff::Remove { pre } => Diff::Remove { pre: f(pre)? },
        });
    }
    Ok(out)
}

/// `rows` with a nullable `Utf8` column `name` appended.
fn with_column(rows: Rows, name: &str, values: StringArray) -> Result<Rows> {
    let (numbers, batch) = rows.into_parts();
    let mut fields: Vec<_> = batch.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(name, DataType::Utf8, true)));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(values));
    Rows::new(
        numbers,
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;

    impl Catalog for Fake {
        fn tier(&self, _: &str) -> Option<String> {
            Some("gold".into())
        }
        fn customers_in(&self, _: &str) -> Result<u64> {
            Ok(7)
        }
    }

    fn with_fake(operator: &'static str) -> Box<Context> {
        Context::new(operator).with_service::<dyn Catalog>(Arc::new(Fake))
    }

    #[test]
    fn a_unit_test_holds_an_operator_to_its_requires_as_a_host_does() {
        // Declared: the fake serves.
        let ctx = with_fake("enrich");
        assert_eq!(
            ctx.service::<dyn Catalog>()
                .unwrap()
                .customers_in("eu")
                .unwrap(),
            7
        );
        // Not declared: refused, although the test gave it, as a host refuses it.
        let err = Undeclared
            .apply(&mut with_fake("undeclared"), Change::default())
            .unwrap_err();
        assert_eq!(
            err.message(),
            "the service `Catalog` is not in this operator's `requires`: add it to `#[operator(requires = [..])]`"
        );
        // Neither declared nor given: the advice is to declare it (giving it would not do).
        let err = Undeclared
            .apply(&mut Context::new("undeclared"), Change::default())
            .unwrap_err();
        assert_eq!(
            err.message(),
            "the service `Catalog` is not in this operator's `requires`: add it to `#[operator(requires = [..])]`"
        );
        // The standard services need no listing.
        assert!(with_fake("undeclared").state().is_ok());
        // A name no operator linked here has: nothing to hold it to.
        assert!(with_fake("elsewhere").service::<dyn Catalog>().is_ok());
    }
}

/// Configuration of `background`: how many milliseconds its worker goes on logging after
/// `apply` returns (0, the default: it logs once, and `apply` waits for it).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackgroundConfig {
    /// Milliseconds of logging, one event each, after `apply` returns.
    #[serde(default)]
    pub keep_logging_ms: u64,
}

/// Logs from a thread it spawns in each `apply`, through [`Context::log_handle`].
#[derive(Debug)]
pub struct Background {
    cfg: BackgroundConfig,
}

#[oplink::operator(
    name = "background",
    version = "0.1.0",
    description = "Logs from a thread it spawns, as its instance"
)]
impl Background {
    fn new(cfg: BackgroundConfig) -> Result<Self> {
        Ok(Background { cfg })
    }

    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        let log = ctx.log_handle();
        let (diffs, keep_logging_ms) = (change.diffs.len(), self.cfg.keep_logging_ms);
        let worker = std::thread::spawn(move || {
            log.in_scope(|| {
                let _in_span = tracing::info_span!("worker", diffs).entered();
                tracing::info!(diffs, "from the worker");
                for tick in 0..keep_logging_ms {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    tracing::info!(tick, "still working");
                }
            })
        });
        if keep_logging_ms == 0 {
            worker
                .join()
                .map_err(|_| Error::msg("the worker thread panicked"))?;
        }
        Ok(change)
    }
}

/// Configuration of `strays`: `{"mode": "forget"}` enters a span in each call and
/// forgets the guard (the span, kept in the instance, is never exited); `{"mode": "thread"}`
/// opens a span in each call and drops it on a thread it spawns.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StraySpansConfig {
    /// `"forget"` or `"thread"`.
    pub mode: String,
}

/// Leaves its spans where a host must cope with them.
#[derive(Debug)]
pub struct StraySpans {
    cfg: StraySpansConfig,
    kept: Vec<tracing::Span>,
}

#[oplink::operator(
    name = "strays",
    version = "0.1.0",
    description = "Leaves spans entered, or drops them on its own thread"
)]
impl StraySpans {
    fn new(cfg: StraySpansConfig) -> Result<Self> {
        if !["forget", "thread"].contains(&cfg.mode.as_str()) {
            bail!(
                "`mode` must be \"forget\" or \"thread\", not {:?}",
                cfg.mode
            );
        }
        Ok(StraySpans {
            cfg,
            kept: Vec::new(),
        })
    }

    fn apply(&mut self, _ctx: &mut Context, change: Change) -> Result<Change> {
        let span = tracing::info_span!("stray", version = change.version);
        if self.cfg.mode == "forget" {
            std::mem::forget(span.enter());
            tracing::info!("inside the stray span");
            self.kept.push(span);
        } else {
            std::thread::spawn(move || drop(span))
                .join()
                .map_err(|_| Error::msg("the thread panicked"))?;
        }
        Ok(change)
    }
}
