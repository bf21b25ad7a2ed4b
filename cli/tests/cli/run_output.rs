//! `oplink run`'s output: every format, the table and summary on a terminal, and an output
//! file written in full or not at all.

use assert_cmd::Command;

use crate::common::{plugin_path, workspace};

use crate::helpers::{ORDERS, THRESHOLD, fails_with, inserts_csv, oplink, plugins, stderr, stdout};

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

/// A table shows a null as `null`, at the top level and nested, and empty text as an empty
/// cell: arrow-rs's table left both empty.
#[test]
fn a_table_tells_a_null_from_empty_text() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("nulls.jsonl");
    std::fs::write(
        &input,
        "{\"id\": 1, \"name\": \"\", \"tags\": [\"a\", null]}\n{\"id\": 2, \"name\": null, \"tags\": null}\n",
    )
    .unwrap();
    let output = oplink()
        .arg("run")
        .arg(&input)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        "\
+----+----+------+-----------+
| op | id | name | tags      |
+----+----+------+-----------+
| +I | 1  |      | [a, null] |
| +I | 2  | null | null      |
+----+----+------+-----------+
"
    );
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
        "cannot write the output: JSON lines cannot hold the column `u` of type Union(Sparse, 0: (\"n\": Int64)): of the formats `oplink run` writes, only Arrow IPC holds a union; write Arrow IPC instead (an output file named `.arrow`, or `--to ipc`)",
    );
}

