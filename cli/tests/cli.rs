//! The `oplink` binary, run as a user runs it: every subcommand, every input and output
//! format, and every error a person can meet, against the real example plugins.

#[path = "../../host/tests/common/mod.rs"]
mod common;

use assert_cmd::Command;
use common::{fixture, plugin_path, workspace};

/// The `oplink` binary, run from the workspace.
fn oplink() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oplink"));
    cmd.current_dir(workspace())
        .env_remove("OPLINK_PLUGIN_PATH");
    cmd
}

/// `--plugins` arguments naming the libraries of these example crates.
fn plugins(crates: &[&str]) -> Vec<String> {
    crates
        .iter()
        .flat_map(|c| ["--plugins".to_owned(), plugin_path(c).display().to_string()])
        .collect()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `cmd`, expecting it to fail with exactly one line on stderr: `oplink: {message}`.
/// What a command that fails with status 1 writes to standard error.
fn failure(cmd: &mut Command) -> String {
    stderr(&cmd.assert().failure().code(1).get_output().clone())
}

fn fails_with(cmd: &mut Command, message: &str) {
    let output = cmd.assert().failure().code(1).get_output().clone();
    assert_eq!(stderr(&output), format!("oplink: {message}\n"));
}

/// `oplink run --quiet --to csv --emit inserts FILE`, which must succeed: what it printed.
fn inserts_csv(path: &std::path::Path) -> std::process::Output {
    oplink()
        .args(["run", "--quiet", "--to", "csv", "--emit", "inserts"])
        .arg(path)
        .assert()
        .success()
        .get_output()
        .clone()
}

const ORDERS: &str = "examples/data/orders.csv";
const THRESHOLD: &str = r#"threshold={"column": "amount", "min": 10}"#;

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in ["inspect", "check", "run", "new"] {
        let output = oplink()
            .args([sub, "--help"])
            .assert()
            .success()
            .get_output()
            .clone();
        let text = stdout(&output);
        assert!(text.contains("Examples:"), "{sub} --help:\n{text}");
        assert!(
            text.contains(&format!("oplink {sub}")),
            "{sub} --help:\n{text}"
        );
    }
    let output = oplink()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(stdout(&output).contains("oplink run examples/data/orders.csv"));
}

/// `--op t={"column":"amount","min":10}` without single quotes reaches the command as
/// `--op t=column:amount t=min:10` (the shell removes the quotes and expands the braces at
/// the comma): clap refuses the second word, and a tip says how to quote the option.
#[test]
fn a_configuration_the_shell_split_gets_a_tip_on_quoting() {
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--op",
            "threshold=column:amount",
            "threshold=min:10",
        ])
        .assert()
        .failure()
        .code(2)
        .get_output()
        .clone();
    let text = stderr(&output);
    assert!(
        text.starts_with("error: unexpected argument 'threshold=min:10' found")
            && text.ends_with("\n  tip: `threshold=min:10` looks like part of the configuration of `threshold`, split by the shell at a comma (with its braces and quotes taken away): put the whole option in single quotes, --op 'threshold={\"key\": \"value\", \"other\": 1}'\n"),
        "{text}"
    );
    // `--op threshold={"column": "amount", "min": 10}` without quotes: split at each space
    // too, its first piece leaving its brace open.
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--op",
            "threshold={column:",
            "amount,",
            "min:",
            "10}",
        ])
        .assert()
        .failure()
        .code(2)
        .get_output()
        .clone();
    let text = stderr(&output);
    assert!(
        text.starts_with("error: unexpected argument 'amount,' found")
            && text.ends_with("\n  tip: `amount,` looks like part of the configuration of `threshold`, split by the shell at a space: put the whole option in single quotes, --op 'threshold={\"key\": \"value\", \"other\": 1}'\n"),
        "{text}"
    );
    // Another argument clap refuses gets clap's message alone.
    let output = oplink()
        .args(["run", ORDERS, "--op", "threshold", "other=a:b"])
        .assert()
        .failure()
        .code(2)
        .get_output()
        .clone();
    assert!(!stderr(&output).contains("tip: `"), "{}", stderr(&output));
}

#[test]
fn run_v_shows_the_operators_info_logs_vv_their_debug_logs_and_vvv_their_trace_logs() {
    let run = |extra: &[&str]| {
        let output = oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none"])
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .clone();
        stderr(&output)
    };
    let (info, debug, trace) = ("summing", "a change summed", "sums kept");
    let plain = run(&[]);
    assert!(!plain.contains(info) && !plain.contains(debug), "{plain}");
    let verbose = run(&["-v"]);
    assert!(
        verbose.contains(info) && verbose.contains(r#"key="customer""#) && !verbose.contains(debug),
        "{verbose}"
    );
    let very = run(&["-vv"]);
    assert!(
        very.contains(info) && very.contains(debug) && !very.contains(trace),
        "{very}"
    );
    let most = run(&["-vvv"]);
    assert!(most.contains(debug) && most.contains(trace), "{most}");
    // Only `run` runs operators in this process, so only it takes `-v`.
    let help = oplink()
        .args(["new", "--help"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(!stdout(&help).contains("--verbose"), "{}", stdout(&help));
}

#[test]
fn run_log_filters_events_by_target() {
    let run = |filter: &str| {
        let output = oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none"])
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ])
            .args(["--log", filter])
            .assert()
            .success()
            .get_output()
            .clone();
        stderr(&output)
    };
    let (info, debug, trace) = ("summing", "a change summed", "sums kept");
    // The operator's own target at trace: all three, each line naming its target.
    let named = run("running_sum=trace");
    assert!(
        named.contains(info) && named.contains(debug) && named.contains(trace),
        "{named}"
    );
    assert!(named.contains("running_sum: summing"), "{named}");
    // Another target at debug: none of the operator's, but oplink's own.
    let other = run("oplink_host=debug");
    assert!(!other.contains(info) && !other.contains(debug), "{other}");
    assert!(other.contains("oplink_host"), "{other}");
    // A bare level is the default for every target.
    let all = run("debug");
    assert!(all.contains(debug) && !all.contains(trace), "{all}");
    // A target the filter does not name keeps its warnings: here oplink's own, of an
    // instance whose drop panicked.
    let output = oplink()
        .args(["run", ORDERS, "--quiet", "--to", "none"])
        .args(plugins(&["faulty"]))
        .args(["--op", r#"faulty={"fail_in": "drop", "how": "panic"}"#])
        .args(["--log", "running_sum=trace"])
        .assert()
        .success()
        .get_output()
        .clone();
    let warned = stderr(&output);
    assert!(
        warned.contains("WARN oplink_host")
            && warned.contains("destroying an operator instance failed"),
        "{warned}"
    );

    let bad = oplink()
        .args(["run", ORDERS, "--log", "running_sum=loud"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let text = stderr(&bad);
    assert!(
        text.contains("invalid value 'running_sum=loud' for '--log <FILTER>'")
            && text.contains("expected a level, `TARGET=LEVEL`, or both"),
        "{text}"
    );
    let both = oplink()
        .args(["run", ORDERS, "--log", "debug", "-v"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let text = stderr(&both);
    assert!(text.contains("cannot be used with"), "{text}");
}

#[test]
fn inspect_prints_the_build_and_every_operator() {
    let lib = plugin_path("enrich");
    let output = oplink()
        .arg("inspect")
        .arg(&lib)
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&output);
    for expected in [
        format!("library   {}", lib.display()),
        "ABI       2.2 (layout fingerprint 0x".to_owned(),
        "oplink    0.2.0".to_owned(),
        "compiler  rustc ".to_owned(),
        "target    x86_64-".to_owned(),
        "profile   debug".to_owned(),
        "panic     unwind".to_owned(),
        "enrich      0.1.0    flush_state  Catalog        Adds each customer's tier from the host's catalog".to_owned(),
        "service Catalog 0x".to_owned(),
        "fn tier(&self, customer: &str) -> Option<String>".to_owned(),
        "standard services: oplink.Clock 0x6d72ec46c0f44dab".to_owned(),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn inspect_json_has_the_same_facts() {
    let output = oplink()
        .args(["inspect", "--json"])
        .arg(plugin_path("threshold"))
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&output);
    // The fields in the order a person reads them, not sorted.
    let at = |key: &str| text.find(&format!("\"{key}\"")).unwrap();
    assert!(
        at("path") < at("abi") && at("abi") < at("operators"),
        "{text}"
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let lib = &value[0];
    assert_eq!(lib["abi"], "2.2");
    assert_eq!(lib["panic_strategy"], "unwind");
    assert_eq!(lib["profile"], "debug");
    assert!(
        lib["layout_fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("0x")
    );
    let op = &lib["operators"][0];
    assert_eq!(op["name"], "threshold");
    assert_eq!(op["version"], "1.0.0");
    assert_eq!(op["implements"], serde_json::json!([]));
    let log = &op["requires"][0];
    assert_eq!(log["name"], "oplink.Log");
    assert_eq!(log["standard"], true);
    assert_eq!(log["methods"][0]["name"], "max_level");
}

#[test]
fn inspect_a_c_library_and_a_folder() {
    let output = oplink()
        .arg("inspect")
        .arg(c_operator::LIBRARY)
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&output);
    assert!(text.contains("compiler  cc"), "{text}");
    assert!(text.contains("c_filter  1.0.0"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_path("threshold"), dir.path().join("libthreshold.so")).unwrap();
    std::fs::copy(fixture("ABI_MAJOR"), dir.path().join("libabi3.so")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a library").unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("libthreshold.so"),
        dir.path().join("liblinked.so"),
    )
    .unwrap();
    let output = oplink()
        .arg("inspect")
        .arg(dir.path())
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&output);
    assert!(text.contains("threshold  1.0.0"), "{text}");
    // A link is passed over, as discovery passes links over, and said so.
    assert!(!text.contains("liblinked.so"), "{text}");
    assert_eq!(
        stderr(&output),
        format!(
            "oplink: warning: skipped `{}`: a symbolic link (discovery follows none)\n",
            dir.path().join("liblinked.so").display()
        )
    );
    assert!(
        text.contains("REJECTED  `") && text.contains("libabi3.so` was built for oplink ABI 3"),
        "{text}"
    );
    // Every library's path is shown alike, absolute, rejected or not, also for a folder
    // named relative to the current one.
    let relative = oplink()
        .current_dir(dir.path().parent().unwrap())
        .arg("inspect")
        .arg(dir.path().file_name().unwrap())
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&relative);
    for library in ["libabi3.so", "libthreshold.so"] {
        assert!(
            text.contains(&format!(
                "library   {}\n",
                dir.path().join(library).display()
            )),
            "{text}"
        );
    }

    let empty = tempfile::tempdir().unwrap();
    fails_with(
        oplink().arg("inspect").arg(empty.path()),
        &format!("`{}` holds no oplink plugins", empty.path().display()),
    );
    std::os::unix::fs::symlink(
        dir.path().join("libthreshold.so"),
        empty.path().join("liblinked.so"),
    )
    .unwrap();
    fails_with(
        oplink().arg("inspect").arg(empty.path()),
        &format!(
            "`{}` holds no oplink plugins (it holds 1 symbolic link, which discovery does not follow: inspect the file it points to)",
            empty.path().display()
        ),
    );
}

#[test]
fn check_passes_good_libraries_and_exits_zero() {
    let output = oplink()
        .arg("check")
        .arg(plugin_path("threshold"))
        .arg(c_operator::LIBRARY)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        format!(
            "ok       {}: threshold 1.0.0\nok       {}: c_filter 1.0.0\n",
            plugin_path("threshold").display(),
            c_operator::LIBRARY
        )
    );
}

/// A folder of one good library and every kind of bad one: each gets its line, the
/// command survives the library whose constructor aborts, and exits 1.
#[test]
fn check_reports_each_bad_library_and_exits_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(plugin_path("threshold"), d.join("libgood.so")).unwrap();
    std::fs::copy(fixture("ABI_MAJOR"), d.join("libabi3.so")).unwrap();
    std::fs::copy(fixture("CTOR_ABORT"), d.join("libctor.so")).unwrap();
    let mut arm = std::fs::read(plugin_path("threshold")).unwrap();
    arm[0x12..0x14].copy_from_slice(&183u16.to_le_bytes());
    std::fs::write(d.join("libarm.so"), arm).unwrap();
    let output = oplink()
        .arg("check")
        .arg(d)
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    let text = stdout(&output);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no line for {name} in:\n{text}"))
            .to_owned()
    };
    let path = |name: &str| d.join(name).display().to_string();
    assert_eq!(
        line("libabi3.so"),
        format!(
            "FAILED   {}: `{}` was built for oplink ABI 3, but this host speaks ABI 2: load it with a host built on a newer oplink",
            path("libabi3.so"),
            path("libabi3.so")
        )
    );
    assert_eq!(
        line("libarm.so"),
        format!(
            "FAILED   {}: `{}` is not a library for this host: it was built for aarch64, and this host is x86_64",
            path("libarm.so"),
            path("libarm.so")
        )
    );
    assert!(line("libctor.so").starts_with("FAILED   "), "{text}");
    assert!(line("libctor.so").contains("SIGABRT"), "{text}");
    assert_eq!(
        line("libgood.so"),
        format!("ok       {}: threshold 1.0.0", path("libgood.so"))
    );
    assert_eq!(
        stderr(&output),
        "oplink: 3 of 4 libraries failed the check\n"
    );
    // A library named by itself and in its folder is said once.
    let output = oplink()
        .arg("check")
        .arg(d.join("libgood.so"))
        .arg(d)
        .assert()
        .failure()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output).matches("libgood.so").count(),
        1,
        "{}",
        stdout(&output)
    );
    // A link to a library in its folder is skipped, and hides not the library's verdict.
    let linked = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("ABI_MAJOR"), linked.path().join("libabi3.so")).unwrap();
    std::os::unix::fs::symlink("libabi3.so", linked.path().join("a.so")).unwrap();
    let output = oplink()
        .arg("check")
        .arg(linked.path())
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    assert!(
        stdout(&output).starts_with(&format!(
            "FAILED   {}",
            linked.path().join("libabi3.so").display()
        )),
        "{}",
        stdout(&output)
    );
    // A loop of links is no missing file.
    let looped = tempfile::tempdir().unwrap();
    let (one, two) = (
        looped.path().join("libone.so"),
        looped.path().join("libtwo.so"),
    );
    std::os::unix::fs::symlink(&two, &one).unwrap();
    std::os::unix::fs::symlink(&one, &two).unwrap();
    let output = oplink()
        .arg("check")
        .arg(&one)
        .assert()
        .failure()
        .get_output()
        .clone();
    assert!(
        stdout(&output).ends_with("Too many levels of symbolic links\n"),
        "{}",
        stdout(&output)
    );

    // A path that is not there, and a folder with no plugin: each a FAILED line.
    let empty = tempfile::tempdir().unwrap();
    let output = oplink()
        .args(["check", "no/such.so"])
        .arg(empty.path())
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        format!(
            "FAILED   no/such.so: does not exist\nFAILED   {}: a folder without oplink plugins (*.so)\n",
            empty.path().display()
        )
    );
    assert_eq!(
        stderr(&output),
        "oplink: 2 of 2 paths failed the check; `no/such.so` does not exist\n"
    );
    // A path that is not there is no library: the summary counts paths, and says which is
    // not there (or how many).
    fails_with(
        oplink().args(["check", "/nonexistent"]),
        "1 of 1 path failed the check; `/nonexistent` does not exist",
    );
    fails_with(
        oplink()
            .args(["check", "no/such.so", "/nonexistent"])
            .arg(plugin_path("threshold")),
        "2 of 3 paths failed the check; 2 of them do not exist",
    );
}

#[test]
fn run_prints_the_pipeline_as_a_table_with_a_summary() {
    let output = oplink()
        .args(["run", ORDERS, "--batch-size", "4"])
        .args(plugins(&["threshold", "enrich", "running-sum"]))
        .args(["--op", THRESHOLD])
        .args([
            "--op",
            r#"lookup={"column": "customer", "table": "tiers", "into": "tier"}"#,
        ])
        .args(["--lookup", "tiers=examples/data/tiers.csv"])
        .args(["--op", r#"running_sum={"key": "tier", "value": "amount"}"#])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        "\
+----+--------+-----+
| op | tier   | sum |
+----+--------+-----+
| +I | gold   | 77  |
| +I | silver | 95  |
| +I | bronze | 31  |
| -U | gold   | 77  |
| +U | gold   | 87  |
+----+--------+-----+
"
    );
    let summary = stderr(&output);
    assert!(
        summary.starts_with("read 10 rows in 3 changes from `examples/data/orders.csv`"),
        "{summary}"
    );
    let rows: Vec<Vec<&str>> = summary
        .lines()
        .skip(2)
        .take(3)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0][..3], ["threshold", "10", "7"]);
    assert_eq!(rows[1][..3], ["lookup", "7", "7"]);
    assert_eq!(rows[2][..3], ["running_sum", "7", "4"]);
    assert!(summary.contains("wrote 5 rows"), "{summary}");
    // Not a terminal: no progress bar.
    assert!(!summary.contains("reading"), "{summary}");
}

/// An operator the chain names twice has its place beside its name in the summary.
#[test]
fn the_summary_tells_an_operator_named_twice_apart() {
    let output = oplink()
        .args(["run", ORDERS, "--to", "none"])
        .args(plugins(&["toolkit"]))
        .args([
            "--op",
            r#"tally={"key": "customer"}"#,
            "--op",
            "passthrough",
        ])
        .args(["--op", r#"tally={"key": "customer"}"#])
        .assert()
        .success()
        .get_output()
        .clone();
    let names: Vec<String> = stderr(&output)
        .lines()
        .skip(2)
        .take(3)
        .map(|l| l.split("  ").next().unwrap().trim().to_owned())
        .collect();
    assert_eq!(names, ["tally (1st)", "passthrough", "tally (2nd)"]);
}

/// A table longer than 10,000 rows is printed as it comes, in tables of 10,000 rows each
/// (batches split where a part ends), every row once and in order.
#[test]
fn run_prints_a_long_table_in_parts_of_ten_thousand_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long.csv");
    let mut csv = String::from("n\n");
    for n in 0..25_001 {
        csv.push_str(&format!("{n}\n"));
    }
    std::fs::write(&input, csv).unwrap();
    let output = oplink()
        .args(["run", input.to_str().unwrap(), "--batch-size", "3000"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = stdout(&output);
    let mut tables: Vec<Vec<u64>> = Vec::new();
    for line in stdout.lines() {
        if line.starts_with("| op | n ") {
            tables.push(Vec::new());
        } else if let Some(rest) = line.strip_prefix("| +I | ") {
            let n = rest.trim_end_matches(['|', ' ']).parse().unwrap();
            tables.last_mut().expect("a header first").push(n);
        }
    }
    let sizes: Vec<usize> = tables.iter().map(Vec::len).collect();
    assert_eq!(sizes, [10_000, 10_000, 5_001], "{}", &stdout[..200]);
    assert!(tables.concat().into_iter().eq(0..25_001));
}

/// A table cuts a long value (text, or bytes in hex) to 1,000 characters and says how long
/// it was: laying out a cell of megabytes took minutes. Other formats write it whole.
#[test]
fn a_table_cuts_long_values_short_and_other_formats_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long.csv");
    let long = "é".repeat(3_000_000);
    std::fs::write(&input, format!("id,text\n1,short\n2,{long}\n")).unwrap();
    let output = oplink()
        .arg("run")
        .arg(&input)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .success()
        .get_output()
        .clone();
    let table = stdout(&output);
    let cut = format!(
        "{}… (3000000 characters; the table shows 1000)",
        "é".repeat(1_000)
    );
    assert!(
        table.contains(&cut) && table.contains("| short"),
        "{}",
        &table[..300]
    );
    assert!(table.len() < 10_000, "{} bytes", table.len());
    let csv = dir.path().join("out.csv");
    oplink()
        .arg("run")
        .arg(&input)
        .arg("-o")
        .arg(&csv)
        .assert()
        .success();
    assert!(std::fs::read_to_string(&csv).unwrap().contains(&long));
}

/// Writes `batch` to `path` as an Arrow IPC file.
fn write_arrow_file(path: &std::path::Path, batch: &oplink::arrow::array::RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
    writer.write(batch).unwrap();
    writer.finish().unwrap();
}

/// A union column is refused by JSON lines before anything is written, naming it (arrow-json
/// said "Unsupported data type for JSON encoding" with the type's debug form).
#[test]
fn json_lines_refuse_a_union_column_naming_it() {
    use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch, UnionArray};
    use oplink::arrow::schema::{DataType, Field, UnionFields};
    let fields = UnionFields::try_new([0], [Field::new("n", DataType::Int64, true)]).unwrap();
    let union = UnionArray::try_new(
        fields,
        vec![0i8, 0].into(),
        None,
        vec![std::sync::Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef],
    )
    .unwrap();
    let batch =
        RecordBatch::try_from_iter([("u", std::sync::Arc::new(union) as ArrayRef)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("union.arrow");
    write_arrow_file(&path, &batch);
    fails_with(
        oplink().args(["run", "--to", "jsonl"]).arg(&path),
        "cannot write the output: JSON lines cannot hold the column `u` of type Union(Sparse, 0: (\"n\": Int64)): write `--to ipc` or `parquet`",
    );
}

/// A CSV timestamp that ends with a zone's name is read in UTC, as one with an offset is,
/// and written so (it was shifted to UTC and written without a zone: hours off).
#[test]
fn a_csv_timestamp_with_a_zone_name_is_kept_in_utc() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zones.csv");
    std::fs::write(
        &path,
        "t\n2024-01-01T00:00:00 EST\n2024-01-01 00:00:00 Asia/Kolkata\n",
    )
    .unwrap();
    let output = oplink()
        .args(["run", "--quiet", "--to", "jsonl"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        "{\"op\":\"+I\",\"t\":\"2024-01-01T05:00:00Z\"}\n{\"op\":\"+I\",\"t\":\"2023-12-31T18:30:00Z\"}\n"
    );
}

/// A date or duration past what text can show is refused by the text formats, naming the
/// column (arrow-rs wrote JSON lines and tables with the text of its error in the value's
/// place, and exited 0); Arrow IPC keeps it.
#[test]
fn times_past_what_text_can_show_are_refused_by_text_formats() {
    use oplink::arrow::array::{ArrayRef, Date32Array, DurationSecondArray, RecordBatch};
    let dir = tempfile::tempdir().unwrap();
    for (name, column, said) in [
        (
            "dates.arrow",
            std::sync::Arc::new(Date32Array::from(vec![Some(0), None, Some(i32::MIN)])) as ArrayRef,
            "Date32 value (-2147483648)",
        ),
        (
            "durations.arrow",
            std::sync::Arc::new(DurationSecondArray::from(vec![i64::MAX])) as ArrayRef,
            "Duration(s) value (9223372036854775807)",
        ),
    ] {
        let batch = RecordBatch::try_from_iter([("t", column)]).unwrap();
        let path = dir.path().join(name);
        write_arrow_file(&path, &batch);
        for (to, format) in [
            ("jsonl", "JSON lines"),
            ("table", "a table"),
            ("csv", "CSV"),
        ] {
            fails_with(
                oplink().args(["run", "--to", to]).arg(&path),
                &format!(
                    "cannot write the output: the column `t` holds a {said} past the range of dates and times that {format} can write as text; write Arrow IPC or Parquet instead (`--to ipc` or `parquet`)"
                ),
            );
        }
        oplink()
            .args(["run", "--quiet", "-o"])
            .arg(dir.path().join("kept.arrow"))
            .arg(&path)
            .assert()
            .success();
    }
}

/// `--to` naming another format than the output file's extension writes what `--to` says,
/// with a warning (whatever opens the file next goes by its name); `--quiet` silences it.
#[test]
fn to_another_format_than_the_extension_warns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let output = oplink()
        .args(["run", ORDERS, "--to", "parquet", "-o"])
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&output).starts_with(&format!(
            "oplink: warning: `{}` is written as Parquet, as `--to` says, though its extension says CSV\n",
            out.display()
        )),
        "{}",
        stderr(&output)
    );
    assert_eq!(&std::fs::read(&out).unwrap()[..4], b"PAR1");
    for args in [&["--to", "csv"][..], &["--to", "parquet", "--quiet"][..]] {
        let output = oplink()
            .args(["run", ORDERS, "-o"])
            .arg(&out)
            .args(args)
            .assert()
            .success()
            .get_output()
            .clone();
        assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    }
}

/// An output named as compressed (`out.csv.gz`) is refused without `--to`, and written
/// with a warning with it: `oplink run` compresses nothing, so the file would not be what
/// its name says, and `gunzip` would refuse it.
#[test]
fn an_output_named_as_compressed_is_said_to_be_uncompressed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv.gz");
    fails_with(
        oplink().args(["run", ORDERS, "-o"]).arg(&out),
        &format!(
            "`{}` is named as gzip, but `oplink run` writes no compressed files; write to standard output with `--to csv` (or another format) and pipe it through `gzip`",
            out.display()
        ),
    );
    assert!(!out.exists());
    let output = oplink()
        .args(["run", ORDERS, "--to", "csv", "-o"])
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&output).starts_with(&format!(
            "oplink: warning: `{}` is written as CSV, uncompressed, though its extension says gzip: `oplink run` writes no compressed files (pipe standard output through `gzip`)\n",
            out.display()
        )),
        "{}",
        stderr(&output)
    );
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("op,customer,amount\n")
    );
}

