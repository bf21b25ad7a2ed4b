//! An operator that fails on purpose, for testing hosts: configured with the method to fail
//! in and how (`"panic"` or `"error"`; `"short"` makes `pull` answer one row fewer than
//! asked; `"bad_utf8"` makes `apply` or `tick` return a Utf8 column that is not UTF-8, as
//! an operator written in C can; `"panic_on_free"` makes `apply` return a column whose
//! buffer panics when it is freed, after the call; `"own_context"` makes `apply` make a
//! context of its own with `Context::new`, which a plugin must not; `"drop_while_unwinding"`
//! makes `apply` panic with a value on its stack whose `Drop` panics too, and
//! `"panic_in_extern_c"` makes `apply` panic inside an `extern "C"` function of its own,
//! which both abort the process), it implements every
//! method and fails in that one. With `"once": "<marker>"`, `new` also fails for every
//! instance after the first created with that marker in the process: what a recovery that
//! cannot create the operator again meets.

use oplink::prelude::*;

/// Configuration: `{"fail_in": "apply", "how": "panic"}`; `fail_in` may also be `"new"`,
/// `"pull"`, `"tick"`, `"flush_state"`, `"snapshot"`, `"restore"` or `"drop"`. With
/// `"hook": "replace"` (or `"chain"`), `new` installs a panic hook of its own that replaces
/// oplink's (or chains to it), to show what that does to the panics oplink reports.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The method that fails.
    pub fail_in: String,
    /// `"panic"`, `"error"`, `"short"` (`pull`), `"bad_utf8"` (`apply`, `tick`),
    /// `"panic_on_free"`, `"own_context"`, `"drop_while_unwinding"` or
    /// `"panic_in_extern_c"` (`apply`).
    pub how: String,
    /// `"replace"` or `"chain"`: install a panic hook in `new`.
    #[serde(default)]
    pub hook: Option<String>,
    /// A marker: `new` fails for every instance after the first created with it in this
    /// process (so a recovery, which creates the operator again, fails).
    #[serde(default)]
    pub once: Option<String>,
}

/// Fails in the configured method; works everywhere else.
#[derive(Debug)]
pub struct Faulty {
    cfg: Config,
    state: Vec<u8>,
}

impl Faulty {
    fn maybe_fail(&self, method: &str) -> Result<()> {
        if self.cfg.fail_in != method {
            return Ok(());
        }
        match self.cfg.how.as_str() {
            "panic" => panic!("faulty panics in {method}"),
            _ => Err(Error::msg(format!("faulty fails in {method}"))),
        }
    }
}

impl Drop for Faulty {
    fn drop(&mut self) {
        if self.cfg.fail_in == "drop" && !std::thread::panicking() {
            panic!("faulty panics in drop");
        }
    }
}

