//! `oplink run`'s input in any format: files that cannot be read, or not as named, said so;
//! Arrow IPC and Parquet files whole, compressed, cut short or damaged.

use crate::common::{plugin_path, workspace};

use crate::helpers::{
    ORDERS, THRESHOLD, fails_with, failure, inserts_csv, oplink, plugins, stderr, stdout,
};

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

/// A text file named as another text format is said to be what it is, with what to do:
/// JSON named `.csv` (read as CSV it would run on with a header of odd names), CSV or TSV
/// named `.jsonl`. A CSV header that merely starts with `[` or `{` is read as CSV.
#[test]
fn a_text_file_named_as_another_text_format_says_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let object = "it is JSON, not CSV: its first line starts with `{`; give `--format jsonl`, or name it `.jsonl` (JSON lines hold one object per line; `jq -c .` writes them)";
    let array = "it is JSON, not CSV: its first line starts with `[`; `oplink run` reads JSON lines, one object per line: convert an array of objects with `jq -c '.[]'` and name the result `.jsonl`";
    for (name, text, said) in [
        ("lines.csv", "{\"id\": 1}\n{\"id\": 2}\n", object),
        ("pretty.csv", "\u{feff}{\n  \"id\": 1\n}\n", object),
        ("array.csv", "[{\"id\": 1}]\n", array),
        ("pretty-array.csv", "[\n  {\"id\": 1}\n]\n", array),
        (
            "orders.jsonl",
            "customer,amount\nann,12\n",
            "it is not JSON lines: its first line, `customer,amount`, is no JSON but reads as a CSV header; give `--format csv`, or name it `.csv`",
        ),
        (
            "orders.ndjson",
            "customer\tamount\nann\t12\n",
            "it is not JSON lines: its first line, `customer\\tamount`, is no JSON but reads as a TSV header; give `--format tsv`, or name it `.tsv`",
        ),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        fails_with(
            oplink().arg("run").arg(&file),
            &format!("cannot read `{}`: {said}", file.display()),
        );
    }
    // Given `--format tsv`, JSON is named as TSV.
    let file = dir.path().join("lines.csv");
    fails_with(
        oplink().args(["run", "--format", "tsv"]).arg(&file),
        &format!(
            "cannot read `{}`: it is JSON, not TSV: its first line starts with `{{`; give `--format jsonl`, or name it `.jsonl` (JSON lines hold one object per line; `jq -c .` writes them)",
            file.display()
        ),
    );
    // Headers that start as JSON does, but are none, and a JSON line that is only broken.
    for (name, text) in [
        ("brackets.csv", "[id],[amount]\n1,2\n"),
        ("braces.csv", "{id},amount\n1,2\n"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let output = oplink()
            .args(["run", "--quiet", "--to", "csv", "--emit", "inserts"])
            .arg(&file)
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(stdout(&output), text, "{name}");
    }
    let file = dir.path().join("broken.jsonl");
    std::fs::write(&file, "{\"id\": 1,}\n").unwrap();
    let error = failure(oplink().arg("run").arg(&file));
    assert!(!error.contains("reads as a CSV header"), "{error}");
}

