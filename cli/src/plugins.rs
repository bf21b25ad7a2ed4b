//! The plugin path: folders searched with [`Discovery`] and library files named directly,
//! and finding the plugin that offers an operator.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use oplink_host::{Discovery, Found, Outcome, PLUGIN_PATH_VAR, Plugin};

use crate::error::{CliError, Result, nearest, paths_in_words};

/// The plugins of a plugin path.
#[derive(Debug)]
pub struct Plugins {
    /// Libraries named directly, in order: they win over folders.
    files: Vec<Plugin>,
    /// What the folders held.
    found: Found,
    /// Everything searched, as given.
    searched: Vec<PathBuf>,
}

impl Plugins {
    /// Loads (checked, each in a child process first) the libraries of `paths`, or of
    /// `OPLINK_PLUGIN_PATH` when `paths` is empty. A library named directly that fails to
    /// load is an error; in a folder it is left out. A path of `--plugins` that does not
    /// exist is an error; one of `OPLINK_PLUGIN_PATH` is passed over.
    pub fn open(paths: &[PathBuf]) -> Result<Plugins> {
        let from_env = paths.is_empty();
        let paths: Vec<PathBuf> = if from_env {
            let value = std::env::var_os(PLUGIN_PATH_VAR).unwrap_or_default();
            std::env::split_paths(&value)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        } else {
            paths.to_vec()
        };
        if paths.is_empty() {
            return Err(CliError::NoPluginPath);
        }
        let mut files = Vec::new();
        let mut folders = Vec::new();
        // A file named twice (by two spellings, or through a link) is one library.
        let mut seen = std::collections::HashSet::new();
        let mut missing = Vec::new();
        for path in &paths {
            let metadata = match std::fs::metadata(path) {
                Ok(metadata) => metadata,
                // A folder of the variable that is not there is passed over, as a shell
                // passes over one of `PATH`; one given with `--plugins` is an error.
                Err(e) if from_env && e.kind() == std::io::ErrorKind::NotFound => {
                    missing.push(path.clone());
                    continue;
                }
                Err(e) => return Err(CliError::library_io(path, e).given_by("--plugins ")),
            };
            if metadata.is_dir() {
                folders.push(path.clone());
            } else if seen.insert((metadata.dev(), metadata.ino())) {
                files.push(Plugin::load_checked(path)?);
            }
        }
        if files.is_empty() && folders.is_empty() && !missing.is_empty() {
            return Err(CliError::Usage(format!(
                "no folder of {PLUGIN_PATH_VAR} exists: {}",
                paths_in_words(&missing)
            )));
        }
        let found = Discovery::new(folders).scan();
        Ok(Plugins {
            files,
            found,
            searched: paths,
        })
    }

    /// The plugin offering operator `name`.
    pub fn plugin_for(&self, name: &str) -> Result<&Plugin> {
        let offering: Vec<&Plugin> = self
            .files
            .iter()
            .filter(|p| p.operator(name).is_some())
            .collect();
        match offering.as_slice() {
            [only] => return Ok(only),
            [] => {}
            several => {
                let paths: Vec<_> = several.iter().map(|p| p.path().to_owned()).collect();
                return Err(CliError::Usage(format!(
                    "{}; name only the one to use with `--plugins`",
                    oplink_host::load::conflict_words(name, &paths)
                )));
            }
        }
        match self.found.plugin_for(name) {
            Ok(plugin) => Ok(plugin),
            Err(oplink_host::Error::Conflict { operator, paths }) => Err(CliError::Usage(format!(
                "{}; name the one to use with `--plugins FILE`",
                oplink_host::load::conflict_words(&operator, &paths)
            ))),
            Err(_) => {
                let names = self.operator_names();
                let offers = |name: &str| {
                    self.found
                        .conflicts()
                        .find(|(offered, _)| *offered == name)
                        .map_or(1, |(_, paths)| paths.len())
                };
                Err(CliError::UnknownOperator {
                    name: name.to_owned(),
                    suggestion: nearest(name, names.iter().map(String::as_str)),
                    searched: paths_in_words(&self.searched),
                    passed_over: self.passed_over(names.is_empty()),
                    available: names.iter().map(|n| (n.clone(), offers(n))).collect(),
                })
            }
        }
    }