/// A binary file named (or given `--format`) as text is said to be what it is, with what to
/// do: a Parquet or Arrow file renamed `.csv`, a compressed file. Text that merely begins
/// like a magic (a column named `PAR1`) is read as text.
#[test]
fn a_binary_file_read_as_text_says_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("orders.parquet");
    oplink()
        .args(["run", ORDERS, "--quiet", "--output"])
        .arg(&parquet)
        .assert()
        .success();
    let arrow = dir.path().join("orders.arrow");
    oplink()
        .args(["run", ORDERS, "--quiet", "--output"])
        .arg(&arrow)
        .assert()
        .success();
    let gzip = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    for (name, bytes, said) in [
        (
            "parquet.csv",
            std::fs::read(&parquet).unwrap(),
            "it is a Parquet file (it starts with `PAR1`), not CSV: give `--format parquet`, or name it `.parquet`",
        ),
        (
            "arrow.jsonl",
            std::fs::read(&arrow).unwrap(),
            "it is an Arrow IPC file (it starts with `ARROW1`), not JSON lines: give `--format ipc`, or name it `.arrow`",
        ),
        (
            "gz.tsv",
            gzip.to_vec(),
            "it is compressed with gzip (it starts with the bytes [1f, 8b]), not TSV: decompress it first (`gunzip`)",
        ),
        (
            "wide.csv",
            b"\xff\xfea\0,\0b\0\n\0".to_vec(),
            "it is UTF-16 text (it starts with the bytes [ff, fe]), not CSV: convert it to UTF-8 first (`iconv -f utf-16 -t utf-8`)",
        ),
        (
            "encrypted.csv",
            b"PARE\0\0\0\0\x04\0\0\0PARE".to_vec(),
            "it is a Parquet file whose footer is encrypted (it starts with `PARE`), not CSV: `oplink run` cannot read it, having no keys to decrypt it",
        ),
        (
            "stream.csv",
            b"\xff\xff\xff\xff\x10\0\0\0".to_vec(),
            "it is an Arrow IPC stream (it starts with the bytes [ff, ff, ff, ff]), not CSV: give `--format ipc`, or name it `.arrows`",
        ),
        (
            "zst.csv",
            b"\x28\xb5\x2f\xfd\x04\0".to_vec(),
            "it is compressed with Zstandard (it starts with the bytes [28, b5, 2f, fd]), not CSV: decompress it first (`unzstd`)",
        ),
        (
            "bz2.jsonl",
            b"BZh91AY&SY\0\0".to_vec(),
            "it is compressed with bzip2 (it starts with `BZh`), not JSON lines: decompress it first (`bunzip2`)",
        ),
        (
            "xz.tsv",
            b"\xfd7zXZ\0\0\x04".to_vec(),
            "it is compressed with xz (it starts with the bytes [fd, 37, 7a, 58, 5a, 00]), not TSV: decompress it first (`unxz`)",
        ),
        (
            "zip.csv",
            b"PK\x03\x04\x14\0".to_vec(),
            "it is a zip archive (it starts with the bytes [50, 4b, 03, 04]), not CSV: unpack it first (`unzip`)",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        fails_with(
            oplink().args(["run", "--to", "none"]).arg(&path),
            &format!("cannot read `{}`: {said}", path.display()),
        );
    }
    let text = dir.path().join("par.csv");
    for csv in ["PAR1,b\n1,2\n", "PAR1\nab\nPAR1"] {
        std::fs::write(&text, csv).unwrap();
        oplink()
            .args(["run", "--to", "none"])
            .arg(&text)
            .assert()
            .success();
    }
}

/// CSV in; every output format out; each output read back in as input gives the same rows.
#[test]
fn run_reads_and_writes_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let expected = "\
customer,amount
ann,12
carol,40
ann,25
bob,18
erin,77
ann,10
dave,31
";
    for ext in ["csv", "jsonl", "arrow", "parquet"] {
        let out = dir.path().join(format!("kept.{ext}"));
        oplink()
            .args([
                "run",
                ORDERS,
                "--quiet",
                "--emit",
                "inserts",
                "--batch-size",
                "3",
            ])
            .args(plugins(&["threshold"]))
            .args(["--op", THRESHOLD, "--output"])
            .arg(&out)
            .assert()
            .success();
        assert!(out.is_file(), "{ext} written");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".partial"))
            .collect();
        assert!(left.is_empty(), "no partial file left: {left:?}");
        // Read back with no operator, written as CSV to stdout.
        let output = oplink()
            .args(["run", "--quiet", "--emit", "inserts", "--to", "csv"])
            .arg(&out)
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(stdout(&output), expected, "through {ext}");
    }
    // JSON lines to stdout, and an IPC stream read back.
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--quiet",
            "--to",
            "jsonl",
            "--batch-size",
            "20",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let first = stdout(&output).lines().next().unwrap().to_owned();
    assert_eq!(first, r#"{"op":"+I","customer":"ann","amount":12}"#);
}

/// A run that fails before its state is kept (an operator no plugin offers, a
/// configuration refused, an operator's error) leaves no state folder or store that it
/// made, and one that was there as it was.
#[test]
fn a_run_that_fails_before_its_state_is_kept_leaves_none_it_made() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let refused = |op: &str| {
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none", "--state"])
            .arg(&state)
            .args(plugins(&["running-sum"]))
            .args(["--op", op])
            .assert()
            .failure()
            .code(1);
    };
    refused("no_such_op");
    assert!(!state.exists());
    refused(r#"running_sum={"key": 7}"#);
    assert!(!state.exists());
    // Nor one that fails on its first change, before the state is kept.
    refused(r#"running_sum={"key": "nope", "value": "amount"}"#);
    assert!(!state.exists());
    // Folders made on the way to it go too; those that were there stay.
    let nested = dir.path().join("a/b/state");
    oplink()
        .args(["run", ORDERS, "--quiet", "--to", "none", "--state"])
        .arg(&nested)
        .args(plugins(&["running-sum"]))
        .args(["--op", "no_such_op"])
        .assert()
        .failure()
        .code(1);
    assert!(!dir.path().join("a").exists() && dir.path().is_dir());
    std::fs::create_dir(&state).unwrap();
    refused("no_such_op");
    assert!(state.is_dir() && !state.join("state.redb").exists());
    // A store that was there stays.
    oplink()
        .args(["run", ORDERS, "--quiet", "--to", "none", "--state"])
        .arg(&state)
        .args(plugins(&["running-sum"]))
        .args([
            "--op",
            r#"running_sum={"key": "customer", "value": "amount"}"#,
        ])
        .assert()
        .success();
    let snapshot = state.join("running_sum.snapshot");
    let kept = std::fs::read(&snapshot).unwrap();
    refused("no_such_op");
    assert!(state.join("state.redb").is_file());
    assert!(
        std::fs::read(&snapshot).unwrap() == kept,
        "the snapshot changed"
    );
}

/// A standard error that cannot be written (closed, full) loses the warnings and the
/// summary, not the run: it was exit status 101, a panic, after the state was kept.
#[test]
fn a_run_whose_standard_error_is_full_still_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let semi = dir.path().join("orders.csv");
    std::fs::write(&semi, "customer;amount\nann;12\n").unwrap();
    let output = dir.path().join("out.csv");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"))
        .args(["run", "--to", "csv", "--emit", "inserts", "-o"])
        .arg(&output)
        .arg(&semi)
        .stderr(full)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "customer;amount\nann;12\n"
    );
}

#[test]
fn run_keeps_state_across_runs_in_a_state_folder() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let output = oplink()
            .args(["run", ORDERS, "--quiet", "--to", "csv", "--state"])
            .arg(dir.path())
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ])
            .assert()
            .success()
            .get_output()
            .clone();
        stdout(&output)
    };
    let first = run();
    assert!(first.contains("+I,ann,47"), "{first}");
    assert!(dir.path().join("state.redb").is_file());
    assert!(dir.path().join("running_sum.snapshot").is_file());
    // The second run starts from the sums of the first: every key is an update, each old
    // row just before its new one.
    let second = run();
    assert!(second.contains("-U,ann,47\n+U,ann,94\n"), "{second}");
    assert!(!second.contains("+I"), "{second}");
    // The configuration's fingerprint is kept beside the state (not the configuration,
    // which may hold secrets).
    // So is the operator that kept it, and the length and sum of its snapshot.
    let kept = std::fs::read_to_string(dir.path().join("running_sum.config")).unwrap();
    let lines: Vec<&str> = kept.lines().collect();
    assert_eq!(lines.len(), 3, "{kept}");
    assert_eq!(lines[0].len(), 16, "{kept}");
    assert_eq!(lines[1], "running_sum");
    let snapshot = std::fs::read(dir.path().join("running_sum.snapshot")).unwrap();
    assert!(
        lines[2].starts_with(&format!("snapshot {} ", snapshot.len())),
        "{kept}"
    );
    // The same configuration written otherwise: no warning.
    let same = oplink()
        .args(["run", ORDERS, "--to", "none", "--state"])
        .arg(dir.path())
        .args(plugins(&["running-sum"]))
        .args([
            "--op",
            r#"running_sum={"value":"amount", "key":"customer"}"#,
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(!stderr(&same).contains("warning"), "{}", stderr(&same));
    // (Its snapshot, and so the sum recorded, changed with the sums.)
    let kept = std::fs::read_to_string(dir.path().join("running_sum.config")).unwrap();
    // State kept with another configuration: used, with a warning that says so (here
    // before the run fails on it).
    let text = failure(
        oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "amount", "value": "amount"}"#,
            ]),
    );
    assert!(
        text.starts_with(&format!(
            "oplink: warning: operator `running_sum` continues from its state `running_sum` in `{}`, which was kept with another configuration; give `--state` another folder to start afresh\n",
            dir.path().display()
        )),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("running_sum.config")).unwrap(),
        kept,
        "a failed run keeps nothing"
    );
    // State another operator kept under this name (a numbered state, `tally.2`, of a chain
    // that named `tally` twice, met by an operator named `tally.2`): said.
    std::fs::write(
        dir.path().join("running_sum.config"),
        format!("{}\nrunning_total\n", lines[0]),
    )
    .unwrap();
    let other = oplink()
        .args(["run", ORDERS, "--to", "none", "--state"])
        .arg(dir.path())
        .args(plugins(&["running-sum"]))
        .args([
            "--op",
            r#"running_sum={"key": "customer", "value": "amount"}"#,
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stderr(&other).lines().next().unwrap(),
        format!(
            "oplink: warning: operator `running_sum` continues from the state `running_sum` in `{}`, which operator `running_total` kept; give `--state` another folder to start afresh",
            dir.path().display()
        )
    );
    // A file of an earlier oplink, with the fingerprint alone, is read as before.
    std::fs::write(
        dir.path().join("running_sum.config"),
        format!("{}\n", lines[0]),
    )
    .unwrap();
    let earlier = oplink()
        .args(["run", ORDERS, "--to", "none", "--state"])
        .arg(dir.path())
        .args(plugins(&["running-sum"]))
        .args([
            "--op",
            r#"running_sum={"key": "customer", "value": "amount"}"#,
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        !stderr(&earlier).contains("warning"),
        "{}",
        stderr(&earlier)
    );
    // An operator without state: another configuration is no cause for a warning.
    for min in ["10", "20"] {
        let run = oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["threshold"]))
            .args([
                "--op",
                &format!(r#"threshold={{"column": "amount", "min": {min}}}"#),
            ])
            .assert()
            .success()
            .get_output()
            .clone();
        assert!(!stderr(&run).contains("warning"), "{}", stderr(&run));
    }
    // A snapshot damaged since it was kept (one byte changed, or cut short at a record's
    // end, which the operator would read as fewer keys) is refused before it is restored.
    let snapshot = dir.path().join("running_sum.snapshot");
    let kept = std::fs::read(&snapshot).unwrap();
    let mut flipped = kept.clone();
    *flipped.last_mut().unwrap() ^= 1;
    let damaged = |bytes: &[u8]| {
        std::fs::write(&snapshot, bytes).unwrap();
        failure(
            oplink()
                .args(["run", ORDERS, "--quiet", "--to", "csv", "--state"])
                .arg(dir.path())
                .args(plugins(&["running-sum"]))
                .args([
                    "--op",
                    r#"running_sum={"key": "customer", "value": "amount"}"#,
                ]),
        )
    };
    for bytes in [&flipped[..], &kept[..kept.len() - 1]] {
        let text = damaged(bytes);
        let config = std::fs::read_to_string(dir.path().join("running_sum.config")).unwrap();
        let sum = config.lines().nth(2).unwrap().rsplit(' ').next().unwrap();
        assert_eq!(
            text,
            format!(
                "oplink: cannot read `{}`: operator `running_sum`'s snapshot is not what the run that kept it wrote, by `{}` ({} bytes, sum {sum}; it holds {} bytes): one of the two was changed since; restore the folder from a backup, or remove it to start afresh\n",
                snapshot.display(),
                dir.path().join("running_sum.config").display(),
                kept.len(),
                bytes.len(),
            )
        );
        // Nothing was changed by the refusal.
        assert_eq!(std::fs::read(&snapshot).unwrap(), bytes);
    }
    std::fs::write(&snapshot, &kept).unwrap();
    // A snapshot the operator cannot read stops the run, naming the file (kept by an
    // oplink that wrote no sum of its snapshots, which is not checked).
    forget_snapshot_sum(&dir.path().join("running_sum.config"));
    std::fs::write(&snapshot, b"\x01").unwrap();
    let text = failure(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "csv", "--state"])
            .arg(dir.path())
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ]),
    );
    assert!(
        text.starts_with("oplink: operator `running_sum` failed in `restore`: ")
            && text.ends_with(&format!(
                ", on restoring `{}` (remove it to start afresh)\n",
                snapshot.display()
            )),
        "{text}"
    );
    // Removed (as the message says): the operator starts afresh, and the run says so.
    std::fs::remove_file(&snapshot).unwrap();
    let run = oplink()
        .args(["run", ORDERS, "--to", "none", "--state"])
        .arg(dir.path())
        .args(plugins(&["running-sum"]))
        .args([
            "--op",
            r#"running_sum={"key": "customer", "value": "amount"}"#,
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&run).starts_with(&format!(
            "oplink: warning: operator `running_sum` starts afresh: its snapshot `{}` is gone, though a run kept its state in `{}`\n",
            snapshot.display(),
            dir.path().display()
        )),
        "{}",
        stderr(&run)
    );
}

/// Leaves `config` (an operator's `NAME.config` in a `--state` folder) as an oplink that
/// recorded no sum of its snapshot wrote it: the snapshot is then restored unchecked.
fn forget_snapshot_sum(config: &std::path::Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let kept: String = text
        .lines()
        .take(2)
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(kept, text, "no sum in {text:?}");
    std::fs::write(config, kept).unwrap();
}

/// With `--state`, row numbers and change versions go on from the last run that kept its
/// state: a row keeps its number for its whole life, and the next run's rows are others
/// (they started from 0 and 1 again, so an operator keeping state by row number met the
/// last run's numbers on new rows). A run that fails keeps nothing of its numbering.
#[test]
fn row_numbers_and_versions_go_on_across_runs_with_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let run = |extra: &[&str]| {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--quiet", "--to", "csv", "--emit", "inserts"])
            .args(["--batch-size", "4", "--state"])
            .arg(&state)
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tag={"column": "at", "numbered": true}"#])
            .args(extra);
        cmd
    };
    let labels = |output: &std::process::Output| -> Vec<String> {
        stdout(output)
            .lines()
            .skip(1)
            .map(|line| line.rsplit(',').next().unwrap().to_owned())
            .collect()
    };
    let first = run(&[]).assert().success().get_output().clone();
    assert_eq!(
        labels(&first),
        [
            "1:0", "1:1", "1:2", "1:3", "2:4", "2:5", "2:6", "2:7", "3:8", "3:9"
        ]
    );
    // A run that fails (here on an operator not found) keeps nothing, its numbering too.
    failure(&mut run(&["--op", "no_such_operator"]));
    let second = run(&[]).assert().success().get_output().clone();
    assert_eq!(
        labels(&second),
        [
            "4:10", "4:11", "4:12", "4:13", "5:14", "5:15", "5:16", "5:17", "6:18", "6:19"
        ]
    );
    // Without `--state`, every run starts from row 0 and version 1.
    let alone = oplink()
        .args(["run", ORDERS, "--quiet", "--to", "csv", "--emit", "inserts"])
        .args(plugins(&["toolkit"]))
        .args(["--op", r#"tag={"column": "at", "numbered": true}"#])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(labels(&alone)[0], "1:0");
}

/// An operator that keeps state both in the store and in a snapshot (`tally`): the advice
/// on a snapshot it refuses, and the warning when it is gone, say that the store's part
/// stays.
#[test]
fn removing_a_snapshot_keeps_the_part_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]);
        cmd
    };
    run().assert().success();
    let snapshot = dir.path().join("tally.snapshot");
    forget_snapshot_sum(&dir.path().join("tally.config"));
    std::fs::write(&snapshot, b"\x01").unwrap();
    let text = failure(&mut run());
    assert!(
        text.starts_with("oplink: operator `tally` failed in `restore`: a snapshot of 1 byte;")
            && text.ends_with(&format!(
                ", on restoring `{}` (remove it to let the operator start from its store `tally` alone, or give `--state` another folder to start afresh)\n",
                snapshot.display()
            )),
        "{text}"
    );
    std::fs::remove_file(&snapshot).unwrap();
    let again = run().assert().success().get_output().clone();
    assert_eq!(
        stderr(&again).lines().next().unwrap(),
        format!(
            "oplink: warning: operator `tally` starts from its store `tally` alone: its snapshot `{}` is gone, though a run kept its state in `{}`",
            snapshot.display(),
            dir.path().display()
        ),
    );
    // The store removed: said too, as its part of the state starts afresh.
    std::fs::remove_file(dir.path().join("state.redb")).unwrap();
    let again = run().assert().success().get_output().clone();
    assert_eq!(
        stderr(&again).lines().next().unwrap(),
        format!(
            "oplink: warning: the state store `{}` is gone, though a run kept its state in `{}`: the operators continue from their snapshots alone, and what they kept in the store starts afresh",
            dir.path().join("state.redb").display(),
            dir.path().display()
        ),
    );
}

/// A snapshot kept for an operator whose build has no `restore` (an earlier build had it)
/// stops the run before anything, naming the file: it is not dropped without a word, nor
/// left behind for a later build to restore out of date.
#[test]
fn a_snapshot_an_operator_cannot_take_back_is_refused_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("threshold.snapshot");
    // What a build of `threshold` that kept a snapshot would have left.
    std::fs::write(&snapshot, b"state of an earlier build").unwrap();
    let run = || {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["threshold"]))
            .args(["--op", THRESHOLD]);
        cmd
    };
    fails_with(
        &mut run(),
        &format!(
            "operator `threshold` has no `restore`, so it cannot take back the 25 bytes of state in `{}`, kept by a build of it that had `restore` or by another operator of its name; run that build, or remove the file to run without that state",
            snapshot.display()
        ),
    );
    assert_eq!(
        std::fs::read(&snapshot).unwrap(),
        b"state of an earlier build"
    );
    // An empty one holds nothing to lose.
    std::fs::write(&snapshot, b"").unwrap();
    run().assert().success();
}

/// A snapshot kept for an operator whose build has `restore` and no `snapshot` (an earlier
/// build had both) stops the run, naming the file: restored at every run and never
/// updated, it would start every run from that same state, without a word.
#[test]
fn a_snapshot_an_operator_cannot_update_is_refused_not_restored_at_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("restore_only.snapshot");
    // What a build of `restore_only` that had `snapshot` would have left.
    std::fs::write(&snapshot, b"state of an earlier build").unwrap();
    let run = || {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["faulty"]))
            .args(["--op", "restore_only"]);
        cmd
    };
    let refusal = format!(
        "operator `restore_only` has no `snapshot`, so the 25 bytes of state in `{}` (kept by a build of it that had `snapshot`, or by another operator of its name) would be restored at every run and never updated, each run starting from that same state; run the build that kept it, or remove the file to run without that state",
        snapshot.display()
    );
    fails_with(&mut run(), &refusal);
    // Refused every time, and nothing changed: no store made, the file as it was.
    fails_with(&mut run(), &refusal);
    assert_eq!(
        std::fs::read(&snapshot).unwrap(),
        b"state of an earlier build"
    );
    assert!(!dir.path().join("state.redb").exists());
    // An empty one holds nothing to start from, and so no run from stale state.
    std::fs::write(&snapshot, b"").unwrap();
    let output = run().assert().success().get_output().clone();
    assert!(!stderr(&output).contains("oplink:"), "{}", stderr(&output));
    // Removed, as the refusal says: the operator runs without it, and no run writes one.
    std::fs::remove_file(&snapshot).unwrap();
    let output = run().assert().success().get_output().clone();
    assert!(!stderr(&output).contains("oplink:"), "{}", stderr(&output));
    assert!(!snapshot.exists());
}

/// Snapshots are written only for operators that can take them back: one with `snapshot`
/// and no `restore` leaves no `NAME.snapshot` in the `--state` folder (the next run would
/// have to refuse it), and says nothing of it, run after run.
#[test]
fn no_snapshot_is_kept_for_an_operator_that_cannot_take_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["faulty"]))
            .args(["--op", "snapshot_only"])
            .assert()
            .success()
            .get_output()
            .clone()
    };
    for _ in 0..2 {
        let output = run();
        assert!(!stderr(&output).contains("oplink:"), "{}", stderr(&output));
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["snapshot_only.config", "state.redb"]);
    }
    // One an earlier oplink kept (it kept the snapshots of such operators too, never
    // handing them back) is refused with word of that oplink, rather than dropped.
    std::fs::write(dir.path().join("snapshot_only.snapshot"), b"x").unwrap();
    let text = failure(
        oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["faulty"]))
            .args(["--op", "snapshot_only"]),
    );
    assert!(
        text.starts_with("oplink: operator `snapshot_only` has no `restore`")
            && text.contains("or by an earlier oplink"),
        "{text}"
    );
}

/// A `--state` folder this user may not add files to is refused before the run (it ran
/// to its end, then failed on its first snapshot, or named the store alone), and so is one
/// that cannot be made there; a `NAME.config` that cannot be read is an error, not passed
/// over (the snapshot's sum went unchecked). Run as `nobody` when the tests run as root,
/// whom nothing stops.
#[test]
fn a_state_folder_one_may_not_write_or_read_is_refused_before_the_run() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    mode(dir.path(), 0o777);
    // The input and the library beside it, where `nobody` may read them.
    std::fs::copy(workspace().join(ORDERS), dir.path().join("orders.csv")).unwrap();
    let library = dir.path().join("librunning_sum.so");
    std::fs::copy(plugin_path("running-sum"), &library).unwrap();
    let run = |state: &std::path::Path| {
        let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"));
        run.current_dir(dir.path())
            .args(["run", "orders.csv", "--quiet", "--to", "none", "--plugins"])
            .arg(&library)
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
                "--state",
            ])
            .arg(state);
        // SAFETY: asks for this process's effective user id, nothing else.
        if unsafe { libc::geteuid() } == 0 {
            run.uid(65534).gid(65534);
        }
        Command::from_std(run)
    };
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    mode(&state, 0o777);
    if !run(&state).output().is_ok_and(|out| out.status.success()) {
        eprintln!(
            "skipped: `nobody` cannot run {}",
            env!("CARGO_BIN_EXE_oplink")
        );
        return;
    }
    let snapshot = std::fs::read(state.join("running_sum.snapshot")).unwrap();
    mode(&state, 0o555);
    fails_with(
        &mut run(&state),
        &format!(
            "--state `{}` takes no new file from you, and every run with it writes its files there (the store, the snapshots, each under a temporary name, then renamed); make it writable, or give `--state` another folder",
            state.display()
        ),
    );
    assert_eq!(
        std::fs::read(state.join("running_sum.snapshot")).unwrap(),
        snapshot
    );
    // Nor can it be made in a folder that takes no new folder.
    let inner = state.join("inner");
    fails_with(
        &mut run(&inner),
        &format!(
            "--state `{}` cannot be made: its folder `{}` takes no new folder from you; make it writable, or give `--state` another folder",
            inner.display(),
            state.display()
        ),
    );
    mode(&state, 0o777);
    // SAFETY: as above.
    if unsafe { libc::geteuid() } != 0 {
        return; // the file below must be another user's, unreadable: root makes it
    }
    let config = state.join("running_sum.config");
    let kept = std::fs::read(&config).unwrap();
    std::os::unix::fs::chown(&config, Some(0), Some(0)).unwrap();
    mode(&config, 0o600);
    fails_with(
        &mut run(&state),
        &format!("cannot read `{}`: Permission denied", config.display()),
    );
    assert_eq!(std::fs::read(&config).unwrap(), kept);
}

