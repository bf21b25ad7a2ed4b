//! Deliberately broken libraries, each refused with its own sentence: built from
//! `fixtures/broken.c` against `oplink.h` with the system C compiler (`$CC`, default `cc`),
//! one library per variant, so that every byte of the header is under the test's control.
//! Every load runs in a child process: a regression that crashes the host shows as a failed
//! test naming the signal.

mod common;

use common::in_child;
use oplink_host::{Error, Host, Plugin};
use serde_json::json;

use common::fixture;

/// The error of loading the variant, and its sentence after the library's path.
fn load_err(variant: &str) -> (Error, String) {
    let path = fixture(variant);
    let err = Plugin::load(&path).expect_err(variant);
    let text = err.to_string();
    let path = path.display().to_string();
    let rest = text
        .split_once(&format!("`{path}` "))
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or_else(|| panic!("the message names the library: {text}"));
    (err, rest)
}

/// One test per variant, in a child process: `refused!(name, VARIANT, "sentence")`.
macro_rules! refused {
    ($name:ident, $variant:literal, $sentence:expr) => {
        #[test]
        fn $name() {
            in_child(stringify!($name), || {
                let (_, text) = load_err($variant);
                assert_eq!(text, $sentence);
            });
        }
    };
}

#[test]
fn a_valid_header_written_in_c_loads_and_runs() {
    in_child("a_valid_header_written_in_c_loads_and_runs", || {
        let plugin = Plugin::load(fixture("VALID")).unwrap();
        let op = plugin.operator("c_op").unwrap();
        assert_eq!((op.version(), op.description()), ("1.0.0", "written in C"));
        assert_eq!(plugin.build().rustc_version, "cc");
        let mut instance = plugin
            .instantiate("c_op", json!(null), &Host::default())
            .unwrap();
        instance.apply(common::insert(1, &[1, 2])).unwrap();
    });
}

