//! `oplink.h` and the tables of `docs/abi.md`, written from the one declaration.
//!
//! `cargo run -p oplink --example abi-header` rewrites both files; the tests in
//! `sdk/tests/abi_files.rs` fail when a checked-in copy differs from what this module
//! writes.

use std::fmt::Write as _;

use super::decl::{MODELS, StructDecl};
use super::{
    ABI_MAJOR, ABI_MINOR, CONSTANTS, ENTRY_SYMBOL, FUNCTIONS, LAYOUT_FINGERPRINT, STRUCTS, Status,
};

/// The path of the C header inside the repository.
pub const HEADER_PATH: &str = "sdk/include/oplink.h";

/// The C header: every struct, function type, constant and status code of the ABI, with
/// static assertions of every size and offset on 64-bit and 32-bit targets.
pub fn c_header() -> String {
    let mut h = String::new();
    let w = &mut h;
    line(
        w,
        &format!(
            "/* oplink.h: the oplink plugin ABI, major {ABI_MAJOR} (minors 0 to {ABI_MINOR}).\n *\n * Generated from sdk/src/abi/types.rs by `cargo run -p oplink --example abi-header`;\n * do not edit. sdk/tests/abi_files.rs fails when this file is stale.\n *\n * A plugin written in C includes this file, fills an OplinkPluginHeader and exports it from\n * `{ENTRY_SYMBOL}` (OPLINK_ENTRY_SYMBOL). Define OPLINK_BUILD_MINOR to build against an\n * older minor of the ABI (its tables then end where that minor's did).\n *\n * A host written in C includes it too: it opens a library with `dlopen`, calls the entry\n * symbol, checks the header as docs/abi.md says (\"What a host checks\") and calls the\n * operators' vtables, with OplinkHostApi and the service tables of its own:\n * examples/c-host/host.c is one.\n */"
        ),
    );
    line(w, "#ifndef OPLINK_H\n#define OPLINK_H\n");
    line(w, "#include <stddef.h>\n#include <stdint.h>\n");
    line(
        w,
        "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n/* The layout checks below, in C11 and in C++11. */\n#ifdef __cplusplus\n#define OPLINK_STATIC_ASSERT static_assert\n#define OPLINK_ALIGNOF alignof\n#else\n#define OPLINK_STATIC_ASSERT _Static_assert\n#define OPLINK_ALIGNOF _Alignof\n#endif\n",
    );

    line(
        w,
        "/* ---- Constants ---------------------------------------------------- */\n",
    );
    for constant in CONSTANTS {
        doc_comment(w, constant.doc, "");
        line(
            w,
            &format!("#define OPLINK_{} {}\n", constant.name, constant.c_value),
        );
    }
    line(
        w,
        &format!(
            "/* The fingerprint of the frozen ABI layout of this major (every minor shares it). */\n#define OPLINK_LAYOUT_FINGERPRINT 0x{LAYOUT_FINGERPRINT:016x}ull\n"
        ),
    );
    // Each struct's own, so that a host written in C can name the struct that differs,
    // as oplink's host does, from a library's layout table.
    line(
        w,
        "/* Each struct's own fingerprint (its frozen prefix: the names and types of its 2.0 fields),\n * by the name a library's layout table gives it (`LayoutEntry.name`), in declaration order:\n * the initialiser of an array of `struct { const char *name; uint64_t fingerprint; }`. A\n * host that finds another OPLINK_LAYOUT_FINGERPRINT in a header compares the library's\n * layout table with it to name the struct that differs.\n */\n#define OPLINK_LAYOUT_FINGERPRINTS { \\",
    );
    for decl in STRUCTS {
        line(
            w,
            &format!(
                "    {{ \"{}\", 0x{:016x}ull }}, \\",
                decl.name,
                decl.fingerprint()
            ),
        );
    }
    line(w, "}\n");
    line(
        w,
        &format!(
            "/* The minor this build writes. */\n#ifndef OPLINK_BUILD_MINOR\n#define OPLINK_BUILD_MINOR OPLINK_ABI_MINOR\n#endif\n#if OPLINK_BUILD_MINOR > OPLINK_ABI_MINOR\n#error \"OPLINK_BUILD_MINOR is newer than this header\"\n#endif\n\n/* Define the entry symbol with this: OPLINK_ENTRY const OplinkPluginHeader *{ENTRY_SYMBOL}(void)\n   (declared below, so that in C++ too the definition has C linkage and its name as written). */\n#if defined(_WIN32)\n#define OPLINK_ENTRY __declspec(dllexport)\n#else\n#define OPLINK_ENTRY __attribute__((visibility(\"default\")))\n#endif\n"
        ),
    );

    line(
        w,
        "/* ---- Status codes ------------------------------------------------- */\n",
    );
    line(w, "typedef uint32_t OplinkStatus;\n");
    for (status, name, doc) in Status::ALL {
        doc_comment(w, doc, "");
        line(w, &format!("#define OPLINK_STATUS_{name} {}u\n", status.0));
    }

    line(
        w,
        "/* ---- The Arrow C Data Interface (https://arrow.apache.org/docs/format/CDataInterface.html) */\n",
    );
    line(
        w,
        "#ifndef ARROW_C_DATA_INTERFACE\n#define ARROW_C_DATA_INTERFACE\n\n#define ARROW_FLAG_DICTIONARY_ORDERED 1\n#define ARROW_FLAG_NULLABLE 2\n#define ARROW_FLAG_MAP_KEYS_SORTED 4\n\nstruct ArrowSchema {\n    const char *format;\n    const char *name;\n    const char *metadata;\n    int64_t flags;\n    int64_t n_children;\n    struct ArrowSchema **children;\n    struct ArrowSchema *dictionary;\n    void (*release)(struct ArrowSchema *);\n    void *private_data;\n};\n\nstruct ArrowArray {\n    int64_t length;\n    int64_t null_count;\n    int64_t offset;\n    int64_t n_buffers;\n    int64_t n_children;\n    const void **buffers;\n    struct ArrowArray **children;\n    struct ArrowArray *dictionary;\n    void (*release)(struct ArrowArray *);\n    void *private_data;\n};\n\n#endif /* ARROW_C_DATA_INTERFACE */\n",
    );

    line(
        w,
        "/* ---- Types ---------------------------------------------------------- */\n",
    );
    line(
        w,
        "/* An operator instance, opaque to everyone but the plugin that made it. */\ntypedef struct OplinkInstance OplinkInstance;",
    );
    for decl in STRUCTS {
        line(w, &format!("typedef struct {0} {0};", decl.c_name()));
    }
    line(w, "");
    line(
        w,
        &format!(
            "/* The entry symbol a plugin defines (OPLINK_ENTRY_SYMBOL). */\nOPLINK_ENTRY const OplinkPluginHeader *{ENTRY_SYMBOL}(void);\n"
        ),
    );
    for function in FUNCTIONS {
        doc_comment(w, function.doc, "");
        line(w, &format!("{}\n", (function.c_typedef)()));
    }
    for decl in STRUCTS {
        doc_comment(w, decl.doc, "");
        line(w, &format!("struct {} {{", decl.c_name()));
        let mut open_minor = 0;
        for field in decl.fields {
            if field.since != open_minor {
                if open_minor != 0 {
                    line(w, "#endif");
                }
                line(w, &format!("#if OPLINK_BUILD_MINOR >= {}", field.since));
                open_minor = field.since;
            }
            doc_comment(w, field.doc, "    ");
            line(w, &format!("    {};", (field.c_decl)(&c_field(field.name))));
        }
        if open_minor != 0 {
            line(w, "#endif");
        }
        line(w, "};\n");
    }

    line(
        w,
        "/* ---- The standard host services ------------------------------------ */\n\n/* A string literal as an OplinkStrView. */\n#ifdef __cplusplus\n#define OPLINK_STR(literal) { reinterpret_cast<uint8_t const *>(literal), sizeof(literal) - 1 }\n#else\n#define OPLINK_STR(literal) { (uint8_t const *)(literal), sizeof(literal) - 1 }\n#endif\n\n/* Log levels, for OplinkLogTable.message and max_level. */\n#define OPLINK_LOG_OFF 0\n#define OPLINK_LOG_ERROR 1\n#define OPLINK_LOG_WARN 2\n#define OPLINK_LOG_INFO 3\n#define OPLINK_LOG_DEBUG 4\n#define OPLINK_LOG_TRACE 5\n",
    );
    line(w, &crate::services::c_section());
    line(
        w,
        "/* ---- Layout checks ------------------------------------------------- */\n",
    );
    line(
        w,
        "/* In-struct alignment of 64-bit integers: 8 on most targets, 4 on 32-bit x86. */\ntypedef struct { char c; uint64_t v; } OplinkAlignProbe_;\n#define OPLINK_U64_ALIGN_ offsetof(OplinkAlignProbe_, v)\n",
    );
    line(
        w,
        "#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu\n#define OPLINK_LAYOUT_(lp64, ilp32, i386) (lp64)\n#elif UINTPTR_MAX == 0xFFFFFFFFu\n#define OPLINK_LAYOUT_(lp64, ilp32, i386) (OPLINK_U64_ALIGN_ == 8 ? (ilp32) : (i386))\n#else\n#error \"oplink supports 32-bit and 64-bit targets\"\n#endif\n",
    );
    for decl in STRUCTS {
        layout_checks(w, decl);
    }

    line(w, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* OPLINK_H */");
    h
}

fn layout_checks(w: &mut String, decl: &StructDecl) {
    let name = decl.c_name();
    let max_minor = decl.fields.iter().map(|f| f.since).max().unwrap_or(0);
    let sizes =
        |minor: u16| -> [usize; 3] { [0, 1, 2].map(|model| decl.size_at_minor(minor, model)) };
    if max_minor == 0 {
        let [a, b, c] = sizes(0);
        line(
            w,
            &format!(
                "OPLINK_STATIC_ASSERT(sizeof({name}) == OPLINK_LAYOUT_({a}, {b}, {c}), \"size of {name}\");"
            ),
        );
    } else {
        for minor in 0..=max_minor {
            let [a, b, c] = sizes(minor);
            let test = if minor == max_minor {
                format!("OPLINK_BUILD_MINOR >= {minor}")
            } else {
                format!("OPLINK_BUILD_MINOR == {minor}")
            };
            line(
                w,
                &format!(
                    "#if {test}\nOPLINK_STATIC_ASSERT(sizeof({name}) == OPLINK_LAYOUT_({a}, {b}, {c}), \"size of {name}\");\n#endif"
                ),
            );
        }
    }
    let [a, b, c] = [0, 1, 2].map(|model| decl.layout[model].align);
    line(
        w,
        &format!(
            "OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF({name}) == OPLINK_LAYOUT_({a}, {b}, {c}), \"alignment of {name}\");"
        ),
    );
    let offsets: Vec<Vec<usize>> = (0..3).map(|model| decl.offsets(model)).collect();
    for (i, field) in decl.fields.iter().enumerate() {
        let check = format!(
            "OPLINK_STATIC_ASSERT(offsetof({name}, {0}) == OPLINK_LAYOUT_({1}, {2}, {3}), \"offset of {name}.{0}\");",
            c_field(field.name),
            offsets[0][i],
            offsets[1][i],
            offsets[2][i]
        );
        if field.since > 0 {
            line(
                w,
                &format!("#if OPLINK_BUILD_MINOR >= {}\n{check}\n#endif", field.since),
            );
        } else {
            line(w, &check);
        }
    }
    line(w, "");
}

fn line(w: &mut String, text: &str) {
    w.push_str(text);
    w.push('\n');
}

fn doc_comment(w: &mut String, doc: &str, indent: &str) {
    let text: Vec<&str> = doc
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if text.is_empty() {
        return;
    }
    if text.len() == 1 {
        let _ = writeln!(w, "{indent}/* {} */", text[0]);
        return;
    }
    let _ = writeln!(w, "{indent}/* {}", text[0]);
    for l in &text[1..] {
        let _ = writeln!(w, "{indent} * {l}");
    }
    let _ = writeln!(w, "{indent} */");
}

/// The markers around the generated part of `docs/abi.md`.
pub const DOCS_BEGIN: &str =
    "<!-- generated by `cargo run -p oplink --example abi-header`: begin -->";
/// See [`DOCS_BEGIN`].
pub const DOCS_END: &str = "<!-- generated: end -->";

/// The tables of `docs/abi.md`: every struct with the C type, offsets and minor of each
/// field, the function types, the constants and the status codes.
pub fn markdown_tables() -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "ABI {ABI_MAJOR}.{ABI_MINOR}, layout fingerprint `0x{LAYOUT_FINGERPRINT:016x}`. Offsets are in bytes on the {} data models ({}: 64-bit pointers; {}: 32-bit pointers, 8-byte aligned 64-bit integers; {}: 32-bit x86, 4-byte aligned 64-bit integers in structs).\n",
        MODELS.len(),
        MODELS[0],
        MODELS[1],
        MODELS[2]
    );
    let _ = writeln!(
        w,
        "### Constants\n\n| name | value | meaning |\n|---|---|---|"
    );
    for constant in CONSTANTS {
        let _ = writeln!(
            w,
            "| `OPLINK_{}` | `{}` | {} |",
            constant.name,
            constant.c_value,
            one_line(constant.doc)
        );
    }
    let _ = writeln!(
        w,
        "\n### Status codes\n\n| name | value | meaning |\n|---|---|---|"
    );
    for (status, name, doc) in Status::ALL {
        let _ = writeln!(w, "| `OPLINK_STATUS_{name}` | {} | {doc} |", status.0);
    }
    let _ = writeln!(w, "\n### Function types\n");
    for function in FUNCTIONS {
        let _ = writeln!(
            w,
            "- `{}`: {}",
            (function.c_typedef)(),
            one_line(function.doc)
        );
    }
    let _ = writeln!(w, "\n### Structs");
    for decl in STRUCTS {
        let sizes: Vec<String> = (0..3)
            .map(|m| format!("{} {}", MODELS[m], decl.layout[m].size))
            .collect();
        let _ = writeln!(
            w,
            "\n#### `{}`\n\n{}\n\nsize: {}\n\n| field | C type | {} | {} | {} | since | meaning |\n|---|---|---|---|---|---|---|",
            decl.c_name(),
            one_line(decl.doc),
            sizes.join(", "),
            MODELS[0],
            MODELS[1],
            MODELS[2]
        );
        let offsets: Vec<Vec<usize>> = (0..3).map(|m| decl.offsets(m)).collect();
        for (i, field) in decl.fields.iter().enumerate() {
            let _ = writeln!(
                w,
                "| `{}` | `{}` | {} | {} | {} | 2.{} | {} |",
                c_field(field.name),
                (field.c_name)().replace('|', "\\|"),
                offsets[0][i],
                offsets[1][i],
                offsets[2][i],
                field.since,
                one_line(field.doc)
            );
        }
    }
    out
}