/// Two operators of one name keep their states as `NAME` and `NAME.2`: a chain where they
/// changed places (or the first was removed) would continue each from the other's state,
/// mixed for good, so it is refused, naming the state kept with the configuration; the
/// state is as it was, and the chain put back runs without a word.
#[test]
fn operators_of_one_name_that_changed_places_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    std::fs::write(&input, "customer,region\nann,eu\nbob,us\nann,us\n").unwrap();
    let state = dir.path().join("state");
    let run = |ops: &[&str]| {
        let mut cmd = oplink();
        cmd.args(["run", "--to", "none"])
            .arg(&input)
            .arg("--state")
            .arg(&state)
            .args(plugins(&["toolkit"]));
        for op in ops {
            cmd.args(["--op", op]);
        }
        cmd
    };
    let (customer, region) = (r#"tally={"key": "customer"}"#, r#"tally={"key": "region"}"#);
    run(&[customer, region]).assert().success();
    let files = |name: &str| std::fs::read(state.join(name)).unwrap();
    let kept = [files("tally.snapshot"), files("tally.2.config")];
    // Changed places: the state `tally` is the other operator's, so removing it is no way.
    fails_with(
        &mut run(&[region, customer]),
        &format!(
            "the 1st `tally` of the chain would continue from the state `tally` in `{dir}`, kept with another configuration, while the state `tally.2` there was kept with its configuration: the chain's `tally` operators changed places, or one was removed; put the chain back as it was, or give `--state` another folder to start afresh",
            dir = state.display()
        ),
    );
    // The first removed: its state is wanted by none, but lives in the store too.
    fails_with(
        &mut run(&[region]),
        &format!(
            "operator `tally` would continue from the state `tally` in `{dir}`, kept with another configuration, while the state `tally.2` there was kept with its configuration: the chain's `tally` operators changed places, or one was removed; put the chain back as it was, or give `--state` another folder to start afresh (removing the files of the state `tally`, `{dir}/tally.snapshot` and `{dir}/tally.config`, would not do: its part in the store `{dir}/state.redb` would stay, and a state's part in the store cannot be removed by hand)",
            dir = state.display()
        ),
    );
    assert_eq!([files("tally.snapshot"), files("tally.2.config")], kept);
    let again = run(&[customer, region])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(!stderr(&again).contains("oplink:"), "{}", stderr(&again));
    // One whose configuration changed to that of another still in its place is no move:
    // said in a warning, as any change of configuration.
    let changed = run(&[customer, customer])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&changed).starts_with(&format!(
            "oplink: warning: operator `tally` continues from its state `tally.2` in `{}`, which was kept with another configuration;",
            state.display()
        )),
        "{}",
        stderr(&changed)
    );
}

/// An operator of a name the chain ran twice whose state is all in its snapshot (none in
/// the store): when the operator that kept it was removed, the refusal offers a third way,
/// removing the files of the state no longer wanted, and a run after that starts that
/// operator afresh without a word; when they changed places, the state is wanted, and it
/// does not.
#[test]
fn operators_of_one_name_that_changed_places_may_drop_a_state_kept_in_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    std::fs::write(
        &input,
        "customer,amount,sum\nann,1,10\nbob,2,20\nann,3,30\n",
    )
    .unwrap();
    let state = dir.path().join("state");
    let run = |ops: &[&str]| {
        let mut cmd = oplink();
        cmd.args(["run", "--to", "none"])
            .arg(&input)
            .arg("--state")
            .arg(&state)
            .args(plugins(&["running-sum"]));
        for op in ops {
            cmd.args(["--op", op]);
        }
        cmd
    };
    // The second adds up the first's sums (the input has a `sum` too, for it alone).
    let amount = r#"running_sum={"key": "customer", "value": "amount"}"#;
    let sum = r#"running_sum={"key": "customer", "value": "sum"}"#;
    run(&[amount, sum]).assert().success();
    let refusal = |place: &str| {
        format!(
            "{place} would continue from the state `running_sum` in `{dir}`, kept with another configuration, while the state `running_sum.2` there was kept with its configuration: the chain's `running_sum` operators changed places, or one was removed; put the chain back as it was, give `--state` another folder to start afresh, or remove the files of the state `running_sum` if it is no longer wanted, `{dir}/running_sum.snapshot` and `{dir}/running_sum.config`, for this operator to start afresh",
            dir = state.display()
        )
    };
    // Changed places: the state `running_sum` is the second's, wanted; removing its files
    // would let the second continue from the first's state with a mere warning.
    fails_with(
        &mut run(&[sum, amount]),
        &format!(
            "the 1st `running_sum` of the chain would continue from the state `running_sum` in `{dir}`, kept with another configuration, while the state `running_sum.2` there was kept with its configuration: the chain's `running_sum` operators changed places, or one was removed; put the chain back as it was, or give `--state` another folder to start afresh",
            dir = state.display()
        ),
    );
    // The first removed: its state is no longer wanted; removed as said, the other starts
    // afresh in its place, and nothing is said.
    fails_with(&mut run(&[sum]), &refusal("operator `running_sum`"));
    std::fs::remove_file(state.join("running_sum.snapshot")).unwrap();
    std::fs::remove_file(state.join("running_sum.config")).unwrap();
    let afresh = run(&[sum]).assert().success().get_output().clone();
    assert!(!stderr(&afresh).contains("oplink:"), "{}", stderr(&afresh));
}

/// A `--state` folder whose store another process has open (another run with it) is
/// refused in the command's words, and nothing of it is touched.
#[test]
fn a_state_folder_in_use_by_another_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("state.redb");
    let held = oplink_host::StateStore::open(&store).unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ]),
        &format!(
            "--state `{}` is in use: its store `{}` is open in another process (another `oplink run` with this folder?); wait for it to end, or give this run another folder",
            dir.path().display(),
            store.display()
        ),
    );
    drop(held);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["state.redb"]);
}

/// A path an option names that does not exist is said to be that option's; `-` without a
/// format is refused as standard input.
#[test]
fn a_missing_path_names_the_option_that_gave_it() {
    fails_with(
        oplink().args(["run", ORDERS, "--plugins", "/no/such/plugins", "--op", "x"]),
        "--plugins `/no/such/plugins` does not exist",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--lookup", "tiers=/no/such/tiers.csv"]),
        "--lookup `tiers`: `/no/such/tiers.csv` does not exist",
    );
    fails_with(
        oplink().args(["run", "-"]),
        "`oplink run` does not read standard input (`-`): it reads its input more than once, so save the stream to a file first",
    );
}

/// A folder where `--state` keeps a file (a configuration's fingerprint, a snapshot) is
/// refused before anything is kept: the output, the store and the snapshots stay as they
/// were, rather than some being kept and the rename failing after.
#[test]
fn a_folder_where_state_keeps_a_file_is_refused_before_anything_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (state, output) = (dir.path().join("state"), dir.path().join("out.csv"));
    std::fs::create_dir_all(state.join("tally.config")).unwrap();
    std::fs::write(&output, "KEEP\n").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--state"])
            .arg(&state)
            .arg("--output")
            .arg(&output)
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]),
        &format!(
            "`{}` is a folder, where `--state` keeps a file; remove it",
            state.join("tally.config").display()
        ),
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "KEEP\n");
    assert!(!state.join("tally.snapshot").exists());
    let store = oplink_host::StateStore::open(state.join("state.redb")).unwrap();
    assert!(store.entries("tally").unwrap().is_empty());
    drop(store);
    // A named pipe there, neither file nor folder.
    std::fs::remove_dir(state.join("tally.config")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(state.join("tally.config"))
        .status()
        .unwrap();
    assert!(made.success());
    fails_with(
        oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(&state)
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]),
        &format!(
            "`{}` is no regular file, where `--state` keeps a file; remove it",
            state.join("tally.config").display()
        ),
    );
}

/// A state file a run killed before it kept its state left (its snapshot's temporary file)
/// is said and removed.
#[test]
fn a_state_file_a_killed_run_left_is_said_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]);
        cmd
    };
    run().assert().success();
    let left = dir.path().join("tally.snapshot.partial");
    std::fs::write(&left, b"half").unwrap();
    let output = run().assert().success().get_output().clone();
    assert_eq!(
        stderr(&output).lines().next().unwrap(),
        format!(
            "oplink: warning: `{}` is left by a run stopped before it kept its state, and is removed: operator `tally` continues from the state kept before that run",
            left.display()
        )
    );
    assert!(!left.exists());
    // Said once: the next run finds nothing left.
    let again = run().assert().success().get_output().clone();
    assert!(
        !stderr(&again).contains("is left by a run"),
        "{}",
        stderr(&again)
    );
}

/// A run killed after it kept its store and before it put its snapshots in place (its mark
/// in the store, and in `keeping.partial` with the files it names) is finished by the next
/// run, which puts those files in place and no others; killed before it kept its store (the
/// mark not the store's), the files it names are removed, and the state is the one kept
/// before it. A mark that is no file is refused before anything is read.
#[test]
fn a_run_killed_while_it_kept_its_state_is_finished_or_undone_by_the_next() {
    let root = tempfile::tempdir().unwrap();
    let command = |dir: &std::path::Path| {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir)
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]);
        cmd
    };
    let run = |dir: &std::path::Path| command(dir).assert().success().get_output().clone();
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    };
    let read = |path: std::path::PathBuf| std::fs::read(path).unwrap();
    let partials = |dir: &std::path::Path| -> Vec<String> {
        let mut left: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".partial"))
            .collect();
        left.sort();
        left
    };
    // The state after one run, and after two.
    let (one, two) = (root.path().join("one"), root.path().join("two"));
    run(&one);
    copy(&one, &two);
    let said = run(&two);
    assert!(!stderr(&said).contains("warning"), "{}", stderr(&said));
    assert!(
        partials(&two).is_empty(),
        "nothing left by a run that ended"
    );
    assert_ne!(
        read(one.join("tally.snapshot")),
        read(two.join("tally.snapshot"))
    );
    let token = {
        let store = oplink_host::StateStore::open(two.join("state.redb")).unwrap();
        let (_, token) = store
            .entries("#oplink-run")
            .unwrap()
            .into_iter()
            .find(|(key, _)| key == b"kept")
            .unwrap();
        String::from_utf8(token).unwrap()
    };
    let mark = |token: &str| format!("{token}\ntally.snapshot.partial\ntally.config.partial\n");
    // The second run as if killed after it kept its store: the store of two, the snapshots
    // of one, the second's snapshots under their temporary names, the mark; and another
    // operator's temporary file, which the mark does not name.
    let killed = root.path().join("killed");
    copy(&one, &killed);
    std::fs::copy(two.join("state.redb"), killed.join("state.redb")).unwrap();
    for name in ["tally.snapshot", "tally.config"] {
        std::fs::copy(two.join(name), killed.join(format!("{name}.partial"))).unwrap();
    }
    std::fs::write(killed.join("keeping.partial"), mark(&token)).unwrap();
    std::fs::write(killed.join("other.snapshot.partial"), b"not this run's").unwrap();
    // The next run finishes it first, then runs as after the second.
    let said = run(&killed);
    assert_eq!(
        stderr(&said).lines().next().unwrap(),
        format!(
            "oplink: warning: the last run with `--state {}` kept its store but did not put its snapshots in place (it was stopped, or failed): its 2 temporary files were put in place now",
            killed.display()
        )
    );
    let third = root.path().join("third");
    copy(&two, &third);
    run(&third);
    assert_eq!(
        read(killed.join("tally.snapshot")),
        read(third.join("tally.snapshot"))
    );
    assert_eq!(partials(&killed), ["other.snapshot.partial"]);
    assert!(!killed.join("other.snapshot").exists());
    // Killed before it kept its store: the mark is not the store's, so the files it names
    // are removed and the state is the first run's.
    let undone = root.path().join("undone");
    copy(&one, &undone);
    for name in ["tally.snapshot", "tally.config"] {
        std::fs::copy(two.join(name), undone.join(format!("{name}.partial"))).unwrap();
    }
    std::fs::write(undone.join("keeping.partial"), mark("not-this-store's")).unwrap();
    let said = run(&undone);
    assert_eq!(
        stderr(&said).lines().next().unwrap(),
        format!(
            "oplink: warning: the last run with `--state {}` was stopped, or failed, before it kept its state: its 2 temporary files were removed, and the state is the one kept before it",
            undone.display()
        )
    );
    assert!(partials(&undone).is_empty());
    assert_eq!(
        read(undone.join("tally.snapshot")),
        read(two.join("tally.snapshot"))
    );
    // Killed after its output went into place (after the mark) and before its store: the
    // warning names the output, whose rows the state does not count; an output that is
    // not the file the run wrote (never put in place) is not named.
    let out = root.path().join("out.csv");
    let written = root.path().join(".out.csv.1.partial");
    for replaced in [false, true] {
        use std::os::unix::fs::MetadataExt;
        let undone = root.path().join(format!("undone-{replaced}"));
        copy(&one, &undone);
        for name in ["tally.snapshot", "tally.config"] {
            std::fs::copy(two.join(name), undone.join(format!("{name}.partial"))).unwrap();
        }
        std::fs::write(&out, "the earlier output\n").unwrap();
        std::fs::write(&written, "the killed run's output\n").unwrap();
        let file = std::fs::metadata(&written).unwrap();
        std::fs::write(
            undone.join("keeping.partial"),
            format!(
                "{}output {} {} {}\n",
                mark("not-this-store's"),
                file.dev(),
                file.ino(),
                out.display()
            ),
        )
        .unwrap();
        if replaced {
            std::fs::rename(&written, &out).unwrap();
        }
        let said = stderr(&run(&undone));
        let first = said.lines().next().unwrap();
        let stopped = format!(
            "oplink: warning: the last run with `--state {}` was stopped, or failed, before it kept its state: its 2 temporary files were removed, and the state is the one kept before it",
            undone.display()
        );
        if replaced {
            assert_eq!(
                first,
                format!(
                    "{stopped}; its output `{}` was put in place all the same, and holds rows this state does not count: run that input again",
                    out.display()
                )
            );
        } else {
            assert_eq!(first, stopped);
        }
    }
    // A mark that is a link (never written through) or a folder: refused at once.
    let victim = root.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let linked = root.path().join("linked");
    copy(&one, &linked);
    std::os::unix::fs::symlink(&victim, linked.join("keeping.partial")).unwrap();
    fails_with(
        &mut command(&linked),
        &format!(
            "`{}` is a symbolic link, where `--state` keeps a file of its own while it keeps the state; remove it",
            linked.join("keeping.partial").display()
        ),
    );
    std::fs::remove_file(linked.join("keeping.partial")).unwrap();
    std::fs::create_dir(linked.join("keeping.partial")).unwrap();
    fails_with(
        &mut command(&linked),
        &format!(
            "`{}` is a folder, where `--state` keeps a file of its own while it keeps the state; remove it",
            linked.join("keeping.partial").display()
        ),
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

/// Whether `strace` is here (`.ci/run` installs it); says that the test skips when not.
fn strace_installed() -> bool {
    let here = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok();
    if !here {
        eprintln!("skipped: strace is not installed (`.ci/run` installs it)");
    }
    here
}

/// `oplink`, run under strace so that its `when`-th call of `syscall` fails with `EIO`.
fn oplink_failing(syscall: &str, when: u32) -> Command {
    let mut cmd = Command::new("strace");
    cmd.current_dir(workspace())
        .env_remove("OPLINK_PLUGIN_PATH")
        .args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("trace={syscall}"))
        .arg("-e")
        .arg(format!("inject={syscall}:error=EIO:when={when}"))
        .arg(env!("CARGO_BIN_EXE_oplink"));
    cmd
}

/// A snapshot that cannot be put in place once the store is kept (an I/O error, injected
/// with `strace`) leaves it and the run's mark for the next run, which finishes the work;
/// the error says so.
#[test]
fn a_snapshot_that_cannot_be_put_in_place_is_left_for_the_next_run() {
    if !strace_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let args = |cmd: &mut Command| {
        cmd.args(["run", ORDERS, "--to", "none", "--state"])
            .arg(&state)
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]);
    };
    let mut first = oplink();
    args(&mut first);
    first.assert().success();
    // The first rename of the second run (`--to none` writes no file) fails.
    let mut failing = oplink_failing("rename", 1);
    args(&mut failing);
    let output = failing.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        format!(
            "oplink: cannot write `{}`: Input/output error; the state store was kept, and the next run with `--state {}` puts the snapshots in place\n",
            state.join("tally.snapshot").display(),
            state.display()
        )
    );
    assert!(state.join("tally.snapshot.partial").exists());
    assert!(state.join("keeping.partial").exists());
    let mut next = oplink();
    args(&mut next);
    let said = next.assert().success().get_output().clone();
    assert!(
        stderr(&said).starts_with(&format!(
            "oplink: warning: the last run with `--state {}` kept its store but did not put its snapshots in place (it was stopped, or failed): its 2 temporary files were put in place now",
            state.display()
        )),
        "{}",
        stderr(&said)
    );
    assert!(!state.join("tally.snapshot.partial").exists());
}

/// A store commit whose `fdatasync` fails (an I/O error, injected with `strace`) may have
/// reached the store all the same: the next process reads it. The snapshots and the mark
/// stay for the next run, which keeps them with the store; removing them made a store that
/// counted the run beside snapshots that did not (`tally`'s store 30 rows, its snapshot 20).
#[test]
fn a_store_commit_that_fails_is_settled_by_the_next_run() {
    if !strace_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let out = dir.path().join("out.csv");
    let args = |cmd: &mut Command| {
        cmd.args(["run", ORDERS, "--quiet", "--output"])
            .arg(&out)
            .arg("--state")
            .arg(&state)
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]);
    };
    let mut first = oplink();
    args(&mut first);
    first.assert().success();
    // The second run's third `fdatasync` (two at opening the store) is its commit's.
    let mut failing = oplink_failing("fdatasync", 3);
    args(&mut failing);
    let output = failing.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).ends_with(&format!(
            "; the next run with `--state {}` finds whether the store kept this run's state, and keeps the snapshots with it or removes them (the output `{}` is in place: when the next run says the state was not kept, run this input again)\n",
            state.display(),
            out.display()
        )),
        "{}",
        stderr(&output)
    );
    // The mark names the output by the file the run wrote, which is now in place.
    let mark = std::fs::read_to_string(state.join("keeping.partial")).unwrap();
    let file = std::fs::metadata(&out).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert!(
        mark.ends_with(&format!(
            "\noutput {} {} {}\n",
            file.dev(),
            file.ino(),
            out.display()
        )),
        "{mark}"
    );
    let mut next = oplink();
    args(&mut next);
    next.assert().success();
    let store = oplink_host::StateStore::open(state.join("state.redb")).unwrap();
    let counted: u64 = store
        .entries("tally")
        .unwrap()
        .iter()
        .map(|(_, v)| u64::from_le_bytes(v.as_slice().try_into().unwrap()))
        .sum();
    let snapshot = std::fs::read(state.join("tally.snapshot")).unwrap();
    let rows = u64::from_le_bytes(snapshot[..8].try_into().unwrap());
    assert_eq!(counted, rows, "the store and the snapshot disagree");
}

#[test]
fn a_missing_input_file_is_one_sentence() {
    fails_with(
        oplink().args(["run", "no/such/orders.csv"]),
        "`no/such/orders.csv` does not exist",
    );
}

#[test]
fn an_unknown_operator_lists_the_ones_found_and_suggests_the_nearest() {
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "treshold"])
            .args(plugins(&["threshold", "running-sum"])),
        &format!(
            "no plugin in `{}` and `{}` offers an operator `treshold` (did you mean `threshold`?); the operators found are `running_sum`, `threshold`",
            plugin_path("threshold").display(),
            plugin_path("running-sum").display()
        ),
    );
}

#[test]
fn an_unknown_operator_in_a_folder_counts_the_libraries_that_would_not_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_path("threshold"), dir.path().join("libthreshold.so")).unwrap();
    std::fs::copy(fixture("ABI_MAJOR"), dir.path().join("libabi3.so")).unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "sort", "--plugins"])
            .arg(dir.path()),
        &format!(
            "no plugin in `{}` offers an operator `sort`; the operators found are `threshold`; 1 library there could not be loaded (`oplink check` says why)",
            dir.path().display()
        ),
    );
}

#[test]
fn a_folder_without_the_operator_or_with_two_offers_of_it_says_so() {
    // Nothing there at all, then only libraries that do not load.
    let dir = tempfile::tempdir().unwrap();
    let search = |dir: &std::path::Path| {
        fails_with(
            oplink()
                .args(["run", ORDERS, "--op", "sort", "--plugins"])
                .arg(dir),
            &format!(
                "no plugin in `{}` offers an operator `sort`; no operators were found there{}",
                dir.display(),
                match std::fs::read_dir(dir).unwrap().count() {
                    0 => String::new(),
                    n => format!(
                        "; {n} libraries there could not be loaded (`oplink check` says why)"
                    ),
                }
            ),
        )
    };
    search(dir.path());
    std::fs::copy(fixture("ABI_MAJOR"), dir.path().join("libone.so")).unwrap();
    std::fs::copy(fixture("BAD_MAGIC"), dir.path().join("libtwo.so")).unwrap();
    search(dir.path());

    // A folder of a crate built without `cdylib`: its `.rlib` alone.
    let rust = tempfile::tempdir().unwrap();
    std::fs::write(rust.path().join("libmine.rlib"), "!<arch>\n").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "mine", "--plugins"])
            .arg(rust.path()),
        &format!(
            "no plugin in `{0}` offers an operator `mine`; no operators were found there; `{0}/libmine.rlib` there is a Rust library without a shared one beside it (add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in its Cargo.toml)",
            rust.path().display()
        ),
    );
    // `oplink check` and `oplink inspect` of that folder say the same.
    let output = oplink()
        .arg("check")
        .arg(rust.path())
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        format!(
            "FAILED   {0}: a folder without oplink plugins (*.so); `{0}/libmine.rlib` there is a Rust library without a shared one beside it (add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in its Cargo.toml)\n",
            rust.path().display()
        )
    );
    fails_with(
        oplink().arg("inspect").arg(rust.path()),
        &format!(
            "`{0}` holds no oplink plugins; `{0}/libmine.rlib` there is a Rust library without a shared one beside it (add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in its Cargo.toml)",
            rust.path().display()
        ),
    );
    // A folder of links to libraries: discovery follows none, and says so.
    let links = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        plugin_path("threshold"),
        links.path().join("libthreshold.so"),
    )
    .unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "threshold", "--plugins"])
            .arg(links.path()),
        &format!(
            "no plugin in `{}` offers an operator `threshold`; no operators were found there; 1 symbolic link there was passed over (a folder's links are not followed: name the library itself with `--plugins`)",
            links.path().display()
        ),
    );
    // Two of each are counted.
    std::os::unix::fs::symlink(
        plugin_path("running-sum"),
        links.path().join("librunning_sum.so"),
    )
    .unwrap();
    std::fs::write(links.path().join("libmine.rlib"), "!<arch>\n").unwrap();
    std::fs::write(links.path().join("libyours.rlib"), "!<arch>\n").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "threshold", "--plugins"])
            .arg(links.path()),
        &format!(
            "no plugin in `{}` offers an operator `threshold`; no operators were found there; 2 symbolic links there were passed over (a folder's links are not followed: name the libraries themselves with `--plugins`); 2 Rust libraries there have no shared one beside them (add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in their Cargo.toml)",
            links.path().display()
        ),
    );
    fails_with(
        oplink().arg("inspect").arg(links.path()),
        &format!(
            "`{}` holds no oplink plugins (it holds 2 symbolic links, which discovery does not follow: inspect the files they point to); 2 Rust libraries there have no shared one beside them (add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in their Cargo.toml)",
            links.path().display()
        ),
    );

    // Two libraries of one folder offer it: the message says how to pick one.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_path("toolkit"), dir.path().join("libtoolkit.so")).unwrap();
    std::fs::copy(
        plugin_path("toolkit-next"),
        dir.path().join("libtoolkit_next.so"),
    )
    .unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "tally", "--plugins"])
            .arg(dir.path()),
        &format!(
            "operator `tally` is offered by more than one library: `{}` and `{}`; name the one to use with `--plugins FILE`",
            dir.path().join("libtoolkit.so").display(),
            dir.path().join("libtoolkit_next.so").display()
        ),
    );
    // A name none offers lists those found, marking those offered twice, as the host does.
    let text = failure(
        oplink()
            .args(["run", ORDERS, "--op", "tallly", "--plugins"])
            .arg(dir.path()),
    );
    assert!(
        text.contains(
            "offers an operator `tallly` (did you mean `tally`?); the operators found are "
        ) && text.contains(", `tally` (in 2 libraries)"),
        "{text}"
    );
}