/// An interval of months, days and nanoseconds, which arrow-rs's Parquet writer does not
/// write, is refused by Parquet naming it and what to write instead (the writer said only
/// "NYI: Attempting to write an Arrow interval type MonthDayNano to parquet that is not yet
/// implemented"), in a list too; Arrow IPC keeps it.
#[test]
fn parquet_refuses_an_interval_of_months_days_and_nanoseconds_naming_it() {
    use oplink::arrow::array::{ArrayRef, IntervalMonthDayNanoArray, ListArray, RecordBatch};
    use oplink::arrow::buffer::IntervalMonthDayNano;
    use oplink::arrow::buffer::OffsetBuffer;
    use oplink::arrow::schema::{DataType, Field, IntervalUnit};
    use std::sync::Arc;
    let intervals: ArrayRef = Arc::new(IntervalMonthDayNanoArray::from(vec![
        Some(IntervalMonthDayNano::new(1, 2, 3)),
        None,
    ]));
    let item = Arc::new(Field::new(
        "item",
        DataType::Interval(IntervalUnit::MonthDayNano),
        true,
    ));
    let listed: ArrayRef = Arc::new(
        ListArray::try_new(
            item,
            OffsetBuffer::from_lengths([1, 1]),
            intervals.clone(),
            None,
        )
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    for (name, column, ty) in [
        ("plain", intervals, "Interval(MonthDayNano)"),
        ("listed", listed, "List(Interval(MonthDayNano))"),
    ] {
        let batch = RecordBatch::try_from_iter([("iv", column)]).unwrap();
        let path = dir.path().join(format!("{name}.arrow"));
        write_arrow_file(&path, &batch);
        let out = dir.path().join(format!("{name}.parquet"));
        fails_with(
            oplink().args(["run", "--output"]).arg(&out).arg(&path),
            &format!(
                "cannot write `{}`: Parquet cannot hold the column `iv` of type {ty}: its writer has no interval of months, days and nanoseconds; write Arrow IPC instead (an output file named `.arrow`, or `--to ipc`), or JSON lines, which write it as text",
                out.display()
            ),
        );
        assert!(!out.exists());
        oplink()
            .args(["run", "--quiet", "--to", "ipc", "--output"])
            .arg(dir.path().join(format!("{name}.kept.arrow")))
            .arg(&path)
            .assert()
            .success();
    }
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
    for ext in ["csv", "jsonl", "arrow", "arrows", "parquet"] {
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
        // `.arrows` names Arrow IPC's stream format, `.arrow` its file format.
        let head = std::fs::read(&out).unwrap();
        match ext {
            "arrow" => assert!(head.starts_with(b"ARROW1"), "{ext}"),
            "arrows" => assert!(head.starts_with(&[0xff; 4]), "{ext}"),
            _ => {}
        }
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
    for ext in ["parquet", "arrow", "arrows"] {
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
fn a_file_that_cannot_be_written_is_named_and_the_earlier_one_kept() {
    // A file size limit of 0 (its signal ignored, so a write fails with EFBIG), in every
    // format: the error names the file, and the file of an earlier run stays as it was.
    let dir = tempfile::tempdir().unwrap();
    for format in [
        "csv",
        "tsv",
        "jsonl",
        "ipc",
        "ipc-stream",
        "parquet",
        "table",
    ] {
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
fn a_column_a_writer_cannot_write_is_an_error_not_a_crash() {
    use oplink::arrow::array::{Array, ArrayRef, Int32Array, ListArray, RecordBatch, UnionArray};
    use oplink::arrow::buffer::{OffsetBuffer, ScalarBuffer};
    use oplink::arrow::schema::{DataType, Field, UnionFields};
    use std::sync::Arc;
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
    let batch = RecordBatch::try_from_iter([("u", Arc::new(union.clone()) as ArrayRef)]).unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    // arrow-rs's Parquet writer panics on a union ("not implemented: See ARROW-8817"): an
    // error here, naming the column, and offering only Arrow IPC, the one format that
    // holds a union.
    let out = dir.path().join("u.parquet");
    fails_with(
        oplink()
            .args(["run", "--quiet", "--emit", "inserts", "--output"])
            .arg(&out)
            .arg(&path),
        &format!(
            "cannot write `{}`: Parquet cannot hold the column `u` of type Union(Sparse, 0: (\"n\": non-null Int32)): of the formats `oplink run` writes, only Arrow IPC holds a union; write Arrow IPC instead (an output file named `.arrow`, or `--to ipc`)",
            out.display()
        ),
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
        "oplink: cannot write the output: CSV cannot hold the column `u` of type Union(Sparse, 0: (\"n\": non-null Int32)): of the formats `oplink run` writes, only Arrow IPC holds a union; write Arrow IPC instead (an output file named `.arrow`, or `--to ipc`)\n"
    );
    // Nor do JSON lines or Parquet hold one inside a list.
    let list = ListArray::new(
        Arc::new(Field::new("item", union.data_type().clone(), true)),
        OffsetBuffer::from_lengths([2]),
        Arc::new(union),
        None,
    );
    let batch = RecordBatch::try_from_iter([("l", Arc::new(list) as ArrayRef)]).unwrap();
    let path = dir.path().join("listed.arrow");
    write_arrow_file(&path, &batch);
    for (to, format) in [
        ("jsonl", "JSON lines"),
        ("parquet", "Parquet"),
        ("tsv", "TSV"),
    ] {
        fails_with(
            oplink().args(["run", "--quiet", "--to", to]).arg(&path),
            &format!(
                "cannot write the output: {format} cannot hold the column `l` of type List(Union(Sparse, 0: (\"n\": non-null Int32))): of the formats `oplink run` writes, only Arrow IPC holds a union; write Arrow IPC instead (an output file named `.arrow`, or `--to ipc`)"
            ),
        );
    }
    // Arrow IPC keeps it.
    let out = dir.path().join("l.arrow");
    oplink()
        .args(["run", "--quiet", "--emit", "inserts", "-o"])
        .arg(&out)
        .arg(&path)
        .assert()
        .success();
    let reader =
        arrow_ipc::reader::FileReader::try_new(std::fs::File::open(&out).unwrap(), None).unwrap();
    let back: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].column(0).to_data(), batch.column(0).to_data());
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

/// A CSV file of 2,000,000 rows in `dir`, long enough to be stopped part way.
fn big_csv(dir: &std::path::Path) -> std::path::PathBuf {
    let big = dir.join("big.csv");
    let mut text = String::from("customer,amount\n");
    for i in 0..2_000_000 {
        text.push_str(&format!("c{i},{i}\n"));
    }
    std::fs::write(&big, text).unwrap();
    big
}

/// The temporary file of `run`'s output `out.csv` in `dir`, once the run has written some
/// of it (and has not ended).
fn partial_output(dir: &std::path::Path, run: &mut std::process::Child) -> std::path::PathBuf {
    let partial = dir.join(format!(".out.csv.{}.partial", run.id()));
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
    partial
}

/// A run ended by Ctrl-C (or `SIGTERM`, `SIGHUP`) leaves no temporary file, store or folder
/// it made behind, and the earlier output as it was; the signal still ends the process, as the
/// shell expects.
#[test]
fn an_interrupted_run_removes_its_temporary_output() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let big = big_csv(dir.path());
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // The run keeps a signal ignored when it starts ignored (a background job of a shell
        // without job control ignores SIGINT, `nohup` SIGHUP): this test is about one that is
        // not, whatever the tests were started under.
        // SAFETY: sets the default action of a signal, which the test binary does not handle;
        // the run inherits it.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
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
        let partial = partial_output(dir.path(), &mut run);
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

/// A run a signal stops before it keeps anything says so, and what it left as it was; with
/// `--quiet` it says nothing.
#[test]
fn an_interrupted_run_says_what_it_left_as_it_was() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let big = big_csv(dir.path());
    // SAFETY: sets the default action of a signal the test binary does not handle; the run
    // inherits it (see `an_interrupted_run_removes_its_temporary_output`).
    unsafe { libc::signal(libc::SIGTERM, libc::SIG_DFL) };
    let out = dir.path().join("out.csv");
    let state = dir.path().join("state");
    for quiet in [false, true] {
        let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"))
            .args(["run", "--batch-size", "1000", "-o"])
            .arg(&out)
            .arg("--state")
            .arg(&state)
            .arg(&big)
            .args(quiet.then_some("--quiet"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        partial_output(dir.path(), &mut run);
        // SAFETY: sends a signal to a child this test started and has not reaped.
        assert_eq!(unsafe { libc::kill(run.id() as i32, libc::SIGTERM) }, 0);
        let output = run.wait_with_output().unwrap();
        assert_eq!(output.status.signal(), Some(libc::SIGTERM));
        let said = if quiet {
            String::new()
        } else {
            format!(
                "oplink: stopped by a signal before the run ended: nothing of it was kept: `{}` and the state in `{}` are as they were; run it again\n",
                out.display(),
                state.display()
            )
        };
        assert_eq!(String::from_utf8_lossy(&output.stderr), said);
    }
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

/// CSV and TSV write an empty text as they write a null, an empty field, which reads back
/// as a null: a warning counts them and names the formats that keep the two apart.
#[test]
fn an_empty_text_written_as_csv_is_warned_of() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("names.jsonl");
    std::fs::write(
        &input,
        "{\"id\": 1, \"name\": \"\"}\n{\"id\": 2, \"name\": null}\n{\"id\": 3, \"name\": \"zoë\"}\n{\"id\": 4, \"name\": \"\"}\n",
    )
    .unwrap();
    for (format, name) in [("csv", "CSV"), ("tsv", "TSV")] {
        let output = oplink()
            .args(["run", "--emit", "inserts", "--to", format])
            .arg(&input)
            .assert()
            .success()
            .get_output()
            .clone();
        let sep = if format == "csv" { "," } else { "\t" };
        assert_eq!(
            stdout(&output),
            format!("id{sep}name\n1{sep}\n2{sep}\n3{sep}zoë\n4{sep}\n"),
            "{format}"
        );
        let warning = format!(
            "oplink: warning: {name} has no way to tell an empty text from a null: 2 empty values were written as an empty field, which reads back as a null; write JSON lines, Arrow IPC or Parquet to keep the two apart\n"
        );
        assert!(stderr(&output).starts_with(&warning), "{}", stderr(&output));
        // `--quiet` silences it.
        let quiet = oplink()
            .args(["run", "--quiet", "--emit", "inserts", "--to", format])
            .arg(&input)
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(stderr(&quiet), "");
    }
    // JSON lines keep the two apart: no warning.
    let output = oplink()
        .args(["run", "--emit", "inserts", "--to", "jsonl"])
        .arg(&input)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        "{\"id\":1,\"name\":\"\"}\n{\"id\":2,\"name\":null}\n{\"id\":3,\"name\":\"zoë\"}\n{\"id\":4,\"name\":\"\"}\n"
    );
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
}

/// The schema's metadata (pandas' or Spark's, say) and a column's reach the output file as
/// they were: from Arrow IPC or Parquet, to Arrow IPC (file or stream) or Parquet, with the
/// `op` column (which dropped the schema's) and without, through an operator too (a
/// Parquet file's batches from arrow-rs's reader dropped the schema's).
#[test]
fn schema_and_column_metadata_are_kept_from_input_to_output() {
    use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch};
    use oplink::arrow::schema::{Field, Schema};
    use std::collections::HashMap;
    use std::sync::Arc;
    let field = Field::new("n", oplink::arrow::schema::DataType::Int64, true)
        .with_metadata(HashMap::from([("unit".to_owned(), "cm".to_owned())]));
    let schema = Schema::new(vec![field.clone()]).with_metadata(HashMap::from([(
        "origin".to_owned(),
        "sensor 7".to_owned(),
    )]));
    let batch = RecordBatch::try_new(
        Arc::new(schema.clone()),
        vec![Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let arrow = dir.path().join("in.arrow");
    write_arrow_file(&arrow, &batch);
    let parquet = dir.path().join("in.parquet");
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&parquet).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let read = |path: &std::path::Path| -> Arc<Schema> {
        let file = std::fs::File::open(path).unwrap();
        match path.extension().unwrap().to_str().unwrap() {
            "arrow" => arrow_ipc::reader::FileReader::try_new(file, None)
                .unwrap()
                .schema(),
            "arrows" => arrow_ipc::reader::StreamReader::try_new(file, None)
                .unwrap()
                .schema(),
            _ => parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .schema()
                .clone(),
        }
    };
    for input in [&arrow, &parquet] {
        for ext in ["arrow", "arrows", "parquet"] {
            for emit in [&["--emit", "inserts"][..], &[], &["--row-numbers"]] {
                for op in [&[][..], &["--op", "passthrough"]] {
                    let out = dir.path().join(format!("out.{ext}"));
                    oplink()
                        .args(["run", "--quiet", "-o"])
                        .arg(&out)
                        .arg(input)
                        .args(emit)
                        .args(plugins(&["toolkit"]))
                        .args(op)
                        .assert()
                        .success();
                    let back = read(&out);
                    let said = format!("{} to {ext} {emit:?} {op:?}", input.display());
                    assert_eq!(back.metadata(), schema.metadata(), "{said}");
                    let n = back.field_with_name("n").unwrap();
                    assert_eq!(n.metadata(), field.metadata(), "{said}");
                }
            }
        }
    }
}
