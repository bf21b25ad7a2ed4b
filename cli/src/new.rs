//! `oplink new`: a plugin crate (or a C operator) from the templates in `cli/templates`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::args::{Lang, NewArgs};
use crate::error::{CliError, Result};

/// The SDK this command was built from (the `sdk` folder beside the `cli` one): the
/// default dependency of a new crate while it is still there.
fn sdk_source() -> PathBuf {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR"));
    cli.parent().unwrap_or(cli).join("sdk")
}

/// The C header of the ABI, copied into a new C operator.
const OPLINK_H: &str = include_str!("../../sdk/include/oplink.h");

/// The ABI's contract in words, copied into a new C operator beside its header.
const ABI_MD: &str = include_str!("../../docs/abi.md");

const RUST: [(&str, &str); 4] = [
    ("Cargo.toml", include_str!("../templates/rust/Cargo.toml")),
    ("src/lib.rs", include_str!("../templates/rust/lib.rs")),
    ("README.md", include_str!("../templates/rust/README.md")),
    (".gitignore", include_str!("../templates/rust/gitignore")),
];

const C: [(&str, &str); 3] = [
    ("{{op}}.c", include_str!("../templates/c/op.c")),
    ("Makefile", include_str!("../templates/c/Makefile")),
    ("README.md", include_str!("../templates/c/README.md")),
];

/// Creates the plugin of `args`, telling `out` what was made and what to do next.
pub fn new(args: &NewArgs, out: &mut dyn Write) -> Result<PathBuf> {
    check_name(&args.name, args.lang)?;
    if args.lang == Lang::C {
        for (flag, given) in [("--oplink", &args.oplink), ("--registry", &args.registry)] {
            if given.is_some() {
                return Err(CliError::Usage(format!(
                    "{flag} sets a Rust crate's dependency on oplink; a C operator has none (it gets `oplink.h` copied in): drop {flag}"
                )));
            }
        }
    }
    let folder = args
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if folder.exists() {
        if !folder.is_dir() {
            return Err(CliError::Usage(format!(
                "`{}` already exists and is a file, not a folder; choose another name or `--path`",
                folder.display()
            )));
        }
        let empty = std::fs::read_dir(&folder)
            .map(|mut entries| entries.next().is_none())
            .map_err(|e| CliError::io("read", &folder, e))?;
        if !empty {
            return Err(CliError::Usage(format!(
                "`{}` already exists and is not empty; choose another name or `--path`",
                folder.display()
            )));
        }
    }
    let op = args.name.replace('-', "_");
    let words = [
        ("{{name}}", args.name.clone()),
        ("{{op}}", op.clone()),
        ("{{Struct}}", struct_name(&op)),
        (
            "{{oplink_dependency}}",
            match args.lang {
                Lang::Rust => dependency(
                    args.oplink.as_deref(),
                    args.registry.as_deref(),
                    &sdk_source(),
                )?,
                Lang::C => String::new(),
            },
        ),
    ];
    let fill = |text: &str| {
        words
            .iter()
            .fold(text.to_owned(), |text, (from, to)| text.replace(from, to))
    };
    let files: Vec<(String, String)> = match args.lang {
        Lang::Rust => RUST.iter().map(|(p, t)| (fill(p), fill(t))).collect(),
        Lang::C => C
            .iter()
            .map(|(p, t)| (fill(p), fill(t)))
            .chain([
                ("oplink.h".to_owned(), OPLINK_H.to_owned()),
                ("ABI.md".to_owned(), ABI_MD.to_owned()),
            ])
            .collect(),
    };
    for (relative, text) in &files {
        let path = folder.join(relative);
        if let Some(parent) = path.parent() {
            CliError::create_dir(parent)?;
        }
        std::fs::write(&path, text).map_err(|e| CliError::io("write", &path, e))?;
    }
    // Shown escaped; in the commands, quoted for the shell, to be run as printed.
    let text = folder.to_string_lossy();
    let shown = crate::escape_controls(&text, &[]);
    let word = crate::shell_path(&folder);
    // Where cargo will put the library: `CARGO_TARGET_DIR` when set (relative to the
    // crate's folder, where the commands run), else the crate's `target`.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(
            || "target".to_owned(),
            |dir| crate::shell_path(Path::new(&dir)),
        );
    let next = match args.lang {
        Lang::Rust => format!(
            "created the plugin crate `{}` in `{shown}` (operator `{op}`)\n\nnext:\n  cd {word}\n  cargo build && cargo test\n  oplink check {target}/debug/{}{op}{}\n",
            args.name,
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ),
        Lang::C => format!(
            "created the C operator `{op}` in `{shown}`\n\nnext:\n  make -C {word}\n  oplink check {}\n",
            crate::shell_path(&folder.join(format!("lib{op}.so")))
        ),
    };
    out.write_all(next.as_bytes())
        .map_err(|e| CliError::Output(e.to_string()))?;
    Ok(folder)
}

