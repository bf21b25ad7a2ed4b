//! `oplink run` over JSON lines files: their schema, numbers kept whole, and errors that
//! name the file's line and column.

use crate::helpers::{fails_with, inserts_csv, oplink, plugins, stderr, stdout};

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
    // `true` or `false`, named as JSON writes them; and a line that is not UTF-8.
    std::fs::write(&file, "{\"a\": 1}\ntrue\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 2: `true` or `false` where JSON lines hold one object per line",
            file.display()
        ),
    );
    std::fs::write(&file, b"{\"a\": \"x\"}\n{\"a\": \"\xff\"}\n").unwrap();
    fails_with(
        oplink().arg("run").arg(&file),
        &format!(
            "cannot read `{}` at line 2: the text is not valid UTF-8 (text in another encoding can be converted first, e.g. `iconv -f latin1 -t utf-8`)",
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