refused!(
    a_library_that_is_not_a_plugin,
    "NOT_PLUGIN",
    "is not an oplink plugin: it exports no `oplink_plugin_v2` symbol (a Rust plugin gets it from `#[oplink::operator]` in a `cdylib` crate; a C one defines it with `OPLINK_ENTRY`)"
);
refused!(
    a_plugin_of_abi_1,
    "ENTRY_V1",
    "was built for oplink ABI 1, but this host speaks ABI 2: rebuild it against oplink 0.2 (a C library: against this host's `oplink.h`)"
);
refused!(
    a_plugin_of_a_newer_major_by_symbol,
    "ENTRY_V3",
    "was built for oplink ABI 3, but this host speaks ABI 2: load it with a host built on a newer oplink"
);
refused!(
    a_plugin_of_a_newer_major_by_header,
    "ABI_MAJOR",
    "was built for oplink ABI 3, but this host speaks ABI 2: load it with a host built on a newer oplink"
);
refused!(
    a_plugin_of_a_newer_minor,
    "ABI_MINOR",
    "was built for oplink ABI 2.9 (oplink 0.9.0), newer than this host's 2.2 (oplink 0.2.0): load it with a host built on oplink 0.9.0 or newer"
);
refused!(
    wrong_magic,
    "BAD_MAGIC",
    "has a bad oplink header: its magic bytes are [4e, 4f, 54, 4f, 50, 4c, 4e, 4b], expected [7f, 4f, 50, 4c, 49, 4e, 4b, 00]"
);
refused!(
    a_mismatched_layout_names_the_struct,
    "LAYOUT",
    "was built with a different ABI layout than this host: the fields of `OperatorVTable` (`OplinkOperatorVTable` in C) differ between the plugin and this host"
);
refused!(
    a_mismatched_fingerprint_without_a_layout_table_says_how_to_get_it,
    "LAYOUT_NONE",
    "was built with a different ABI layout than this host: layout fingerprint 0x0000000000001234 differs from this host's 0xf1c25135918a5e53, and the plugin has no layout table to say which struct differs (a C library copies `OPLINK_LAYOUT_FINGERPRINT` from this host's `oplink.h`)"
);
refused!(
    panic_abort_builds_are_refused,
    "PANIC_ABORT",
    "was built with panic = \"abort\", so any panic in it would abort this process; rebuild it with panic = \"unwind\" (in the profile, `RUSTFLAGS` and `cargo rustc` flags alike; a C library: set its `panic_strategy` to `OPLINK_PANIC_UNWIND`)"
);
refused!(
    an_operator_built_with_panic_abort_is_refused,
    "PANIC_ABORT_OPERATOR",
    "was built with panic = \"abort\" (operator `c_op`), so any panic in it would abort this process; rebuild it with panic = \"unwind\" (in the profile, `RUSTFLAGS` and `cargo rustc` flags alike; a C library: set its `panic_strategy` to `OPLINK_PANIC_UNWIND`)"
);
refused!(
    duplicate_operator_names,
    "DUPLICATE",
    "defines the operator `c_op` twice (versions 1.0.0 and 1.1.0): a Rust library has the operators of every crate linked into it, a plugin crate it depends on included, so two of them define that name; rename one (a C library: list each operator once)"
);
refused!(
    invalid_utf8_in_a_name,
    "BAD_UTF8",
    "has an invalid oplink header: the name of the 1st operator listed is not valid UTF-8 (invalid utf-8 sequence of 1 bytes from index 0)"
);
refused!(
    an_invalid_operator_name,
    "BAD_NAME",
    "has an invalid oplink header: the 1st operator listed has the name \"2fast\"; names are ASCII letters, digits, `_`, `-` and `.`, starting with a letter"
);
refused!(
    a_service_fingerprint_its_methods_do_not_give,
    "SERVICE_FINGERPRINT",
    "has an invalid oplink header: operator `c_op` requires `oplink.Log` with the fingerprint 0x000000000000dead, but the methods it lists give 0xa755e8b416758270 (a C library copies a service's `OPLINK_*_FINGERPRINT` and `OPLINK_*_METHODS` together, from `oplink.h` or `oplink::service::c_declarations`)"
);
refused!(
    an_operator_whose_version_is_not_semantic,
    "BAD_VERSION",
    "has an invalid oplink header: operator `c_op` has the version \"banana\"; a version is semantic, such as `1.0.0` or `0.3.1-beta.2`"
);
// The fixtures c_host.rs refuses by the same rule: oplink's host and the C host agree.
refused!(
    an_operator_whose_version_has_a_leading_zero,
    "VERSION_LEADING_ZERO",
    "has an invalid oplink header: operator `c_op` has the version \"1.02.0\"; a version is semantic, such as `1.0.0` or `0.3.1-beta.2`"
);
refused!(
    an_operator_whose_version_has_an_empty_pre_release,
    "VERSION_EMPTY_PRE",
    "has an invalid oplink header: operator `c_op` has the version \"1.0.0-+build\"; a version is semantic, such as `1.0.0` or `0.3.1-beta.2`"
);
refused!(
    unknown_implemented_bits,
    "UNKNOWN_BITS",
    "has an invalid oplink header: operator `c_op` claims methods this host does not know (implemented bits 0x100)"
);
refused!(
    a_nonzero_reserved_field_of_the_header,
    "HEADER_RESERVED",
    "has an invalid oplink header: the header's reserved field is not zero"
);
refused!(
    a_nonzero_reserved_field_of_a_descriptor,
    "DESCRIPTOR_RESERVED",
    "has an invalid oplink header: operator `c_op`'s reserved field is not zero"
);
refused!(
    a_nonzero_reserved_field_of_a_vtable,
    "VTABLE_RESERVED",
    "has an invalid oplink header: the vtable of operator `c_op` has a reserved field that is not zero"
);

// Pointers a header may hold that lead nowhere: each one is checked before it is read.
refused!(
    a_null_header,
    "NULL_HEADER",
    "has an invalid oplink header: the header the entry symbol returned is a null pointer"
);
#[test]
fn an_entry_symbol_that_is_data() {
    in_child("an_entry_symbol_that_is_data", || {
        let (_, text) = load_err("ENTRY_IS_DATA");
        assert!(
            text.starts_with(
                "has an invalid oplink header: its entry symbol `oplink_plugin_v2` is at 0x"
            ) && text.ends_with(", which is not code of the library"),
            "{text}"
        );
    });
}
refused!(
    an_unmapped_header,
    "HEADER_UNMAPPED",
    "has an invalid oplink header: the library's mapped memory does not hold the header the entry symbol returned (16 bytes at 0x10)"
);
refused!(
    a_header_small_than_its_major,
    "HEADER_SMALL",
    "has an invalid oplink header: the header says it is 16 bytes, less than the 128 of ABI 2.0"
);
refused!(
    an_unmapped_operator_list,
    "OPERATORS_UNMAPPED",
    "has an invalid oplink header: the library's mapped memory does not hold the operator list (8 bytes at 0x1000)"
);
refused!(
    an_unmapped_descriptor,
    "DESCRIPTOR_UNMAPPED",
    "has an invalid oplink header: the library's mapped memory does not hold the descriptor of the 1st operator listed (4 bytes at 0x1008)"
);
refused!(
    a_descriptor_smaller_than_its_major,
    "DESCRIPTOR_SMALL",
    "has an invalid oplink header: the descriptor of the 1st operator listed says it is 8 bytes, less than the 80 of ABI 2.0"
);
refused!(
    a_null_vtable,
    "NULL_VTABLE",
    "has an invalid oplink header: the vtable of operator `c_op` is a null pointer"
);
refused!(
    an_unmapped_vtable,
    "VTABLE_UNMAPPED",
    "has an invalid oplink header: the library's mapped memory does not hold the vtable of operator `c_op` (4 bytes at 0x3000)"
);
refused!(
    a_vtable_smaller_than_its_major,
    "VTABLE_SMALL",
    "has an invalid oplink header: the vtable of operator `c_op` says it is 16 bytes, less than the 72 of ABI 2.0"
);
refused!(
    an_unmapped_list_of_required_services,
    "REQUIRES_UNMAPPED",
    "has an invalid oplink header: the library's mapped memory does not hold the list of the 1 service required by operator `c_op` (40 bytes at 0x4000)"
);
refused!(
    an_unmapped_list_of_methods,
    "METHODS_UNMAPPED",
    "has an invalid oplink header: the library's mapped memory does not hold the methods of `oplink.Log`, the 1st service that operator `c_op` requires (120 bytes at 0x2000)"
);
refused!(
    an_unmapped_string,
    "STRING_UNMAPPED",
    "has an invalid oplink header: the library's mapped memory does not hold the name of the 1st operator listed (4 bytes at 0x10)"
);
refused!(
    a_string_of_a_terabyte,
    "STRING_HUGE",
    "has an invalid oplink header: the name of the 1st operator listed is 1099511627776 bytes long"
);
refused!(
    an_entry_point_that_is_not_mapped,
    "CREATE_UNMAPPED",
    "has an invalid oplink header: the `create` entry point of operator `c_op` is at 0x10, which is not code of the library"
);

