//! The files generated from the ABI's one declaration must match it: regenerate them with
//! `cargo run -p oplink --example abi-header` after changing the ABI.

use std::path::Path;

use oplink::abi::header;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn the_checked_in_c_header_is_current() {
    let checked_in = std::fs::read_to_string(root().join(header::HEADER_PATH))
        .expect("sdk/include/oplink.h exists");
    assert!(
        checked_in == header::c_header(),
        "sdk/include/oplink.h is stale: run `cargo run -p oplink --example abi-header`"
    );
}

#[test]
fn the_tables_of_docs_abi_md_are_current() {
    let docs = std::fs::read_to_string(root().join("docs/abi.md")).expect("docs/abi.md exists");
    let fresh =
        header::splice_docs(&docs).expect("docs/abi.md has the generated section's markers");
    assert!(
        docs == fresh,
        "the tables of docs/abi.md are stale: run `cargo run -p oplink --example abi-header`"
    );
}

/// Compiles `source` (a file named `file`) against `oplink.h` with `compiler` (or the
/// command in the environment variable `var`), once for each `(standard, minor)`: as ISO C
/// or C++ of that standard (`-Wpedantic`: no compiler's extension passes), warnings as
/// errors.
fn compiles(var: &str, compiler: &str, file: &str, source: &str, builds: &[(&str, u16)]) {
    let compiler = std::env::var(var).unwrap_or_else(|_| compiler.to_owned());
    let dir = std::env::temp_dir().join(format!("oplink-header-{file}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, source).unwrap();
    for (standard, minor) in builds {
        let status = std::process::Command::new(&compiler)
            .arg(format!("-std={standard}"))
            .args(["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only"])
            .arg(format!("-DOPLINK_BUILD_MINOR={minor}"))
            .arg("-I")
            .arg(root().join("sdk/include"))
            .arg(&path)
            .status()
            .unwrap_or_else(|e| panic!("cannot run the compiler `{compiler}`: {e}"));
        assert!(
            status.success(),
            "oplink.h does not compile as {standard} for minor {minor}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_c_header_compiles_and_its_assertions_hold_for_every_minor() {
    let builds: Vec<(&str, u16)> = (0..=oplink::abi::ABI_MINOR).map(|m| ("c11", m)).collect();
    compiles(
        "CC",
        "cc",
        "check.c",
        "#include \"oplink.h\"\nint main(void) { return OPLINK_ABI_MAJOR == 2 ? 0 : 1; }\n",
        &builds,
    );
}

#[test]
fn the_c_header_compiles_as_cpp_too() {
    // C++11, and C++20, whose keywords include `requires`: a field named for a C or C++
    // keyword has a `_` after it.
    compiles(
        "CXX",
        "c++",
        "check.cpp",
        "#include \"oplink.h\"\nint main() { OplinkStateTable table = {}; OplinkOperatorDescriptor op = {}; return table.delete_ == nullptr && op.requires_ == nullptr ? 0 : 1; }\n",
        &[
            ("c++11", 0),
            ("c++11", oplink::abi::ABI_MINOR),
            ("c++20", oplink::abi::ABI_MINOR),
        ],
    );
}

/// An entry symbol defined in C++ as the header says to define it, with no `extern "C"` of
/// its author's, has C linkage (the header declares it): a C program linked with it calls
/// it by its plain name. `OPLINK_STR` passes `-Wold-style-cast`.
#[test]
fn an_entry_symbol_defined_in_cpp_has_its_c_name() {
    let dir = std::env::temp_dir().join(format!("oplink-header-entry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("entry.cpp"),
        "#include \"oplink.h\"\nstatic const OplinkStrView name = OPLINK_STR(\"x\");\nOPLINK_ENTRY const OplinkPluginHeader *oplink_plugin_v2(void) { return name.len == 1 ? nullptr : nullptr; }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.c"),
        "#include \"oplink.h\"\nint main(void) { return oplink_plugin_v2() == NULL ? 0 : 1; }\n",
    )
    .unwrap();
    let run = |var: &str, default: &str, args: &[&str]| {
        let compiler = std::env::var(var).unwrap_or_else(|_| default.to_owned());
        let status = std::process::Command::new(&compiler)
            .current_dir(&dir)
            .args(args)
            .arg("-I")
            .arg(root().join("sdk/include"))
            .status()
            .unwrap_or_else(|e| panic!("cannot run the compiler `{compiler}`: {e}"));
        assert!(status.success(), "`{compiler} {}` failed", args.join(" "));
    };
    let strict = ["-Wall", "-Wextra", "-Wpedantic", "-Werror"];
    run(
        "CXX",
        "c++",
        &[
            &strict[..],
            &["-std=c++11", "-Wold-style-cast", "-c", "entry.cpp"],
        ]
        .concat(),
    );
    run(
        "CC",
        "cc",
        &[
            &strict[..],
            &["-std=c11", "-Wmissing-prototypes", "-c", "main.c"],
        ]
        .concat(),
    );
    // Linked by the C++ driver (its runtime), the C object naming `oplink_plugin_v2`.
    run("CXX", "c++", &["main.o", "entry.o", "-o", "entry"]);
    let status = std::process::Command::new(dir.join("entry"))
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the C program did not call the C++ entry symbol"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A service whose method and parameter names are C or C++ keywords.
#[oplink::host_callbacks]
pub trait Keywords {
    #[allow(clippy::new_ret_no_self, clippy::wrong_self_convention)]
    fn new(&self, default: u32, class: &str) -> bool;
    // Names of the table function's own parameters, unnamed parameters, raw identifiers.
    fn report(&self, err: &str, out: u32, context: u8) -> u8;
    fn pair(&self, _: u32, _: u32) -> u8;
    fn r#type(&self, r#struct: u8) -> u8;
}

/// A service of one's own whose types `oplink.h` also declares for its services.
#[oplink::host_callbacks(name = "test.Geo")]
pub trait Geo {
    fn city(&self, code: &str) -> oplink::Result<Option<String>>;
    fn blob(&self, key: &[u8]) -> oplink::Result<Option<Vec<u8>>>;
    fn near(&self, lat: f64, lon: f64) -> u32;
}

/// `c_declarations` gives a C operator what `oplink.h` gives it for the standard services:
/// a table, a name, a fingerprint and the methods for its `requires_`, in declarations
/// that compile after `oplink.h` (the `Option` types both declare are guarded).
#[test]
fn a_services_c_declarations_compile_after_oplink_h_and_fill_a_requirement() {
    let declarations = oplink::service::c_declarations::<dyn Geo>("Geo");
    assert!(
        declarations.contains(&format!(
            "#define OPLINK_GEO_FINGERPRINT 0x{:016x}ull",
            <dyn Geo as oplink::service::Service>::FINGERPRINT
        )),
        "{declarations}"
    );
    let program = |braces: &str| {
        format!(
            "#include \"oplink.h\"\n{declarations}\nstatic const OplinkServiceMethod methods[] = OPLINK_GEO_METHODS;\nint main(void) {{ OplinkServiceRequirement r = {{ OPLINK_STR(OPLINK_GEO_NAME), OPLINK_GEO_FINGERPRINT, methods, OPLINK_GEO_METHOD_COUNT }}; OplinkGeoTable t = {braces}; OplinkOptionOwnedBuf city; (void)t; (void)city; return r.method_count == 3 ? 0 : 1; }}\n"
        )
    };
    compiles(
        "CC",
        "cc",
        "geo.c",
        &program("{0}"),
        &[("c11", oplink::abi::ABI_MINOR)],
    );
    compiles(
        "CXX",
        "c++",
        "geo.cpp",
        &program("{}"),
        &[("c++11", oplink::abi::ABI_MINOR)],
    );
}

#[test]
fn a_services_c_table_compiles_with_keyword_names() {
    let table = oplink::service::c_table::<dyn Keywords>("Keywords");
    assert!(table.contains("(*new_)(") && table.contains("default_") && table.contains("class_"));
    assert!(table.contains("err_") && table.contains("out_") && table.contains("context_"));
    assert!(
        table.contains("arg0") && table.contains("arg1") && table.contains("(*type)("),
        "{table}"
    );
    assert!(table.contains("struct_") && !table.contains('#'), "{table}");
    compiles(
        "CC",
        "cc",
        "keywords.c",
        &format!(
            "#include \"oplink.h\"\n{table}\nint main(void) {{ OplinkKeywordsTable t = {{0}}; (void)t; return 0; }}\n"
        ),
        &[("c11", oplink::abi::ABI_MINOR)],
    );
    compiles(
        "CXX",
        "c++",
        "keywords.cpp",
        &format!(
            "#include \"oplink.h\"\n{table}\nint main() {{ OplinkKeywordsTable t = {{}}; (void)t; return 0; }}\n"
        ),
        &[("c++20", oplink::abi::ABI_MINOR)],
    );
}