#[oplink::operator(name = "faulty", version = "0.1.0", description = "Fails on purpose")]
impl Faulty {
    fn new(cfg: Config) -> Result<Self> {
        // `"short"` (with `"fail_in": "pull"`): `pull` answers one row fewer than asked;
        // `"bad_utf8"` (with `"fail_in": "apply"` or `"tick"`): it returns text that is not
        // UTF-8; `"panic_on_free"` (with `"fail_in": "apply"`): what it returns panics when
        // it is freed.
        const HOWS: [&str; 8] = [
            "panic",
            "error",
            "short",
            "bad_utf8",
            "panic_on_free",
            "own_context",
            "drop_while_unwinding",
            "panic_in_extern_c",
        ];
        if !HOWS.contains(&cfg.how.as_str()) {
            bail!("`how` must be one of {HOWS:?}, not {:?}", cfg.how);
        }
        let methods: &[&str] = match cfg.how.as_str() {
            "short" => &["pull"],
            "bad_utf8" => &["apply", "tick"],
            "panic_on_free" | "own_context" | "drop_while_unwinding" | "panic_in_extern_c" => {
                &["apply"]
            }
            _ => &[],
        };
        if !methods.is_empty() && !methods.contains(&cfg.fail_in.as_str()) {
            let names: Vec<String> = methods.iter().map(|m| format!("{m:?}")).collect();
            bail!(
                "`how` {:?} is for `fail_in` {}, not {:?}",
                cfg.how,
                names.join(" or "),
                cfg.fail_in
            );
        }
        match cfg.hook.as_deref() {
            None => {}
            // What a plugin must not do: oplink's hook is gone, so panics lose their
            // location (and this hook would print each of them).
            Some("replace") => std::panic::set_hook(Box::new(|_| {})),
            // What a plugin may do: its hook runs, then oplink's.
            Some("chain") => {
                let previous = std::panic::take_hook();
                std::panic::set_hook(Box::new(move |info| previous(info)));
            }
            Some(other) => bail!("`hook` must be \"replace\" or \"chain\", not {other:?}"),
        }
        if let Some(marker) = &cfg.once {
            static CREATED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
            let mut created = CREATED.lock().unwrap_or_else(|e| e.into_inner());
            if created.contains(marker) {
                bail!("faulty fails every creation after the first with `once` {marker:?}");
            }
            created.push(marker.clone());
        }
        let this = Faulty {
            cfg,
            state: b"initial".to_vec(),
        };
        this.maybe_fail("new")?;
        Ok(this)
    }

    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        if self.cfg.fail_in == "apply" && self.cfg.how == "bad_utf8" {
            return not_utf8(&change);
        }
        if self.cfg.fail_in == "apply" && self.cfg.how == "panic_on_free" {
            return panics_when_freed(change);
        }
        if self.cfg.fail_in == "apply" && self.cfg.how == "own_context" {
            // What a plugin must not do: this context's state would be kept nowhere.
            let own = Context::new("faulty");
            own.state()?.put(b"lost", b"1")?;
        }
        if self.cfg.fail_in == "apply" && self.cfg.how == "drop_while_unwinding" {
            // What Rust cannot contain: this `Drop` panics while the panic below unwinds.
            struct PanicsInDrop;
            impl Drop for PanicsInDrop {
                fn drop(&mut self) {
                    panic!("faulty panics in a drop during unwinding");
                }
            }
            let _guard = PanicsInDrop;
            panic!("faulty panics in apply, with a value that panics in its drop");
        }
        if self.cfg.fail_in == "apply" && self.cfg.how == "panic_in_extern_c" {
            // What Rust cannot contain either: a panic that reaches an `extern "C"` function
            // (a callback handed to a C library, say) aborts rather than unwinds out of it.
            extern "C" fn callback() {
                panic!("faulty panics in an extern C function");
            }
            callback();
        }
        self.maybe_fail("apply")?;
        let _ = ctx.operator();
        Ok(change)
    }

    fn pull(&mut self, rows: &[RowNumber]) -> Result<RecordBatch> {
        let answered = if self.cfg.fail_in == "pull" && self.cfg.how == "short" {
            &rows[..rows.len().saturating_sub(1)]
        } else {
            self.maybe_fail("pull")?;
            rows
        };
        let numbers = UInt64Array::from(answered.to_vec());
        Ok(RecordBatch::try_from_iter([(
            "row",
            std::sync::Arc::new(numbers) as ArrayRef,
        )])?)
    }

    fn tick(&mut self, now: Timestamp) -> Result<Option<Change>> {
        if self.cfg.fail_in == "tick" && self.cfg.how == "bad_utf8" {
            return not_utf8(&Change::new(1, now, Vec::new())).map(Some);
        }
        self.maybe_fail("tick")?;
        Ok((now.as_nanos() % 2 == 0).then(|| Change::new(1, now, Vec::new())))
    }

    fn flush_state(&mut self) -> Result<()> {
        self.maybe_fail("flush_state")
    }

    fn snapshot(&self) -> Result<Vec<u8>> {
        self.maybe_fail("snapshot")?;
        Ok(self.state.clone())
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        self.maybe_fail("restore")?;
        self.state = snapshot.to_vec();
        Ok(())
    }
}