/// A name usable as a crate (for Rust), a library file and an operator.
fn check_name(name: &str, lang: Lang) -> Result<()> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !starts_well || !rest_ok || name.len() > 64 {
        return Err(CliError::Usage(format!(
            "`{name}` is not a usable plugin name: use lowercase letters, digits, `-` and `_`, starting with a letter (at most 64)"
        )));
    }
    // The crate's library is named `name` with `_` for `-`, its struct after that in camel
    // case: neither may be a keyword, nor the name of a crate it or its tests build with.
    // A C operator's name is no identifier of its code: only the file's and the operator's.
    let library = name.replace('-', "_");
    if lang == Lang::Rust && RESERVED.contains(&library.as_str()) {
        return Err(CliError::Usage(format!(
            "`{name}` cannot name a plugin: `{library}` is a Rust keyword or the name of a crate the plugin builds with; choose another (`my-{name}`, say)"
        )));
    }
    Ok(())
}

/// Names a generated crate cannot take: Rust's keywords (strict and reserved, as a crate
/// name or, for `self`, as the struct `Self`), the standard crates, and the crates the
/// template depends on.
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "gen",
    "macro",
    "override",
    "priv",
    "try",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "alloc",
    "core",
    "proc_macro",
    "std",
    "test",
    "oplink",
    "oplink_macros",
    "serde",
];

/// The operator's type: its name in camel case, with `Operator` after it when that would
/// be a name the crate already uses (`oplink new config` makes `ConfigOperator`, not a
/// second `Config`; `rows` makes `RowsOperator`, not a `Rows` hiding oplink's).
fn struct_name(op: &str) -> String {
    const TAKEN: &[&str] = &[
        // The template's own and what it names from oplink, serde and the standard library.
        "Config",
        "Arc",
        "ArrayRef",
        "BooleanArray",
        "Change",
        "Debug",
        "Deserialize",
        "Diff",
        "Error",
        "Int64Array",
        "RecordBatch",
        "Result",
        "Rows",
        "String",
        "Timestamp",
        // The rest of `oplink::prelude`.
        "Array",
        "Context",
        "DataType",
        "Field",
        "Float64Array",
        "RowNumber",
        "Schema",
        "SchemaRef",
        "StringArray",
        "UInt64Array",
        // The standard prelude's types and traits.
        "Option",
        "Some",
        "None",
        "Ok",
        "Err",
        "Vec",
        "Box",
        "Self",
        "Send",
        "Sync",
        "Sized",
        "Copy",
        "Clone",
        "Default",
        "Drop",
        "Fn",
        "FnMut",
        "FnOnce",
        "Iterator",
        "IntoIterator",
        "Extend",
        "ToString",
        "ToOwned",
        "PartialEq",
        "Eq",
        "PartialOrd",
        "Ord",
        "AsRef",
        "AsMut",
        "Into",
        "From",
        "TryFrom",
        "TryInto",
        "Unpin",
    ];
    let name = camel(op);
    if TAKEN.contains(&name.as_str()) {
        format!("{name}Operator")
    } else {
        name
    }
}