#[test]
fn pointers_into_memory_that_is_not_the_librarys() {
    in_child("pointers_into_memory_that_is_not_the_librarys", || {
        for variant in ["HEADER_FOREIGN", "DESCRIPTOR_FOREIGN"] {
            let (err, text) = load_err(variant);
            assert!(matches!(err, Error::InvalidHeader { .. }), "{err:?}");
            assert!(
                text.contains("the library's mapped memory does not hold"),
                "{variant}: {text}"
            );
        }
        let (_, text) = load_err("CREATE_IS_DATA");
        assert!(
            text.starts_with(
                "has an invalid oplink header: the `create` entry point of operator `c_op` is at 0x"
            ) && text.ends_with(", which is not code of the library"),
            "{text}"
        );
    });
}

#[test]
fn misaligned_headers_and_descriptors() {
    in_child("misaligned_headers_and_descriptors", || {
        let (_, text) = load_err("HEADER_MISALIGNED");
        assert!(
            text.starts_with(
                "has an invalid oplink header: the header the entry symbol returned is at 0x"
            ) && text.ends_with(", which is not aligned to 8 bytes"),
            "{text}"
        );
        let (_, text) = load_err("DESCRIPTOR_MISALIGNED");
        assert!(
            text.starts_with(
                "has an invalid oplink header: the descriptor of the 1st operator listed is at 0x"
            ) && text.ends_with(", which is not aligned to 8 bytes"),
            "{text}"
        );
    });
}

#[test]
fn an_unmapped_layout_table_is_an_error_not_a_crash() {
    in_child("an_unmapped_layout_table_is_an_error_not_a_crash", || {
        let (err, text) = load_err("LAYOUT_UNMAPPED");
        assert!(matches!(err, Error::Layout { .. }), "{err:?}");
        assert!(
            text.starts_with("was built with a different ABI layout than this host: layout fingerprint 0x0123456789abcdef differs from this host's ") && text.ends_with(", and the plugin's layout table cannot be read to say which struct differs (a C library copies `OPLINK_LAYOUT_FINGERPRINT` from this host's `oplink.h`)"),
            "{text}"
        );
    });
}

#[test]
fn a_missing_symbol_is_a_load_error_not_a_crash_at_the_first_call() {
    in_child(
        "a_missing_symbol_is_a_load_error_not_a_crash_at_the_first_call",
        || {
            let path = fixture("UNDEFINED_SYMBOL");
            let err = Plugin::load(&path).unwrap_err();
            assert!(matches!(err, Error::Open { .. }), "{err:?}");
            assert!(
                err.to_string()
                    .contains("undefined symbol: oplink_fixture_missing_function"),
                "{err}"
            );
        },
    );
}