#[test]
fn bad_json_configuration_points_at_the_problem() {
    fails_with(
        oplink()
            .args([
                "run",
                ORDERS,
                "--op",
                r#"threshold={"column": "amount" "min": 10}"#,
            ])
            .args(plugins(&["threshold"])),
        "the configuration of `threshold` (inline) is not valid JSON: expected `,` or `}` at line 1 column 21\n  {\"column\": \"amount\" \"min\": 10}\n                      ^",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("filter.json");
    std::fs::write(&file, "{\n  \"column\": \"amount\",\n  \"min\": ten\n}\n").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op"])
            .arg(format!("threshold=@{}", file.display()))
            .args(plugins(&["threshold"])),
        &format!(
            "the configuration of `threshold` (from `{}`) is not valid JSON: expected ident at line 3 column 11\n    \"min\": ten\n            ^",
            file.display()
        ),
    );
    // Valid JSON the operator refuses: its own message, naming the field.
    let output = oplink()
        .args(["run", ORDERS, "--op", r#"threshold={"column": "amount"}"#])
        .args(plugins(&["threshold"]))
        .assert()
        .failure()
        .get_output()
        .clone();
    let text = stderr(&output);
    assert!(
        text.starts_with("oplink: ") && text.contains("missing field `min`"),
        "{text}"
    );
}

#[test]
fn an_unreadable_csv_file_names_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, "customer,amount\nann,12\nbob,twelve\n").unwrap();
    fails_with(
        oplink()
            .args(["run", "--schema", "customer:utf8,amount:int64"])
            .arg(&file),
        &format!(
            "cannot read `{}` at line 3, column 2 (`amount`): `twelve` is not a valid Int64",
            file.display()
        ),
    );
    // Inferred, the value is found while inferring; given, while reading.
    std::fs::write(&file, "customer,amount\nann,12\nbob,3,extra\n").unwrap();
    for schema in [&[][..], &["--schema", "customer:utf8,amount:int64"][..]] {
        fails_with(
            oplink().arg("run").args(schema).arg(&file),
            &format!(
                "cannot read `{}` at line 3: 3 fields where the header has 2",
                file.display()
            ),
        );
    }
    // Not UTF-8, found while inferring the schema or while reading with one given.
    std::fs::write(&file, b"customer,amount\nann,12\nb\xffb,3\n").unwrap();
    for schema in [&[][..], &["--schema", "customer:utf8,amount:int64"][..]] {
        fails_with(
            oplink().arg("run").args(schema).arg(&file),
            &format!(
                "cannot read `{}` at line 3, column 1 (`customer`): the text is not valid UTF-8 (text in another encoding can be converted first, e.g. `iconv -f latin1 -t utf-8`)",
                file.display()
            ),
        );
    }
    // A timestamp that does not parse, past a blank line: the line is the file's.
    std::fs::write(&file, "customer,at\nann,2024-01-01T00:00:00\n\nbob,noon\n").unwrap();
    fails_with(
        oplink()
            .args(["run", "--schema", "customer:utf8,at:timestamp"])
            .arg(&file),
        &format!(
            "cannot read `{}` at line 4, column 2 (`at`): `noon` is not a valid Timestamp(µs): timestamp must contain at least 10 characters",
            file.display()
        ),
    );
    // In a later batch, the line is still the file's.
    std::fs::write(&file, "customer,amount\nann,12\nbob,3\ncarol,x\n").unwrap();
    fails_with(
        oplink()
            .args([
                "run",
                "--batch-size",
                "1",
                "--schema",
                "customer:utf8,amount:int64",
            ])
            .arg(&file),
        &format!(
            "cannot read `{}` at line 4, column 2 (`amount`): `x` is not a valid Int64",
            file.display()
        ),
    );
    // Past the rows the schema was inferred from.
    let mut text = "customer,amount\n".to_owned();
    text.push_str(&"ann,1\n".repeat(10_000));
    text.push_str("bob,4.5\n");
    std::fs::write(&file, text).unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 10002, column 2 (`amount`): `4.5` is not a valid Int64 (the schema was inferred from the first rows; give `--schema` to set it)",
            file.display()
        ),
    );
    // The same for a column inferred as timestamps.
    let mut text = "customer,at\n".to_owned();
    text.push_str(&"ann,2024-01-01T00:00:00\n".repeat(10_000));
    text.push_str("bob,noon\n");
    std::fs::write(&file, text).unwrap();
    fails_with(
        oplink().args(["run", "--to", "none"]).arg(&file),
        &format!(
            "cannot read `{}` at line 10002, column 2 (`at`): `noon` is not a valid Timestamp(s): timestamp must contain at least 10 characters (the schema was inferred from the first rows; give `--schema` to set it)",
            file.display()
        ),
    );
    // A time finer than its column keeps is an error, not cut short: past the rows a
    // column of whole seconds was inferred from,
    let mut text = "customer,at\n".to_owned();
    text.push_str(&"ann,2024-01-01 10:00:00\n".repeat(10_000));
    text.push_str("bob,2024-01-01 10:00:00.5\n");
    std::fs::write(&file, text).unwrap();
    fails_with(
        oplink().args(["run", "--to", "none"]).arg(&file),
        &format!(
            "cannot read `{}` at line 10002, column 2 (`at`): `2024-01-01 10:00:00.5` is finer than Timestamp(s) holds: it keeps whole seconds, and its fraction `.5` would be dropped (the schema was inferred from the first rows; give `--schema` to set it)",
            file.display()
        ),
    );
    // in a column given in milliseconds, in a later batch past a blank line and an empty
    // value (no value, no error; trailing zeros lose nothing),
    std::fs::write(
        &file,
        "customer,at\nann,2024-01-01 10:00:00.120000\n\nbob,\ncarol,2024-01-01 10:00:00.1239\n",
    )
    .unwrap();
    fails_with(
        oplink()
            .args([
                "run",
                "--batch-size",
                "1",
                "--schema",
                "customer:utf8,at:timestamp_ms",
            ])
            .arg(&file),
        &format!(
            "cannot read `{}` at line 5, column 2 (`at`): `2024-01-01 10:00:00.1239` is finer than Timestamp(ms) holds: it keeps milliseconds, and its fraction `.1239` would be cut to `.123`",
            file.display()
        ),
    );
    // and a date with a time of day (midnight loses nothing).
    std::fs::write(
        &file,
        "customer,on\nann,2024-01-01T00:00:00\nbob,2024-01-01T10:30:00Z\n",
    )
    .unwrap();
    fails_with(
        oplink()
            .args(["run", "--schema", "customer:utf8,on:date32"])
            .arg(&file),
        &format!(
            "cannot read `{}` at line 3, column 2 (`on`): `2024-01-01T10:30:00Z` is finer than Date32 holds: its time of day `10:30:00` would be dropped",
            file.display()
        ),
    );
}

#[test]
fn times_that_fit_their_columns_are_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("times.csv");
    std::fs::write(
        &file,
        "at,on\n2024-01-01 10:00:00.120000,2024-01-01T00:00:00\n,\n2024-01-02T03:04:05.007Z,2024-01-02\n",
    )
    .unwrap();
    let out = oplink()
        .args([
            "run",
            "--emit",
            "inserts",
            "--to",
            "jsonl",
            "--schema",
            "at:timestamp_ms,on:date32",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"at\":\"2024-01-01T10:00:00.120\",\"on\":\"2024-01-01\"}\n{\"at\":null,\"on\":null}\n{\"at\":\"2024-01-02T03:04:05.007\",\"on\":\"2024-01-02\"}\n"
    );
}

#[test]
fn an_unreadable_json_lines_file_names_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(&file, "{\"a\": 1}\n{\"a\": 2}\n{\"a\" 3}\n").unwrap();
    fails_with(
        oplink().args(["run", "--schema", "a:int64"]).arg(&file),
        &format!(
            "cannot read `{}` at line 3, column 6: not valid JSON: expected `:`",
            file.display()
        ),
    );
    std::fs::write(&file, "{\"a\": 1}\n{\"a\": \"two\"}\n").unwrap();
    let output = oplink()
        .args(["run", "--schema", "a:int64"])
        .arg(&file)
        .assert()
        .failure()
        .get_output()
        .clone();
    let text = stderr(&output);
    assert!(
        text.starts_with(&format!(
            "oplink: cannot read `{}` at line 2, column 2 (`a`): ",
            file.display()
        )),
        "{text}"
    );
    // A number read as text is fine (the run takes it so): the bad value is on line 2.
    std::fs::write(&file, "{\"a\":8,\"b\":1}\n{\"a\":\"x\",\"b\":\"bad\"}\n").unwrap();
    fails_with(
        oplink()
            .args(["run", "--schema", "a:utf8,b:int64"])
            .arg(&file),
        &format!(
            "cannot read `{}` at line 2, column 10 (`b`): `bad` is not a valid Int64",
            file.display()
        ),
    );
    // A field whose type changes, found while inferring: the line where it changes.
    std::fs::write(&file, "{\"a\":1}\n\n{\"a\":2}\n{\"a\":{\"b\":1}}\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 4, column 2: the key `a` holds an object here, and a number on line 3: a column holds one type (make the values of the key agree)",
            file.display()
        ),
    );
    // An empty list and a list of objects make one column: the key that cannot is named.
    std::fs::write(
        &file,
        "{\"a\":[],\"b\":{\"x\":1}}\n{\"a\":[{\"y\":1}],\"b\":2}\n",
    )
    .unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 2, column 16: the key `b` holds a number here, and an object on line 1: a column holds one type (make the values of the key agree)",
            file.display()
        ),
    );
    // Inside objects that agree, the key in them that does not (it said "the key `a` holds
    // an object here, and an object in the lines before").
    std::fs::write(
        &file,
        "{\"a\":{\"x\":5,\"b\":1}}\n{\"a\":{\"b\":[2]}}\n{\"a\":{\"b\":{\"c\":1}}}\n",
    )
    .unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 3, column 7: the key `a.b` holds an object here, and an array on line 2: a column holds one type (make the values of the key agree)",
            file.display()
        ),
    );
    // Inside an array, on its first line (it said "a field's JSON type here disagrees with
    // the lines before (Expected object json type, found: Scalar({Int64}))").
    std::fs::write(&file, "{\"a\":[{\"y\":1},{\"y\":{\"z\":1}}]}\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 1, column 2: the key `a[].y` holds an object here, and a number before it on this line: a column holds one type (make the values of the key agree)",
            file.display()
        ),
    );
    // A list whose elements mix a plain value and a list, which no list's column takes
    // (where one key's values may mix them): the list itself, not a line before, is named
    // (it said "the key `a` holds an array here, and a number on line 1").
    std::fs::write(&file, "{\"a\":1}\n{\"a\":[1,[2]]}\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 2, column 2: the key `a` holds an array here whose elements disagree in JSON type: a list's elements make one column, which holds one type (make them agree)",
            file.display()
        ),
    );
    // The value it disagrees with far back, past 10,000 pairs of values of other keys (it
    // said "a field's JSON type here disagrees with the lines before (Expected scalar or
    // scalar array JSON type, found: Object(..))").
    let others: Vec<String> = (0..100).map(|i| format!("\"b{i}\":1")).collect();
    let others = others.join(",");
    let mut text = format!("{{\"a\":{{\"x\":1}},{others}}}\n");
    for _ in 0..101 {
        text.push_str(&format!("{{{others}}}\n"));
    }
    text.push_str(&format!("{{\"a\":1,{others}}}\n"));
    std::fs::write(&file, text).unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 103, column 2: the key `a` holds a number here, and an object on line 1: a column holds one type (make the values of the key agree)",
            file.display()
        ),
    );
    // A plain value on one line and a list on another (which inference takes for a list).
    std::fs::write(&file, "{\"a\":1}\n{\"a\":[1]}\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 1, column 2 (`a`): the key `a` holds a number here, and a list on line 2: a column holds one type (make every value of the key a list)",
            file.display()
        ),
    );
    // A line that is JSON but no object.
    std::fs::write(&file, "5\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 1: a number where JSON lines hold one object per line",
            file.display()
        ),
    );
    // One JSON document over several lines (pretty-printed).
    std::fs::write(&file, "[\n  {\"a\": 1},\n  {\"a\": 2}\n]\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 1: one JSON document over several lines, where JSON lines hold one object per line (it converts with `jq -c '.[]'` for an array of objects, `jq -c .` for one object)",
            file.display()
        ),
    );
    // A stream of objects each pretty-printed, as `jq .` writes them.
    std::fs::write(&file, "{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 1: 2 JSON documents written over several lines, where JSON lines hold one object per line (they convert with `jq -c .`)",
            file.display()
        ),
    );
    // And of arrays.
    std::fs::write(&file, "[\n  {\"a\": 1}\n]\n[\n  {\"a\": 2}\n]\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 1: 2 JSON documents written over several lines, where JSON lines hold one object per line (they convert with `jq -c '.[]'`, being arrays)",
            file.display()
        ),
    );
    // One JSON array, not JSON lines: said so, briefly.
    let values: Vec<String> = (0..3000).map(|i| format!("{{\"a\":{i}}}")).collect();
    std::fs::write(&file, format!("[{}]\n", values.join(","))).unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 1: a JSON array where JSON lines hold one object per line (a file of one array converts with `jq -c '.[]'`)",
            file.display()
        ),
    );
}

#[test]
fn a_library_for_another_abi_or_machine_is_one_sentence() {
    let abi3 = fixture("ABI_MAJOR");
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "x", "--plugins"])
            .arg(&abi3),
        &format!(
            "`{}` was built for oplink ABI 3, but this host speaks ABI 2: load it with a host built on a newer oplink",
            abi3.display()
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let arm = dir.path().join("libarm.so");
    let mut bytes = std::fs::read(plugin_path("threshold")).unwrap();
    bytes[0x12..0x14].copy_from_slice(&183u16.to_le_bytes());
    std::fs::write(&arm, bytes).unwrap();
    fails_with(
        oplink().arg("inspect").arg(&arm),
        &format!(
            "`{}` is not a library for this host: it was built for aarch64, and this host is x86_64",
            arm.display()
        ),
    );
}

#[test]
fn a_plugin_error_or_panic_stops_the_run_naming_operator_and_method() {
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--op",
            r#"faulty={"fail_in": "apply", "how": "error"}"#,
        ])
        .args(plugins(&["faulty"]))
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    // Word for word as the README shows it (its location too: `examples/faulty`'s line).
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let text = stderr(&output);
    assert!(
        text.starts_with("oplink: operator `faulty` failed in `apply`: faulty fails in apply (at examples/faulty/src/lib.rs:"),
        "{text}"
    );
    assert!(
        readme.contains(text.as_str()),
        "the README does not show: {text}"
    );
    assert!(stdout(&output).is_empty());

    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--op",
            r#"faulty={"fail_in": "apply", "how": "panic"}"#,
        ])
        .args(plugins(&["faulty"]))
        .assert()
        .failure()
        .get_output()
        .clone();
    let text = stderr(&output);
    assert!(
        text.contains("oplink: operator `faulty` panicked in `apply`: faulty panics in apply"),
        "{text}"
    );
    assert!(
        !text.contains("RUST_BACKTRACE"),
        "no backtrace hint: {text}"
    );
}

/// An operator that adds a column under a name the rows already have: a file with two
/// columns of one name cannot be read back, so it is refused before anything is written;
/// a table shows it.
#[test]
fn run_refuses_to_write_a_file_with_two_columns_of_one_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let tag = r#"tag={"column": "amount", "value": "x"}"#;
    fails_with(
        oplink()
            .args([
                "run",
                ORDERS,
                "--op",
                tag,
                "--output",
                out.to_str().unwrap(),
            ])
            .args(plugins(&["toolkit"])),
        &format!(
            "cannot write `{}`: it has two columns named `amount`, and Parquet output with two columns of one name cannot be read back (Parquet readers and `oplink run` refuse it); rename one in the operator that adds it, or write a table",
            out.display()
        ),
    );
    assert!(!out.exists());
    let table = oplink()
        .args(["run", ORDERS, "--op", tag])
        .args(plugins(&["toolkit"]))
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout(&table).contains("| amount | amount |"),
        "{}",
        stdout(&table)
    );
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", tag, "--to", "csv"])
            .args(plugins(&["toolkit"])),
        "cannot write the output: it has two columns named `amount`, and CSV output with two columns of one name cannot be read back (`oplink run` refuses it as input); rename one in the operator that adds it, or write a table",
    );
}

/// Text that is not UTF-8 from an operator (what one written in C can return, and what an
/// import takes on its word) stops the run before any output format reads it: no table
/// printed from it, no file written with it.
#[test]
fn run_refuses_an_operators_output_that_is_not_valid_arrow() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    for to_file in [false, true] {
        let mut cmd = oplink();
        cmd.args([
            "run",
            ORDERS,
            "--op",
            r#"faulty={"fail_in": "apply", "how": "bad_utf8"}"#,
        ])
        .args(plugins(&["faulty"]));
        if to_file {
            cmd.args(["--output", out.to_str().unwrap()]);
        }
        fails_with(
            &mut cmd,
            "operator `faulty` returned invalid Arrow data from `apply` (a fault of the operator, for its author to mend): diff 0 of the change: its post rows: column `text`: Invalid UTF8 sequence at string index 0 (0..1): invalid utf-8 sequence of 1 bytes from index 0, on change 1 (input rows 0 to 9)",
        );
    }
    assert!(!out.exists());
    // The same from the closing tick.
    fails_with(
        oplink()
            .args([
                "run",
                ORDERS,
                "--op",
                r#"faulty={"fail_in": "tick", "how": "bad_utf8"}"#,
            ])
            .args(plugins(&["faulty"])),
        "operator `faulty` returned invalid Arrow data from `tick` (a fault of the operator, for its author to mend): diff 0 of the change: its post rows: column `text`: Invalid UTF8 sequence at string index 0 (0..1): invalid utf-8 sequence of 1 bytes from index 0, on the closing tick",
    );
}

#[test]
fn a_failed_run_leaves_an_earlier_output_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    std::fs::write(&out, "earlier\n").unwrap();
    oplink()
        .args([
            "run",
            ORDERS,
            "--op",
            r#"faulty={"fail_in": "apply", "how": "error"}"#,
        ])
        .args(plugins(&["faulty"]))
        .arg("--output")
        .arg(&out)
        .assert()
        .failure();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier\n");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no partial file left"
    );
}

#[test]
fn an_output_that_is_a_file_the_run_reads_is_refused_and_the_file_kept() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    std::fs::copy(workspace().join(ORDERS), &input).unwrap();
    let original = std::fs::read(&input).unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    // By its own name, and through a link to it.
    for output in [&input, &link] {
        fails_with(
            oplink()
                .args(["run", "--quiet"])
                .arg(&input)
                .arg("--output")
                .arg(output),
            &format!(
                "--output `{}` is the input (`{}`): the output would take its place; write it to another file",
                output.display(),
                input.display()
            ),
        );
    }
    // A lookup table, too.
    let tiers = dir.path().join("tiers.csv");
    std::fs::copy(workspace().join("examples/data/tiers.csv"), &tiers).unwrap();
    fails_with(
        oplink()
            .args(["run", "--quiet", ORDERS, "--lookup"])
            .arg(format!("tiers={}", tiers.display()))
            .arg("--output")
            .arg(&tiers),
        &format!(
            "--output `{0}` is the table of --lookup `tiers` (`{0}`): the output would take its place; write it to another file",
            tiers.display()
        ),
    );
    assert_eq!(
        std::fs::read(&input).unwrap(),
        original,
        "the input is kept"
    );
    // An operator's configuration file, and a plugin library, named or in a folder named.
    let config = dir.path().join("t.json");
    std::fs::write(&config, r#"{"column": "amount", "min": 10}"#).unwrap();
    fails_with(
        oplink()
            .args(["run", "--quiet", ORDERS])
            .args(plugins(&["threshold"]))
            .arg("--op")
            .arg(format!("threshold=@{}", config.display()))
            .arg("--output")
            .arg(&config),
        &format!(
            "--output `{0}` is the configuration of `threshold` (`{0}`): the output would take its place; write it to another file",
            config.display()
        ),
    );
    let libs = dir.path().join("libs");
    std::fs::create_dir(&libs).unwrap();
    let library = libs.join("libthreshold.so");
    std::fs::copy(plugin_path("threshold"), &library).unwrap();
    for plugins in [&library, &libs] {
        fails_with(
            oplink()
                .args(["run", "--quiet", "--to", "csv", ORDERS, "--plugins"])
                .arg(plugins)
                .args(["--op", THRESHOLD, "--output"])
                .arg(&library),
            &format!(
                "--output `{0}` is a plugin library of --plugins (`{0}`): the output would take its place; write it to another file",
                library.display()
            ),
        );
    }
    assert!(std::fs::read_to_string(&config).unwrap().contains("min"));
    assert_eq!(
        std::fs::read(&library).unwrap(),
        std::fs::read(plugin_path("threshold")).unwrap()
    );
    // Any file of the state folder (the store, a snapshot), by any name of the folder, or
    // through a link; and of one the run would make.
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let link = dir.path().join("to-the-store.csv");
    std::os::unix::fs::symlink(state.join("state.redb"), &link).unwrap();
    let fresh = dir.path().join("fresh-state");
    for (state, output) in [
        (&state, state.join("state.redb")),
        (&state, state.join("../state/out.csv")),
        (&state, link),
        (&fresh, fresh.join("state.redb")),
    ] {
        fails_with(
            oplink()
                .args(["run", "--quiet", ORDERS, "--to", "csv", "--state"])
                .arg(state)
                .arg("--output")
                .arg(&output),
            &format!(
                "--output `{}` is in the --state folder `{}`, which holds the operators' state; write it elsewhere",
                output.display(),
                state.display()
            ),
        );
    }
    assert!(!fresh.exists(), "refused before the folder is made");
}

#[test]
fn a_damaged_state_store_is_one_line_of_error_not_a_panic_message() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--quiet", "--to", "none", "--op"])
            .arg(r#"running_sum={"key": "customer", "value": "amount"}"#)
            .args(plugins(&["running-sum"]))
            .arg("--state")
            .arg(dir.path());
        cmd
    };
    run().assert().success();
    // Cut short where redb asserts rather than returns an error.
    let store = dir.path().join("state.redb");
    std::fs::File::options()
        .write(true)
        .open(&store)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let text = failure(&mut run());
    assert!(
        text.starts_with(&format!(
            "oplink: state store `{}`: the file is damaged (redb: ",
            store.display()
        )) && text.lines().count() == 1,
        "{text}"
    );
}

#[test]
fn an_error_of_an_operator_named_twice_in_the_chain_says_which() {
    let text = failure(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none"])
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ])
            .args(["--op", r#"running_sum={"key": "nope", "value": "sum"}"#]),
    );
    assert!(
        text.starts_with(
            "oplink: operator `running_sum` failed in `apply`: input has no column `nope`"
        ) && text.ends_with(
            ", on change 1 (input rows 0 to 9), in the 2nd `running_sum` of the chain\n"
        ),
        "{text}"
    );
    // And when it cannot be made.
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none"])
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ])
            .args(["--op", r#"running_sum={"key": "customer"}"#]),
        "invalid configuration for operator `running_sum`: missing field `value`, in the 2nd `running_sum` of the chain",
    );
}

/// A configuration the operator refuses names where it came from when that is not the
/// command line itself: the `@FILE` it was read from, or no configuration at all.
#[test]
fn a_refused_configuration_names_its_file_or_that_none_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("filter.json");
    std::fs::write(&file, r#"{"column": "amount", "min": "ten"}"#).unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none"])
            .args(plugins(&["threshold"]))
            .arg("--op")
            .arg(format!("threshold=@{}", file.display())),
        &format!(
            r#"invalid configuration for operator `threshold` at `min`: invalid type: string "ten", expected i64 (the configuration read from `{}`)"#,
            file.display()
        ),
    );
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none"])
            .args(plugins(&["threshold"]))
            .args(["--op", "threshold"]),
        "invalid configuration for operator `threshold`: missing field `column` (`--op threshold` gives it no configuration, read as `{}`: give one, `--op 'threshold={...}'` or `--op threshold=@FILE`)",
    );
    // Inline, the configuration is on the line already.
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none"])
            .args(plugins(&["threshold"]))
            .args(["--op", r#"threshold={"min": 1}"#]),
        "invalid configuration for operator `threshold`: missing field `column`",
    );
}

#[test]
fn a_run_removes_what_a_killed_run_left_beside_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    // One of a process that is gone (beyond any pid), one of a process that is running
    // (this test's), and a file of another name.
    let stale = dir.path().join(".out.csv.4294967.partial");
    let running = dir
        .path()
        .join(format!(".out.csv.{}.partial", std::process::id()));
    let other = dir.path().join(".other.csv.4294967.partial");
    for file in [&stale, &running, &other] {
        std::fs::write(file, "half").unwrap();
    }
    oplink()
        .args(["run", ORDERS, "--quiet", "--output"])
        .arg(&out)
        .assert()
        .success();
    assert!(out.exists());
    assert!(!stale.exists(), "left by a run that is gone: removed");
    assert!(running.exists() && other.exists(), "kept");
}

