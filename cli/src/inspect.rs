//! `oplink inspect`: a library's build and operators, as a table or JSON. Libraries are
//! opened in a child process first ([`Plugin::load_checked`]); no operator code runs.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use oplink_host::{Discovery, Outcome, Plugin, RequiredService};
use serde::Serialize;

use crate::args::InspectArgs;
use crate::error::{CliError, Result};

/// What was found at the path: loaded plugins, and libraries that could not be loaded.
enum Item {
    Plugin(Plugin),
    Rejected(PathBuf, String),
}

/// Inspects `args.path`, writing to `out`.
pub fn inspect(args: &InspectArgs, out: &mut dyn Write) -> Result<()> {
    let metadata =
        std::fs::metadata(&args.path).map_err(|e| CliError::library_io(&args.path, e))?;
    let items = if metadata.is_dir() {
        let found = Discovery::new([&args.path]).scan();
        let mut items = Vec::new();
        // Symbolic links discovery passed over: said, since the folder shows a file there.
        let mut links = Vec::new();
        for (entry, plugin) in found.entries_with_plugins() {
            match (&entry.outcome, plugin) {
                (_, Some(plugin)) => items.push(Item::Plugin(plugin.clone())),
                (Outcome::Rejected(error), None) => {
                    // Absolute, as a loaded library's path (and the error's) are.
                    let path = std::path::absolute(&entry.path).unwrap_or(entry.path.clone());
                    items.push(Item::Rejected(path, error.to_string()))
                }
                (Outcome::Skipped(reason), None) if entry.path.is_symlink() => {
                    let path = std::path::absolute(&entry.path).unwrap_or(entry.path.clone());
                    links.push((path, reason.clone()));
                }
                _ => {}
            }
        }
        if items.is_empty() {
            let skipped = match links.len() {
                0 => String::new(),
                1 => " (it holds 1 symbolic link, which discovery does not follow: inspect the file it points to)".to_owned(),
                n => format!(
                    " (it holds {n} symbolic links, which discovery does not follow: inspect the files they point to)"
                ),
            };
            return Err(CliError::Usage(format!(
                "`{}` holds no oplink plugins{skipped}{}",
                args.path.display(),
                crate::plugins::rust_only_hint(&args.path)
            )));
        }
        for (path, reason) in links {
            crate::say!("oplink: warning: skipped `{}`: {reason}", path.display());
        }
        items
    } else {
        vec![Item::Plugin(Plugin::load_checked(&args.path)?)]
    };
    let write = CliError::write;
    if args.json {
        let libraries: Vec<LibraryJson<'_>> = items.iter().map(to_json).collect();
        serde_json::to_writer_pretty(&mut *out, &libraries)
            .map_err(|e| CliError::write(e.into()))?;
        writeln!(out).map_err(write)?;
    } else {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                writeln!(out).map_err(write)?;
            }
            out.write_all(to_text(item).as_bytes()).map_err(write)?;
        }
    }
    Ok(())
}

fn hex(value: u64) -> String {
    format!("0x{value:016x}")
}

/// One library in `--json`, its fields in this order (the order a person reads them in).
#[derive(Serialize)]
#[serde(untagged)]
enum LibraryJson<'a> {
    Loaded {
        path: &'a Path,
        abi: String,
        layout_fingerprint: String,
        oplink_version: &'a str,
        compiler: &'a str,
        target: &'a str,
        profile: &'a str,
        panic_strategy: &'a str,
        operators: Vec<OperatorJson<'a>>,
    },
    Rejected {
        path: &'a Path,
        error: &'a str,
    },
}

#[derive(Serialize)]
struct OperatorJson<'a> {
    name: &'a str,
    version: &'a str,
    description: &'a str,
    implements: Vec<&'static str>,
    requires: Vec<ServiceJson<'a>>,
}

#[derive(Serialize)]
struct ServiceJson<'a> {
    name: &'a str,
    fingerprint: String,
    standard: bool,
    methods: Vec<MethodJson<'a>>,
}

#[derive(Serialize)]
struct MethodJson<'a> {
    name: &'a str,
    signature: &'a str,
    fingerprint: String,
}