/// `my_filter` → `MyFilter`.
fn camel(op: &str) -> String {
    op.split('_')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The `oplink = ...` line of the new crate's Cargo.toml: `given`, a version (from
/// `registry` when named) or a path, else a path to `sdk_source`, the SDK this command was
/// built from, while it is there.
fn dependency(given: Option<&str>, registry: Option<&str>, sdk_source: &Path) -> Result<String> {
    if let Some(name) = registry {
        // Cargo's rule for a registry's name (its rule for a crate's: a letter or `_` first,
        // then letters, digits, `-` and `_`), in ASCII; it goes into the Cargo.toml as it is.
        let usable = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !usable {
            return Err(CliError::Usage(format!(
                "--registry `{}` is not a registry name cargo reads: start with a letter or `_`, then use letters, digits, `-` and `_`, as the registry is named in cargo's configuration (`[registries]`)",
                crate::escape_controls(name, &[])
            )));
        }
    }
    let path_dependency = |path: &Path| -> Result<String> {
        let path = path.canonicalize().map_err(|e| {
            CliError::Usage(format!(
                "--oplink `{}` is neither a version (such as `{}`) nor a folder: {}",
                path.display(),
                env!("CARGO_PKG_VERSION"),
                CliError::io("read", path, e)
            ))
        })?;
        let manifest = std::fs::read_to_string(path.join("Cargo.toml")).unwrap_or_default();
        if !names_the_sdk(&manifest) {
            // oplink's own folder, say, rather than its `sdk` folder.
            let inside = path.join("sdk");
            let is_sdk =
                std::fs::read_to_string(inside.join("Cargo.toml")).is_ok_and(|m| names_the_sdk(&m));
            let hint = if is_sdk {
                format!("; did you mean `{}`?", inside.display())
            } else {
                String::new()
            };
            return Err(CliError::Usage(format!(
                "--oplink `{}` is not oplink's `sdk` folder (it has no Cargo.toml whose package is `oplink`){hint}",
                path.display()
            )));
        }
        Ok(format!(
            "oplink = {{ path = {} }}",
            serde_json::to_string(&path.to_string_lossy()).expect("a string")
        ))
    };
    // `~/src/oplink/sdk` (a `~` the shell left, after `=`) is a path; `~0.2` is not.
    let requirement = |spec: &str| {
        let spec = spec.trim_start();
        spec.starts_with(|c: char| c.is_ascii_digit() || "^=<>*".contains(c))
            || spec
                .strip_prefix('~')
                .is_some_and(|rest| rest.trim_start().starts_with(|c: char| c.is_ascii_digit()))
    };
    match given {
        Some(spec) if requirement(spec) => {
            // Read as cargo reads it; this command's oplink must meet it: another 0.x
            // speaks another ABI, and its plugins would not load here.
            let this = semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("a version");
            let wanted = semver::VersionReq::parse(spec).map_err(|e| {
                CliError::Usage(format!(
                    "--oplink `{spec}` is not a version requirement cargo reads ({e}); give a version such as `{this}`, or a path to oplink's `sdk` folder"
                ))
            })?;
            if !wanted.matches(&this) {
                return Err(CliError::Usage(format!(
                    "--oplink `{spec}` does not take this oplink's version, {this}, and a plugin built against another speaks another ABI, which this `oplink` would not load; give `{}.{}`",
                    this.major, this.minor
                )));
            }
            // The next version that speaks another ABI: the next minor of a 0.x.
            let next = match this.major {
                0 => semver::Version::new(0, this.minor + 1, 0),
                major => semver::Version::new(major + 1, 0, 0),
            };
            if wanted.matches(&next) {
                return Err(CliError::Usage(format!(
                    "--oplink `{spec}` takes oplink {next} too, which speaks another ABI than this `oplink` loads; bound it, as `{}.{}` or `>={}.{}, <{next}`",
                    this.major, this.minor, this.major, this.minor
                )));
            }
            let version = serde_json::to_string(spec.trim()).expect("a string");
            Ok(match registry {
                Some(name) => format!("oplink = {{ version = {version}, registry = \"{name}\" }}"),
                // Without a registry, cargo looks on crates.io, where oplink is not: say so
                // in the Cargo.toml, where one looks when the build does not find it.
                None => format!(
                    "# oplink is not on crates.io: this builds where cargo's configuration replaces crates.io\n# with a source that has oplink; for a registry of its own name, write\n# `oplink = {{ version = {version}, registry = \"NAME\" }}` (as `oplink new --registry NAME` does).\noplink = {version}"
                ),
            })
        }
        _ if registry.is_some() => Err(CliError::Usage(format!(
            "--registry names where `--oplink VERSION` comes from, but without a version the crate depends on oplink by path: give `--oplink {}.{}` with it, or drop --registry",
            env!("CARGO_PKG_VERSION_MAJOR"),
            env!("CARGO_PKG_VERSION_MINOR")
        ))),
        Some(path) => path_dependency(Path::new(path)),
        None if sdk_source.join("Cargo.toml").is_file() => path_dependency(sdk_source),
        // A crate that names a version would not build: oplink is not on a registry.
        None => Err(CliError::Usage(format!(
            "the oplink SDK this command was built from is no longer at `{}`, and oplink is not on crates.io: name its `sdk` folder with `--oplink PATH`",
            sdk_source.display()
        ))),
    }
}

/// Whether a Cargo.toml's `[package]` is named `oplink`.
fn names_the_sdk(manifest: &str) -> bool {
    let mut in_package = false;
    for line in manifest.lines() {
        // A comment after the value or the header is no part of it.
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            let header: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            in_package = header == "[package]";
        } else if in_package
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "name"
        {
            return value.trim().trim_matches(['"', '\'']) == "oplink";
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_operators_and_types() {
        assert_eq!(camel("my_filter2"), "MyFilter2");
        assert_eq!(struct_name("my_filter2"), "MyFilter2");
        assert_eq!(struct_name("config"), "ConfigOperator");
        assert_eq!(struct_name("rows"), "RowsOperator");
        assert!(check_name("my-filter", Lang::Rust).is_ok());
        assert_eq!(
            check_name("My Filter", Lang::Rust).unwrap_err().to_string(),
            "`My Filter` is not a usable plugin name: use lowercase letters, digits, `-` and `_`, starting with a letter (at most 64)"
        );
        for name in ["self", "core", "std", "oplink", "serde", "proc-macro"] {
            let library = name.replace('-', "_");
            assert_eq!(
                check_name(name, Lang::Rust).unwrap_err().to_string(),
                format!(
                    "`{name}` cannot name a plugin: `{library}` is a Rust keyword or the name of a crate the plugin builds with; choose another (`my-{name}`, say)"
                )
            );
            // A C operator's name is no identifier of its code.
            assert!(check_name(name, Lang::C).is_ok());
        }
        assert!(check_name("type", Lang::C).is_ok());
        assert!(check_name("My Filter", Lang::C).is_err());
        assert!(check_name("selfish", Lang::Rust).is_ok());
    }

    #[test]
    fn the_dependency_is_a_version_or_the_sdk_folder() {
        // From a registry of its own name; without one, from what replaces crates.io,
        // which the Cargo.toml says (oplink is not on crates.io).
        assert_eq!(
            dependency(Some("0.2"), Some("my-registry"), &sdk_source()).unwrap(),
            "oplink = { version = \"0.2\", registry = \"my-registry\" }"
        );
        let plain = dependency(Some("0.2"), None, &sdk_source()).unwrap();
        assert!(
            plain.starts_with("# oplink is not on crates.io: ")
                && plain.contains(
                    "\n# `oplink = { version = \"0.2\", registry = \"NAME\" }` (as `oplink new --registry NAME` does).\n"
                )
                && plain.ends_with("\noplink = \"0.2\""),
            "{plain}"
        );
        // Any requirement cargo reads that this oplink meets.
        for spec in ["^0.2", "~0.2.0", "=0.2.0", ">=0.2, <0.3"] {
            assert_eq!(
                dependency(Some(spec), Some("mine"), &sdk_source()).unwrap(),
                format!("oplink = {{ version = \"{spec}\", registry = \"mine\" }}")
            );
        }
        // A registry's name as cargo reads it (cargo's rule for crate names: no digit or
        // `-` first), and only for a version.
        for (name, shown) in [
            ("my registry\n", "my registry\\n"),
            ("1st", "1st"),
            ("-mine", "-mine"),
            ("", ""),
        ] {
            assert_eq!(
                dependency(Some("0.2"), Some(name), &sdk_source())
                    .unwrap_err()
                    .to_string(),
                format!(
                    "--registry `{shown}` is not a registry name cargo reads: start with a letter or `_`, then use letters, digits, `-` and `_`, as the registry is named in cargo's configuration (`[registries]`)"
                )
            );
        }
        for name in ["_mine", "m1-n_e", "Z"] {
            assert!(
                dependency(Some("0.2"), Some(name), &sdk_source()).is_ok(),
                "{name}"
            );
        }
        for given in [None, Some(env!("CARGO_MANIFEST_DIR"))] {
            assert_eq!(
                dependency(given, Some("mine"), &sdk_source())
                    .unwrap_err()
                    .to_string(),
                "--registry names where `--oplink VERSION` comes from, but without a version the crate depends on oplink by path: give `--oplink 0.2` with it, or drop --registry"
            );
        }
        assert_eq!(
            dependency(Some("0.1"), None, &sdk_source())
                .unwrap_err()
                .to_string(),
            "--oplink `0.1` does not take this oplink's version, 0.2.0, and a plugin built against another speaks another ABI, which this `oplink` would not load; give `0.2`"
        );
        for spec in [">=0.2", "*", "0.*", "<1", "0"] {
            assert_eq!(
                dependency(Some(spec), None, &sdk_source())
                    .unwrap_err()
                    .to_string(),
                format!(
                    "--oplink `{spec}` takes oplink 0.3.0 too, which speaks another ABI than this `oplink` loads; bound it, as `0.2` or `>=0.2, <0.3.0`"
                )
            );
        }
        // A `~` the shell did not expand starts a path, not a requirement.
        assert!(
            dependency(Some("~/no/such/sdk"), None, &sdk_source())
                .unwrap_err()
                .to_string()
                .starts_with("--oplink `~/no/such/sdk` is neither a version")
        );
        assert_eq!(
            dependency(Some("^x"), None, &sdk_source())
                .unwrap_err()
                .to_string(),
            "--oplink `^x` is not a version requirement cargo reads (unexpected character 'x' while parsing major version number); give a version such as `0.2.0`, or a path to oplink's `sdk` folder"
        );
        assert!(
            dependency(None, None, &sdk_source())
                .unwrap()
                .starts_with("oplink = { path = ")
        );
        assert_eq!(
            dependency(None, None, Path::new("/no/such/sdk"))
                .unwrap_err()
                .to_string(),
            "the oplink SDK this command was built from is no longer at `/no/such/sdk`, and oplink is not on crates.io: name its `sdk` folder with `--oplink PATH`"
        );
        assert_eq!(
            dependency(Some("/no/such/sdk"), None, &sdk_source())
                .unwrap_err()
                .to_string(),
            format!(
                "--oplink `/no/such/sdk` is neither a version (such as `{}`) nor a folder: `/no/such/sdk` does not exist",
                env!("CARGO_PKG_VERSION")
            )
        );
        // A folder, but not the SDK's: one without a Cargo.toml, and another crate's.
        let dir = tempfile::tempdir().unwrap();
        let not_sdk = |dir: &Path| {
            format!(
                "--oplink `{}` is not oplink's `sdk` folder (it has no Cargo.toml whose package is `oplink`)",
                dir.canonicalize().unwrap().display()
            )
        };
        let given = dir.path().to_str().unwrap();
        assert_eq!(
            dependency(Some(given), None, &sdk_source())
                .unwrap_err()
                .to_string(),
            not_sdk(dir.path())
        );
        let host = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host");
        assert_eq!(
            dependency(Some(host.to_str().unwrap()), None, &sdk_source())
                .unwrap_err()
                .to_string(),
            not_sdk(&host)
        );
        // oplink's own folder, not its `sdk`: the folder meant is named.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let root_shown = root.canonicalize().unwrap();
        assert_eq!(
            dependency(Some(root.to_str().unwrap()), None, &sdk_source())
                .unwrap_err()
                .to_string(),
            format!(
                "{}; did you mean `{}`?",
                not_sdk(&root),
                root_shown.join("sdk").display()
            )
        );
        assert!(names_the_sdk(
            "[package]\nname = \"oplink\"\nversion = \"0.2.0\"\n"
        ));
        assert!(!names_the_sdk("[dependencies]\nname = \"oplink\"\n"));
        assert!(names_the_sdk(
            "[ package ] # the SDK\nname = \"oplink\" # its name\n"
        ));
    }
}