#[test]
fn services_the_command_cannot_provide_are_named() {
    fails_with(
        oplink()
            .args([
                "run",
                ORDERS,
                "--op",
                r#"lookup={"column": "customer", "table": "tiers"}"#,
            ])
            .args(plugins(&["enrich"])),
        "operator `lookup` requires the host service `oplink.Lookup`: give it its tables with `--lookup NAME=FILE`",
    );
    fails_with(
        oplink()
            .args([
                "run",
                ORDERS,
                "--op",
                r#"enrich={"customer_column": "customer"}"#,
            ])
            .args(plugins(&["enrich"])),
        "operator `enrich` requires the host service `Catalog`, which `oplink run` cannot provide (it provides the standard services and `oplink.Lookup`); run it in a host that provides `Catalog`",
    );
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--op",
            r#"lookup={"column": "customer", "table": "regions"}"#,
        ])
        .args(["--lookup", "tiers=examples/data/tiers.csv"])
        .args(plugins(&["enrich"]))
        .assert()
        .failure()
        .get_output()
        .clone();
    assert!(
        stderr(&output).contains("the host has no lookup table `regions`; it has `tiers`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn usage_errors_are_one_sentence() {
    fails_with(
        oplink().args(["run", ORDERS, "--op", "threshold"]),
        "no plugin folder given: pass `--plugins DIR` (a folder or a library file; repeatable) or set OPLINK_PLUGIN_PATH",
    );
    fails_with(
        oplink().args([
            "run",
            ORDERS,
            "--op",
            "threshold",
            "--plugins",
            "no/such/dir",
        ]),
        "--plugins `no/such/dir` does not exist",
    );
    // A library named without cargo's `lib` prefix: the file meant is named.
    let unprefixed = plugin_path("threshold").with_file_name("threshold.so");
    let meant = plugin_path("threshold");
    fails_with(
        oplink().args(["inspect", unprefixed.to_str().unwrap()]),
        &format!(
            "`{}` does not exist (did you mean `{}`?)",
            unprefixed.display(),
            meant.display()
        ),
    );
    let checked = oplink()
        .arg("check")
        .arg(&unprefixed)
        .assert()
        .failure()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&checked),
        format!(
            "FAILED   {}: does not exist (did you mean `{}`?)\n",
            unprefixed.display(),
            meant.display()
        )
    );
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "threshold", "--plugins"])
            .arg(&unprefixed),
        &format!(
            "--plugins `{}` does not exist (did you mean `{}`?)",
            unprefixed.display(),
            meant.display()
        ),
    );
    fails_with(
        oplink().args(["run", "Cargo.toml"]),
        "cannot tell the format of `Cargo.toml` from its extension; name it with `--format csv|tsv|jsonl|ipc|parquet`",
    );
    // No file by a name without a data file's extension: said as such, as is any other
    // reason the system gives.
    fails_with(
        oplink().args(["run", "no-such-input"]),
        "`no-such-input` does not exist",
    );
    fails_with(
        oplink().args(["run", &format!("{ORDERS}/inside")]),
        &format!("cannot read `{ORDERS}/inside`: Not a directory"),
    );

    fails_with(
        oplink().args(["run", ORDERS, "--batch-size", "0"]),
        "--batch-size must be at least 1, not 0",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--to", "csv", "--output", ".."]),
        "--output `..` is a folder; name a file",
    );
    // A folder that is not there cannot be written either.
    fails_with(
        oplink().args(["run", ORDERS, "--to", "csv", "--output", "no/such/.."]),
        "--output `no/such/..` names a folder (it ends in `..`); name a file",
    );
    // So does one ending in `.` or `/`, said before the run rather than when its output
    // cannot be renamed into place at the end.
    fails_with(
        oplink().args(["run", ORDERS, "--to", "csv", "--output", "no/such/."]),
        "--output `no/such/.` names a folder (it ends in `.`); name a file",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--to", "csv", "--output", "no-such-out.csv/"]),
        "--output `no-such-out.csv/` names a folder (it ends in `/`); name a file",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--to", "csv", "--output", "no/such/./"]),
        "--output `no/such/./` names a folder (it ends in `/`); name a file",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--output", "no/such/dir/out.csv"]),
        "cannot create `no/such/dir/out.csv`: its folder `no/such/dir` does not exist",
    );
    fails_with(
        oplink().args(["new", "Bad Name"]),
        "`Bad Name` is not a usable plugin name: use lowercase letters, digits, `-` and `_`, starting with a letter (at most 64)",
    );
}

/// `OPLINK_PLUGIN_PATH` is a list of folders like `PATH`: one that is not there is passed
/// over (with `--plugins`, it is an error: above).
#[test]
fn a_missing_folder_of_the_plugin_path_is_passed_over() {
    let folder = plugin_path("threshold").parent().unwrap().to_owned();
    let path = std::env::join_paths([std::path::Path::new("/no/such/folder"), &folder]).unwrap();
    let output = oplink()
        .env("OPLINK_PLUGIN_PATH", &path)
        .args([
            "run", ORDERS, "--to", "csv", "--emit", "inserts", "--quiet", "--op",
        ])
        .arg(r#"threshold={"column": "amount", "min": 40}"#)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout(&output), "customer,amount\ncarol,40\nerin,77\n");
    // None there (a misspelt variable, say): said so.
    fails_with(
        oplink().env("OPLINK_PLUGIN_PATH", "/no/such/folder").args([
            "run",
            ORDERS,
            "--op",
            "threshold",
        ]),
        "no folder of OPLINK_PLUGIN_PATH exists: `/no/such/folder`",
    );
}

#[test]
fn inputs_that_cannot_be_read_and_arguments_that_do_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A folder, with a format or without one.
    for format in [&[][..], &["--format", "csv"]] {
        fails_with(
            oplink().arg("run").args(format).arg(d),
            &format!("`{}` is a folder, not a data file", d.display()),
        );
    }
    let empty_csv = d.join("empty.csv");
    std::fs::write(&empty_csv, "").unwrap();
    fails_with(
        oplink().arg("run").arg(&empty_csv),
        &format!(
            "cannot read `{}`: it has no header line",
            empty_csv.display()
        ),
    );
    let empty_jsonl = d.join("empty.jsonl");
    std::fs::write(&empty_jsonl, "\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&empty_jsonl),
        &format!(
            "cannot read `{}`: it holds no JSON objects with fields",
            empty_jsonl.display()
        ),
    );
    let parquet = d.join("orders.parquet");
    oplink()
        .args(["run", ORDERS, "--quiet", "--emit", "inserts", "--output"])
        .arg(&parquet)
        .assert()
        .success();
    fails_with(
        oplink().args(["run", "--schema", "a:int64"]).arg(&parquet),
        &format!(
            "--schema is for CSV, TSV and JSON lines; `{}` carries its own schema",
            parquet.display()
        ),
    );
    fails_with(
        oplink().args(["run", ORDERS, "--batch-size", "18446744073709551615"]),
        "--batch-size must be at most 1048576 rows, not 18446744073709551615",
    );
    let kept = d.join("kept.csv");
    std::fs::write(&kept, "rows of an earlier run\n").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--to", "none", "--output"])
            .arg(&kept),
        &format!(
            "--to none writes nothing: drop --output `{}`, or name another format",
            kept.display()
        ),
    );
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "rows of an earlier run\n",
        "nothing lost"
    );
    fails_with(
        oplink().args(["run", ORDERS, "--schema", "amount:int64,customer:utf8"]),
        "--schema names the columns `amount`, `customer`, but the header of `examples/data/orders.csv` has `customer`, `amount`",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--op", "threshold=@"]),
        "--op `threshold=@`: `@` needs a file name, as in `NAME=@config.json`",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--op", "threshold= "]),
        "--op `threshold= `: the configuration of `threshold` after `=` is empty; give JSON (`{}` for none), or leave out `=`",
    );
    let blank = d.join("blank.json");
    std::fs::write(&blank, "\n").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op"])
            .arg(format!("threshold=@{}", blank.display())),
        &format!(
            "--op `threshold=@{0}`: the configuration of `threshold` (from `{0}`) is empty; write JSON in it (`{{}}` for none)",
            blank.display()
        ),
    );
    fails_with(
        oplink().args(["check", "--timeout", "0", "x.so"]),
        "--timeout must be a positive number of seconds, not 0",
    );
    fails_with(
        oplink().args(["check", "--timeout=-1", "x.so"]),
        "--timeout must be a positive number of seconds, not -1",
    );
    fails_with(
        oplink().args(["check", "--timeout", "1e-12", "x.so"]),
        "--timeout must be at least a nanosecond (0.000000001 seconds), not 0.000000000001",
    );
    // Past what a clock can count is no deadline: the check runs.
    fails_with(
        oplink().args(["check", "--timeout", "1e20", "x.so"]),
        "1 of 1 path failed the check; `x.so` does not exist",
    );
    fails_with(oplink().arg("check").arg(d), "1 of 1 path failed the check");
    let not_object = d.join("tiers.json");
    std::fs::write(&not_object, "[1, 2]").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--lookup"])
            .arg(format!("tiers={}", not_object.display())),
        &format!(
            "cannot read `{}`: a lookup table in JSON is one object of keys to values",
            not_object.display()
        ),
    );
    let one_column = d.join("tiers.csv");
    std::fs::write(&one_column, "customer\nann\n").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--lookup"])
            .arg(format!("tiers={}", one_column.display())),
        &format!(
            "cannot read `{}` at line 1: a lookup table needs two columns, a key and a value",
            one_column.display()
        ),
    );
    let twice = d.join("twice.csv");
    // Lines of the file: a blank line and a quoted line break counted.
    std::fs::write(
        &twice,
        "customer,tier\nann,gold\n\nbob,\"silver\nor grey\"\nann,bronze\n",
    )
    .unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--lookup"])
            .arg(format!("tiers={}", twice.display())),
        &format!(
            "cannot read `{}`: the key `ann` is on lines 2 and 6; a lookup table holds one value per key",
            twice.display()
        ),
    );
    let empty = d.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--lookup"])
            .arg(format!("tiers={}", empty.display())),
        &format!(
            "cannot read `{}`: it is empty: a lookup table is a header line, then a key and a value a row",
            empty.display()
        ),
    );
    let twice_json = d.join("twice.json");
    std::fs::write(
        &twice_json,
        r#"{"ann": "gold", "bob": "silver", "ann": "bronze"}"#,
    )
    .unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--lookup"])
            .arg(format!("tiers={}", twice_json.display())),
        &format!(
            "cannot read `{}`: the key `ann` is given twice; a lookup table holds one value per key",
            twice_json.display()
        ),
    );
    // A table separated by tabs (or `;`, `|`) under another name than `.tsv`: its header
    // of one column says so, and it is read that way.
    let tabbed = d.join("tiers-tabbed.txt");
    std::fs::write(&tabbed, "customer\ttier\nann\tgold\n").unwrap();
    let output = oplink()
        .args(["run", ORDERS, "--quiet", "--to", "csv", "--emit", "inserts"])
        .args(plugins(&["enrich"]))
        .args([
            "--op",
            r#"lookup={"column": "customer", "table": "tiers", "into": "tier"}"#,
        ])
        .arg("--lookup")
        .arg(format!("tiers={}", tabbed.display()))
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(stdout(&output).contains(",gold\n"), "{}", stdout(&output));
    // A JSON object is read as one whatever the file's name (as CSV, its text would be a
    // header, and the table empty).
    let named_otherwise = d.join("tiers.txt");
    std::fs::write(&named_otherwise, "{\"ann\": \"gold\", \"bob\": \"silver\"}").unwrap();
    let output = oplink()
        .args(["run", ORDERS, "--quiet", "--to", "csv", "--emit", "inserts"])
        .args(plugins(&["enrich"]))
        .args([
            "--op",
            r#"lookup={"column": "customer", "table": "tiers", "into": "tier"}"#,
        ])
        .arg("--lookup")
        .arg(format!("tiers={}", named_otherwise.display()))
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout(&output).starts_with("customer,amount,tier\nann,12,gold\nbob,3,silver\n"),
        "{}",
        stdout(&output)
    );
    // Two libraries named that offer the same operator: neither is picked.
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "tally"])
            .args(plugins(&["toolkit", "toolkit-next"])),
        &format!(
            "operator `tally` is offered by more than one library: `{}` and `{}`; name only the one to use with `--plugins`",
            plugin_path("toolkit").display(),
            plugin_path("toolkit-next").display()
        ),
    );
    // One library named twice, by two spellings: it is one library, not a conflict.
    let threshold = plugin_path("threshold");
    let spelt_otherwise = threshold
        .parent()
        .unwrap()
        .join(".")
        .join(threshold.file_name().unwrap());
    oplink()
        .args(["run", ORDERS, "--quiet", "--to", "none", "--op"])
        .arg(r#"threshold={"column": "amount", "min": 1}"#)
        .arg("--plugins")
        .arg(&threshold)
        .arg("--plugins")
        .arg(&threshold)
        .arg("--plugins")
        .arg(&spelt_otherwise)
        .assert()
        .success();
}

/// Arrow IPC in its stream format (as `pyarrow` or another engine may write it) reads too.
#[test]
fn an_ipc_stream_reads_like_an_ipc_file() {
    use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("amounts.arrows");
    let batch = RecordBatch::try_from_iter([(
        "amount",
        std::sync::Arc::new(Int64Array::from(vec![3, 30])) as ArrayRef,
    )])
    .unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(file, &batch.schema()).unwrap();
    // A stream may start with a batch of no rows.
    writer.write(&batch.slice(0, 0)).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    let output = oplink()
        .args(["run", "--quiet", "--to", "csv", "--emit", "inserts"])
        .arg(&path)
        .args(plugins(&["threshold"]))
        .args(["--op", THRESHOLD])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout(&output), "amount\n30\n");
    // `--batch-size` cuts an IPC file's batches too (into slices: nothing is copied).
    let output = oplink()
        .args(["run", "--to", "none", "--batch-size", "1"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .clone();
    let summary = stderr(&output);
    // (The stream's first batch, of no rows, is a change of its own.)
    assert!(summary.starts_with("read 2 rows in 3 changes"), "{summary}");
}

/// An Arrow IPC file cut short, or whose footer claims more than the file holds, is said
/// so (arrow-rs says only "Arrow file does not contain correct footer").
#[test]
fn an_ipc_file_cut_short_or_with_a_damaged_footer_is_said_so() {
    use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch};
    let dir = tempfile::tempdir().unwrap();
    let batch = RecordBatch::try_from_iter([(
        "amount",
        std::sync::Arc::new(Int64Array::from(vec![3, 30])) as ArrayRef,
    )])
    .unwrap();
    let mut whole = Vec::new();
    {
        let mut writer =
            arrow_ipc::writer::FileWriter::try_new(&mut whole, &batch.schema()).unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
    }
    let mut damaged = whole.clone();
    let at = damaged.len() - 10;
    damaged[at..at + 4].copy_from_slice(&1_000_000i32.to_le_bytes());
    // A footer whose record batch declares 4 GB of data in a file of a few hundred bytes
    // (arrow-rs would allocate them before reading): the block, as the footer lays it out
    // (offset, metadata length, 4 bytes of padding, body length), found and changed.
    let footer_len = i32::from_le_bytes(whole[at..at + 4].try_into().unwrap()) as usize;
    let footer = arrow_ipc::root_as_footer(&whole[at - footer_len..at]).unwrap();
    let block = footer.recordBatches().unwrap().get(0);
    let mut pattern = block.offset().to_le_bytes().to_vec();
    pattern.extend(block.metaDataLength().to_le_bytes());
    let found = whole
        .windows(pattern.len())
        .position(|w| w == pattern)
        .expect("the block in the footer");
    let mut huge = whole.clone();
    huge[found + 16..found + 24].copy_from_slice(&(1i64 << 32).to_le_bytes());
    for (name, bytes, said) in [
        (
            "cut.arrow",
            &whole[..whole.len() / 2],
            "the Arrow IPC file is cut short: it starts as one, but does not end with the footer every Arrow IPC file ends with".to_owned(),
        ),
        (
            "huge.arrow",
            &huge[..],
            format!(
                "the Arrow IPC file is damaged: its footer puts record batch 1 at byte {} with {} bytes of metadata and 4294967296 of data, past the end of the file ({} bytes)",
                block.offset(),
                block.metaDataLength(),
                whole.len()
            ),
        ),
        (
            "footer.arrow",
            &damaged[..],
            format!(
                "the Arrow IPC file is damaged: its footer says it is 1000000 bytes long, but a file of {} bytes has room for {} at most",
                whole.len(),
                whole.len() - 18
            ),
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        fails_with(
            oplink().args(["run", "--to", "none"]).arg(&path),
            &format!("cannot read `{}`: {said}", path.display()),
        );
    }
    // Whole, it reads.
    let path = dir.path().join("whole.arrow");
    std::fs::write(&path, &whole).unwrap();
    oplink()
        .args(["run", "--to", "none"])
        .arg(&path)
        .assert()
        .success();
}

/// A stream cut short at a message's end reads, in arrow-rs, as a shorter stream: the run
/// says it ends without its end-of-stream marker; one cut inside a message is refused.
#[test]
fn an_ipc_stream_cut_short_is_said_so() {
    use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch};
    let dir = tempfile::tempdir().unwrap();
    let batch = RecordBatch::try_from_iter([(
        "amount",
        std::sync::Arc::new(Int64Array::from(vec![3, 30])) as ArrayRef,
    )])
    .unwrap();
    let mut whole = Vec::new();
    {
        let mut writer =
            arrow_ipc::writer::StreamWriter::try_new(&mut whole, &batch.schema()).unwrap();
        for _ in 0..3 {
            writer.write(&batch).unwrap();
        }
        writer.finish().unwrap();
    }
    let run = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut cmd = oplink();
        cmd.args(["run", "--to", "none"]).arg(&path);
        (path, cmd)
    };
    // Whole: no warning.
    let (_, mut cmd) = run("whole.arrows", &whole);
    let text = stderr(&cmd.assert().success().get_output().clone());
    assert!(text.starts_with("read 6 rows in 3 changes"), "{text}");
    // In the format before Arrow 0.15, whose end is 4 zero bytes: read, no warning.
    let mut legacy = Vec::new();
    {
        let options =
            arrow_ipc::writer::IpcWriteOptions::try_new(8, true, arrow_ipc::MetadataVersion::V4)
                .unwrap();
        let mut writer = arrow_ipc::writer::StreamWriter::try_new_with_options(
            &mut legacy,
            &batch.schema(),
            options,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
    }
    assert_eq!(&legacy[legacy.len() - 4..], &[0; 4]);
    let (_, mut cmd) = run("legacy.arrows", &legacy);
    let text = stderr(&cmd.assert().success().get_output().clone());
    assert!(text.starts_with("read 2 rows in 1 change"), "{text}");
    // Without its marker (the last 8 bytes): read, with a warning, which `--quiet` silences.
    let (path, mut cmd) = run("unmarked.arrows", &whole[..whole.len() - 8]);
    let text = stderr(&cmd.assert().success().get_output().clone());
    assert!(
        text.starts_with(&format!(
            "oplink: warning: `{}`: it ends after 4 messages without an Arrow stream's end-of-stream marker: if it was cut short, rows are missing\nread 6 rows",
            path.display()
        )),
        "{text}"
    );
    let (_, mut cmd) = run("unmarked.arrows", &whole[..whole.len() - 8]);
    let text = stderr(&cmd.arg("--quiet").assert().success().get_output().clone());
    assert_eq!(text, "");
    // Cut inside the last batch, or 3 bytes into where another would start: refused.
    let (path, mut cmd) = run("inside.arrows", &whole[..whole.len() - 20]);
    let text = failure(&mut cmd);
    assert!(
        text.starts_with(&format!(
            "oplink: cannot read `{}`: the Arrow stream is cut short: its message 4 ends ",
            path.display()
        )),
        "{text}"
    );
    // Cut inside the second message's metadata (past its 8-byte prefix): refused the same
    // way, not in arrow-rs's words ("Unexpected end of stream: expected N metadata bytes").
    let first = 8 + i32::from_le_bytes(whole[4..8].try_into().unwrap()) as usize;
    let second = i32::from_le_bytes(whole[first + 4..first + 8].try_into().unwrap()) as usize;
    let (path, mut cmd) = run("metadata.arrows", &whole[..first + 8 + 10]);
    fails_with(
        &mut cmd,
        &format!(
            "cannot read `{}`: the Arrow stream is cut short: its message 2 ends {} bytes past the end of the file",
            path.display(),
            second - 10
        ),
    );
    let mut three_more = whole[..whole.len() - 8].to_vec();
    three_more.extend_from_slice(&[0xff; 3]);
    let (path, mut cmd) = run("partial.arrows", &three_more);
    fails_with(
        &mut cmd,
        &format!(
            "cannot read `{}`: the Arrow stream is cut short: after 4 messages, it ends in the first 3 bytes of another",
            path.display()
        ),
    );
}

/// Files as other tools write them by default read too: Feather (Arrow IPC) from pyarrow is
/// LZ4-compressed, Parquet from pandas or Spark Snappy-compressed, and gzip, Brotli,
/// LZ4 and Zstandard are the other codecs those tools offer.
#[test]
fn compressed_arrow_and_parquet_files_read() {
    use arrow_ipc::CompressionType;
    use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch};
    use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
    let dir = tempfile::tempdir().unwrap();
    let batch = RecordBatch::try_from_iter([(
        "amount",
        std::sync::Arc::new(Int64Array::from(vec![3, 30])) as ArrayRef,
    )])
    .unwrap();
    let read = |path: &std::path::Path| {
        let output = inserts_csv(path);
        assert_eq!(stdout(&output), "amount\n3\n30\n", "{}", path.display());
    };
    for (name, codec) in [
        ("lz4", CompressionType::LZ4_FRAME),
        ("zstd", CompressionType::ZSTD),
    ] {
        let path = dir.path().join(format!("{name}.arrow"));
        let options = arrow_ipc::writer::IpcWriteOptions::default()
            .try_with_compression(Some(codec))
            .unwrap();
        let file = std::fs::File::create(&path).unwrap();
        let mut writer =
            arrow_ipc::writer::FileWriter::try_new_with_options(file, &batch.schema(), options)
                .unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
        read(&path);
    }
    for (name, codec) in [
        ("snappy", Compression::SNAPPY),
        ("gzip", Compression::GZIP(GzipLevel::default())),
        ("brotli", Compression::BROTLI(BrotliLevel::default())),
        ("lz4", Compression::LZ4_RAW),
        ("zstd", Compression::ZSTD(ZstdLevel::default())),
    ] {
        let path = dir.path().join(format!("{name}.parquet"));
        let properties = parquet::file::properties::WriterProperties::builder()
            .set_compression(codec)
            .build();
        let file = std::fs::File::create(&path).unwrap();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        read(&path);
    }
}

#[test]
fn inserts_only_output_refuses_updates() {
    fails_with(
        oplink()
            .args(["run", ORDERS, "--emit", "inserts", "--batch-size", "2"])
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ]),
        "cannot write the output: operator `running_sum` emitted an update, and `--emit inserts` writes inserts only; use `--emit changes` to write every diff with its `op`",
    );
}

/// `oplink new`'s next steps name the library where cargo will put it: under
/// `CARGO_TARGET_DIR` when that is set.
#[test]
fn a_new_plugins_next_steps_follow_cargo_target_dir() {
    let dir = tempfile::tempdir().unwrap();
    let said = |target: Option<&str>, name: &str| {
        let mut cmd = oplink();
        cmd.current_dir(dir.path()).args(["new", name]);
        match target {
            Some(target) => cmd.env("CARGO_TARGET_DIR", target),
            None => cmd.env_remove("CARGO_TARGET_DIR"),
        };
        stdout(&cmd.assert().success().get_output().clone())
    };
    assert!(said(None, "plain").ends_with("  oplink check target/debug/libplain.so\n"));
    assert!(
        said(Some("/srv/build dir"), "moved")
            .ends_with("  oplink check '/srv/build dir'/debug/libmoved.so\n")
    );
}

