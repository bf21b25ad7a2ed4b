//! Builds the example plugins (once per test binary) and finds their libraries.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use oplink::{Change, Diff, Rows, Timestamp};

mod folders;
pub use folders::{target_dir, workspace};

/// The example plugin crates the tests load.
const PLUGINS: [&str; 7] = [
    "threshold",
    "running-sum",
    "toolkit",
    "toolkit-next",
    "faulty",
    "enrich",
    "scale",
];

/// Builds the example cdylibs with the cargo running these tests, in the same target folder
/// and profile (debug), and returns the folder holding them.
pub fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(workspace())
            .args(["build", "--quiet", "--target-dir"])
            .arg(target_dir());
        for plugin in PLUGINS {
            cmd.args(["-p", plugin]);
        }
        let status = cmd
            .status()
            .expect("run cargo to build the example plugins");
        assert!(status.success(), "building the example plugins failed");
        target_dir().join("debug")
    })
}

/// The operators of `toolkit`, by name.
pub const TOOLKIT_OPERATORS: [&str; 6] = [
    "delay",
    "passthrough",
    "passthrough_view",
    "sink",
    "tag",
    "tally",
];

/// Path of the library of crate `name` (`running-sum` -> `librunning_sum.so`).
pub fn plugin_path(name: &str) -> PathBuf {
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    plugin_dir().join(file)
}

/// A batch with an `amount` Int64 column and a `customer` Utf8 column.
pub fn batch(amounts: &[i64], customers: &[&str]) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "amount",
            Arc::new(Int64Array::from(amounts.to_vec())) as ArrayRef,
        ),
        (
            "customer",
            Arc::new(StringArray::from(customers.to_vec())) as ArrayRef,
        ),
    ])
    .unwrap()
}

/// Rows numbered from `first`.
pub fn rows(amounts: &[i64], customers: &[&str], first: u64) -> Rows {
    Rows::new(
        (first..first + amounts.len() as u64).collect::<Vec<_>>(),
        batch(amounts, customers),
    )
    .unwrap()
}

/// A change inserting `amounts`.
pub fn insert(version: u64, amounts: &[i64]) -> Change {
    let customers: Vec<&str> = amounts.iter().map(|_| "c").collect();
    Change::new(
        version,
        Timestamp(1_000),
        vec![Diff::Insert {
            post: rows(amounts, &customers, 0),
        }],
    )
}

/// The values of the `amount` column (Int64) of `rows`.
pub fn amounts(rows: &Rows) -> Vec<i64> {
    rows.batch()
        .column_by_name("amount")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .values()
        .to_vec()
}

/// The rows `toolkit`'s `tally` counted and the build that counts them, as `pull` reports.
pub fn tally_report(live: &oplink_host::LiveInstance) -> (u64, String) {
    use oplink::arrow::array::{Array, UInt64Array};
    let batch = live.pull(&[0]).unwrap();
    let rows = batch
        .column(0)
        .as_any()
        .downcast_ref::<UInt64Array>()
        .unwrap()
        .value(0);
    let build = batch
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .value(0)
        .to_owned();
    (rows, build)
}

/// One event as the host's subscriber saw it.
#[derive(Debug, Clone)]
pub struct Captured {
    pub level: tracing::Level,
    pub target: String,
    pub fields: Vec<(String, String)>,
}

impl Captured {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A subscriber that records every event.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<Captured>>>);

/// Writes down each field of an event or span as a name and its text.
pub struct Visitor<'a>(pub &'a mut Vec<(String, String)>);

impl tracing::field::Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Visitor(&mut fields));
        self.0.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields,
        });
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Runs `body` in a child process (this test binary again, running only test `name`), so a
/// crash of the host shows as a failed assertion naming the signal, not as a dead test run.
/// Returns, in the parent, what the child wrote to standard error (`None` in the child).
pub fn in_child(name: &str, body: impl FnOnce()) -> Option<String> {
    const CHILD: &str = "OPLINK_TEST_CHILD";
    if std::env::var(CHILD).as_deref() == Ok(name) {
        body();
        return None;
    }
    let output = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .output()
        .expect("run the test binary again");
    let how = match output.status.code() {
        Some(code) => format!("exit code {code}"),
        None => {
            use std::os::unix::process::ExitStatusExt;
            format!("signal {}", output.status.signal().unwrap_or(0))
        }
    };
    assert!(
        output.status.success(),
        "`{name}` failed in its child process ({how}):\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stderr).into_owned())
}

/// `tests/fixtures/broken.c` built with `-D{variant}` (one library per variant) against
/// `oplink.h`, with the system C compiler (`$CC`, default `cc`).
pub fn fixture(variant: &str) -> PathBuf {
    fixture_of("broken", variant)
}

/// `tests/fixtures/{source}.c` built with `-D{variant}`, as [`fixture`] builds `broken.c`.
pub fn fixture_of(source: &str, variant: &str) -> PathBuf {
    // Built once per process, into a folder of the process's own: a library rebuilt at a
    // path a process loaded from (by another test process, say one of `in_child`) is a
    // replaced file, which the host refuses to load again by that path.
    static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let key = format!("{source}/{variant}");
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = built.iter().find(|(v, _)| *v == key) {
        return path.clone();
    }
    let path = build_fixture(source, variant);
    built.push((key, path.clone()));
    path
}

fn build_fixture(source: &str, variant: &str) -> PathBuf {
    let all = workspace().join("target").join("broken-fixtures");
    let dir = all.join(format!("p{}", std::process::id()));
    if !dir.exists() {
        // The folders of test processes that have ended go.
        for entry in std::fs::read_dir(&all).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix('p').and_then(|p| p.parse::<u32>().ok())
                && !Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    std::fs::create_dir_all(&dir).unwrap();
    let stem = if source == "broken" {
        variant.to_lowercase()
    } else {
        format!("{source}_{}", variant.to_lowercase())
    };
    let out = dir.join(format!("lib{stem}{}", std::env::consts::DLL_SUFFIX));
    let source = workspace().join(format!("host/tests/fixtures/{source}.c"));
    let include = workspace().join("sdk/include");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    // Compiled to a name of its own, then renamed: parallel tests may build the same one.
    let partial = out.with_extension(format!("{}.partial", std::process::id()));
    let status = Command::new(&cc)
        .args([
            "-std=c11",
            "-shared",
            "-fPIC",
            "-O0",
            "-Wall",
            "-Werror",
            "-Wno-unused-function",
            "-Wno-unused-const-variable",
            "-Wno-unused-variable",
        ])
        .arg("-I")
        .arg(include)
        .arg(format!("-D{variant}"))
        .arg("-o")
        .arg(&partial)
        .arg(&source)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(status.success(), "compiling the {variant} fixture failed");
    std::fs::rename(&partial, &out).unwrap();
    out
}