/// `change` with a column `boom` added to every side, whose buffer panics when the last
/// array sharing it is freed: the plugin frees it when the host releases the output, in a
/// `release` called from the host, where no panic may unwind.
fn panics_when_freed(change: Change) -> Result<Change> {
    use oplink::arrow::buffer::{Buffer, ScalarBuffer};

    struct PanicsWhenFreed(Vec<u8>);
    impl AsRef<[u8]> for PanicsWhenFreed {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }
    impl Drop for PanicsWhenFreed {
        fn drop(&mut self) {
            panic!("faulty panics as its output is freed");
        }
    }

    let map = |rows: Rows| {
        rows.map(|batch| {
            let bytes = bytes::Bytes::from_owner(PanicsWhenFreed(vec![7; batch.num_rows()]));
            let boom = oplink::arrow::array::UInt8Array::new(
                ScalarBuffer::from(Buffer::from(bytes)),
                None,
            );
            let mut columns = batch.columns().to_vec();
            columns.push(std::sync::Arc::new(boom));
            let mut fields: Vec<_> = batch.schema().fields().iter().cloned().collect();
            fields.push(std::sync::Arc::new(Field::new(
                "boom",
                DataType::UInt8,
                false,
            )));
            Ok(RecordBatch::try_new(
                std::sync::Arc::new(Schema::new(fields)),
                columns,
            )?)
        })
    };
    let diffs = change
        .diffs
        .into_iter()
        .map(|diff| {
            Ok(match diff {
                Diff::Insert { post } => Diff::Insert { post: map(post)? },
                Diff::Update { pre, post } => Diff::Update {
                    pre: map(pre)?,
                    post: map(post)?,
                },
                Diff::Remove { pre } => Diff::Remove { pre: map(pre)? },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Change::new(change.version, change.changed_at, diffs))
}

/// A change of one inserted row whose `text` column holds the byte 0xff: what an operator
/// written in C returns when it upper-cases Latin-1 text byte by byte.
fn not_utf8(change: &Change) -> Result<Change> {
    use oplink::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
    // SAFETY: two offsets in order, within the one byte of data. That the byte is not
    // UTF-8 breaks `StringArray`'s contract on purpose, for hosts to catch: nothing here
    // reads it as text.
    let text = unsafe {
        StringArray::new_unchecked(
            OffsetBuffer::new_unchecked(ScalarBuffer::from(vec![0, 1])),
            Buffer::from(vec![0xff_u8]),
            None,
        )
    };
    let batch = RecordBatch::try_from_iter([("text", std::sync::Arc::new(text) as ArrayRef)])?;
    let post = Rows::new(vec![0], batch)?;
    Ok(Change::new(
        change.version,
        change.changed_at,
        vec![Diff::Insert { post }],
    ))
}

// Beside `faulty` (at the end, so that its lines keep their numbers, which the README
// quotes): operators with one of the two state methods, for hosts' tests.

/// Has `restore` and no `snapshot`: what a build that dropped `snapshot` (and kept
/// `restore`) is to a host. Passes every change through; keeps what it was given back.
#[derive(Debug, Default)]
pub struct RestoreOnly {
    restored: Vec<u8>,
}

#[oplink::operator(
    name = "restore_only",
    version = "0.1.0",
    description = "Takes a snapshot back, and has no `snapshot` (for tests)"
)]
impl RestoreOnly {
    fn new() -> Result<Self> {
        Ok(RestoreOnly::default())
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        self.restored = snapshot.to_vec();
        Ok(())
    }
}

/// Has `snapshot` and no `restore`: its snapshot can be taken and never given back.
/// Passes every change through.
#[derive(Debug, Default)]
pub struct SnapshotOnly;

#[oplink::operator(
    name = "snapshot_only",
    version = "0.1.0",
    description = "Takes a snapshot, and has no `restore` (for tests)"
)]
impl SnapshotOnly {
    fn new() -> Result<Self> {
        Ok(SnapshotOnly)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }

    fn snapshot(&self) -> Result<Vec<u8>> {
        Ok(b"never given back".to_vec())
    }
}