fn one_line(doc: &str) -> String {
    doc.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// `docs` with the text between [`DOCS_BEGIN`] and [`DOCS_END`] replaced by fresh tables;
/// `None` when the markers are missing.
pub fn splice_docs(docs: &str) -> Option<String> {
    let start = docs.find(DOCS_BEGIN)? + DOCS_BEGIN.len();
    let end = docs[start..].find(DOCS_END)? + start;
    Some(format!(
        "{}\n{}{}",
        &docs[..start],
        markdown_tables(),
        &docs[end..]
    ))
}

/// A field's name in C (a struct's, or a method's in a service table): the name itself, or
/// with a `_` after it when it is a keyword of C or C++ (`requires` becomes `requires_`,
/// `delete` `delete_`), so that the header also compiles as C++.
#[doc(hidden)]
pub fn c_field(name: &str) -> String {
    // C's keywords (those that are Rust's too can come as raw identifiers, `r#struct`),
    // then C++'s besides.
    const KEYWORDS: &str = concat!(
        "break const continue do else enum extern for if return static struct while ",
        "auto case char default double float goto inline int long register restrict short ",
        "signed sizeof switch typedef union unsigned void volatile ",
        "alignas alignof and and_eq asm bitand bitor bool catch char8_t char16_t char32_t ",
        "class compl concept consteval constexpr constinit const_cast co_await co_return ",
        "co_yield decltype delete dynamic_cast explicit export friend mutable namespace new ",
        "noexcept not not_eq nullptr operator or or_eq private protected public ",
        "reinterpret_cast requires static_assert static_cast template this thread_local ",
        "throw true false try typeid typename using virtual wchar_t xor xor_eq",
    );
    if KEYWORDS.split(' ').any(|keyword| keyword == name) {
        format!("{name}_")
    } else {
        name.to_owned()
    }
}