/// `oplink new`, then build the crate, run its test and check the library, as its README
/// says; and the same for a C operator with make.
#[test]
fn a_new_plugin_builds_tests_and_passes_the_check() {
    let dir = tempfile::tempdir().unwrap();
    oplink()
        .current_dir(dir.path())
        .args(["new", "my-filter"])
        .assert()
        .success();
    let crate_dir = dir.path().join("my-filter");
    for file in ["Cargo.toml", "src/lib.rs", "README.md", ".gitignore"] {
        assert!(crate_dir.join(file).is_file(), "{file}");
    }
    let cargo_toml = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains(r#"crate-type = ["cdylib", "rlib"]"#));
    // The workspace's lock file pins the same dependency versions (no new downloads), and
    // a target folder of its own keeps the new library out of the workspace's.
    std::fs::copy(workspace().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let target = workspace().join("target").join("oplink-new-test");
    for step in [&["build", "--quiet"][..], &["test", "--quiet"][..]] {
        let status = std::process::Command::new(env!("CARGO"))
            .args(step)
            .current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .unwrap();
        assert!(status.success(), "cargo {step:?} in the new crate");
    }
    let library = target.join("debug").join("libmy_filter.so");
    let output = oplink()
        .arg("check")
        .arg(&library)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        format!("ok       {}: my_filter 0.1.0\n", library.display())
    );
    // It runs as its README says.
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--quiet",
            "--emit",
            "inserts",
            "--to",
            "csv",
            "--plugins",
        ])
        .arg(&library)
        .args(["--op", r#"my_filter={"column": "amount", "min": 40}"#])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout(&output), "customer,amount\ncarol,40\nerin,77\n");

    // Names whose type would be one the crate already uses (its `Config`, oplink's
    // `Rows`) build and test too.
    for name in ["config", "rows"] {
        oplink()
            .current_dir(dir.path())
            .args(["new", name])
            .assert()
            .success();
        let crate_dir = dir.path().join(name);
        std::fs::copy(workspace().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
        let status = std::process::Command::new(env!("CARGO"))
            .args(["test", "--quiet"])
            .current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .unwrap();
        assert!(status.success(), "cargo test in the new crate `{name}`");
    }

    // Not over an existing folder.
    fails_with(
        oplink().current_dir(dir.path()).args(["new", "my-filter"]),
        "`my-filter` already exists and is not empty; choose another name or `--path`",
    );
    // Nor over a file, empty or not.
    std::fs::write(dir.path().join("taken"), "").unwrap();
    fails_with(
        oplink().current_dir(dir.path()).args(["new", "taken"]),
        "`taken` already exists and is a file, not a folder; choose another name or `--path`",
    );

    // C.
    fails_with(
        oplink()
            .current_dir(dir.path())
            .args(["new", "--lang", "c", "counter", "--oplink", "0.2"]),
        "--oplink sets a Rust crate's dependency on oplink; a C operator has none (it gets `oplink.h` copied in): drop --oplink",
    );
    oplink()
        .current_dir(dir.path())
        .args(["new", "--lang", "c", "counter"])
        .assert()
        .success();
    // A Rust keyword is a fine name for a C operator, whose name is no identifier.
    oplink()
        .current_dir(dir.path())
        .args(["new", "--lang", "c", "type"])
        .assert()
        .success();
    assert!(dir.path().join("type").join("type.c").is_file());
    let c_dir = dir.path().join("counter");
    // The header and the contract in words come with it; no placeholder link.
    for file in ["oplink.h", "ABI.md", "README.md", "counter.c", "Makefile"] {
        assert!(c_dir.join(file).is_file(), "{file}");
    }
    let readme = std::fs::read_to_string(c_dir.join("README.md")).unwrap();
    assert!(
        readme.contains("`ABI.md`") && !readme.contains("example.invalid"),
        "{readme}"
    );
    let status = std::process::Command::new("make")
        .arg("--quiet")
        .current_dir(&c_dir)
        .status()
        .unwrap();
    assert!(status.success(), "make in the new C operator");
    let library = c_dir.join("libcounter.so");
    oplink().arg("check").arg(&library).assert().success();
    let shown = oplink()
        .arg("inspect")
        .arg(&library)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout(&shown).contains("\nstandard services: none listed (every host provides them)\n"),
        "{}",
        stdout(&shown)
    );
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--quiet",
            "--to",
            "csv",
            "--batch-size",
            "4",
            "--plugins",
        ])
        .arg(&library)
        .args(["--op", "counter"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output).lines().count(),
        11,
        "the header and every row"
    );
    // Like a Rust operator whose `new` takes nothing, it refuses a configuration.
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--plugins"])
            .arg(&library)
            .args(["--op", r#"counter={"min": 1}"#]),
        r#"invalid configuration for operator `counter`: it takes no configuration (pass `null` or `{}`), but was given {"min":1}"#,
    );
}

/// A damaged Arrow IPC file (arrow-rs's reader asserts on this one) is an error naming the
/// file, never a panic.
#[test]
fn a_damaged_ipc_file_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("orders.arrow");
    oplink()
        .args(["run", ORDERS, "--quiet", "--output"])
        .arg(&good)
        .assert()
        .success();
    let mut bytes = std::fs::read(&good).unwrap();
    // A buffer offset in the first batch's metadata, made to point past its body.
    bytes[481] = 0xae;
    let damaged = dir.path().join("damaged.arrow");
    std::fs::write(&damaged, bytes).unwrap();
    let text = failure(oplink().args(["run", "--to", "none"]).arg(&damaged));
    assert!(
        text.starts_with(&format!(
            "oplink: cannot read `{}`: the file is damaged (",
            damaged.display()
        )) && text.lines().count() == 1,
        "{text}"
    );
}

/// A file that is no Arrow or Parquet file (text renamed, an empty file, one cut short) says
/// what it is, not what the reader tripped on ("Corrupt footer", "expected 1953723747
/// metadata bytes").
#[test]
fn a_file_that_is_not_arrow_or_parquet_says_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read(workspace().join(ORDERS)).unwrap();
    let parquet = dir.path().join("orders.parquet");
    oplink()
        .args(["run", ORDERS, "--quiet", "--output"])
        .arg(&parquet)
        .assert()
        .success();
    let whole = std::fs::read(&parquet).unwrap();
    for (name, bytes, said) in [
        (
            "text.arrow",
            &text[..],
            "it is not an Arrow IPC file or stream: it starts with `custom`, neither `ARROW1` (a file) nor a stream's first message",
        ),
        ("empty.arrows", &[][..], "it is empty"),
        (
            "short.arrows",
            &b"ab"[..],
            "it is not an Arrow IPC file or stream: it is 2 bytes long, shorter than any",
        ),
        (
            "short.parquet",
            &b"ab"[..],
            "it is not a Parquet file: it is 2 bytes long, shorter than any",
        ),
        (
            "text.parquet",
            &text[..],
            "it is not a Parquet file: it starts with `cust`, not `PAR1`",
        ),
        ("empty.parquet", &[][..], "it is empty"),
        (
            "magic.parquet",
            &b"PAR1"[..],
            "it is cut short: it starts as a Parquet file, but is 4 bytes long, shorter than any",
        ),
        (
            "footer.parquet",
            &b"PAR1\0\0\0\0\0\0\0efghPAR1"[..],
            "it is damaged: its footer says it is 1751606885 bytes long, but a file of 19 bytes has room for 7 at most",
        ),
        (
            "encrypted.parquet",
            &b"PARE\0\0\0\0\x04\0\0\0PARE"[..],
            "it is a Parquet file whose footer is encrypted, which `oplink run` cannot read: it holds no keys to decrypt it",
        ),
        (
            "cut.parquet",
            &whole[..whole.len() / 2],
            "it is cut short: it starts as a Parquet file, but does not end with the footer every Parquet file ends with",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        fails_with(
            oplink().args(["run", "--to", "none"]).arg(&path),
            &format!("cannot read `{}`: {said}", path.display()),
        );
    }
}

/// A number with a fraction in an integer column of JSON lines is an error naming its line,
/// as in CSV: arrow-json alone turned `1.9` into 1.
#[test]
fn json_lines_refuse_a_fraction_in_an_integer_column() {
    let dir = tempfile::tempdir().unwrap();
    // Given by `--schema`; a blank line does not count as a row.
    let given = dir.path().join("given.jsonl");
    std::fs::write(&given, "{\"a\": 1}\n\n{\"b\": \"x\", \"a\": 1.9}\n").unwrap();
    fails_with(
        oplink()
            .args(["run", "--to", "none", "--schema", "a:int64,b:utf8"])
            .arg(&given),
        &format!(
            "cannot read `{}` at line 3, column 12 (`a`): `1.9` is not a valid Int64",
            given.display()
        ),
    );
    // Inferred from the first 10,000 lines, all whole numbers.
    let inferred = dir.path().join("inferred.jsonl");
    let mut text: String = (0..10_000).map(|i| format!("{{\"n\": {i}}}\n")).collect();
    text.push_str("{\"n\": 2.5}\n");
    std::fs::write(&inferred, text).unwrap();
    fails_with(
        oplink().args(["run", "--to", "none"]).arg(&inferred),
        &format!(
            "cannot read `{}` at line 10001, column 2 (`n`): `2.5` is not a valid Int64 (the schema was inferred from the first rows; give `--schema` to set it)",
            inferred.display()
        ),
    );
    // The same for whole numbers past `i64`, read as a decimal of scale 0, whose parser
    // would round a fraction and read an exponent.
    for (value, column) in [("1.5", 2), ("1e3", 2)] {
        let mut text = "{\"n\": -99999999999999999999}\n".to_owned();
        (1..10_000).for_each(|i| text.push_str(&format!("{{\"n\": {i}}}\n")));
        text.push_str(&format!("{{\"n\": {value}}}\n"));
        std::fs::write(&inferred, text).unwrap();
        fails_with(
            oplink().args(["run", "--to", "none"]).arg(&inferred),
            &format!(
                "cannot read `{}` at line 10001, column {column} (`n`): `{value}` is not a valid Decimal128(20, 0) (the schema was inferred from the first rows; give `--schema` to set it)",
                inferred.display()
            ),
        );
    }
    // Whole numbers, as numbers or text, and nulls read as before.
    let fine = dir.path().join("fine.jsonl");
    std::fs::write(&fine, "{\"a\": \"12\"}\n{\"a\": null}\n{\"a\": -3}\n").unwrap();
    let output = oplink()
        .args([
            "run", "--quiet", "--to", "csv", "--emit", "inserts", "--schema", "a:int64",
        ])
        .arg(&fine)
        .assert()
        .success()
        .get_output()
        .clone();
    // (A lone column's null is written `""`, so that its line is not a blank one.)
    assert_eq!(stdout(&output), "a\n12\n\"\"\n-3\n");
    // A date or a time given as a number counts its units: a fraction is refused, where
    // arrow-json would cut it to a whole count; whole counts and text read as before.
    let times = dir.path().join("times.jsonl");
    for (schema, value) in [("a:date32", "1.5"), ("a:timestamp_ms", "1.9")] {
        std::fs::write(&times, format!("{{\"a\": {value}}}\n")).unwrap();
        let ty = if schema.ends_with("date32") {
            "Date32"
        } else {
            "Timestamp(ms)"
        };
        fails_with(
            oplink()
                .args(["run", "--to", "none", "--schema", schema])
                .arg(&times),
            &format!(
                "cannot read `{}` at line 1, column 2 (`a`): `{value}` is not a valid {ty}",
                times.display()
            ),
        );
    }
    // `""` is no date in JSON (in CSV, an empty field is a null).
    std::fs::write(&times, "{\"a\": \"\"}\n").unwrap();
    fails_with(
        oplink()
            .args(["run", "--to", "none", "--schema", "a:date32"])
            .arg(&times),
        &format!(
            "cannot read `{}` at line 1, column 2 (`a`): `` is not a valid Date32",
            times.display()
        ),
    );
    // A date or a time given as text finer than its column is refused too.
    std::fs::write(&times, "{\"a\": \"2024-01-01 10:00:00.1239\"}\n").unwrap();
    fails_with(
        oplink()
            .args(["run", "--to", "none", "--schema", "a:timestamp_ms"])
            .arg(&times),
        &format!(
            "cannot read `{}` at line 1, column 2 (`a`): `2024-01-01 10:00:00.1239` is finer than Timestamp(ms) holds: it keeps milliseconds, and its fraction `.1239` would be cut to `.123`",
            times.display()
        ),
    );
    std::fs::write(
        &times,
        "{\"a\": 19000}\n{\"a\": \"2024-01-01\"}\n{\"a\": null}\n",
    )
    .unwrap();
    let output = oplink()
        .args([
            "run", "--quiet", "--to", "csv", "--emit", "inserts", "--schema", "a:date32",
        ])
        .arg(&times)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout(&output), "a\n2022-01-08\n2024-01-01\n\"\"\n");
}

/// Whole numbers past `i64::MAX` (a 64-bit hash, an unsigned id) keep every digit: arrow-json
/// alone infers `Float64` for them, which rounds the whole column to 53 bits.
#[test]
fn json_lines_keep_every_digit_of_large_whole_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let run = |text: &str| {
        let path = dir.path().join("ids.jsonl");
        std::fs::write(&path, text).unwrap();
        let output = inserts_csv(&path);
        stdout(&output)
    };
    // All at least 0: UInt64.
    assert_eq!(
        run("{\"id\": 12345678901234567891}\n{\"id\": 9007199254740993}\n{\"id\": null}\n"),
        "id\n12345678901234567891\n9007199254740993\n\"\"\n"
    );
    // Some negative too: a decimal of 20 digits.
    assert_eq!(
        run("{\"id\": -5}\n{\"id\": 12345678901234567891}\n"),
        "id\n-5\n12345678901234567891\n"
    );
    // Past `i64` downwards, or past `u64`: decimals of 20 digits, or 38 for longer ones.
    assert_eq!(
        run("{\"v\": -9223372036854775809}\n{\"v\": 1}\n"),
        "v\n-9223372036854775809\n1\n"
    );
    assert_eq!(
        run("{\"v\": -99999999999999999999}\n{\"v\": 123456789012345678901234}\n"),
        "v\n-99999999999999999999\n123456789012345678901234\n"
    );
    // Past 38 digits no Arrow integer holds them: Float64.
    assert_eq!(
        run(&format!("{{\"v\": 1{}}}\n", "0".repeat(38))),
        "v\n1e38\n"
    );
    // A fraction among them: Float64, as before.
    assert_eq!(
        run("{\"x\": 12345678901234567891}\n{\"x\": 1.5}\n"),
        "x\n1.2345678901234567e19\n1.5\n"
    );
}

/// JSON has no number for NaN or infinity: written as `null`, and said so.
#[test]
fn json_lines_output_says_when_it_wrote_nan_as_null() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("floats.csv");
    std::fs::write(&path, "x\n1.5\nNaN\ninf\n\n").unwrap();
    let output = oplink()
        .args(["run", "--to", "jsonl", "--emit", "inserts"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout(&output), "{\"x\":1.5}\n{\"x\":null}\n{\"x\":null}\n");
    assert!(
        stderr(&output).starts_with(
            "oplink: warning: JSON has no number for NaN or infinity: 2 values were written as null\n"
        ),
        "{}",
        stderr(&output)
    );
}

/// A file whose permissions keep the user from writing it is not replaced by the output's
/// rename (which the permissions of the file itself would not stop), as a shell's `>`
/// would not write it. Run as `nobody` when the tests run as root, whom nothing stops.
#[test]
fn output_does_not_replace_a_file_one_may_not_write() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let kept = dir.path().join("kept.csv");
    std::fs::write(&kept, "keep\n").unwrap();
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o444)).unwrap();
    // The input beside it, where `nobody` may read it whatever the checkout's folders allow.
    let input = dir.path().join("orders.csv");
    std::fs::copy(workspace().join(ORDERS), &input).unwrap();
    let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"));
    run.current_dir(dir.path())
        .args(["run", "orders.csv", "--quiet", "--output"])
        .arg(&kept);
    // SAFETY: asks for this process's effective user id, nothing else.
    if unsafe { libc::geteuid() } == 0 {
        run.uid(65534).gid(65534);
        // Skipped where `nobody` cannot run the command at all (a checkout in a folder
        // only root may enter, a user namespace without that id).
        let mut probe = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"));
        probe.arg("--version").uid(65534).gid(65534);
        if !probe.output().is_ok_and(|out| out.status.success()) {
            eprintln!(
                "skipped: `nobody` cannot run {}",
                env!("CARGO_BIN_EXE_oplink")
            );
            return;
        }
    }
    fails_with(
        &mut Command::from_std(run),
        &format!(
            "--output `{}` is a file you may not write (read-only): make it writable or name another file",
            kept.display()
        ),
    );
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "keep\n");
    // SAFETY: as above.
    if unsafe { libc::geteuid() } != 0 {
        return; // the cases below need a file of another user's: root makes it
    }
    let as_nobody = |output: &std::path::Path| {
        let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"));
        run.current_dir(dir.path())
            .args(["run", "orders.csv", "--quiet", "--output"])
            .arg(output)
            .uid(65534)
            .gid(65534);
        Command::from_std(run)
    };
    // Another user's file that anyone may write, in a sticky folder (as `/tmp`), which
    // lets only its owner replace it: refused before the run, not at its rename.
    let sticky = dir.path().join("sticky");
    std::fs::create_dir(&sticky).unwrap();
    std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let shared = sticky.join("shared.csv");
    std::fs::write(&shared, "keep\n").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o666)).unwrap();
    fails_with(
        &mut as_nobody(&shared),
        &format!(
            "--output `{}` is another user's file in a folder that keeps each file to its owner (sticky, as `/tmp`): name another file",
            shared.display()
        ),
    );
    assert_eq!(std::fs::read_to_string(&shared).unwrap(), "keep\n");
    // A folder that takes no new file: said to be the folder's doing.
    let closed = dir.path().join("closed");
    std::fs::create_dir(&closed).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o555)).unwrap();
    let new = closed.join("new.csv");
    fails_with(
        &mut as_nobody(&new),
        &format!(
            "cannot write `{}`: its folder `{}` takes no new file from you (the output is written beside it under a temporary name, then renamed)",
            new.display(),
            closed.display()
        ),
    );
}

/// What an error or a warning quotes (an operator's message, a column, a file name, a
/// value) reaches the terminal with its control characters as escapes: no escape sequence
/// recolours or retitles it, and no line break splits the one-line message.
#[test]
fn messages_show_control_characters_as_escapes() {
    let text = failure(
        oplink()
            .args(["run", ORDERS, "--quiet"])
            .args(plugins(&["threshold"]))
            .args([
                "--op",
                r#"threshold={"column": "a\u001b]0;title\u0007b\nline", "min": 1}"#,
            ]),
    );
    assert!(
        text.starts_with(
            "oplink: operator `threshold` failed in `apply`: input has no column `a\\u{1b}]0;title\\u{7}b\\nline` (at "
        ) && text.matches('\n').count() == 1,
        "{text}"
    );
    // A value of the data file, in a reader's error.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("escapes.csv");
    std::fs::write(&path, "a\n\x1b[31m\n").unwrap();
    let text = failure(
        oplink()
            .args(["run", "--quiet", "--schema", "a:int64"])
            .arg(&path),
    );
    assert!(
        text.contains("`\\u{1b}[31m`") && !text.contains('\x1b'),
        "{text}"
    );
}

/// A `--schema` key that no line of a JSON lines file has (a typo, another case) reads as a
/// column of nulls, with a warning naming it.
#[test]
fn a_schema_key_no_json_line_has_gets_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.jsonl");
    std::fs::write(&path, "{\"x\": 1}\n{\"x\": 2, \"z\": 3}\n").unwrap();
    let output = oplink()
        .args(["run", "--to", "none", "--schema", "X:int64,y:utf8,z:int64"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&output).starts_with(&format!(
            "oplink: warning: `{}`: --schema names keys that none of the first 2 lines has, read as nulls: `X` (the lines have `x`) and `y`\n",
            path.display()
        )),
        "{}",
        stderr(&output)
    );
}

/// What a library says of itself reaches the terminal with its control characters as
/// escapes: a C operator's description with an escape sequence and a line break.
#[test]
fn inspect_shows_a_description_s_control_characters_as_escapes() {
    let output = oplink()
        .arg("inspect")
        .arg(fixture("DESCRIPTION_CONTROL"))
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&output);
    assert!(
        text.contains("evil \\u{1b}[31mred\\u{1b}[0m\\nnext line\n") && !text.contains('\x1b'),
        "{text}"
    );
    // `check` keeps one line per library, whatever its name holds.
    let checked = oplink()
        .args(["check", "no\nsuch.so"])
        .assert()
        .failure()
        .get_output()
        .clone();
    assert_eq!(stdout(&checked), "FAILED   no\\nsuch.so: does not exist\n");
}

/// A null is written as `null` rather than left out, so that a column of nulls is still
/// there when the file is read back.
#[test]
fn json_lines_output_keeps_a_column_of_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, jsonl) = (dir.path().join("gaps.csv"), dir.path().join("gaps.jsonl"));
    std::fs::write(&csv, "a,b\n1,\n2,\n").unwrap();
    oplink()
        .args(["run", "--quiet", "--emit", "inserts", "--output"])
        .arg(&jsonl)
        .arg(&csv)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&jsonl).unwrap(),
        "{\"a\":1,\"b\":null}\n{\"a\":2,\"b\":null}\n"
    );
    assert_eq!(stdout(&inserts_csv(&jsonl)), "a,b\n1,\n2,\n");
}

/// A column inferred as dates by the look of its values (arrow-csv infers by pattern), whose
/// sample holds one that is no date, is text, as a column of mixed values is: the run reads
/// it rather than stopping on it.
#[test]
fn csv_dates_that_are_not_all_dates_are_read_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dates.csv");
    std::fs::write(
        &path,
        "d,t\n2024-01-01,2024-01-01T10:00:00\n2024-13-01,2024-01-01T25:00:00\n",
    )
    .unwrap();
    assert_eq!(
        stdout(&inserts_csv(&path)),
        "d,t\n2024-01-01,2024-01-01T10:00:00\n2024-13-01,2024-01-01T25:00:00\n"
    );
    // Dates that are all dates in the sample stay dates: a bad one after it is an error.
    let mut text = "d\n".to_owned();
    text.push_str(&"2024-01-01\n".repeat(10_000));
    text.push_str("2024-13-01\n");
    std::fs::write(&path, text).unwrap();
    fails_with(
        oplink().args(["run", "--to", "none"]).arg(&path),
        &format!(
            "cannot read `{}` at line 10002, column 1 (`d`): `2024-13-01` is not a valid Date32 (the schema was inferred from the first rows; give `--schema` to set it)",
            path.display()
        ),
    );
}

/// Timestamps that give their offset keep it as UTC: without a zone, the instants arrow-csv
/// reads would be written as local times, the offset lost.
#[test]
fn csv_timestamps_with_an_offset_are_written_in_utc_marked_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("times.csv");
    std::fs::write(
        &path,
        "t,n\n2024-01-01 10:00:00+05:30,1\n2024-01-01T10:00:00Z,2\n",
    )
    .unwrap();
    let output = inserts_csv(&path);
    assert_eq!(
        stdout(&output),
        "t,n\n2024-01-01T04:30:00Z,1\n2024-01-01T10:00:00Z,2\n"
    );
    // Without offsets they stay as they are written.
    std::fs::write(&path, "t,n\n2024-01-01 10:00:00,1\n").unwrap();
    let output = inserts_csv(&path);
    assert_eq!(stdout(&output), "t,n\n2024-01-01T10:00:00,1\n");
}

/// JSON lines that give one field as text on one line and as a number on another read as
/// text.
#[test]
fn json_lines_that_mix_text_and_numbers_in_a_field_read_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.jsonl");
    std::fs::write(&path, "{\"id\":\"7\",\"n\":1}\n{\"id\":8,\"n\":2}\n").unwrap();
    let output = inserts_csv(&path);
    assert_eq!(stdout(&output), "id,n\n7,1\n8,2\n");
}

