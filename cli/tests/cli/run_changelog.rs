//! A changelog as input: what `oplink run` writes (`op`, and `row` with `--row-numbers`)
//! read back in as changes, driving an operator's update and remove paths.

use proptest::prelude::*;

use crate::helpers::{ORDERS, fails_with, failure, oplink, plugins, stderr, stdout};

const RUNNING_SUM: &str = r#"running_sum={"key": "customer", "value": "amount"}"#;

/// `oplink run --quiet ARGS FILE --to csv`, which must succeed: what it printed.
fn csv_of(file: &std::path::Path, args: &[&str]) -> String {
    let output = oplink()
        .args(["run", "--quiet", "--to", "csv"])
        .args(args)
        .arg(file)
        .assert()
        .success()
        .get_output()
        .clone();
    stdout(&output)
}

#[test]
fn a_changelog_written_with_row_numbers_reads_back_as_the_same_changes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sums.csv");
    // Batches of 2 rows: `running_sum` updates each customer's sum as more rows come.
    oplink()
        .args([
            "run",
            ORDERS,
            "--quiet",
            "--batch-size",
            "2",
            "--row-numbers",
            "-o",
        ])
        .arg(&log)
        .args(plugins(&["running_sum"]))
        .args(["--op", RUNNING_SUM])
        .assert()
        .success();
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.starts_with("op,row,customer,sum\n+I,0,ann,12\n+I,1,bob,3\n+I,2,carol,40\n-U,0,ann,12\n+U,0,ann,37\n"),
        "{written}"
    );
    // Read back with no operator, in batches that cut updates in two or not at all: the
    // same changes, rows and numbers come out.
    for batch_size in ["1", "2", "3", "8192"] {
        assert_eq!(
            csv_of(&log, &["--row-numbers", "--batch-size", batch_size]),
            written,
            "--batch-size {batch_size}"
        );
    }
    // Through Parquet and JSON lines too, whose `op` and `row` keep their types.
    for ext in ["parquet", "jsonl", "arrow"] {
        let again = dir.path().join(format!("sums.{ext}"));
        oplink()
            .args(["run", "--quiet", "--row-numbers", "-o"])
            .arg(&again)
            .arg(&log)
            .assert()
            .success();
        assert_eq!(csv_of(&again, &["--row-numbers"]), written, "{ext}");
    }
    // Without `row`, the numbers are the rows' positions, an update's new row taking its
    // old row's.
    let unnumbered = dir.path().join("unnumbered.csv");
    std::fs::write(&unnumbered, "op,customer\n+I,ann\n-U,ann\n+U,bo\n-D,bo\n").unwrap();
    assert_eq!(
        csv_of(&unnumbered, &["--row-numbers"]),
        "op,row,customer\n+I,0,ann\n-U,1,ann\n+U,1,bo\n-D,3,bo\n"
    );
}