#[test]
fn a_panic_without_a_message_says_so() {
    in_child("a_panic_without_a_message_says_so", || {
        let plugin = Plugin::load(fixture("PANIC_WITHOUT_MESSAGE")).unwrap();
        let err = plugin
            .instantiate("c_op", json!(null), &Host::default())
            .unwrap_err();
        assert!(matches!(err, Error::Panicked { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "operator `c_op` panicked in `new`: (the plugin gave no message)"
        );
    });
}

#[test]
fn a_create_that_succeeds_without_an_instance_is_an_error() {
    in_child(
        "a_create_that_succeeds_without_an_instance_is_an_error",
        || {
            let plugin = Plugin::load(fixture("NULL_INSTANCE")).unwrap();
            let err = plugin
                .instantiate("c_op", json!(null), &Host::default())
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                "operator `c_op` in `new`: the plugin reported success but returned no instance"
            );
        },
    );
}

/// An output whose `diff_count` runs past the diffs written: the host stops at the first
/// header no sender writes (following none of its pointers) and poisons the instance.
#[test]
fn an_output_past_its_diffs_is_an_error_and_poisons_the_instance() {
    in_child(
        "an_output_past_its_diffs_is_an_error_and_poisons_the_instance",
        || {
            let plugin = Plugin::load(fixture("DIFFS_PAST_END")).unwrap();
            let mut op = plugin
                .instantiate("c_op", json!(null), &Host::default())
                .unwrap();
            let input = || {
                let batch = oplink::arrow::array::RecordBatch::try_from_iter([(
                    "x",
                    std::sync::Arc::new(oplink::arrow::array::Int64Array::from(vec![1]))
                        as oplink::arrow::array::ArrayRef,
                )])
                .unwrap();
                oplink::Change::new(
                    1,
                    oplink::Timestamp(0),
                    vec![oplink::Diff::Insert {
                        post: oplink::Rows::new(vec![0u64], batch).unwrap(),
                    }],
                )
            };
            let err = op.apply(input()).unwrap_err();
            assert!(matches!(err, Error::Data { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                "operator `c_op` in `apply`: the change it returned cannot be read: diff 0 of the change (and diff 1 has a header no sender writes: the diffs from it on were left untouched, not released, since nothing they point to can be trusted): an insert needs post rows, but its post side has schema id 0; the instance is now poisoned"
            );
            assert!(op.is_poisoned());
            assert_eq!(
                op.apply(input()).unwrap_err().to_string(),
                "operator `c_op` is poisoned by an output the host could not trust in `apply` and refuses `apply`; drop it and create a new one (a `LiveInstance` has `recover()` for that)"
            );
        },
    );
}

/// An instance of the `c_op` of the fixture built with `variant`, and a change inserting
/// one column of two rows, with that column (to count who holds it).
fn c_op_with_input(
    variant: &str,
) -> (
    oplink_host::Instance,
    oplink::arrow::array::ArrayRef,
    oplink::Change,
) {
    let plugin = Plugin::load(fixture(variant)).unwrap();
    let op = plugin
        .instantiate("c_op", json!(null), &Host::default())
        .unwrap();
    let column: oplink::arrow::array::ArrayRef =
        std::sync::Arc::new(oplink::arrow::array::Int64Array::from(vec![1, 2]));
    let batch = oplink::arrow::array::RecordBatch::try_from_iter([("x", column.clone())]).unwrap();
    let input = oplink::Change::new(
        4,
        oplink::Timestamp(0),
        vec![oplink::Diff::Insert {
            post: oplink::Rows::new(vec![0u64, 1], batch).unwrap(),
        }],
    );
    (op, column, input)
}

/// An operator that writes over the input it was handed (no diffs now) and returns a change
/// without diffs, equal to what that input then says: the host tells an output that is its
/// input by its own record of the input, so the output is the empty change it is, and the
/// host releases the input's arrays the operator left.
#[test]
fn an_operator_that_writes_over_its_input_does_not_return_it() {
    in_child(
        "an_operator_that_writes_over_its_input_does_not_return_it",
        || {
            let (mut op, column, input) = c_op_with_input("INPUT_REPOINTED");
            let out = op.apply(input).unwrap();
            assert!(out.diffs.is_empty(), "the input came back: {out:?}");
            assert_eq!(out.version, 4);
            assert_eq!(
                std::sync::Arc::strong_count(&column),
                1,
                "the input is held"
            );
        },
    );
}

/// An operator that returns its input's own diff array with a count past its end: the host
/// knows that array's length, so it reads none of it (past it lies the host's own memory,
/// not diffs), releases the input and poisons the instance.
#[test]
fn an_output_that_runs_past_its_inputs_diffs_is_refused_unread() {
    in_child(
        "an_output_that_runs_past_its_inputs_diffs_is_refused_unread",
        || {
            let (mut op, column, input) = c_op_with_input("INPUT_OVERRUN");
            let err = op.apply(input).unwrap_err();
            assert!(matches!(err, Error::Data { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                "operator `c_op` in `apply`: the change it returned lists 3 diffs in the host's own diff array (its input's, or the room kept past it), which holds 1 from where it starts: nothing of it was read; the instance is now poisoned"
            );
            assert!(op.is_poisoned());
            assert_eq!(
                std::sync::Arc::strong_count(&column),
                1,
                "the input is held"
            );
        },
    );
}

#[test]
fn an_earlier_inputs_diff_array_given_back_for_an_input_without_diffs_is_refused_unread() {
    in_child(
        "an_earlier_inputs_diff_array_given_back_for_an_input_without_diffs_is_refused_unread",
        || {
            let (mut op, _, input) = c_op_with_input("INPUT_REPLAYED");
            assert!(op.apply(input).unwrap().diffs.is_empty());
            let err = op
                .apply(oplink::Change::new(5, oplink::Timestamp(0), Vec::new()))
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                "operator `c_op` in `apply`: the change it returned lists 1 diff in the host's own diff array (its input's, or the room kept past it), which holds 0 from where it starts: nothing of it was read; the instance is now poisoned"
            );
            assert!(op.is_poisoned());
        },
    );
}

#[test]
fn an_unknown_status_from_apply_poisons_the_instance() {
    in_child("an_unknown_status_from_apply_poisons_the_instance", || {
        let plugin = Plugin::load(fixture("APPLY_UNKNOWN_STATUS")).unwrap();
        let mut op = plugin
            .instantiate("c_op", json!(null), &Host::default())
            .unwrap();
        let change = || oplink::Change::new(1, oplink::Timestamp(0), Vec::new());
        let err = op.apply(change()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "operator `c_op` in `apply`: the plugin returned unknown status 77 (a fault of the plugin: it must return an `OPLINK_STATUS_*`, 0 to 3); the instance is now poisoned"
        );
        assert_eq!(
            op.apply(change()).unwrap_err().to_string(),
            "operator `c_op` is poisoned by an unknown status in `apply` and refuses `apply`; drop it and create a new one (a `LiveInstance` has `recover()` for that)"
        );
    });
}

/// A reload whose `snapshot` of a healthy instance answers an unknown status: that poisons
/// the instance, and the error says so, not that it panicked.
#[test]
fn a_reload_whose_snapshot_answers_an_unknown_status_says_it_poisoned_the_instance() {
    in_child(
        "a_reload_whose_snapshot_answers_an_unknown_status_says_it_poisoned_the_instance",
        || {
            let plugin = Plugin::load(fixture("SNAPSHOT_UNKNOWN_STATUS")).unwrap();
            let live = oplink_host::LiveInstance::new(
                &plugin,
                "c_op",
                json!(null),
                &Host::default(),
                None,
            )
            .unwrap();
            let err = live.reload(&plugin).unwrap_err();
            assert!(matches!(err, Error::StillPoisoned { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                "reloading operator `c_op` failed, and it is poisoned: the old instance's snapshot poisoned it: operator `c_op` in `snapshot`: the plugin returned unknown status 77 (a fault of the plugin: it must return an `OPLINK_STATUS_*`, 0 to 3); the instance is now poisoned; it refuses every call until a `recover()` or `reload` succeeds (`reload` a build that fixes this, or drop it)"
            );
            assert!(live.is_poisoned());
        },
    );
}

#[test]
fn a_tick_that_says_it_produced_two_changes_is_an_error() {
    in_child(
        "a_tick_that_says_it_produced_two_changes_is_an_error",
        || {
            let plugin = Plugin::load(fixture("TICK_TWO")).unwrap();
            let mut op = plugin
                .instantiate("c_op", json!(null), &Host::default())
                .unwrap();
            let err = op.tick(oplink::Timestamp(1)).unwrap_err();
            assert!(matches!(err, Error::Data { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                "operator `c_op` in `tick`: it set `produced` to 2: 0 for no change, 1 for a change in `out`"
            );
        },
    );
}

/// A `produced` that is neither 0 nor 1 is the error, even when `out` cannot be read either
/// (the error named `out` before, and never the value that was wrong first).
#[test]
fn a_tick_that_says_it_produced_two_changes_is_named_when_out_is_unreadable_too() {
    in_child(
        "a_tick_that_says_it_produced_two_changes_is_named_when_out_is_unreadable_too",
        || {
            let plugin = Plugin::load(fixture("TICK_TWO_UNREADABLE")).unwrap();
            let mut op = plugin
                .instantiate("c_op", json!(null), &Host::default())
                .unwrap();
            let err = op.tick(oplink::Timestamp(1)).unwrap_err();
            assert_eq!(
                err.to_string(),
                "operator `c_op` in `tick`: it set `produced` to 2: 0 for no change, 1 for a change in `out`"
            );
        },
    );
}

/// Rows a `pull` returned that cannot be read are an error naming the method, never rows
/// made of whatever the plugin left there.
#[test]
fn rows_a_pull_returned_that_cannot_be_read_are_an_error() {
    in_child(
        "rows_a_pull_returned_that_cannot_be_read_are_an_error",
        || {
            let plugin = Plugin::load(fixture("PULL_UNREADABLE")).unwrap();
            let mut op = plugin
                .instantiate("c_op", json!(null), &Host::default())
                .unwrap();
            let err = op.pull(&[0]).unwrap_err();
            assert!(matches!(err, Error::Data { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                "operator `c_op` in `pull`: the rows it returned cannot be read: schema id 0 is not a slot (1 to 1024)"
            );
        },
    );
}

/// A snapshot of a length without bytes is an error, never an empty snapshot that would
/// hand the next instance no state.
#[test]
fn a_snapshot_no_writer_can_have_made_is_an_error() {
    in_child("a_snapshot_no_writer_can_have_made_is_an_error", || {
        let plugin = Plugin::load(fixture("SNAPSHOT_NULL_LEN")).unwrap();
        let mut op = plugin
            .instantiate("c_op", json!(null), &Host::default())
            .unwrap();
        let err = op.snapshot().unwrap_err();
        assert!(matches!(err, Error::Data { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "operator `c_op` in `snapshot`: 1000 bytes arrived with a null pointer or more than memory can hold"
        );
    });
}

#[test]
fn an_unknown_status_is_an_error() {
    in_child("an_unknown_status_is_an_error", || {
        let plugin = Plugin::load(fixture("UNKNOWN_STATUS")).unwrap();
        let err = plugin
            .instantiate("c_op", json!(null), &Host::default())
            .unwrap_err();
        assert!(matches!(err, Error::Data { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "operator `c_op` in `new`: the plugin returned unknown status 77 (a fault of the plugin: it must return an `OPLINK_STATUS_*`, 0 to 3)"
        );
    });
}

/// What an `Error::Truncated` says to do, after its detail.
const TRUNCATED_ADVICE: &str = " (a copy cut short, or a file still being written? build or copy it again, and put it in place by renaming it once it is whole)";

#[test]
fn truncated_and_missing_files() {
    let real = std::fs::read(common::plugin_path("threshold")).unwrap();
    let dir = common::workspace().join("target").join("broken-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let truncated = dir.join("libtruncated.so");
    std::fs::write(&truncated, &real[..real.len().min(4096)]).unwrap();
    let err = Plugin::load(&truncated).unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "`{}` is truncated or damaged: ",
            truncated.display()
        )),
        "{err}"
    );
    // What to do, after the detail.
    assert!(err.to_string().ends_with(TRUNCATED_ADVICE), "{err}");

    // Each header check by its own words: a file cut inside its ELF header, program and
    // section header tables past the end, a segment past the end, another byte order.
    let len = real.len() as u64;
    let spoil = |name: &str, edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = real.clone();
        edit(&mut bytes);
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let text = Plugin::load(&path).unwrap_err().to_string();
        let prefix = format!("`{}` ", path.display());
        let text = text.strip_prefix(&prefix).expect("names the file");
        text.strip_suffix(TRUNCATED_ADVICE)
            .unwrap_or(text)
            .to_owned()
    };
    let put = |bytes: &mut Vec<u8>, at: usize, value: &[u8]| {
        bytes[at..at + value.len()].copy_from_slice(value)
    };
    assert_eq!(
        spoil("libshort.so", &|b| b.truncate(20)),
        "is truncated or damaged: the file ends at 20 bytes, inside its own ELF header"
    );
    // Cut before its class and byte order: truncated, not a library of another width.
    assert_eq!(
        spoil("libident.so", &|b| b.truncate(12)),
        "is truncated or damaged: the file ends at 12 bytes, inside its own ELF header"
    );
    assert_eq!(
        spoil("libwidth.so", &|b| b[4] = 7),
        "is not a library for this host: it is an unknown-width library and this host is 64-bit x86_64"
    );
    let far = len + 1000;
    assert_eq!(
        spoil("libphoff.so", &|b| put(b, 0x20, &far.to_le_bytes())),
        format!(
            "is truncated or damaged: its program headers end at byte {}, but the file has {len} bytes",
            far + u64::from(u16::from_le_bytes([real[0x36], real[0x37]]))
                * u64::from(u16::from_le_bytes([real[0x38], real[0x39]]))
        )
    );
    assert_eq!(
        spoil("libshoff.so", &|b| put(b, 0x28, &far.to_le_bytes())),
        format!(
            "is truncated or damaged: its section headers end at byte {}, but the file has {len} bytes",
            far + u64::from(u16::from_le_bytes([real[0x3a], real[0x3b]]))
                * u64::from(u16::from_le_bytes([real[0x3c], real[0x3d]]))
        )
    );
    // The first program header's file size, made to reach past the end.
    let phoff = u64::from_le_bytes(real[0x20..0x28].try_into().unwrap()) as usize;
    let offset = u64::from_le_bytes(real[phoff + 8..phoff + 16].try_into().unwrap());
    assert_eq!(
        spoil("libsegment.so", &|b| put(
            b,
            phoff + 0x20,
            &len.to_le_bytes()
        )),
        format!(
            "is truncated or damaged: segment 0 ends at byte {}, but the file has {len} bytes",
            offset + len
        )
    );
    // Offsets and sizes whose sum overflows: a damaged file, not a crash.
    assert_eq!(
        spoil("libphoverflow.so", &|b| put(
            b,
            0x20,
            &u64::MAX.to_le_bytes()
        )),
        "is truncated or damaged: its program header table overflows"
    );
    assert_eq!(
        spoil("libshoverflow.so", &|b| put(
            b,
            0x28,
            &u64::MAX.to_le_bytes()
        )),
        "is truncated or damaged: its section header table overflows"
    );
    assert_eq!(
        spoil("libsegoverflow.so", &|b| put(
            b,
            phoff + 8,
            &u64::MAX.to_le_bytes()
        )),
        "is truncated or damaged: segment 0's extent overflows"
    );
    assert_eq!(
        spoil("libbigendian.so", &|b| b[5] = 2),
        "is not a library for this host: its byte order is not this host's"
    );

    let garbage = dir.join("libgarbage.so");
    std::fs::write(&garbage, b"this is not a library").unwrap();
    let err = Plugin::load(&garbage).unwrap_err();
    assert!(matches!(err, Error::WrongTarget { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "`{0}` is not a library for this host: it is not a shared library at all (it starts with `this is not a library`)",
            garbage.display()
        )
    );
    for (bytes, said) in [
        (&b""[..], "it is empty"),
        (
            &b"\x00\x01\x02\x03\x04"[..],
            "its first bytes are 00 01 02 03, not an ELF header's",
        ),
        (
            &b"/* GNU ld script\n   Use the shared library */"[..],
            "it starts with `/* GNU ld script`",
        ),
    ] {
        std::fs::write(&garbage, bytes).unwrap();
        assert_eq!(
            Plugin::load(&garbage).unwrap_err().to_string(),
            format!(
                "`{}` is not a library for this host: it is not a shared library at all ({said})",
                garbage.display()
            )
        );
    }

    let err = Plugin::load(&dir).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` is not a file (a folder or a device): give the path of the library itself, or search a folder with `Discovery`",
            dir.display()
        )
    );

    // `dlopen("")` would open the test program itself.
    for err in [
        Plugin::load(""),
        Plugin::load_checked(""),
        Plugin::load_fresh(""),
    ] {
        assert_eq!(
            err.unwrap_err().to_string(),
            "an empty path names no library (the loader would open this program itself)"
        );
    }

    // A named pipe is no library: `load_fresh` would wait on it copying it.
    let fifo = dir.join("libfifo.so");
    let _ = std::fs::remove_file(&fifo); // from an earlier run of this test
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for err in [Plugin::load(&fifo), Plugin::load_fresh(&fifo)] {
        assert_eq!(
            err.unwrap_err().to_string(),
            format!(
                "`{}` is not a file (a folder or a device): give the path of the library itself, or search a folder with `Discovery`",
                fifo.display()
            )
        );
    }
    std::fs::remove_file(&fifo).unwrap();

    // The loader's own reason is in the sentence, not only in `source()`.
    let missing = dir.join("no-such-file.so");
    let err = Plugin::load(&missing).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot load `{0}` as a shared library: cannot open shared object file: No such file or directory",
            missing.display()
        )
    );

    // A Rust library built without `cdylib` (an ar archive, as a C `.a` is).
    let rlib = dir.join("libplain.rlib");
    std::fs::write(
        &rlib,
        b"!<arch>\n/               0           0     0     0       8         `\n",
    )
    .unwrap();
    assert_eq!(
        Plugin::load(&rlib).unwrap_err().to_string(),
        format!(
            "`{}` is not a library for this host: it is a static archive (a Rust `.rlib`, or a C `.a`), not a shared library: build a Rust plugin with `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in its Cargo.toml (and load the `.so`), a C one with `-shared -fPIC`",
            rlib.display()
        )
    );
}

/// A library path that does not exist gets the file most likely meant, when there is one:
/// the extension, cargo's `lib` prefix, a crate name's `-` as `_`; or, when cargo built only
/// the `.rlib`, what the crate's Cargo.toml lacks.
#[test]
fn a_missing_library_path_names_the_file_most_likely_meant() {
    use oplink_host::load::library_path_hint;
    let dir = common::workspace()
        .join("target")
        .join(format!("hint-fixtures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["libmy_ops.so", "libplain.rlib"] {
        std::fs::write(dir.join(file), b"").unwrap();
    }
    let hint = |name: &str| library_path_hint(&dir.join(name));
    let meant = format!("did you mean `{}`?", dir.join("libmy_ops.so").display());
    for name in ["libmy_ops", "my_ops.so", "libmy-ops.so", "my-ops.so"] {
        assert_eq!(hint(name).as_deref(), Some(meant.as_str()), "{name}");
    }
    assert_eq!(hint("libmy_ops.so"), None, "it exists");
    assert_eq!(hint("libother.so"), None, "nothing like it");
    assert_eq!(
        hint("libplain.so").unwrap(),
        format!(
            "cargo built only `{}` there, a Rust library and not a shared one: add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in the plugin's Cargo.toml, and it builds `{}` too",
            dir.join("libplain.rlib").display(),
            dir.join("libplain.so").display()
        )
    );
    // `Plugin::load` says it too.
    let err = Plugin::load(dir.join("my-ops.so")).unwrap_err().to_string();
    assert!(
        err.ends_with(&format!("No such file or directory ({meant})")),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_library_for_another_machine_names_it() {
    let real = std::fs::read(common::plugin_path("threshold")).unwrap();
    let dir = common::workspace().join("target").join("broken-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let mut aarch64 = real.clone();
    aarch64[0x12..0x14].copy_from_slice(&183u16.to_le_bytes());
    let path = dir.join("libaarch64.so");
    std::fs::write(&path, &aarch64).unwrap();
    let err = Plugin::load(&path).unwrap_err();
    assert!(matches!(err, Error::WrongTarget { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` is not a library for this host: it was built for aarch64, and this host is x86_64",
            path.display()
        )
    );
    // A machine without a name here is named by its number.
    let mut unknown = real.clone();
    unknown[0x12..0x14].copy_from_slice(&0x1234u16.to_le_bytes());
    let path = dir.join("libunknown-machine.so");
    std::fs::write(&path, &unknown).unwrap();
    assert_eq!(
        Plugin::load(&path).unwrap_err().to_string(),
        format!(
            "`{}` is not a library for this host: it was built for ELF machine 4660, and this host is x86_64",
            path.display()
        )
    );
    let mut elf32 = real;
    elf32[4] = 1;
    let path = dir.join("libelf32.so");
    std::fs::write(&path, &elf32).unwrap();
    let err = Plugin::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` is not a library for this host: it is a 32-bit library and this host is 64-bit x86_64",
            path.display()
        )
    );
}

/// The outputs the C host's tests read from `broken.c` (`c_host.rs`), taken by oplink's own
/// host: each an error naming what is wrong, never a read past the arrays.
#[test]
fn outputs_the_c_host_refuses_are_errors_here_too() {
    in_child("outputs_the_c_host_refuses_are_errors_here_too", || {
        let apply = |variant| {
            let plugin = Plugin::load(fixture(variant)).unwrap();
            let mut op = plugin
                .instantiate("c_op", json!(null), &Host::default())
                .unwrap();
            let change = oplink::Change::new(1, oplink::Timestamp(0), Vec::new());
            op.apply(change).unwrap_err().to_string()
        };
        let unreadable = "operator `c_op` in `apply`: the change it returned cannot be read: diff 0 of the change: its post rows: ";
        assert_eq!(
            apply("OUTPUT_NUMBERS_BEFORE"),
            format!("{unreadable}its row numbers: its length 1 or offset -1 is negative")
        );
        assert_eq!(
            apply("OUTPUT_OFFSET_HUGE"),
            format!(
                "{unreadable}a batch's struct array: its length 1 and offset 9223372036854775807 are more slots than memory can hold"
            )
        );
        assert_eq!(
            apply("OUTPUT_CHILDREN_NULL"),
            format!("{unreadable}unreadable schema: a child list is null or misaligned")
        );
        assert_eq!(
            apply("OUTPUT_WIDTH_NEGATIVE"),
            format!("{unreadable}column `amount`: its fixed-size binary width -8 is negative")
        );
        assert_eq!(
            apply("OUTPUT_FLOAT_KEYS"),
            format!(
                "{unreadable}column `amount`: its dictionary keys are Float32, where the Arrow format has integers"
            )
        );
        // A field name that is not UTF-8: arrow-rs's own words, as `exchange`'s tests show.
        let odd = apply("OUTPUT_ODD_NAME");
        assert!(
            odd.starts_with(&format!("{unreadable}unreadable schema: "))
                && odd.contains("non-utf8"),
            "{odd}"
        );
    });
}