fn to_json(item: &Item) -> LibraryJson<'_> {
    let plugin = match item {
        Item::Plugin(plugin) => plugin,
        Item::Rejected(path, error) => return LibraryJson::Rejected { path, error },
    };
    let build = plugin.build();
    LibraryJson::Loaded {
        path: plugin.path(),
        abi: format!("{}.{}", build.abi.0, build.abi.1),
        layout_fingerprint: hex(build.layout_fingerprint),
        oplink_version: &build.oplink_version,
        compiler: &build.rustc_version,
        target: &build.target,
        profile: &build.profile,
        panic_strategy: build.panic_strategy,
        operators: plugin
            .operators()
            .map(|op| OperatorJson {
                name: op.name(),
                version: op.version(),
                description: op.description(),
                implements: op.implemented().names(),
                requires: op
                    .requires()
                    .iter()
                    .map(|service| ServiceJson {
                        name: &service.name,
                        fingerprint: hex(service.fingerprint),
                        standard: oplink::services::is_standard(&service.name),
                        methods: service
                            .methods
                            .iter()
                            .map(|m| MethodJson {
                                name: &m.name,
                                signature: &m.signature,
                                fingerprint: hex(m.fingerprint),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn to_text(item: &Item) -> String {
    // What a library says of itself is shown with its control characters as escapes: a
    // line break in a description would break the table, an escape recolour the terminal.
    let shown = |text: &str| crate::escape_controls(text, &[]).into_owned();
    let plugin = match item {
        Item::Plugin(plugin) => plugin,
        Item::Rejected(path, error) => {
            return format!(
                "library   {}\nREJECTED  {}\n",
                shown(&path.display().to_string()),
                shown(&error.to_string())
            );
        }
    };
    let build = plugin.build();
    let mut text = format!(
        "library   {}\nABI       {}.{} (layout fingerprint {})\noplink    {}\ncompiler  {}\ntarget    {}\nprofile   {}\npanic     {}\n\n",
        shown(&plugin.path().display().to_string()),
        build.abi.0,
        build.abi.1,
        hex(build.layout_fingerprint),
        shown(&build.oplink_version),
        shown(&build.rustc_version),
        shown(&build.target),
        shown(&build.profile),
        build.panic_strategy,
    );
    let mut rows = vec![[
        "operator".to_owned(),
        "version".to_owned(),
        "implements".to_owned(),
        "requires".to_owned(),
        "description".to_owned(),
    ]];
    // Services beyond the standard ones, by name, with the operators that require them.
    let mut services: BTreeMap<&str, (&RequiredService, Vec<&str>)> = BTreeMap::new();
    for op in plugin.operators() {
        let extra: Vec<&RequiredService> = op
            .requires()
            .iter()
            .filter(|s| !oplink::services::is_standard(&s.name))
            .collect();
        for service in &extra {
            services
                .entry(&service.name)
                .or_insert_with(|| (service, Vec::new()))
                .1
                .push(op.name());
        }
        let implements = op.implemented().names();
        rows.push([
            op.name().to_owned(),
            op.version().to_owned(),
            or_dash(implements.join(", ")),
            or_dash(
                extra
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            shown(op.description()),
        ]);
    }
    text.push_str(&columns(&rows));
    let standard: Vec<String> = plugin
        .operators()
        .flat_map(|op| op.requires())
        .filter(|s| oplink::services::is_standard(&s.name))
        .map(|s| format!("{} {}", s.name, hex(s.fingerprint)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    text.push_str(&format!(
        "\nstandard services: {}\n",
        if standard.is_empty() {
            "none listed (every host provides them)".to_owned()
        } else {
            standard.join(", ")
        }
    ));
    for (name, (service, users)) in services {
        text.push_str(&format!(
            "service {} {} (required by {})\n",
            shown(name),
            hex(service.fingerprint),
            users.join(", ")
        ));
        let methods: Vec<[String; 2]> = service
            .methods
            .iter()
            .map(|m| [format!("  {}", shown(&m.signature)), hex(m.fingerprint)])
            .collect();
        text.push_str(&columns(&methods));
    }
    text
}

fn or_dash(text: String) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text
    }
}

/// Rows as left-aligned columns separated by two spaces (the last column unpadded).
fn columns<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < N {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}