/// The line a CSV error names is the file's, past blank lines and quoted line breaks.
#[test]
fn a_csv_error_names_the_files_line_past_blank_lines_and_quoted_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "a,b\n1,2\n\n\n3,x\n",
            "at line 5, column 2 (`b`): `x` is not a valid Int64",
        ),
        (
            "a,b\n\"one\ntwo\",2\n3,x\n",
            "at line 4, column 2 (`b`): `x` is not a valid Int64",
        ),
        (
            "a,b\n1,2\n\n3,4,5\n",
            "at line 4: 3 fields where the header has 2",
        ),
    ];
    for (i, (text, said)) in cases.into_iter().enumerate() {
        let file = dir.path().join(format!("case{i}.csv"));
        std::fs::write(&file, text).unwrap();
        fails_with(
            oplink()
                .args(["run", "--to", "none", "--schema", "a:utf8,b:int64"])
                .arg(&file),
            &format!("cannot read `{}` {said}", file.display()),
        );
    }
    // One field, in words.
    let file = dir.path().join("short.csv");
    std::fs::write(&file, "a,b\n1,2\n3\n").unwrap();
    fails_with(
        oplink()
            .args(["run", "--to", "none", "--schema", "a:utf8,b:int64"])
            .arg(&file),
        &format!(
            "cannot read `{}` at line 3: 1 field where the header has 2",
            file.display()
        ),
    );
    // Text that is not UTF-8, past a quoted line break.
    let file = dir.path().join("bytes.csv");
    std::fs::write(&file, b"a,b\n\"one\ntwo\",2\nb\xffb,3\n").unwrap();
    fails_with(
        oplink()
            .args(["run", "--to", "none", "--schema", "a:utf8,b:int64"])
            .arg(&file),
        &format!(
            "cannot read `{}` at line 4, column 1 (`a`): the text is not valid UTF-8 (text in another encoding can be converted first, e.g. `iconv -f latin1 -t utf-8`)",
            file.display()
        ),
    );
    // While the schema is inferred, too.
    let file = dir.path().join("inferred.csv");
    std::fs::write(&file, "a,b\n1,2\n\n3,4,5\n").unwrap();
    fails_with(
        oplink().args(["run", "--to", "none"]).arg(&file),
        &format!(
            "cannot read `{}` at line 4: 3 fields where the header has 2",
            file.display()
        ),
    );
    // A quote never closed takes in the rest of the file: said so, rather than as a
    // count of fields, with the schema inferred or given.
    let file = dir.path().join("open-quote.csv");
    std::fs::write(&file, "a,b\n1,2\n\"3,4\n").unwrap();
    let said = format!(
        "cannot read `{}` at line 3: a field opened with `\"` is never closed: the quote runs to the end of the file, so this line took in the rest of it",
        file.display()
    );
    fails_with(oplink().args(["run", "--to", "none"]).arg(&file), &said);
    fails_with(
        oplink()
            .args(["run", "--to", "none", "--schema", "a:utf8,b:utf8"])
            .arg(&file),
        &said,
    );
    // In the last field, where the count of fields stays right and the reader took the
    // rest of the file in silence: the line where it opened; in the header, line 1.
    for (text, line) in [("a,b\n1,\"2\n3,4\n5,6\n", 2), ("a,\"b\n1,2\n", 1)] {
        std::fs::write(&file, text).unwrap();
        fails_with(
            oplink().args(["run", "--to", "none"]).arg(&file),
            &format!(
                "cannot read `{}` at line {line}: a field opened with `\"` is never closed: the quote runs to the end of the file, so this line took in the rest of it",
                file.display()
            ),
        );
    }
    // The field that took in the rest of the file is not written before the error: the
    // batch read with the end of the file is refused.
    std::fs::write(&file, "a,b\n1,x\n2,y\n3,\"z\n4,w\n").unwrap();
    let output = oplink()
        .args(["run", "--to", "jsonl"])
        .arg(&file)
        .assert()
        .failure()
        .get_output()
        .clone();
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("at line 4: a field opened with `\"` is never closed"),
        "{}",
        stderr(&output)
    );
    // A quote never closed on a later line does not take the blame for an earlier line's
    // count of fields; a byte-order mark does not move the line of an open quote.
    std::fs::write(&file, "a,b\n1,2,3\n4,\"5\n").unwrap();
    fails_with(
        oplink().args(["run", "--to", "none"]).arg(&file),
        &format!(
            "cannot read `{}` at line 2: 3 fields where the header has 2",
            file.display()
        ),
    );
    std::fs::write(&file, "\u{feff}a,b\n1,\"\nx\n").unwrap();
    fails_with(
        oplink().args(["run", "--to", "none"]).arg(&file),
        &format!(
            "cannot read `{}` at line 2: a field opened with `\"` is never closed: the quote runs to the end of the file, so this line took in the rest of it",
            file.display()
        ),
    );
    // A quote that opens no field is text, and quoted line breaks and quotes are fine.
    std::fs::write(
        &file,
        "size,qty\n12\" pipe,3\n\"a \"\"b\"\" c\",4\n\"x\ny\",5\n",
    )
    .unwrap();
    assert_eq!(
        stdout(&inserts_csv(&file)),
        "size,qty\n\"12\"\" pipe\",3\n\"a \"\"b\"\" c\",4\n\"x\ny\",5\n"
    );
}

/// When nothing comes out, an Arrow or Parquet file is still one that reads (as empty),
/// with the input's columns when there is no operator to change them.
#[test]
fn when_nothing_comes_out_the_file_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let read_back = |file: &std::path::Path| {
        let output = oplink()
            .args(["run", "--to", "csv", "--emit", "inserts"])
            .arg(file)
            .assert()
            .success()
            .get_output()
            .clone();
        (stdout(&output), stderr(&output))
    };
    for ext in ["parquet", "arrow"] {
        let file = dir.path().join(format!("none.{ext}"));
        oplink()
            .args(["run", ORDERS, "--quiet", "--output"])
            .arg(&file)
            .args(plugins(&["threshold"]))
            .args(["--op", r#"threshold={"column": "amount", "min": 1000}"#])
            .assert()
            .success();
        let (rows, summary) = read_back(&file);
        assert_eq!(rows, "", "{ext}");
        assert!(summary.starts_with("read 0 rows"), "{ext}: {summary}");
    }
    let header = dir.path().join("header.csv");
    std::fs::write(&header, "customer,amount\n").unwrap();
    let file = dir.path().join("header.parquet");
    oplink()
        .args(["run", "--quiet", "--emit", "inserts", "--output"])
        .arg(&file)
        .arg(&header)
        .assert()
        .success();
    assert_eq!(read_back(&file).0, "customer,amount\n");
}

/// A change of no rows that an operator fails on is named as such.
#[test]
fn an_operator_that_fails_on_a_change_of_no_rows_says_so() {
    use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.arrows");
    let batch = RecordBatch::try_from_iter([(
        "amount",
        std::sync::Arc::new(Int64Array::from(Vec::<i64>::new())) as ArrayRef,
    )])
    .unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(file, &batch.schema()).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    let text = failure(
        oplink()
            .args(["run"])
            .arg(&path)
            .args(plugins(&["faulty"]))
            .args(["--op", r#"faulty={"fail_in": "apply", "how": "error"}"#]),
    );
    assert!(text.ends_with(", on change 1 (no input rows)\n"), "{text}");
}

#[test]
fn a_changelog_read_back_needs_its_op_column_renamed_or_plain_rows() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    std::fs::write(&log, "op,customer,amount\n+I,ann,12\n").unwrap();
    fails_with(
        oplink().args(["run", "--quiet", "--to", "csv"]).arg(&log),
        "cannot write the output: the rows have a column named `op`, the name of the column that holds each row's change (`+I`, `-D`, `-U`, `+U`); rename it, or write the rows alone with `--emit inserts`",
    );
    let output = inserts_csv(&log);
    assert_eq!(stdout(&output), "op,customer,amount\n+I,ann,12\n");
    // Counted only: nothing is written, so nothing is refused.
    oplink()
        .args(["run", "--quiet", "--to", "none"])
        .arg(&log)
        .assert()
        .success();
}

#[test]
fn an_operator_failing_at_the_end_of_the_input_names_the_closing_step() {
    let dir = tempfile::tempdir().unwrap();
    for (method, step) in [
        ("tick", "the closing tick"),
        ("flush_state", "the closing flush"),
        ("snapshot", "the closing snapshot"),
    ] {
        // An earlier output is left as it was, and nothing is left half-written.
        let output = dir.path().join(format!("{method}.csv"));
        std::fs::write(&output, "KEEP\n").unwrap();
        let state = dir.path().join(method);
        let text = failure(
            oplink()
                .args(["run", ORDERS, "--quiet", "--state"])
                .arg(&state)
                .arg("--output")
                .arg(&output)
                .args(plugins(&["faulty"]))
                .args([
                    "--op",
                    &format!(r#"faulty={{"fail_in": "{method}", "how": "error"}}"#),
                ]),
        );
        assert!(
            text.starts_with(&format!(
                "oplink: operator `faulty` failed in `{method}`: faulty fails in {method} (at "
            )) && text.ends_with(&format!(", on {step}\n")),
            "{text}"
        );
        assert_eq!(
            std::fs::read_to_string(&output).unwrap(),
            "KEEP\n",
            "{method}"
        );
        // The state folder this run made is gone with it.
        assert!(!state.exists(), "{method}");
        let partial: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains("partial"))
            .collect();
        assert!(partial.is_empty(), "{method}: {partial:?}");
    }
    // Nothing is kept before every operator closed: a failing flush or snapshot leaves
    // every store (here `tally`'s) and every snapshot as they were.
    let state = dir.path().join("two");
    let run = |fail_in: &str| {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--quiet", "--to", "none", "--state"])
            .arg(&state)
            .args(plugins(&["toolkit", "faulty"]))
            .args(["--op", r#"tally={"key": "customer"}"#])
            .args([
                "--op",
                &format!(r#"faulty={{"fail_in": "{fail_in}", "how": "error"}}"#),
            ]);
        cmd
    };
    run("never").assert().success();
    let counts = || {
        let store = oplink_host::StateStore::open(state.join("state.redb")).unwrap();
        store.entries("tally").unwrap()
    };
    let (before, snapshot) = (
        counts(),
        std::fs::read(state.join("tally.snapshot")).unwrap(),
    );
    assert!(!before.is_empty());
    for fail_in in ["snapshot", "flush_state"] {
        failure(&mut run(fail_in));
        assert_eq!(counts(), before, "the store was written ({fail_in})");
        assert_eq!(
            std::fs::read(state.join("tally.snapshot")).unwrap(),
            snapshot,
            "{fail_in}"
        );
    }
    // A panic while the instance is dropped is a warning, not a failure of the run.
    let output = oplink()
        .args(["run", ORDERS, "--quiet", "--to", "none"])
        .args(plugins(&["faulty"]))
        .args(["--op", r#"faulty={"fail_in": "drop", "how": "panic"}"#])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&output).contains(
            "destroying an operator instance failed operator=\"faulty\" error=operator `faulty` panicked in `drop`: faulty panics in drop (at "
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn output_through_a_link_a_device_or_a_pipe_is_written_there_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &std::path::Path| {
        oplink()
            .args([
                "run", ORDERS, "--quiet", "--emit", "inserts", "--to", "csv", "--output",
            ])
            .arg(out)
            .assert()
            .success();
    };
    // A symbolic link: the file it names gets the output, the link stays a link.
    let target = dir.path().join("target.csv");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    run(&link);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(written.starts_with("customer,amount\n"), "{written}");
    // A chain of links to a file not there yet: the file is made, the links stay links.
    let first = dir.path().join("first.csv");
    let second = dir.path().join("second.csv");
    std::os::unix::fs::symlink("second.csv", &first).unwrap();
    std::os::unix::fs::symlink("made.csv", &second).unwrap();
    run(&first);
    assert!(
        std::fs::symlink_metadata(&second)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("made.csv")).unwrap(),
        written
    );
    // Links that lead back to themselves: refused, nothing written.
    let (ping, pong) = (dir.path().join("ping.csv"), dir.path().join("pong.csv"));
    std::os::unix::fs::symlink("pong.csv", &ping).unwrap();
    std::os::unix::fs::symlink("ping.csv", &pong).unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "csv", "--output"])
            .arg(&ping),
        &format!(
            "--output `{}` is a chain of links that does not end",
            ping.display()
        ),
    );
    // A file made private stays private when its contents are replaced.
    use std::os::unix::fs::PermissionsExt;
    let private = dir.path().join("private.csv");
    std::fs::write(&private, "old").unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    run(&private);
    let mode = std::fs::metadata(&private).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // A device: written to, not replaced.
    run(std::path::Path::new("/dev/null"));
    assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
    // A named pipe: its reader gets every row.
    let fifo = dir.path().join("fifo.csv");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    run(&fifo);
    assert_eq!(reader.join().unwrap(), written);
    // Standard output by its name, when it is a pipe (as it is here): a link to a pipe
    // that has no path of its own.
    for name in ["/dev/stdout", "/proc/self/fd/1"] {
        let output = oplink()
            .args([
                "run", ORDERS, "--quiet", "--emit", "inserts", "--to", "csv", "--output", name,
            ])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(stdout(&output), written, "{name}");
    }
    // Standard output by its name when it is a file opened to append (`>> log.csv`): the
    // rows go after what the file held, through the descriptor, and the file is not replaced.
    let appended = dir.path().join("appended.csv");
    std::fs::write(&appended, "KEEP\n").unwrap();
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&appended)
        .unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"))
        .current_dir(workspace())
        .args([
            "run",
            ORDERS,
            "--quiet",
            "--emit",
            "inserts",
            "--to",
            "csv",
            "--output",
            "/dev/stdout",
        ])
        .stdout(file)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(&appended).unwrap(),
        format!("KEEP\n{written}")
    );
    // A folder: refused before any work.
    fails_with(
        oplink()
            .args(["run", ORDERS, "--to", "csv", "--output"])
            .arg(dir.path()),
        &format!(
            "--output `{}` is a folder; name a file",
            dir.path().display()
        ),
    );
}

#[test]
fn a_run_whose_output_fails_keeps_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let run = |output: &str| {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--quiet", "--to", "csv", "--state"])
            .arg(dir.path())
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ]);
        if !output.is_empty() {
            cmd.args(["--output", output]);
        }
        cmd
    };
    // A link to nowhere where the folder should be, for `--state` and `new --path` alike.
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let said = format!(
        "`{}` is a symbolic link to `{}`, which does not exist",
        dangling.display(),
        dir.path().join("nowhere").display()
    );
    fails_with(
        oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(&dangling),
        &said,
    );
    fails_with(
        oplink().args(["new", "linked", "--path"]).arg(&dangling),
        &said,
    );
    // A file where the folder should be.
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "").unwrap();
    fails_with(
        oplink().args(["run", ORDERS, "--state"]).arg(&file),
        &format!(
            "--state `{}` is a file; name a folder (it is created if missing)",
            file.display()
        ),
    );
    // A file above the folder to make: named, rather than the system's "Not a directory".
    let below = file.join("state");
    fails_with(
        oplink().args(["run", ORDERS, "--state"]).arg(&below),
        &format!(
            "--state `{}` cannot be made: `{}` is a file, not a folder; name a folder (it is created if missing)",
            below.display(),
            file.display()
        ),
    );
    // Every row is processed, then the output cannot be written (a full device).
    fails_with(
        &mut run("/dev/full"),
        "cannot write the output: No space left on device",
    );
    // Every format says so in the same words (the CSV writer's were "Csv error: … (os
    // error 28)", the IPC and Parquet writers' "Io error: …" where they start a file).
    for format in ["csv", "tsv", "jsonl", "ipc", "parquet", "table"] {
        fails_with(
            oplink().args([
                "run",
                ORDERS,
                "--quiet",
                "--output",
                "/dev/full",
                "--to",
                format,
            ]),
            "cannot write the output: No space left on device",
        );
    }
    assert!(!dir.path().join("running_sum.snapshot").exists());
    // So the next run starts afresh: inserts, no updates of sums counted once already.
    let output = run("").assert().success().get_output().clone();
    let text = stdout(&output);
    assert!(text.contains("+I,ann,47") && !text.contains("-U"), "{text}");
}

#[test]
fn a_file_that_cannot_be_written_is_named_and_the_earlier_one_kept() {
    // A file size limit of 0 (its signal ignored, so a write fails with EFBIG), in every
    // format: the error names the file, and the file of an earlier run stays as it was.
    let dir = tempfile::tempdir().unwrap();
    for format in ["csv", "tsv", "jsonl", "ipc", "parquet", "table"] {
        let out = dir.path().join(format!("out.{format}"));
        std::fs::write(&out, "earlier\n").unwrap();
        let mut limited = Command::new("sh");
        limited
            .current_dir(workspace())
            .env_remove("OPLINK_PLUGIN_PATH")
            .args(["-c", "ulimit -f 0; trap '' XFSZ; exec \"$@\"", "sh"])
            .arg(env!("CARGO_BIN_EXE_oplink"))
            .args(["run", ORDERS, "--quiet", "--to", format, "--output"])
            .arg(&out);
        fails_with(
            &mut limited,
            &format!("cannot write `{}`: File too large", out.display()),
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier\n");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|name| name.to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_input_that_is_not_a_regular_file_is_refused_not_read_half() {
    // A pipe would be read once, by the schema's check, and be empty for the rows.
    let orders = std::fs::read(workspace().join(ORDERS)).unwrap();
    fails_with(
        oplink()
            .args(["run", "/dev/stdin", "--format", "csv"])
            .args(["--schema", "customer:utf8,amount:int64"])
            .write_stdin(orders),
        "`/dev/stdin` is not a regular file: `oplink run` reads its input more than once (to infer or check its schema), so save the stream to a file first",
    );
    fails_with(
        oplink()
            .args(["run", "/dev/stdin", "--format", "ipc"])
            .write_stdin(b"ARROW1".to_vec()),
        "`/dev/stdin` is not a regular file: `oplink run` reads its input more than once (to tell an Arrow IPC file from a stream), so save the stream to a file first",
    );
    fails_with(
        oplink().args(["run", "-", "--format", "parquet"]),
        "`oplink run` does not read standard input (`-`): it reads its input more than once (a Parquet file's footer, at its end, is read first), so save the stream to a file first",
    );
    // A named pipe no one writes to: refused at once, not waited on.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("rows.csv");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    fails_with(
        oplink()
            .arg("run")
            .arg(&fifo)
            .timeout(std::time::Duration::from_secs(20)),
        &format!(
            "`{}` is not a regular file: `oplink run` reads its input more than once (to infer or check its schema), so save the stream to a file first",
            fifo.display()
        ),
    );
}

#[test]
fn a_column_a_writer_cannot_write_is_an_error_not_a_crash() {
    use oplink::arrow::array::{ArrayRef, Int32Array, RecordBatch, UnionArray};
    use oplink::arrow::buffer::ScalarBuffer;
    use oplink::arrow::schema::{DataType, Field, UnionFields};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("union.arrow");
    let fields = UnionFields::try_new([0], [Field::new("n", DataType::Int32, false)]).unwrap();
    let union = UnionArray::try_new(
        fields,
        ScalarBuffer::from(vec![0i8, 0]),
        None,
        vec![std::sync::Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef],
    )
    .unwrap();
    let batch =
        RecordBatch::try_from_iter([("u", std::sync::Arc::new(union) as ArrayRef)]).unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    // arrow-rs's Parquet writer panics on a union ("not implemented"): an error here.
    let out = dir.path().join("u.parquet");
    let text = failure(
        oplink()
            .args(["run", "--quiet", "--emit", "inserts", "--output"])
            .arg(&out)
            .arg(&path),
    );
    assert!(
        text.starts_with(&format!(
            "oplink: cannot write `{}`: the Parquet writer cannot write these columns (",
            out.display()
        )) && text.ends_with("); write another format\n")
            && text.lines().count() == 1,
        "{text}"
    );
    assert!(!out.exists());
    // CSV holds no nested column: said before a byte is written.
    let output = oplink()
        .args(["run", "--quiet", "--to", "csv"])
        .arg(&path)
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "oplink: cannot write the output: CSV cannot hold the column `u` of type Union(Sparse, 0: (\"n\": non-null Int32)): write `--to jsonl`, `ipc` or `parquet`\n"
    );
}

#[test]
fn timestamps_with_a_named_time_zone_are_shown_and_written() {
    use oplink::arrow::array::{ArrayRef, RecordBatch, TimestampSecondArray};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("times.arrow");
    let column = |zone: &str| {
        std::sync::Arc::new(TimestampSecondArray::from(vec![1_700_000_000]).with_timezone(zone))
            as ArrayRef
    };
    let batch =
        RecordBatch::try_from_iter([("utc", column("UTC")), ("paris", column("Europe/Paris"))])
            .unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    let run = |to: &str| {
        let output = oplink()
            .args(["run", "--quiet", "--emit", "inserts", "--to", to])
            .arg(&path)
            .assert()
            .success()
            .get_output()
            .clone();
        stdout(&output)
    };
    assert_eq!(
        run("csv"),
        "utc,paris\n2023-11-14T22:13:20Z,2023-11-14T23:13:20+01:00\n"
    );
    let table = run("table");
    assert!(table.contains("2023-11-14T22:13:20Z"), "{table}");
    assert!(run("jsonl").contains("2023-11-14T23:13:20+01:00"));
}

#[test]
fn a_time_zone_no_one_can_read_is_refused_with_the_input() {
    use oplink::arrow::array::{ArrayRef, RecordBatch, StructArray, TimestampSecondArray};
    use oplink::arrow::schema::{DataType, Field, TimeUnit};
    let dir = tempfile::tempdir().unwrap();
    let times = |zone: &str| {
        std::sync::Arc::new(TimestampSecondArray::from(vec![1_700_000_000]).with_timezone(zone))
            as ArrayRef
    };
    // At the top, and inside a struct.
    let nested = StructArray::from(vec![(
        std::sync::Arc::new(Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Second, Some("Mars/Olympus".into())),
            true,
        )),
        times("Mars/Olympus"),
    )]);
    for (name, column) in [
        ("flat", times("Mars/Olympus")),
        ("nested", std::sync::Arc::new(nested) as ArrayRef),
    ] {
        let path = dir.path().join(format!("{name}.arrow"));
        let batch = RecordBatch::try_from_iter([("utc", times("UTC")), (name, column)]).unwrap();
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
        fails_with(
            oplink().args(["run", "--quiet", "--to", "none"]).arg(&path),
            &format!(
                "cannot read `{}`: the column `{name}` holds timestamps in the time zone `Mars/Olympus`, which is neither a zone's name (`Europe/Paris`) nor an offset (`+05:30`)",
                path.display()
            ),
        );
    }
}

#[test]
fn an_output_closed_by_its_reader_ends_the_run_quietly() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    let mut text = "a,b\n".to_owned();
    for i in 0..200_000 {
        text.push_str(&format!("{i},{}\n", i * 3));
    }
    std::fs::write(&big, text).unwrap();
    for to in ["csv", "jsonl", "parquet", "ipc"] {
        // Like `oplink run … | head -c 10`: the reader takes a little and goes.
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"))
            .args(["run", "--quiet", "--to", to])
            .arg(&big)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 10];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{to}: {output:?}");
        assert_eq!(stderr(&output), "", "{to}");
    }
    // With `--state`, it fails: the state was not kept.
    let state = dir.path().join("state");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"))
        .current_dir(workspace())
        .args(["run", "--quiet", "--to", "csv", "--state"])
        .arg(&state)
        .args(plugins(&["toolkit"]))
        .args(["--op", "passthrough"])
        .arg(&big)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        stderr(&output),
        "oplink: the output was closed before the run ended, so `--state` was not saved\n"
    );
}

/// An operator's failure on an input read as one column carries the warning saying which
/// delimiter to give, which `--quiet` hides.
#[test]
fn an_operator_failure_on_a_one_column_input_says_which_delimiter_to_give() {
    // With --quiet or without.
    let dir = tempfile::tempdir().unwrap();
    let semi = dir.path().join("orders.csv");
    std::fs::write(&semi, "customer;amount\nann;12\n").unwrap();
    let hint = format!(
        "; `{}` reads as one column, `customer;amount`: if its fields are separated by `;`, give `--delimiter ';'`\n",
        semi.display()
    );
    for quiet in [true, false] {
        let text = failure(
            oplink()
                .args(["run", "--to", "none"])
                .args(quiet.then_some("--quiet"))
                .arg(&semi)
                .args(plugins(&["threshold"]))
                .args(["--op", THRESHOLD]),
        );
        let error = text.lines().last().unwrap_or_default();
        assert!(
            error.starts_with(
                "oplink: operator `threshold` failed in `apply`: input has no column `amount`"
            ) && text.ends_with(&format!(", on change 1 (input rows 0 to 0){hint}")),
            "{text}"
        );
        // Said once: the warning (when shown) and the error, not the error twice.
        assert_eq!(
            text.matches("reads as one column").count(),
            2 - usize::from(quiet),
            "{text}"
        );
    }
}

