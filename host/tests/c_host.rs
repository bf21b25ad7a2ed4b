//! `c-host`, a host written in C against `oplink.h` and `docs/abi.md` alone
//! (`examples/c-host`), run against the Rust `threshold`, `running_sum` and `faulty`
//! plugins, the C `c_filter` and libraries it must refuse: what a C engine embedding
//! oplink operators meets, asserted to the byte.

mod common;

use std::path::Path;
use std::process::Command;

use common::{fixture, plugin_path, workspace};

/// What the C host printed, and its exit code.
#[derive(Debug, PartialEq)]
struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

/// Runs the C host on `library`, listing its operators or running `operator`. With
/// `OPLINK_C_HOST_UNDER` set (to `valgrind --error-exitcode=99 …`, as `.ci/memcheck` does), it
/// runs under that command: a memory error changes the exit code and standard error, and
/// fails the test.
fn c_host(library: &Path, operator: Option<(&str, &str)>) -> Run {
    let under = std::env::var("OPLINK_C_HOST_UNDER").unwrap_or_default();
    let mut words = under.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(words).arg(c_host::EXECUTABLE);
            command
        }
        None => Command::new(c_host::EXECUTABLE),
    };
    command.arg(library);
    if let Some((name, config)) = operator {
        command.args([name, config]);
    }
    let output = command.output().expect("run the C host");
    Run {
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
        code: output.status.code().expect("the C host ended by a signal"),
    }
}

fn ok(stdout: &str, stderr: &str) -> Run {
    Run {
        stdout: stdout.to_owned(),
        stderr: stderr.to_owned(),
        code: 0,
    }
}

fn failed(stdout: &str, stderr: &str) -> Run {
    Run {
        stdout: stdout.to_owned(),
        stderr: stderr.to_owned(),
        code: 1,
    }
}

const MIN_10: &str = r#"{"column": "amount", "min": 10}"#;

/// What a filter keeping `amount >= 10` returns for the C host's two changes: the insert of
/// orders 0 to 3 (5, 10, null, 50) keeps 1 and 3; the update of 1 (10 -> 12) and 3
/// (50 -> 7) stays an update for 1 and becomes a remove of 3.
fn filtered(name: &str) -> String {
    format!(
        "created {name}
apply version 1: 1 diff
  out: version 1 at 1000, 1 diff
  insert
    post row 1: amount=10 customer=\"bob\"
    post row 3: amount=50 customer=null
apply version 2: 1 diff
  out: version 2 at 2000, 2 diffs
  update
    pre row 1: amount=10 customer=\"bob\"
    post row 1: amount=12 customer=\"bob\"
  remove
    pre row 3: amount=50 customer=null
destroyed {name}
"
    )
}

#[test]
fn the_c_host_lists_the_operators_of_rust_and_c_libraries() {
    assert_eq!(
        c_host(&plugin_path("threshold"), None),
        ok(
            "threshold 1.0.0: Keeps the rows whose column is at least `min`\n",
            ""
        )
    );
    let c_filter =
        "c_filter 1.0.0: Keeps the rows whose Int64 column is at least `min` (written in C)\n";
    assert_eq!(
        c_host(Path::new(c_operator::LIBRARY), None),
        ok(c_filter, "")
    );
    // Built against ABI 2.0: smaller descriptors, read as far as they go.
    assert_eq!(
        c_host(Path::new(c_operator::LIBRARY_MINOR_0), None),
        ok(c_filter, "")
    );
    // A library lists its operators in the order its linker laid out their registrations,
    // which differs from build to build: compared sorted.
    let mut faulty = c_host(&plugin_path("faulty"), None);
    let mut lines: Vec<&str> = faulty.stdout.lines().collect();
    lines.sort_unstable();
    faulty.stdout = lines.iter().map(|line| format!("{line}\n")).collect();
    assert_eq!(
        faulty,
        ok(
            "faulty 0.1.0: Fails on purpose
restore_only 0.1.0: Takes a snapshot back, and has no `snapshot` (for tests)
snapshot_only 0.1.0: Takes a snapshot, and has no `restore` (for tests)
",
            ""
        )
    );
}