#[test]
fn a_changelog_drives_an_operators_updates_and_removes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    std::fs::write(
        &log,
        "op,row,customer,amount\n\
         +I,0,ann,50\n\
         +I,1,bob,5\n\
         -U,1,bob,5\n\
         +U,1,bob,20\n\
         -U,0,ann,50\n\
         +U,0,ann,2\n\
         -D,1,bob,20\n",
    )
    .unwrap();
    // `threshold` keeps amounts of 10 or more. The two updates, one after the other, are
    // one diff, which the filter splits: ann's update out of the range leaves as a remove,
    // bob's into it arrives as an insert; bob's remove then passes as it is.
    let mut args = plugins(&["threshold"]);
    args.extend([
        "--op".to_owned(),
        r#"threshold={"column": "amount", "min": 10}"#.to_owned(),
        "--row-numbers".to_owned(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(
        csv_of(&log, &args),
        "op,row,customer,amount\n+I,0,ann,50\n-D,0,ann,50\n+I,1,bob,20\n-D,1,bob,20\n"
    );
    // A remove is not an insert.
    fails_with(
        oplink()
            .args(["run", "--quiet", "--to", "csv", "--emit", "inserts"])
            .arg(&log),
        "cannot write the output: the input, read as a changelog (it has a column `op`), holds an update (`-U`/`+U` rows), and `--emit inserts` writes inserts only; use `--emit changes` to write every diff with its `op`, or `--op-column data` to read `op` as one of the rows' columns",
    );
    let removes = dir.path().join("removes.csv");
    std::fs::write(&removes, "op,customer,amount\n+I,ann,50\n-D,ann,50\n").unwrap();
    fails_with(
        oplink()
            .args(["run", "--quiet", "--to", "csv", "--emit", "inserts"])
            .arg(&removes),
        "cannot write the output: the input, read as a changelog (it has a column `op`), holds a remove (`-D` rows), and `--emit inserts` writes inserts only; use `--emit changes` to write every diff with its `op`, or `--op-column data` to read `op` as one of the rows' columns",
    );
}

#[test]
fn with_state_the_next_runs_rows_are_numbered_past_those_a_changelog_gave() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let log = dir.path().join("log.csv");
    std::fs::write(&log, "op,row,a\n+I,100,1\n+I,7,2\n").unwrap();
    let plain = dir.path().join("plain.csv");
    std::fs::write(&plain, "a\n3\n").unwrap();
    for (file, expected) in [
        (&log, "op,row,a\n+I,100,1\n+I,7,2\n"),
        (&plain, "op,row,a\n+I,101,3\n"),
    ] {
        let output = oplink()
            .args(["run", "--quiet", "--to", "csv", "--row-numbers", "--state"])
            .arg(&state)
            .arg(file)
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(stdout(&output), expected);
    }
}

#[test]
fn with_state_rows_numbered_past_the_last_number_are_refused() {
    // A changelog may number its rows anywhere in `u64` (an operator may number rows by a
    // hash); the next run's rows, numbered past the highest, then run out of numbers.
    for (highest, refused_at) in [("18446744073709551613", 1), ("18446744073709551615", 0)] {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let log = dir.path().join("log.csv");
        std::fs::write(&log, format!("op,row,a\n+I,{highest},1\n")).unwrap();
        let plain = dir.path().join("plain.csv");
        std::fs::write(&plain, "a\n3\n4\n").unwrap();
        oplink()
            .args(["run", "--quiet", "--to", "none", "--state"])
            .arg(&state)
            .arg(&log)
            .assert()
            .success();
        let from = (highest.parse::<u64>().unwrap()).saturating_add(1);
        fails_with(
            oplink()
                .args(["run", "--quiet", "--to", "csv", "--state"])
                .arg(&state)
                .arg(&plain),
            &format!(
                "cannot number the rows of `{}`: `--state` numbers this run's rows on from {from} (past the highest number a changelog's `row` gave in a run with that state), and row {refused_at} (counting from 0) would be numbered past 18446744073709551614, the last number a row can get; keep this run's state in another `--state` folder",
                plain.display()
            ),
        );
    }
}

/// `op` and `row` as other tools write them: dictionary-encoded (pyarrow's
/// `dictionary_encode`, pandas' categoricals), in Arrow IPC and Parquet, and row numbers
/// written as floats (pandas, for a column of whole numbers with a gap), read when whole.
#[test]
fn a_changelog_with_dictionary_op_and_row_or_float_rows_reads() {
    use oplink::arrow::array::types::Int32Type;
    use oplink::arrow::array::{
        ArrayRef, DictionaryArray, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    };
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let op: DictionaryArray<Int32Type> = vec!["+I", "+I", "-U", "+U", "-D"].into_iter().collect();
    let row = DictionaryArray::<Int32Type>::try_new(
        vec![0, 1, 0, 0, 1].into(),
        Arc::new(Int64Array::from(vec![7, 9])),
    )
    .unwrap();
    let a: ArrayRef = Arc::new(StringArray::from(vec!["x", "y", "x", "z", "y"]));
    let batch = RecordBatch::try_from_iter([
        ("op", Arc::new(op) as ArrayRef),
        ("row", Arc::new(row)),
        ("a", a.clone()),
    ])
    .unwrap();
    let expected = "op,row,a\n+I,7,x\n+I,9,y\n-U,7,x\n+U,7,z\n-D,9,y\n";
    let arrow = dir.path().join("log.arrow");
    let mut writer = arrow_ipc::writer::FileWriter::try_new(
        std::fs::File::create(&arrow).unwrap(),
        &batch.schema(),
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    let parquet = dir.path().join("log.parquet");
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&parquet).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    for file in [&arrow, &parquet] {
        for batch_size in ["1", "8192"] {
            assert_eq!(
                csv_of(file, &["--row-numbers", "--batch-size", batch_size]),
                expected,
                "{} --batch-size {batch_size}",
                file.display()
            );
        }
    }
    // Floats, whole.
    let floats = RecordBatch::try_from_iter([
        (
            "op",
            Arc::new(StringArray::from(vec!["+I", "+I", "-D", "-D", "+I"])) as ArrayRef,
        ),
        (
            "row",
            Arc::new(Float64Array::from(vec![7.0, 9.0, 7.0, 9.0, 3.0])),
        ),
        ("a", a),
    ])
    .unwrap();
    let parquet = dir.path().join("floats.parquet");
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&parquet).unwrap(),
        floats.schema(),
        None,
    )
    .unwrap();
    writer.write(&floats).unwrap();
    writer.close().unwrap();
    assert_eq!(
        csv_of(&parquet, &["--row-numbers"]),
        "op,row,a\n+I,7,x\n+I,9,y\n-D,7,x\n-D,9,z\n+I,3,y\n"
    );
    // A `Float32` holds every whole number only up to 2^24: past it, 16777217 was written
    // as 16777216, and two rows would be one.
    let float32 = |numbers: Vec<f32>| {
        let batch = RecordBatch::try_from_iter([
            (
                "op",
                Arc::new(StringArray::from(vec!["+I"; numbers.len()])) as ArrayRef,
            ),
            ("row", Arc::new(Float32Array::from(numbers))),
        ])
        .unwrap();
        let parquet = dir.path().join("float32.parquet");
        let mut writer = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&parquet).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        parquet
    };
    let parquet = float32(vec![3.0, 16_777_216.0]);
    assert_eq!(
        csv_of(&parquet, &["--row-numbers"]),
        "op,row\n+I,3\n+I,16777216\n"
    );
    let parquet = float32(vec![3.0, 16_777_218.0]);
    fails_with(
        oplink()
            .args(["run", "--quiet", "--to", "csv"])
            .arg(&parquet),
        &format!(
            "cannot read `{}`: row 1 (counting from 0) has `row` 16777218.0, a float (Float32), which holds whole numbers exactly only up to 16777216 (2^24): write the row numbers as whole numbers, as `--row-numbers` does",
            parquet.display()
        ),
    );
}