/// A CSV file separated by something other than commas reads with `--delimiter`; a `.tsv`
/// file (or `--format tsv`) with tabs, in and out; a file that looks separated otherwise
/// gets a warning; a delimiter that cannot be one is refused, naming it.
#[test]
fn other_separators_read_with_delimiter_and_tsv() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let semi = d.join("orders.csv");
    std::fs::write(&semi, "customer;amount\nann;12\nbob;3\n\"c;d\";40\n").unwrap();
    let inserts = |cmd: &mut Command| stdout(&cmd.assert().success().get_output().clone());
    assert_eq!(
        inserts(
            oplink()
                .args([
                    "run", "--quiet", "--to", "csv", "--emit", "inserts", "-d", ";"
                ])
                .arg(&semi)
                .args(plugins(&["threshold"]))
                .args(["--op", THRESHOLD])
        ),
        "customer,amount\nann,12\nc;d,40\n"
    );
    // Without it: one column, and a warning that says what to give.
    let output = oplink()
        .args(["run", "--to", "none"])
        .arg(&semi)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&output).starts_with(&format!(
            "oplink: warning: `{}` reads as one column, `customer;amount`: if its fields are separated by `;`, give `--delimiter ';'`\n",
            semi.display()
        )),
        "{}",
        stderr(&output)
    );
    // Commas read as TSV, tabs read as CSV, or either with another delimiter: the same
    // warning.
    let commas = d.join("commas.tsv");
    std::fs::write(&commas, "customer,amount\nann,12\n").unwrap();
    let renamed = d.join("commas.csv");
    std::fs::write(&renamed, "customer,amount\nann,12\n").unwrap();
    let tabs = d.join("tabs.tsv");
    std::fs::write(&tabs, "customer\tamount\nann\t12\n").unwrap();
    let tabbed = d.join("tabs.csv");
    std::fs::write(&tabbed, "customer\tamount\nann\t12\n").unwrap();
    for (args, path, advice, column) in [
        (&[][..], &tabbed, "give `--format tsv`", "customer\\tamount"),
        (
            &["-d", ";"][..],
            &tabbed,
            "give `--format tsv` without `--delimiter`",
            "customer\\tamount",
        ),
        (&[][..], &commas, "give `--format csv`", "customer,amount"),
        (
            &["-d", "|"][..],
            &renamed,
            "leave out `--delimiter`",
            "customer,amount",
        ),
        (
            &["-d", ";"][..],
            &commas,
            "give `--format csv` without `--delimiter`",
            "customer,amount",
        ),
        (
            &["-d", ","][..],
            &tabs,
            "leave out `--delimiter`",
            "customer\\tamount",
        ),
    ] {
        let output = oplink()
            .args(["run", "--to", "none"])
            .args(args)
            .arg(path)
            .assert()
            .success()
            .get_output()
            .clone();
        assert!(
            stderr(&output).starts_with(&format!(
                "oplink: warning: `{}` reads as one column, `{column}`: if its fields are separated by {}, {advice}\n",
                path.display(),
                if column.contains(',') { "commas" } else { "tabs" }
            )),
            "{}",
            stderr(&output)
        );
    }
    // TSV in by its extension or --format, TSV out by its extension, a TSV lookup table.
    let tsv = d.join("orders.tsv");
    std::fs::write(&tsv, "customer\tamount\nann\t12\nbob\t3\n").unwrap();
    let txt = d.join("orders.txt");
    std::fs::write(&txt, "customer\tamount\nann\t12\nbob\t3\n").unwrap();
    let tiers = d.join("tiers.tsv");
    std::fs::write(&tiers, "customer\ttier\nann\tgold, first\n").unwrap();
    let out = d.join("out.tsv");
    for input in [
        vec![tsv.clone().into_os_string()],
        vec![txt.into(), "--format".into(), "tsv".into()],
    ] {
        oplink()
            .args(["run", "--quiet", "--emit", "inserts", "-o"])
            .arg(&out)
            .args(&input)
            .args(plugins(&["enrich"]))
            .args([
                "--op",
                r#"lookup={"column": "customer", "table": "tiers", "into": "tier"}"#,
            ])
            .arg("--lookup")
            .arg(format!("tiers={}", tiers.display()))
            .assert()
            .success();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "customer\tamount\ttier\nann\t12\tgold, first\nbob\t3\t\n"
        );
    }
    // An error's line and column are counted with the file's separator.
    let bad = d.join("bad.csv");
    std::fs::write(&bad, "a;b\n\"x\ny\";2\n3;x\n").unwrap();
    fails_with(
        oplink()
            .args([
                "run",
                "--to",
                "none",
                "--delimiter",
                ";",
                "--schema",
                "a:utf8,b:int64",
            ])
            .arg(&bad),
        &format!(
            "cannot read `{}` at line 4, column 2 (`b`): `x` is not a valid Int64",
            bad.display()
        ),
    );
    for (given, said) in [
        (
            "ab",
            "--delimiter must be one ASCII character, or `tab`, not `ab`",
        ),
        (
            "é",
            "--delimiter must be one ASCII character, or `tab`, not `é`",
        ),
        (
            "",
            "--delimiter must be one ASCII character, or `tab`, not ``",
        ),
        (
            "\"",
            "--delimiter cannot be `\\\"`: it quotes or ends CSV records",
        ),
    ] {
        fails_with(oplink().args(["run", ORDERS, "--delimiter", given]), said);
    }
    assert_eq!(
        inserts(
            oplink()
                .args([
                    "run",
                    "--quiet",
                    "--to",
                    "csv",
                    "--emit",
                    "inserts",
                    "--delimiter",
                    "tab"
                ])
                .arg(&tsv)
        ),
        "customer,amount\nann,12\nbob,3\n"
    );
    let parquet = d.join("orders.parquet");
    oplink()
        .args(["run", ORDERS, "--quiet", "--emit", "inserts", "-o"])
        .arg(&parquet)
        .assert()
        .success();
    fails_with(
        oplink().arg("run").arg(&parquet).args(["--delimiter", ";"]),
        &format!(
            "--delimiter is for CSV and TSV input; `{}` is read as Parquet",
            parquet.display()
        ),
    );
}

/// What inference did not see is read or refused, never dropped: a CSV column empty in
/// every row inference read is text, and so is a JSON key whose every value it read was
/// `null`; a JSON key first seen after those rows is an error naming it and its line.
#[test]
fn values_past_the_rows_inference_read_are_never_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let last_line = |file: &std::path::Path| {
        let output = oplink()
            .args(["run", "--quiet", "--to", "jsonl", "--emit", "inserts"])
            .arg(file)
            .assert()
            .success()
            .get_output()
            .clone();
        stdout(&output).lines().last().unwrap().to_owned()
    };
    let csv = d.join("late.csv");
    let mut text = String::from("a,b\n");
    (0..10_000).for_each(|i| text.push_str(&format!("{i},\n")));
    text.push_str("1,kept\n");
    std::fs::write(&csv, text).unwrap();
    assert_eq!(last_line(&csv), r#"{"a":1,"b":"kept"}"#);

    let nulls = d.join("nulls.jsonl");
    let mut text = String::new();
    (0..10_000).for_each(|i| text.push_str(&format!("{{\"a\": {i}, \"b\": null}}\n")));
    text.push_str("{\"a\": 1, \"b\": 7}\n");
    std::fs::write(&nulls, text).unwrap();
    assert_eq!(last_line(&nulls), r#"{"a":1,"b":"7"}"#);

    let late = d.join("late.jsonl");
    let mut text = String::new();
    (0..10_000).for_each(|i| text.push_str(&format!("{{\"a\": {i}}}\n")));
    text.push_str("{\"a\": 1, \"extra\": \"kept\"}\n");
    std::fs::write(&late, text).unwrap();
    fails_with(
        oplink().args(["run", "--quiet", "--to", "none"]).arg(&late),
        &format!(
            "cannot read `{}` at line 10001, column 10: the key `extra` is not among the columns inferred from the first lines; give `--schema` to name the columns to read",
            late.display()
        ),
    );
    // A value of another type past those rows says the schema was inferred.
    let nested = d.join("nested.jsonl");
    let mut text = String::new();
    (0..10_000).for_each(|i| text.push_str(&format!("{{\"a\": {i}}}\n")));
    text.push_str("{\"a\": {\"b\": 1}}\n");
    std::fs::write(&nested, text).unwrap();
    fails_with(
        oplink()
            .args(["run", "--quiet", "--to", "none"])
            .arg(&nested),
        &format!(
            "cannot read `{}` at line 10001, column 2 (`a`): whilst decoding field 'a': expected primitive got {{\"b\": 1}} (the schema was inferred from the first rows; give `--schema` to set it)",
            nested.display()
        ),
    );
    // With `--schema`, the keys it names are the ones read.
    let output = oplink()
        .args([
            "run", "--quiet", "--to", "jsonl", "--emit", "inserts", "--schema", "a:int64",
        ])
        .arg(&late)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout(&output).lines().last(), Some(r#"{"a":1}"#));
}

/// A compressed Arrow IPC file or stream whose buffer declares a length it cannot hold
/// once decompressed (a damaged file: a terabyte) is an error naming it, not an allocation
/// failure that ends the process.
#[test]
fn a_compressed_arrow_buffer_that_declares_too_much_is_a_damaged_file() {
    use arrow_ipc::CompressionType;
    use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch};
    let dir = tempfile::tempdir().unwrap();
    // Values that compress, so that the writer keeps them compressed.
    let batch = RecordBatch::try_from_iter([(
        "amount",
        std::sync::Arc::new(Int64Array::from(vec![7; 1000])) as ArrayRef,
    )])
    .unwrap();
    for (name, codec, magic) in [
        ("lz4", CompressionType::LZ4_FRAME, [0x04, 0x22, 0x4d, 0x18]),
        ("zstd", CompressionType::ZSTD, [0x28, 0xb5, 0x2f, 0xfd]),
    ] {
        for stream in [false, true] {
            let path = dir.path().join(format!("{name}-{stream}.arrow"));
            let options = arrow_ipc::writer::IpcWriteOptions::default()
                .try_with_compression(Some(codec))
                .unwrap();
            let mut bytes = Vec::new();
            if stream {
                let mut writer = arrow_ipc::writer::StreamWriter::try_new_with_options(
                    &mut bytes,
                    &batch.schema(),
                    options,
                )
                .unwrap();
                writer.write(&batch).unwrap();
                writer.finish().unwrap();
            } else {
                let mut writer = arrow_ipc::writer::FileWriter::try_new_with_options(
                    &mut bytes,
                    &batch.schema(),
                    options,
                )
                .unwrap();
                writer.write(&batch).unwrap();
                writer.finish().unwrap();
            }
            std::fs::write(&path, &bytes).unwrap();
            let output = oplink()
                .args(["run", "--quiet", "--to", "none"])
                .arg(&path)
                .assert()
                .success();
            drop(output);
            // The 8 bytes before the codec's frame are the declared length.
            let at = bytes
                .windows(4)
                .position(|w| w == magic)
                .unwrap_or_else(|| panic!("{name}: no compressed frame"));
            bytes[at - 8..at].copy_from_slice(&1_000_000_000_000i64.to_le_bytes());
            std::fs::write(&path, &bytes).unwrap();
            let said = failure(oplink().args(["run", "--quiet", "--to", "none"]).arg(&path));
            let expected = format!(
                "oplink: cannot read `{}`: the file is damaged (buffer ",
                path.display()
            );
            assert!(
                said.starts_with(&expected),
                "{name}, stream {stream}: {said}"
            );
            assert!(
                said.contains("says it holds 1000000000000 bytes once decompressed, more than"),
                "{said}"
            );
        }
    }
}

/// A library is first opened in a check process: what its constructor prints does not reach
/// the command's output, and a check process whose parent is killed (while a constructor
/// hangs) does not live on.
#[test]
fn a_check_process_neither_prints_into_the_output_nor_outlives_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_path("threshold"), dir.path().join("libthreshold.so")).unwrap();
    std::fs::copy(fixture("CTOR_PRINT"), dir.path().join("libtalks.so")).unwrap();
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--quiet",
            "--to",
            "csv",
            "--emit",
            "inserts",
            "--plugins",
        ])
        .arg(dir.path())
        .args(["--op", THRESHOLD])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout(&output).starts_with("customer,amount\n"),
        "{}",
        stdout(&output)
    );
    assert!(
        !stdout(&output).contains("constructor"),
        "{}",
        stdout(&output)
    );

    // The pids whose parent is `pid`.
    let children = |pid: u32| -> Vec<u32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| {
                let stat = std::fs::read_to_string(entry.ok()?.path().join("stat")).ok()?;
                // pid (comm) state ppid ...: the command may hold spaces and parentheses.
                let after = &stat[stat.rfind(')')? + 2..];
                let ppid: u32 = after.split(' ').nth(1)?.parse().ok()?;
                (ppid == pid).then(|| stat.split(' ').next()?.parse().ok())?
            })
            .collect()
    };
    let mut check = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"))
        .args(["check", "--timeout", "60"])
        .arg(fixture("CTOR_HANG"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let probe = loop {
        if let Some(&probe) = children(check.id()).first() {
            break probe;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "no check process appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    check.kill().unwrap();
    check.wait().unwrap();
    let gone = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_or(true, |stat| stat.contains(") Z "))
    };
    while !gone(probe) {
        assert!(
            started.elapsed().as_secs() < 30,
            "the check process {probe} outlived its parent"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A run ended by Ctrl-C (or `SIGTERM`, `SIGHUP`) leaves no temporary file, store or folder
/// it made behind, and the earlier output as it was; the signal still ends the process, as the
/// shell expects.
#[test]
fn an_interrupted_run_removes_its_temporary_output() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    let mut text = String::from("customer,amount\n");
    for i in 0..2_000_000 {
        text.push_str(&format!("c{i},{i}\n"));
    }
    std::fs::write(&big, text).unwrap();
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let out = dir.path().join("out.csv");
        std::fs::write(&out, "earlier\n").unwrap();
        // Folders the run makes for `--state`.
        let made = dir.path().join(format!("state{signal}"));
        let state = made.join("a").join("b");
        let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"))
            .args(["run", "--quiet", "--batch-size", "1000", "-o"])
            .arg(&out)
            .arg("--state")
            .arg(&state)
            .arg(&big)
            .spawn()
            .unwrap();
        let partial = dir.path().join(format!(".out.csv.{}.partial", run.id()));
        let started = std::time::Instant::now();
        while std::fs::metadata(&partial).map_or(true, |m| m.len() == 0) {
            assert!(
                started.elapsed().as_secs() < 60,
                "no partial output appeared"
            );
            assert!(
                run.try_wait().unwrap().is_none(),
                "the run ended before the signal"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // SAFETY: sends a signal to a child this test started and has not reaped.
        assert_eq!(unsafe { libc::kill(run.id() as i32, signal) }, 0);
        let status = run.wait().unwrap();
        assert_eq!(status.signal(), Some(signal), "{status:?}");
        assert!(
            !partial.exists(),
            "signal {signal}: {} was left",
            partial.display()
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier\n");
        // Nor the store it made for `--state`, which would stop the next run, nor the
        // folders it made for it.
        assert!(!state.join("state.redb").exists(), "signal {signal}");
        assert!(
            !made.exists(),
            "signal {signal}: {} was left",
            made.display()
        );
    }
}

/// Inputs refused with a reason rather than read wrong: two columns of one name (in a
/// header or in `--schema`), a header-less file given a `--schema`, a Feather version 1
/// file.
#[test]
fn inputs_that_cannot_be_read_right_are_refused_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let twice = d.join("twice.csv");
    std::fs::write(&twice, "a,b,a\n1,2,3\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&twice),
        &format!(
            "cannot read `{}`: two of its columns are named `a`; give each column a name of its own",
            twice.display()
        ),
    );
    fails_with(
        oplink().args(["run", ORDERS, "--schema", "customer:utf8,customer:int64"]),
        "--schema names the column `customer` twice",
    );
    let empty = d.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    fails_with(
        oplink()
            .arg("run")
            .arg(&empty)
            .args(["--schema", "a:int64"]),
        &format!("cannot read `{}`: it has no header line", empty.display()),
    );
    let v1 = d.join("old.feather");
    std::fs::write(&v1, b"FEA1\0\0\0\0FEA1").unwrap();
    fails_with(
        oplink().arg("run").arg(&v1),
        &format!(
            "cannot read `{}`: it is a Feather version 1 file, which arrow-rs does not read: write it again as Feather version 2, the default since pyarrow 0.17 (`pyarrow.feather.write_feather(table, path)`)",
            v1.display()
        ),
    );
}

/// A UTF-8 byte-order mark (as some Windows editors save files) is skipped in JSON lines
/// input, a configuration file and a JSON lookup table, as it is in CSV.
#[test]
fn a_byte_order_mark_is_skipped_in_json_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bom = "\u{feff}";
    let rows = d.join("orders.jsonl");
    std::fs::write(
        &rows,
        format!("{bom}{{\"customer\": \"ann\", \"amount\": 12}}\n{{\"customer\": \"bob\", \"amount\": 3}}\n"),
    )
    .unwrap();
    let config = d.join("lookup.json");
    std::fs::write(
        &config,
        format!("{bom}{{\"column\": \"customer\", \"table\": \"tiers\", \"into\": \"tier\"}}"),
    )
    .unwrap();
    let tiers = d.join("tiers.json");
    std::fs::write(&tiers, format!("{bom}{{\"ann\": \"gold\"}}")).unwrap();
    let output = oplink()
        .args(["run", "--quiet", "--to", "csv", "--emit", "inserts"])
        .arg(&rows)
        .args(plugins(&["enrich"]))
        .arg("--op")
        .arg(format!("lookup=@{}", config.display()))
        .arg("--lookup")
        .arg(format!("tiers={}", tiers.display()))
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        "customer,amount,tier\nann,12,gold\nbob,3,\n"
    );
    // An error on a later line is still found on its line.
    std::fs::write(&rows, format!("{bom}{{\"a\": 1}}\n{{\"a\": \"x\"\n")).unwrap();
    fails_with(
        oplink().args(["run", "--quiet", "--to", "none"]).arg(&rows),
        &format!(
            "cannot read `{}` at line 2, column 9: not valid JSON: EOF while parsing an object",
            rows.display()
        ),
    );
}

/// Timestamps in whole seconds (what CSV's inference gives a timestamp without a fraction)
/// go to Parquet in milliseconds, with Parquet's timestamp type: arrow-rs would write them
/// as plain integers, which other readers take for numbers.
#[test]
fn timestamps_in_seconds_are_written_to_parquet_as_timestamps() {
    use parquet::basic::{LogicalType, TimeUnit};
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("at.csv");
    std::fs::write(
        &csv,
        "at,zoned\n2024-01-01T10:00:00,2024-01-01T10:00:00+05:30\n,\n",
    )
    .unwrap();
    let parquet = dir.path().join("at.parquet");
    oplink()
        .args(["run", "--quiet", "--emit", "inserts", "-o"])
        .arg(&parquet)
        .arg(&csv)
        .assert()
        .success();
    let file = std::fs::File::open(&parquet).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    let schema = parquet::file::reader::FileReader::metadata(&reader)
        .file_metadata()
        .schema_descr_ptr();
    for (column, utc) in [(0, false), (1, true)] {
        let descriptor = schema.column(column);
        let Some(LogicalType::Timestamp(ty)) = descriptor.logical_type_ref() else {
            panic!(
                "column {column} is no timestamp: {:?}",
                schema.column(column)
            );
        };
        assert_eq!(ty.is_adjusted_to_u_t_c, utc, "column {column}");
        assert!(
            matches!(ty.unit, TimeUnit::MILLIS),
            "column {column}: {ty:?}"
        );
    }
    // And read back as the same instants.
    let back = oplink()
        .args(["run", "--quiet", "--to", "jsonl", "--emit", "inserts"])
        .arg(&parquet)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(back.stdout).unwrap(),
        "{\"at\":\"2024-01-01T10:00:00\",\"zoned\":\"2024-01-01T04:30:00Z\"}\n{\"at\":null,\"zoned\":null}\n"
    );
}

/// On a terminal, a table written to it while the progress bar shows is written with the
/// bar put away: no line of the table starts after the bar's text. Run under `script`
/// (util-linux), which gives the command a terminal; skipped where it is missing.
#[test]
fn a_table_on_the_terminal_of_the_progress_bar_is_written_apart_from_it() {
    if std::process::Command::new("script")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: `script` is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    let mut text = String::from("id,name\n");
    for i in 0..300_000 {
        text.push_str(&format!("{i},n{i}\n"));
    }
    std::fs::write(&big, text).unwrap();
    let log = dir.path().join("terminal.log");
    let command = format!(
        "{} run {} --batch-size 1000",
        env!("CARGO_BIN_EXE_oplink"),
        big.display()
    );
    let status = std::process::Command::new("script")
        .args(["-qec", &command])
        .arg(&log)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let seen = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    assert!(seen.contains("+----"), "the table was written");
    assert!(seen.contains("reading"), "the bar showed");
    let collided = seen.lines().filter(|l| l.contains("left+--")).count();
    assert_eq!(collided, 0, "{collided} table lines after the bar's text");
}

/// Every error of oplink's own exits 1; an argument clap refuses (an unknown flag, a value
/// outside a flag's choices, a `--log` filter it cannot read, an unknown subcommand) exits
/// 2, with clap's `error: `, as the README says.
#[test]
fn arguments_clap_refuses_exit_2_and_oplinks_own_errors_exit_1() {
    for args in [
        &["run", ORDERS, "--no-such-flag"][..],
        &["run", ORDERS, "--to", "xml"][..],
        &["run", ORDERS, "--log", "a=b=c"][..],
        &["frobnicate"][..],
    ] {
        let output = oplink()
            .args(args)
            .assert()
            .failure()
            .code(2)
            .get_output()
            .clone();
        assert!(
            stderr(&output).starts_with("error: "),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    fails_with(
        oplink().args(["run", ORDERS, "--batch-size", "0"]),
        "--batch-size must be at least 1, not 0",
    );
}

/// `--state` compares configurations by a fingerprint of their JSON: the same one written
/// otherwise (keys in another order, other spacing, from an `@FILE`) continues its state
/// without the warning of another configuration.
#[test]
fn the_same_configuration_written_otherwise_continues_its_state_without_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = dir.path().join("sum.json");
    std::fs::write(
        &config,
        "{\n  \"value\": \"amount\",\n  \"key\": \"customer\"\n}\n",
    )
    .unwrap();
    let run = |op: &str| {
        let output = oplink()
            .args(["run", ORDERS, "--to", "none"])
            .args(plugins(&["running-sum"]))
            .args(["--op", op, "--state"])
            .arg(&state)
            .assert()
            .success()
            .get_output()
            .clone();
        stderr(&output)
    };
    let first = run(r#"running_sum={"key": "customer", "value": "amount"}"#);
    assert!(!first.contains("warning"), "{first}");
    for same in [
        r#"running_sum={"value":"amount","key":"customer"}"#.to_owned(),
        format!("running_sum=@{}", config.display()),
    ] {
        let text = run(&same);
        assert!(!text.contains("warning"), "{same}: {text}");
    }
}

/// `oplink new --oplink VERSION --registry NAME` depends on oplink from that registry
/// (oplink is not on crates.io; without `--registry` the Cargo.toml says so above the
/// dependency); `--registry` goes with a version only, and not with `--lang c`; a relative
/// `--oplink PATH` is written as the absolute path, since cargo would read it from the new
/// crate's folder.
#[test]
fn a_new_plugin_takes_oplink_from_a_registry_or_an_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    let manifest =
        |name: &str| std::fs::read_to_string(dir.path().join(name).join("Cargo.toml")).unwrap();
    oplink()
        .current_dir(dir.path())
        .args([
            "new",
            "from-registry",
            "--oplink",
            "0.2",
            "--registry",
            "mine",
        ])
        .assert()
        .success();
    assert!(
        manifest("from-registry")
            .contains("\noplink = { version = \"0.2\", registry = \"mine\" }\n"),
        "{}",
        manifest("from-registry")
    );
    oplink()
        .current_dir(dir.path())
        .args(["new", "replaced", "--oplink", "0.2"])
        .assert()
        .success();
    let text = manifest("replaced");
    assert!(
        text.contains("# oplink is not on crates.io: ")
            && text.contains(
                "\n# `oplink = { version = \"0.2\", registry = \"NAME\" }` (as `oplink new --registry NAME` does).\noplink = \"0.2\"\n"
            ),
        "{text}"
    );
    fails_with(
        oplink()
            .current_dir(dir.path())
            .args(["new", "by-path", "--registry", "mine"]),
        "--registry names where `--oplink VERSION` comes from, but without a version the crate depends on oplink by path: give `--oplink 0.2` with it, or drop --registry",
    );
    fails_with(
        oplink().current_dir(dir.path()).args([
            "new",
            "--lang",
            "c",
            "counter",
            "--registry",
            "mine",
        ]),
        "--registry sets a Rust crate's dependency on oplink; a C operator has none (it gets `oplink.h` copied in): drop --registry",
    );
    // Relative to where the command runs (the workspace), written absolute.
    oplink()
        .args(["new", "relative", "--oplink", "sdk", "--path"])
        .arg(dir.path().join("relative"))
        .assert()
        .success();
    let sdk = workspace().join("sdk").canonicalize().unwrap();
    assert!(
        manifest("relative").contains(&format!("\noplink = {{ path = \"{}\" }}\n", sdk.display())),
        "{}",
        manifest("relative")
    );
}

/// The README's example of an event under `-v`, word for word: one line, the level, the
/// operator's spans, the message and the fields, without time or target; an event of a
/// thread the operator spawned is shown as one of the operator's own.
#[test]
fn run_v_shows_an_event_of_an_operators_thread_as_the_readme_quotes_it() {
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--to",
            "none",
            "--quiet",
            "--op",
            "background",
            "-v",
        ])
        .args(plugins(&["enrich"]))
        .assert()
        .success()
        .get_output()
        .clone();
    let line = r#" INFO worker{operator="background" instance=1 diffs=1}: from the worker operator="background" instance=1 diffs=1"#;
    assert_eq!(stderr(&output), format!("{line}\n"));
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let quoted = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        quoted.contains(&format!("shows `{line}`")),
        "the README does not quote: {line}"
    );
}
