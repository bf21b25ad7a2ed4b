//! `oplink run` over CSV and TSV files: separators, dates and times, and errors that name the
//! file's line and column.

use assert_cmd::Command;

use crate::helpers::{ORDERS, THRESHOLD, fails_with, inserts_csv, oplink, plugins, stderr, stdout};

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
                "cannot read `{}` at line 3: 3 fields where the header has 2: each line holds one field per column of the header, and a value holding `,` is quoted (`\"1,5\"`)",
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
            "at line 4: 3 fields where the header has 2: each line holds one field per column of the header, and a value holding `,` is quoted (`\"1,5\"`)",
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
            "cannot read `{}` at line 3: 1 field where the header has 2: each line holds one field per column of the header, and an empty value is an empty field (`1,`)",
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
            "cannot read `{}` at line 4: 3 fields where the header has 2: each line holds one field per column of the header, and a value holding `,` is quoted (`\"1,5\"`)",
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
            "cannot read `{}` at line 2: 3 fields where the header has 2: each line holds one field per column of the header, and a value holding `,` is quoted (`\"1,5\"`)",
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

/// A CSV column of whole numbers from 0 with one past `i64::MAX` (a 64-bit hash, an unsigned
/// id) is read as `UInt64`, as JSON lines read it, where arrow-csv infers text for it; one
/// with a negative number past `i64`, or a number past `u64`, stays text, every digit kept.
/// A later value that is no such number is an error naming its line and column.
#[test]
fn a_csv_column_of_whole_numbers_past_i64_is_read_as_uint64() {
    use oplink::arrow::array::types::UInt64Type;
    use oplink::arrow::array::{Array, cast::AsArray};
    use oplink::arrow::schema::DataType;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.csv");
    std::fs::write(
        &path,
        "id,small,negative,huge\n18446744073709551615,1,-9223372036854775809,18446744073709551616\n,2,3,4\n0,,,\n",
    )
    .unwrap();
    let out = dir.path().join("ids.arrow");
    oplink()
        .args(["run", "--quiet", "--emit", "inserts", "-o"])
        .arg(&out)
        .arg(&path)
        .assert()
        .success();
    let file = std::fs::File::open(&out).unwrap();
    let batch = arrow_ipc::reader::FileReader::try_new(file, None)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let types: Vec<&DataType> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.data_type())
        .collect();
    assert_eq!(
        types,
        [
            &DataType::UInt64,
            &DataType::Int64,
            &DataType::Utf8,
            &DataType::Utf8
        ]
    );
    let ids = batch.column(0).as_primitive::<UInt64Type>();
    assert_eq!(
        ids.iter().collect::<Vec<_>>(),
        [Some(u64::MAX), None, Some(0)]
    );
    let negative = batch.column(2).as_string::<i32>();
    assert_eq!(negative.value(0), "-9223372036854775809");
    assert!(negative.is_null(2));
    // Past the rows inference reads, a fraction is refused, not cut short.
    let mut text = "id\n".to_owned();
    (0..10_000u64).for_each(|i| text.push_str(&format!("{}\n", u64::MAX - i)));
    text.push_str("1.5\n");
    std::fs::write(&path, text).unwrap();
    fails_with(
        oplink().args(["run", "--to", "none"]).arg(&path),
        &format!(
            "cannot read `{}` at line 10002, column 1 (`id`): `1.5` is not a valid UInt64 (the schema was inferred from the first rows; give `--schema` to set it)",
            path.display()
        ),
    );
}