/// A `row` that is not right after `op` is one of the rows' columns: said, since it looks
/// meant as their numbers.
#[test]
fn a_row_column_not_right_after_op_is_data_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    std::fs::write(&log, "op,customer,row\n+I,ann,5\n-D,ann,5\n").unwrap();
    let output = oplink()
        .args(["run", "--to", "csv"])
        .arg(&log)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout(&output), "op,customer,row\n+I,ann,5\n-D,ann,5\n");
    assert!(
        stderr(&output).starts_with(&format!(
            "oplink: warning: `{}` is read as a changelog (it has a column `op`), and its column `row` is not right after `op`: `row` is read as one of the rows' columns, and the rows are numbered by their positions; put `row` right after `op` for it to give the rows' numbers\n",
            log.display()
        )),
        "{}",
        stderr(&output)
    );
    // `--quiet` silences it, as the command's other warnings.
    let output = oplink()
        .args(["run", "--quiet", "--to", "csv"])
        .arg(&log)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stderr(&output), "");
}

/// An update that batches cut goes a pair at a time: the pairs complete in a batch go in
/// its change, and only the old row whose new row is in the next batch waits for it (not
/// the whole update, held, copied again at every batch and sent as one change at its end).
#[test]
fn an_update_cut_by_batches_goes_a_pair_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    std::fs::write(
        &log,
        "op,row,a\n+I,0,x\n-U,0,x\n+U,0,y\n-U,1,p\n+U,1,q\n-U,2,r\n+U,2,s\n",
    )
    .unwrap();
    // `tag` labels each row with its change's version: every batch of 2 rows makes one.
    let mut args = plugins(&["toolkit"]);
    args.extend([
        "--op".to_owned(),
        r#"tag={"column": "t", "value": "", "numbered": true}"#.to_owned(),
        "--row-numbers".to_owned(),
        "--batch-size".to_owned(),
        "2".to_owned(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(
        csv_of(&log, &args),
        "op,row,a,t\n+I,0,x,1:0\n-U,0,x,2:0\n+U,0,y,2:0\n-U,1,p,3:1\n+U,1,q,3:1\n-U,2,r,4:2\n+U,2,s,4:2\n"
    );
}

/// A JSON lines changelog read with a `--schema` that leaves out `op` (or `row`) is read as
/// inserts (or numbered by position), as `--schema` asks: said, since it looks unmeant.
#[test]
fn a_schema_that_leaves_out_a_json_changelogs_op_or_row_is_warned_of() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.jsonl");
    std::fs::write(
        &log,
        "{\"op\":\"+I\",\"row\":4,\"a\":1}\n{\"op\":\"-D\",\"row\":4,\"a\":1}\n",
    )
    .unwrap();
    let run = |schema: &str, more: &[&str]| {
        let output = oplink()
            .args(["run", "--to", "csv", "--row-numbers", "--schema", schema])
            .args(more)
            .arg(&log)
            .assert()
            .success()
            .get_output()
            .clone();
        (stdout(&output), stderr(&output))
    };
    let (out, err) = run("a:int64", &[]);
    assert_eq!(out, "op,row,a\n+I,0,1\n+I,1,1\n");
    assert!(
        err.starts_with(&format!(
            "oplink: warning: the lines of `{}` have a key `op`, which --schema leaves out: the rows are read as inserts, whatever their `op`; name `op:utf8` in --schema (and `row:uint64` right after it, for the rows' numbers) to read the file as a changelog, or give `--op-column data` to leave `op` out without this warning\n",
            log.display()
        )),
        "{err}"
    );
    let (out, err) = run("op:utf8,a:int64", &[]);
    assert_eq!(out, "op,row,a\n+I,0,1\n-D,1,1\n");
    assert!(
        err.starts_with(&format!(
            "oplink: warning: the lines of `{}` have a key `row`, which --schema leaves out: the changelog's rows are numbered by their positions; name `row:uint64` in --schema right after `op` to take their numbers from it\n",
            log.display()
        )),
        "{err}"
    );
    let (out, err) = run("op:utf8,row:uint64,a:int64", &[]);
    assert_eq!(out, "op,row,a\n+I,4,1\n-D,4,1\n");
    assert!(!err.contains("warning"), "{err}");
    let (_, err) = run("a:int64", &["--op-column", "data"]);
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn op_column_data_reads_op_as_one_of_the_rows_columns() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    std::fs::write(&log, "op,customer\nadd,ann\n").unwrap();
    assert_eq!(
        csv_of(&log, &["--op-column", "data", "--emit", "inserts"]),
        "op,customer\nadd,ann\n"
    );
    // Written with an `op` of its own, it would have two.
    fails_with(
        oplink()
            .args(["run", "--quiet", "--to", "csv", "--op-column", "data"])
            .arg(&log),
        "cannot write the output: the rows have a column named `op`, the name of the column that holds each row's change (`+I`, `-D`, `-U`, `+U`); rename it, or write the rows alone with `--emit inserts`",
    );
    // And so would rows with a `row` of their own under `--row-numbers`.
    let rows = dir.path().join("rows.csv");
    std::fs::write(&rows, "row,customer\n1,ann\n").unwrap();
    fails_with(
        oplink()
            .args(["run", "--quiet", "--to", "csv", "--row-numbers"])
            .arg(&rows),
        "cannot write the output: the rows have a column named `row`, the name of the column `--row-numbers` writes each row's number in; rename it, or leave out `--row-numbers`",
    );
    // Without it, such rows written to a file after their `op` would read back with their
    // `row` taken for their numbers, and lost: refused too, with an operator or not (when
    // no row comes out, for the header alone). A table is not read back; nor is `--emit
    // inserts`, without `op`, read as a changelog.
    let refused = "cannot write the output: the rows' first column is named `row`, which, written right after `op`, is where a changelog gives its rows' numbers: read back, the file would take its values for the rows' numbers and lose the column; rename it, or write the rows alone with `--emit inserts`";
    for format in ["csv", "parquet", "jsonl"] {
        fails_with(
            oplink().args(["run", "--quiet", "--to", format]).arg(&rows),
            refused,
        );
    }
    let header_only = dir.path().join("header.csv");
    std::fs::write(&header_only, "row,customer\n").unwrap();
    fails_with(
        oplink()
            .args(["run", "--quiet", "--to", "csv"])
            .arg(&header_only),
        refused,
    );
    assert_eq!(
        csv_of(&rows, &["--emit", "inserts"]),
        "row,customer\n1,ann\n"
    );
    oplink()
        .args(["run", "--quiet", "--to", "table"])
        .arg(&rows)
        .assert()
        .success();
}

#[test]
fn a_changelog_that_cannot_be_read_as_one_is_refused_naming_its_row_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    let cases = [
        (
            "op,a\n+I,1\nadd,2\n",
            Some(3),
            "row 1 (counting from 0) has `op` `add`, which is none of `+I` (insert), `-D` (remove), `-U` and `+U` (an update's old and new row): a column named `op` makes the input a changelog, as `oplink run` writes one; give `--op-column data` to read `op` as one of the rows' columns",
        ),
        (
            "op,a\n+I,1\n+i,2\n",
            Some(3),
            "row 1 (counting from 0) has `op` `+i`, which is not `+I`: a changelog's `op` is `+I`, `-D`, `-U` or `+U` as written, in capitals; write `+I`",
        ),
        (
            "op,a\n\" -U\",1\n",
            Some(2),
            "row 0 (counting from 0) has `op` ` -U`, which is not `-U`: a changelog's `op` is `+I`, `-D`, `-U` or `+U` as written, with no space around it; write `-U`",
        ),
        (
            "op,a\n\" +u \",1\n",
            Some(2),
            "row 0 (counting from 0) has `op` ` +u `, which is not `+U`: a changelog's `op` is `+I`, `-D`, `-U` or `+U` as written, in capitals and with no space around it; write `+U`",
        ),
        (
            "op,a\n+I,1\n,2\n",
            Some(3),
            "row 1 (counting from 0) has no `op`: a changelog says what each row is (`+I`, `-D`, `-U`, `+U`); give the row its `op`, or give `--op-column data` to read `op` as one of the rows' columns",
        ),
        (
            "op,a\n1,2\n",
            None,
            "its column `op` holds Int64 values, where a changelog's `op` is text that says what each row is (`+I`, `-D`, `-U`, `+U`); give `--op-column data` to read `op` as one of the rows' columns",
        ),
        (
            "op,a\n+I,1\n+U,2\n",
            Some(3),
            "row 1 (counting from 0) is `+U`, an update's new row, with no `-U` row before it: a changelog writes an update's old row (`-U`) before its new row",
        ),
        (
            "op,a\n-U,1\n-D,2\n",
            Some(2),
            "row 0 (counting from 0) is `-U`, an update's old row, with no `+U` row after it (row 1 is `-D`): a changelog writes an update's new row (`+U`) after its old row",
        ),
        (
            "op,a\n+I,0\n-U,1\n",
            Some(3),
            "row 1 (counting from 0) is `-U`, an update's old row, and the input ends without the `+U` row that goes with it",
        ),
        (
            "op,row,a\n-U,4,1\n+U,5,2\n",
            Some(3),
            "rows 0 and 1 (counting from 0) are an update's old and new row, numbered 4 and 5: the two rows of an update are one row, under one number",
        ),
        (
            "op,row,a\n+I,1.0,1\n+I,1.5,1\n",
            Some(3),
            "row 1 (counting from 0) has `row` 1.5: row numbers are whole numbers from 0",
        ),
        (
            "op,row,a\n+I,1.0,1\n+I,1e17,1\n",
            Some(3),
            "row 1 (counting from 0) has `row` 1e17, a float (Float64), which holds whole numbers exactly only up to 9007199254740992 (2^53): write the row numbers as whole numbers, as `--row-numbers` does",
        ),
        (
            "op,row,a\n+I,true,1\n",
            None,
            "its column `row`, after `op`, holds Boolean values, where a changelog numbers its rows with whole numbers from 0; rename `row`, or move it so that it is not right after `op`, to read it as one of the rows' columns",
        ),
        (
            "op,row,a\n+I,-1,1\n",
            Some(2),
            "row 0 (counting from 0) has `row` -1: row numbers are whole numbers from 0",
        ),
        (
            "op,row,a\n+I,1,1\n+I,x,2\n",
            Some(3),
            "row 1 (counting from 0) has `row` `x`: row numbers are whole numbers from 0",
        ),
        (
            "op,row,a\n+I,1,1\n+I,,2\n",
            Some(3),
            "row 1 (counting from 0) has no `row`: a changelog that numbers its rows numbers every one",
        ),
    ];
    for (text, line, reason) in cases {
        // The line of the row named, in the file (after its header).
        let at = line.map_or(String::new(), |line| format!(" at line {line}"));
        std::fs::write(&log, text).unwrap();
        // In batches of one row too: an update cut in two waits for its second row.
        for batch_size in ["1", "8192"] {
            fails_with(
                oplink()
                    .args(["run", "--quiet", "--to", "csv", "--batch-size", batch_size])
                    .arg(&log),
                &format!("cannot read `{}`{at}: {reason}", log.display()),
            );
        }
    }
}