#[test]
fn the_c_host_runs_the_rust_threshold() {
    assert_eq!(
        c_host(&plugin_path("threshold"), Some(("threshold", MIN_10))),
        ok(&filtered("threshold"), "")
    );
}

#[test]
fn the_c_host_runs_the_c_filter_and_serves_its_log() {
    assert_eq!(
        c_host(Path::new(c_operator::LIBRARY), Some(("c_filter", MIN_10))),
        ok(
            &filtered("c_filter"),
            // `Log.message` at INFO; the DEBUG one of each `apply` is above the host's level.
            "log INFO c_filter: keeping the rows whose `amount` is at least 10\n"
        )
    );
}

#[test]
fn the_c_host_takes_its_input_back_from_a_view_that_forwards_it() {
    // `passthrough_view` returns its input in place (ABI 2.2): the host's own diff array,
    // every array moved back, read with the schemas the host sent and released once.
    let inserted = "    post row 0: amount=5 customer=\"ann\"
    post row 1: amount=10 customer=\"bob\"
    post row 2: amount=null customer=\"carol\"
    post row 3: amount=50 customer=null
";
    let updated = "    pre row 1: amount=10 customer=\"bob\"
    pre row 3: amount=50 customer=null
    post row 1: amount=12 customer=\"bob\"
    post row 3: amount=7 customer=null
";
    let given_back = "  out: the input's diff array, given back whole\n";
    assert_eq!(
        c_host(&plugin_path("toolkit"), Some(("passthrough_view", "null"))),
        ok(
            &format!(
                "created passthrough_view
apply version 1: 1 diff
{given_back}  out: version 1 at 1000, 1 diff
  insert
{inserted}apply version 2: 1 diff
{given_back}  out: version 2 at 2000, 1 diff
  update
{updated}destroyed passthrough_view
"
            ),
            ""
        )
    );
}

