//! `-v`/`--log`: the operators' log events, shown by level and target.

use crate::common::workspace;

use crate::helpers::{ORDERS, oplink, plugins, stderr, stdout};

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

/// The README's example of an event under `-v`, word for word: one line, the level, the
/// operator's spans, the message and the fields, without time or target; an event of a
/// thread the operator spawned is shown as one of the operator's own.
#[test]
fn run_v_shows_an_event_of_an_operators_thread_as_the_docs_quote_it() {
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
    // (`oplink run` in full, which the README's "The command line" points to.)
    let docs = std::fs::read_to_string(workspace().join("docs/cli.md")).unwrap();
    let quoted = docs.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        quoted.contains(&format!("shows `{line}`")),
        "docs/cli.md does not quote: {line}"
    );
}