/// A changelog's row is named at its line, past a quoted line break in a CSV file and a
/// blank line in a JSON lines file.
#[test]
fn a_changelog_error_names_the_rows_line_past_line_breaks_and_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("log.csv");
    std::fs::write(&csv, "op,a\n+I,\"two\nlines\"\n\n+I,3\n+X,4\n").unwrap();
    let message = failure(oplink().args(["run", "--quiet"]).arg(&csv));
    let expected = format!(
        "oplink: cannot read `{}` at line 6: row 2 (counting from 0) has `op` `+X`, which is none of",
        csv.display()
    );
    assert!(message.starts_with(&expected), "{message}");
    let json = dir.path().join("log.jsonl");
    std::fs::write(
        &json,
        "{\"op\": \"+I\", \"a\": 1}\n\n{\"op\": \"+U\", \"a\": 2}\n",
    )
    .unwrap();
    let message = failure(oplink().args(["run", "--quiet"]).arg(&json));
    let expected = format!(
        "oplink: cannot read `{}` at line 3: row 1 (counting from 0) is `+U`",
        json.display()
    );
    assert!(message.starts_with(&expected), "{message}");
}

/// One change of a generated changelog: its kind, row number and values (an update's
/// two rows share its number).
#[derive(Clone, Debug)]
enum Entry {
    Insert(u64, Option<i64>, &'static str),
    Remove(u64, Option<i64>, &'static str),
    Update(
        u64,
        (Option<i64>, &'static str),
        (Option<i64>, &'static str),
    ),
}

/// The CSV `oplink run --row-numbers --to csv` writes for `entries`.
fn changelog_csv(entries: &[Entry]) -> String {
    let value = |v: &Option<i64>| v.map_or(String::new(), |v| v.to_string());
    let mut text = "op,row,amount,customer\n".to_owned();
    for entry in entries {
        match entry {
            Entry::Insert(row, v, c) => text += &format!("+I,{row},{},{c}\n", value(v)),
            Entry::Remove(row, v, c) => text += &format!("-D,{row},{},{c}\n", value(v)),
            Entry::Update(row, (v0, c0), (v1, c1)) => {
                text += &format!("-U,{row},{},{c0}\n", value(v0));
                text += &format!("+U,{row},{},{c1}\n", value(v1));
            }
        }
    }
    text
}

fn changelogs() -> impl Strategy<Value = Vec<Entry>> {
    // Row numbers small (shared by several rows) and anywhere in `u64`; values with nulls,
    // and names that read back as the same text.
    let row = prop_oneof![0u64..8, any::<u64>()];
    let side = (
        proptest::option::weighted(0.9, -1_000_000i64..1_000_000),
        prop::sample::select(vec!["ann", "bob", "carol", "x y", "dave"]),
    );
    let entry = prop_oneof![
        (row.clone(), side.clone()).prop_map(|(r, (v, c))| Entry::Insert(r, v, c)),
        (row.clone(), side.clone()).prop_map(|(r, (v, c))| Entry::Remove(r, v, c)),
        (row, side.clone(), side).prop_map(|(r, a, b)| Entry::Update(r, a, b)),
    ];
    prop::collection::vec(entry, 0..24)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any changelog `oplink run` could write, read back with no operator in batches of any
    /// size (updates cut in two by them or not), is written back unchanged.
    #[test]
    fn any_changelog_is_written_back_unchanged_in_batches_of_any_size(
        entries in changelogs(),
        batch_size in prop_oneof![1usize..8, Just(8192usize)],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.csv");
        let text = changelog_csv(&entries);
        std::fs::write(&log, &text).unwrap();
        let back = csv_of(&log, &["--row-numbers", "--batch-size", &batch_size.to_string()]);
        prop_assert_eq!(back, text);
    }
}