/// A CSV or TSV file with no header line, or a line of another number of fields than its
/// header, is told what the file needs, in its own separator.
#[test]
fn a_csv_file_without_a_header_or_with_a_ragged_line_says_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let blank = dir.path().join("blank.csv");
    std::fs::write(&blank, "\n\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&blank),
        &format!(
            "cannot read `{}`: it has no header line, only blank lines: the first line must name the columns, such as `id,amount`",
            blank.display()
        ),
    );
    let empty = dir.path().join("empty.tsv");
    std::fs::write(&empty, "").unwrap();
    fails_with(
        oplink().arg("run").arg(&empty),
        &format!(
            "cannot read `{}`: it is empty: it needs a first line naming the columns, such as `id\\tamount`",
            empty.display()
        ),
    );
    let semicolons = dir.path().join("semicolons.csv");
    std::fs::write(&semicolons, "").unwrap();
    fails_with(
        oplink().args(["run", "--delimiter", ";"]).arg(&semicolons),
        &format!(
            "cannot read `{}`: it is empty: it needs a first line naming the columns, such as `id;amount`",
            semicolons.display()
        ),
    );
    // A separator that does not print is shown escaped.
    let units = dir.path().join("units.csv");
    std::fs::write(&units, "").unwrap();
    fails_with(
        oplink().args(["run", "--delimiter", "\u{1f}"]).arg(&units),
        &format!(
            "cannot read `{}`: it is empty: it needs a first line naming the columns, such as `id\\u{{1f}}amount`",
            units.display()
        ),
    );
    let short = dir.path().join("short.tsv");
    std::fs::write(&short, "a\tb\n1\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&short),
        &format!(
            "cannot read `{}` at line 2: 1 field where the header has 2: each line holds one field per column of the header, and an empty value is an empty field (`1\\t`)",
            short.display()
        ),
    );
    let ragged = dir.path().join("ragged.tsv");
    std::fs::write(&ragged, "a\tb\n1\t2\t3\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&ragged),
        &format!(
            "cannot read `{}` at line 2: 3 fields where the header has 2: each line holds one field per column of the header, and a value holding a tab is quoted (`\"1\\t5\"`)",
            ragged.display()
        ),
    );
}

#[test]
fn a_missing_input_file_is_one_sentence() {
    fails_with(
        oplink().args(["run", "no/such/orders.csv"]),
        "`no/such/orders.csv` does not exist",
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
            "cannot read `{}`: it is empty: it needs a first line naming the columns, such as `id,amount`",
            empty_csv.display()
        ),
    );
    let empty_jsonl = d.join("empty.jsonl");
    std::fs::write(&empty_jsonl, "\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&empty_jsonl),
        &format!(
            "cannot read `{}`: it holds no JSON objects with fields, so it names no columns: give them with `--schema`, such as `--schema 'id:int64,amount:float64'`",
            empty_jsonl.display()
        ),
    );
    // As the message says: with its columns given, it reads as no rows.
    let output = oplink()
        .args([
            "run",
            "--quiet",
            "--schema",
            "id:int64,amount:float64",
            "--to",
            "csv",
        ])
        .arg(&empty_jsonl)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout(&output), "op,id,amount\n");
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
        "--schema names the columns `amount`, `customer`, but the header of `examples/data/orders.csv` has `customer`, `amount`: give each of the header's columns, in its order, as `name:type`",
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

#[test]
fn an_input_that_is_not_a_regular_file_is_refused_not_read_half() {
    // A pipe would be read once, by the schema's check, and be empty for the rows.
    let orders = std::fs::read(workspace().join(ORDERS)).unwrap();
    fails_with(
        oplink()
            .args(["run", "/dev/stdin", "--format", "csv"])
            .args(["--schema", "customer:utf8,amount:int64"])
            .write_stdin(orders.clone()),
        "`/dev/stdin` is not a regular file: `oplink run` reads its input more than once (to infer or check its schema), so save the stream to a file first",
    );
    fails_with(
        oplink()
            .args(["run", "/dev/stdin", "--format", "ipc"])
            .write_stdin(b"ARROW1".to_vec()),
        "`/dev/stdin` is not a regular file: `oplink run` reads its input more than once (to tell an Arrow IPC file from a stream), so save the stream to a file first",
    );
    // Without `--format`, the same refusal, not a request for the format that would only
    // lead to it.
    fails_with(
        oplink().args(["run", "/dev/stdin"]).write_stdin(orders),
        "`/dev/stdin` is not a regular file: `oplink run` reads its input more than once, so save the stream to a file first",
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
        &format!(
            "cannot read `{}`: it is empty: it needs a first line naming the columns, such as `id,amount`",
            empty.display()
        ),
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