#[test]
fn the_c_host_decodes_a_rust_operators_log_events() {
    // `running_sum`'s `new` logs through `tracing`: a `LogEvent` with two text fields. Its
    // output also has a new schema (`customer`, `sum`), in the operator's order of keys.
    let run = c_host(
        &plugin_path("running-sum"),
        Some(("running_sum", r#"{"key": "customer", "value": "amount"}"#)),
    );
    assert_eq!(
        run,
        ok(
            "created running_sum
apply version 1: 1 diff
  out: version 1 at 1000, 1 diff
  insert
    post row 3: customer=\"\" sum=50
    post row 0: customer=\"ann\" sum=5
    post row 1: customer=\"bob\" sum=10
    post row 2: customer=\"carol\" sum=0
apply version 2: 1 diff
  out: version 2 at 2000, 1 diff
  update
    pre row 3: customer=\"\" sum=50
    pre row 1: customer=\"bob\" sum=10
    post row 3: customer=\"\" sum=7
    post row 1: customer=\"bob\" sum=12
destroyed running_sum
",
            "log INFO running_sum: summing key=customer value=amount\n"
        )
    );
}

#[test]
fn the_c_host_prints_why_create_failed() {
    let threshold = plugin_path("threshold");
    // A Rust operator's message names the operator itself: the host adds nothing.
    assert_eq!(
        c_host(&threshold, Some(("threshold", r#"{"column": "amount"}"#))),
        failed(
            "",
            "c-host: invalid configuration for operator `threshold`: missing field `min`\n"
        )
    );
    // So does the C operator's, with its location (its `FAIL` macro's line).
    let filter = workspace().join("examples/c-operator/filter.c");
    let source = std::fs::read_to_string(&filter).unwrap();
    let text = source
        .find("expected {\\\"column\\\": \\\"...\\\"")
        .unwrap();
    let line = source[..text].rfind("return FAIL(").unwrap();
    let line = source[..line].lines().count();
    assert_eq!(
        c_host(
            Path::new(c_operator::LIBRARY),
            Some(("c_filter", r#"{"column": "amount"}"#))
        ),
        failed(
            "",
            &format!(
                "c-host: invalid configuration for operator `c_filter`: expected {{\"column\": \"...\", \"min\": N}}, got {{\"column\": \"amount\"}} (at {}:{line}:0)\n",
                filter.display()
            )
        )
    );
    assert_eq!(
        c_host(&threshold, Some(("nothing", "{}"))),
        failed(
            "",
            &format!(
                "c-host: `{0}` has no operator `nothing` (run `c-host {0}` to list them)\n",
                threshold.display()
            )
        )
    );
}

#[test]
fn the_c_host_offers_the_standard_services_and_no_other() {
    const OFFERED: &str =
        "it provides oplink.Log, oplink.State and oplink.Clock, at the fingerprints of oplink.h";
    // Required, and not offered: refused before `create`.
    let lookup = fixture("LOOKUP");
    assert_eq!(
        c_host(&lookup, Some(("c_op", "\"alice\""))),
        failed(
            "",
            &format!(
                "c-host: operator `c_op` requires the service `oplink.Lookup` of fingerprint 0x0d7a42b4051addfb, which this host does not provide: {OFFERED}\n"
            )
        )
    );
    // Looked up without being required: `lookup_service`'s error, passed on by `create`.
    let undeclared = fixture("LOOKUP_UNDECLARED");
    assert_eq!(
        c_host(&undeclared, Some(("c_op", "\"alice\""))),
        failed(
            "",
            &format!(
                "c-host: operator `c_op` failed in `new`: c-host provides no service `oplink.Lookup` of fingerprint 0x0d7a42b4051addfb: {OFFERED}\n"
            )
        )
    );
    // `oplink.State` is there (a Rust operator's `create` needs it), and fails every call.
    assert_eq!(
        c_host(&plugin_path("enrich"), Some(("counter", "null"))),
        failed(
            "created counter\napply version 1: 1 diff\ndestroyed counter\n",
            "c-host: operator `counter` failed in `apply`: c-host keeps no state: run an operator that uses `oplink.State` in a host that has a store\n"
        )
    );
}

#[test]
fn the_c_host_survives_operators_that_break_the_protocol() {
    let run = |variant: &str| c_host(&fixture(variant), Some(("c_op", "null")));
    let first_apply = "created c_op\napply version 1: 1 diff\ndestroyed c_op\n";
    assert_eq!(
        run("NULL_INSTANCE"),
        failed(
            "",
            "c-host: operator `c_op` reported success from `new` but gave no instance\n"
        )
    );
    assert_eq!(
        run("UNKNOWN_STATUS"),
        failed(
            "",
            "c-host: operator `c_op` answered `new` with the unknown status 77; it is poisoned\n"
        )
    );
    assert_eq!(
        run("PANIC_WITHOUT_MESSAGE"),
        failed(
            "",
            "c-host: operator `c_op` panicked in `new`: (the operator gave no message)\n"
        )
    );
    assert_eq!(
        run("APPLY_UNKNOWN_STATUS"),
        failed(
            first_apply,
            "c-host: operator `c_op` answered `apply` with the unknown status 77; it is poisoned\n"
        )
    );
    // Its input's own diff array, said to hold two diffs more: nothing past them is read.
    assert_eq!(
        run("INPUT_OVERRUN"),
        failed(
            first_apply,
            "c-host: operator `c_op` returned a change this host cannot read: the input's diff array, with more diffs than it has\n"
        )
    );
    // An insert without rows, then what lies past it: the second diff's pointers are never
    // followed, nor its release called.
    assert_eq!(
        run("DIFFS_PAST_END"),
        failed(
            "created c_op\napply version 1: 1 diff\n  out: version 1 at 1000, 2 diffs\n  insert\ndestroyed c_op\n",
            "c-host: operator `c_op` returned a change this host cannot read: a schema id outside 1 to OPLINK_MAX_SCHEMA_ID
c-host: operator `c_op` returned a change this host cannot read: a diff of unknown kind: its diff array cannot be trusted
"
        )
    );
    // The arrays' offsets and lengths are checked before any index is computed from them:
    // row numbers from before their buffer, or rows past INT64_MAX, are read nowhere.
    let unreadable = "created c_op\napply version 1: 1 diff\n  out: version 1 at 1000, 1 diff\n  insert\ndestroyed c_op\n";
    let bounds = "c-host: operator `c_op` returned a change this host cannot read: a batch or row numbers with a negative offset or length, or rows past INT64_MAX\n";
    assert_eq!(run("OUTPUT_NUMBERS_BEFORE"), failed(unreadable, bounds));
    assert_eq!(run("OUTPUT_OFFSET_HUGE"), failed(unreadable, bounds));
    // It writes over the input struct it was handed (no diffs now) and leaves the arrays to
    // the host, which finds them by its own record (under valgrind: none leaks) and does not
    // take an output without diffs for its input given back.
    assert_eq!(
        run("INPUT_REPOINTED"),
        ok(
            "created c_op
apply version 1: 1 diff
  out: version 1 at 1000, 0 diffs
apply version 2: 1 diff
  out: version 2 at 2000, 0 diffs
destroyed c_op
",
            ""
        )
    );
}

#[test]
fn the_c_host_prints_a_plugins_text_on_one_line() {
    // A description with an escape sequence and a line break: shown escaped, on one line.
    assert_eq!(
        c_host(&fixture("DESCRIPTION_CONTROL"), None),
        ok("c_op 1.0.0: evil \\x1b[31mred\\x1b[0m\\nnext line\n", "")
    );
    // A column named with a line break, a backslash and a byte that is not UTF-8.
    assert_eq!(
        c_host(&fixture("OUTPUT_ODD_NAME"), Some(("c_op", "null"))),
        ok(
            "created c_op
apply version 1: 1 diff
  out: version 1 at 1000, 1 diff
  insert
    post row 8: odd\\nname\\\\\\xff=41
apply version 2: 1 diff
  out: version 2 at 2000, 1 diff
  insert
    post row 8: odd\\nname\\\\\\xff=41
destroyed c_op
",
            ""
        )
    );
}

/// Where `faulty` fails: `file:line:column` of the first occurrence of `code` in its source.
fn faulty_location(code: &str) -> String {
    let file = "examples/faulty/src/lib.rs";
    let source = std::fs::read_to_string(workspace().join(file)).unwrap();
    let (line, text) = source
        .lines()
        .enumerate()
        .find(|(_, text)| text.contains(code))
        .unwrap();
    let column = text.find(code).unwrap() + 1;
    format!("{file}:{}:{column}", line + 1)
}

#[test]
fn an_error_and_a_panic_come_back_to_the_c_host_as_statuses() {
    let faulty = plugin_path("faulty");
    let first_apply = "created faulty\napply version 1: 1 diff\ndestroyed faulty\n";
    let error = faulty_location("Error::msg(format!(\"faulty fails in");
    let panic = faulty_location("panic!(\"faulty panics in {method}");
    assert_eq!(
        c_host(
            &faulty,
            Some(("faulty", r#"{"fail_in": "apply", "how": "error"}"#))
        ),
        failed(
            first_apply,
            &format!(
                "c-host: operator `faulty` failed in `apply`: faulty fails in apply (at {error})\n"
            )
        )
    );
    assert_eq!(
        c_host(
            &faulty,
            Some(("faulty", r#"{"fail_in": "apply", "how": "panic"}"#))
        ),
        failed(
            first_apply,
            &format!(
                "c-host: operator `faulty` panicked in `apply`: faulty panics in apply (at {panic})\n"
            )
        )
    );
    assert_eq!(
        c_host(
            &faulty,
            Some(("faulty", r#"{"fail_in": "new", "how": "panic"}"#))
        ),
        failed(
            "",
            &format!(
                "c-host: operator `faulty` panicked in `new`: faulty panics in new (at {panic})\n"
            )
        )
    );
}

#[test]
fn the_c_host_refuses_what_is_no_plugin_of_its_abi() {
    let refused = |path: &Path, why: &str| {
        assert_eq!(
            c_host(path, None),
            failed(
                "",
                &format!("c-host: cannot use `{}`: {why}\n", path.display())
            )
        );
    };
    let text = workspace().join("README.md");
    refused(
        &text,
        "it is no shared library (it does not start with the ELF magic)",
    );
    refused(
        &workspace().join("no-such-library.so"),
        "No such file or directory",
    );
    refused(
        &fixture("NOT_PLUGIN"),
        "it exports no `oplink_plugin_v2` symbol: it is no oplink plugin of ABI 2",
    );
    refused(
        &fixture("ENTRY_V1"),
        "it was built for oplink ABI 1 (it exports `oplink_plugin_v1`), and this host reads ABI 2: rebuild it against this host's oplink.h",
    );
    refused(
        &fixture("ABI_MINOR"),
        "it was built for oplink ABI 2.9 (oplink 0.9.0), newer than this host's 2.2 (oplink.h of oplink 0.2.0): rebuild it against this oplink.h",
    );
    // The header, the descriptors and the vtables, as docs/abi.md's "What a host checks"
    // lists them: one sentence each.
    for (variant, why) in [
        ("NULL_HEADER", "its `oplink_plugin_v2` returned no header"),
        (
            "ABI_MAJOR",
            "its header is of oplink ABI 3, and this host reads ABI 2",
        ),
        (
            "HEADER_SMALL",
            "its header is 16 bytes, and ABI 2.0's is 128",
        ),
        ("HEADER_RESERVED", "its header's reserved field is not zero"),
        (
            "PANIC_ABORT",
            "its oplink SDK was built with `panic = \"abort\"`: a panic in it would end this host",
        ),
        (
            "DESCRIPTOR_SMALL",
            "its operator 1 has no descriptor or one smaller than ABI 2.0's",
        ),
        (
            "BAD_NAME",
            "its operator 1 has no valid name (1 to 64 ASCII letters, digits, `_`, `-` or `.`, starting with a letter)",
        ),
        (
            "BAD_VERSION",
            "operator `c_op` has the version \"banana\"; a version is semantic, such as `1.0.0` or `0.3.1-beta.2`",
        ),
        // oplink's host's rule: numbers without leading zeros, identifiers not empty.
        (
            "VERSION_LEADING_ZERO",
            "operator `c_op` has the version \"1.02.0\"; a version is semantic, such as `1.0.0` or `0.3.1-beta.2`",
        ),
        (
            "VERSION_EMPTY_PRE",
            "operator `c_op` has the version \"1.0.0-+build\"; a version is semantic, such as `1.0.0` or `0.3.1-beta.2`",
        ),
        (
            "UNKNOWN_BITS",
            "operator `c_op` says it implements unknown methods (bits 0x100)",
        ),
        (
            "DESCRIPTOR_RESERVED",
            "operator `c_op`'s reserved field is not zero",
        ),
        (
            "NULL_VTABLE",
            "operator `c_op` has no vtable, or one smaller than ABI 2.0's",
        ),
        (
            "VTABLE_RESERVED",
            "the vtable of operator `c_op` has a reserved field that is not zero",
        ),
        (
            "SERVICE_FINGERPRINT",
            "operator `c_op` requires the service `oplink.Log` with the fingerprint 0x000000000000dead, and its name and methods give 0xa755e8b416758270",
        ),
        ("DUPLICATE", "it lists operator `c_op` twice"),
        (
            "OPERATORS_NULL",
            "its header lists 1 operator at a null pointer",
        ),
        (
            "OPERATORS_MANY",
            "its header lists 5000 operators, more than 4096",
        ),
    ] {
        refused(&fixture(variant), why);
    }
    refused(
        &fixture("BAD_MAGIC"),
        "its header does not start with the oplink magic: it is no oplink plugin",
    );
    refused(
        &fixture("PANIC_ABORT_OPERATOR"),
        "operator `c_op` was built with `panic = \"abort\"`: a panic in it would end this host",
    );
    // Named by the layout table the library carries, compared with OPLINK_LAYOUT_FINGERPRINTS.
    refused(
        &fixture("LAYOUT"),
        "its ABI layout fingerprint is 0x0123456789abcdef, and this host's 0xf1c25135918a5e53: the fields of `OperatorVTable` (`OplinkOperatorVTable` in C) differ between it and this host",
    );
    refused(
        &fixture("LAYOUT_NONE"),
        "its ABI layout fingerprint is 0x0000000000001234, and this host's 0xf1c25135918a5e53, and it has no layout table to say which struct differs (a C library copies OPLINK_LAYOUT_FINGERPRINT from oplink.h)",
    );
}