    /// Every operator name on the path, sorted, each once.
    pub fn operator_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .files
            .iter()
            .flat_map(|p| p.operators().map(|o| o.name().to_owned()))
            .chain(self.found.operators().map(|(o, _)| o.name().to_owned()))
            .chain(self.found.conflicts().map(|(name, _)| name.to_owned()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// What the folders searched held that was not loaded, in words, each part after a
    /// `; `: libraries rejected, symbolic links passed over, and, where `nothing_found`
    /// (beside plugins an `.rlib` is as likely a library they use), Rust libraries without
    /// their shared one.
    fn passed_over(&self, nothing_found: bool) -> String {
        let mut words = match self.rejected() {
            0 => String::new(),
            1 => "; 1 library there could not be loaded (`oplink check` says why)".to_owned(),
            n => format!("; {n} libraries there could not be loaded (`oplink check` says why)"),
        };
        words.push_str(&match self.links() {
            0 => String::new(),
            1 => "; 1 symbolic link there was passed over (a folder's links are not followed: name the library itself with `--plugins`)".to_owned(),
            n => format!("; {n} symbolic links there were passed over (a folder's links are not followed: name the libraries themselves with `--plugins`)"),
        });
        if nothing_found {
            words.push_str(&rust_only_words(&self.rust_only()));
        }
        words
    }

    /// The `.rlib` files of the folders searched with no shared library of their crate
    /// beside them (`libNAME.rlib` without `libNAME.so`).
    fn rust_only(&self) -> Vec<PathBuf> {
        rust_only_in(&self.searched)
    }

    /// Symbolic links a folder's scan passed over (discovery follows none).
    fn links(&self) -> usize {
        self.found
            .entries()
            .iter()
            .filter(|e| {
                matches!(e.outcome, Outcome::Skipped(_))
                    && e.path
                        .symlink_metadata()
                        .is_ok_and(|m| m.file_type().is_symlink())
            })
            .count()
    }

    /// Why each library of the folders searched that could not be loaded was passed over.
    pub fn rejections(&self) -> impl Iterator<Item = &oplink_host::Error> {
        self.found
            .entries()
            .iter()
            .filter_map(|e| match &e.outcome {
                Outcome::Rejected(error) => Some(error),
                _ => None,
            })
    }

    fn rejected(&self) -> usize {
        self.found
            .entries()
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Rejected(_)))
            .count()
    }
}

/// The `.rlib` files of these folders with no shared library of their crate beside them
/// (`libNAME.rlib` without `libNAME.so`): a plugin crate built without `cdylib`.
pub(crate) fn rust_only_in(folders: &[PathBuf]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = folders
        .iter()
        .filter(|path| path.is_dir())
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|path| {
            path.extension().is_some_and(|e| e == "rlib")
                && !path
                    .with_extension(std::env::consts::DLL_EXTENSION)
                    .exists()
        })
        .collect();
    found.sort();
    found
}

/// Words for a folder that holds no plugin, after a `; `, when it holds Rust libraries
/// without their shared one (empty otherwise).
pub(crate) fn rust_only_hint(folder: &std::path::Path) -> String {
    rust_only_words(&rust_only_in(&[folder.to_path_buf()]))
}

/// These Rust libraries without their shared one in words, after a `; ` (empty for none).
fn rust_only_words(rust_only: &[PathBuf]) -> String {
    let crate_type = "add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in";
    match rust_only {
        [] => String::new(),
        [one] => format!(
            "; `{}` there is a Rust library without a shared one beside it ({crate_type} its Cargo.toml)",
            one.display()
        ),
        more => format!(
            "; {} Rust libraries there have no shared one beside them ({crate_type} their Cargo.toml)",
            more.len()
        ),
    }
}
