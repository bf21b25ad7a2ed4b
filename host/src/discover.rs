//! Discovery: every plugin in a list of folders (by default `OPLINK_PLUGIN_PATH`), each file
//! reported as loaded, skipped or rejected, and operator names offered twice reported as
//! conflicts rather than silently picked.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::load::checked::DEFAULT_CHECK_TIMEOUT;
use crate::plugin::{OperatorInfo, Plugin};

/// The environment variable that lists the folders to search, separated by `:`.
pub const PLUGIN_PATH_VAR: &str = "OPLINK_PLUGIN_PATH";

/// How a skipped symbolic link's reason starts.
const SYMLINK: &str = "a symbolic link";

/// Searches folders for plugins.
///
/// ```no_run
/// use oplink_host::Discovery;
///
/// // The folders in `OPLINK_PLUGIN_PATH`, each library opened in a child process first.
/// let found = Discovery::from_env().scan();
/// for entry in found.entries() {
///     println!("{entry}");
/// }
/// let plugin = found.plugin_for("threshold")?; // an error if two libraries offer it
/// # Ok::<(), oplink_host::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Discovery {
    folders: Vec<PathBuf>,
    /// Whether the folders came from `OPLINK_PLUGIN_PATH`, for the error that finds none.
    from_env: bool,
    checked: bool,
    timeout: Duration,
    fresh_when_replaced: bool,
}

/// What discovery made of one file.
#[derive(Debug)]
pub enum Outcome {
    /// An oplink plugin, loaded; its operators are listed.
    Loaded(Vec<String>),
    /// Not considered: a symbolic link, a library that is not an oplink plugin, or a
    /// folder or special file named like a library. The reason says which. (Files without
    /// the library extension, and folders not named like one, are no entry at all.)
    Skipped(String),
    /// An oplink plugin (or a library that claims to be one, or crashed its check) that
    /// cannot be loaded: the error says why.
    Rejected(Error),
}

/// One file of a scan and what became of it.
#[derive(Debug)]
pub struct Entry {
    /// The file.
    pub path: PathBuf,
    /// What became of it.
    pub outcome: Outcome,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.outcome {
            Outcome::Loaded(operators) => write!(
                f,
                "loaded   {path}: {}",
                if operators.is_empty() {
                    "no operators".to_owned()
                } else {
                    operators.join(", ")
                }
            ),
            Outcome::Skipped(reason) => write!(f, "skipped  {path}: {reason}"),
            Outcome::Rejected(error) => write!(f, "rejected {path}: {error}"),
        }
    }
}

/// The result of a scan: every file considered, the plugins loaded, and the conflicts.
#[derive(Debug)]
pub struct Found {
    /// No folder was searched: and why, for the error that finds nothing.
    no_folder: Option<&'static str>,
    entries: Vec<Entry>,
    plugins: Vec<Plugin>,
    /// Operator name → the plugins (indices into `plugins`) that offer it.
    offers: BTreeMap<String, Vec<usize>>,
}

impl Default for Discovery {
    fn default() -> Self {
        Discovery {
            folders: Vec::new(),
            from_env: false,
            checked: true,
            timeout: DEFAULT_CHECK_TIMEOUT,
            fresh_when_replaced: false,
        }
    }
}

impl Discovery {
    /// Searches `folders`, in order.
    pub fn new(folders: impl IntoIterator<Item = impl Into<PathBuf>>) -> Discovery {
        Discovery {
            folders: folders.into_iter().map(Into::into).collect(),
            ..Discovery::default()
        }
    }

    /// Searches the folders in `OPLINK_PLUGIN_PATH` (separated by `:`; empty parts are
    /// ignored). When it is unset, there are no folders, and a scan finds nothing.
    pub fn from_env() -> Discovery {
        let value = std::env::var_os(PLUGIN_PATH_VAR).unwrap_or_default();
        Discovery {
            from_env: true,
            ..Discovery::new(
                std::env::split_paths(&value).filter(|folder| !folder.as_os_str().is_empty()),
            )
        }
    }

    /// Whether each library is opened in a child process before it is loaded here (the
    /// default: see [`Plugin::load_checked`]). Without, a library whose constructor aborts
    /// ends this process.
    #[must_use = "the discovery is returned with the setting; scan with it"]
    pub fn checked(mut self, checked: bool) -> Discovery {
        self.checked = checked;
        self
    }

    /// Whether a library whose file was replaced since this process loaded from its path
    /// (a new build put in place) is loaded afresh, from a copy, as [`Plugin::load_fresh`]
    /// does, instead of refused with [`Error::Replaced`] (the default): for a host that
    /// scans its folders again to pick up new builds and reload its instances with them.
    /// A file found again unchanged gives the build loaded from it before, so an unchanged
    /// folder maps no new copy. A fresh load is always checked (in a child process first).
    #[must_use = "the discovery is returned with the setting; scan with it"]
    pub fn fresh_when_replaced(mut self, fresh: bool) -> Discovery {
        self.fresh_when_replaced = fresh;
        self
    }

    /// How long each check may take (10 s by default).
    #[must_use = "the discovery is returned with the setting; scan with it"]
    pub fn check_timeout(mut self, timeout: Duration) -> Discovery {
        self.timeout = timeout;
        self
    }

    /// The folders searched.
    pub fn folders(&self) -> &[PathBuf] {
        &self.folders
    }

    /// Scans every folder. Never fails: a folder that cannot be read and every bad file are
    /// entries of the result.
    pub fn scan(&self) -> Found {
        let no_folder = match (self.folders.is_empty(), self.from_env) {
            (false, _) => None,
            (true, true) => Some(
                "`OPLINK_PLUGIN_PATH` is unset or empty, so no folder was searched: set it to the folders to search, separated by `:`",
            ),
            (true, false) => Some("no folder was given to search"),
        };
        let mut found = Found {
            no_folder,
            entries: Vec::new(),
            plugins: Vec::new(),
            offers: BTreeMap::new(),
        };
        // Each file once, however it is reached (a folder listed twice, a hard link): the
        // device and inode of every file loaded so far, with its path.
        let mut seen: HashMap<(u64, u64), PathBuf> = HashMap::new();
        for folder in &self.folders {
            // Its files named as `Plugin::path` names them, whatever the working folder.
            let folder = &std::path::absolute(folder).unwrap_or_else(|_| folder.clone());
            let mut files = match std::fs::read_dir(folder) {
                Ok(files) => files
                    .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                    .collect::<Vec<_>>(),
                Err(error) => {
                    found.entries.push(Entry {
                        path: folder.clone(),
                        outcome: Outcome::Rejected(Error::FolderUnreadable {
                            path: folder.clone(),
                            reason: if error.kind() == std::io::ErrorKind::NotADirectory
                                && folder.is_file()
                            {
                                // A library given where its folder was expected (not a
                                // path through a file, `lib.so/plugins`, which is no file).
                                "it is a file, not a folder (give its folder, or load the \
                                 library by its path with `Plugin::load`)"
                                    .to_owned()
                            } else {
                                crate::error::io_words(&error)
                            },
                        }),
                    });
                    continue;
                }
            };
            files.sort();
            for path in files {
                if let Some(outcome) = self.consider(&path, &mut found, &mut seen) {
                    found.entries.push(Entry { path, outcome });
                }
            }
        }
        found
    }

    /// What to make of one file; `None` for files that are not libraries at all (not
    /// reported, as a folder of plugins usually holds other files too).
    fn consider(
        &self,
        path: &Path,
        found: &mut Found,
        seen: &mut HashMap<(u64, u64), PathBuf>,
    ) -> Option<Outcome> {
        if path.extension().and_then(|e| e.to_str()) != Some(std::env::consts::DLL_EXTENSION) {
            return None;
        }
        let metadata = match std::fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(error) => return Some(Outcome::Skipped(format!("cannot read it: {error}"))),
        };
        if metadata.file_type().is_symlink() {
            return Some(Outcome::Skipped(format!(
                "{SYMLINK} (discovery follows none)"
            )));
        }
        if metadata.is_dir() {
            return Some(Outcome::Skipped(
                "a folder named like a library (discovery searches no subfolders)".to_owned(),
            ));
        }
        if !metadata.is_file() {
            return Some(Outcome::Skipped("not a regular file".to_owned()));
        }
        let file = {
            use std::os::unix::fs::MetadataExt;
            (metadata.dev(), metadata.ino())
        };
        if let Some(first) = seen.get(&file) {
            // The same name in the same folder: the folder was listed twice.
            let why = if first.file_name() == path.file_name()
                && first
                    .parent()
                    .map(std::fs::canonicalize)
                    .and_then(Result::ok)
                    == path
                        .parent()
                        .map(std::fs::canonicalize)
                        .and_then(Result::ok)
            {
                "its folder is listed twice"
            } else {
                "a hard link"
            };
            return Some(Outcome::Skipped(format!(
                "the same file as `{}`, found already ({why})",
                first.display()
            )));
        }
        seen.insert(file, path.to_path_buf());
        let loaded = match if self.checked {
            Plugin::load_checked_within(path, self.timeout)
        } else {
            Plugin::load(path)
        } {
            Err(Error::Replaced { .. }) if self.fresh_when_replaced => Plugin::load_fresh(path),
            loaded => loaded,
        };
        Some(match loaded {
            Ok(plugin) => {
                let names: Vec<String> = plugin.operators().map(|o| o.name().to_owned()).collect();
                let index = found.plugins.len();
                for name in &names {
                    found.offers.entry(name.clone()).or_default().push(index);
                }
                found.plugins.push(plugin);
                Outcome::Loaded(names)
            }
            Err(Error::NotAPlugin { .. }) => Outcome::Skipped(
                "a library, but not an oplink plugin (no `oplink_plugin_v2` symbol)".to_owned(),
            ),
            Err(error) => Outcome::Rejected(error),
        })
    }
}

impl Found {
    /// Every file considered, in scan order (folders in order, files by name).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Every file considered, in scan order, each with the plugin loaded from it (`Some`
    /// exactly for [`Outcome::Loaded`]).
    pub fn entries_with_plugins(&self) -> impl Iterator<Item = (&Entry, Option<&Plugin>)> + '_ {
        // Plugins are pushed as their files are found loaded, so they come in entry order.
        let mut plugins = self.plugins.iter();
        self.entries.iter().map(move |entry| {
            let plugin = match entry.outcome {
                Outcome::Loaded(_) => plugins.next(),
                _ => None,
            };
            (entry, plugin)
        })
    }

    /// The plugins loaded.
    pub fn plugins(&self) -> &[Plugin] {
        &self.plugins
    }

    /// Operator names offered by more than one library, with those libraries.
    pub fn conflicts(&self) -> impl Iterator<Item = (&str, Vec<&Path>)> + '_ {
        self.offers
            .iter()
            .filter(|(_, offers)| offers.len() > 1)
            .map(|(name, offers)| {
                (
                    name.as_str(),
                    offers.iter().map(|&i| self.plugins[i].path()).collect(),
                )
            })
    }

    /// Every operator offered by exactly one library, by name.
    pub fn operators(&self) -> impl Iterator<Item = (&OperatorInfo, &Plugin)> + '_ {
        self.offers
            .iter()
            .filter(|(_, offers)| offers.len() == 1)
            .filter_map(|(name, offers)| {
                let plugin = &self.plugins[offers[0]];
                plugin.operator(name).map(|operator| (operator, plugin))
            })
    }

    /// The plugin that offers `operator`: an error when none does (naming those that exist)
    /// or when several do ([`Error::Conflict`]).
    pub fn plugin_for(&self, operator: &str) -> Result<&Plugin> {
        match self.offers.get(operator).map(Vec::as_slice) {
            Some([only]) => Ok(&self.plugins[*only]),
            Some(several) => Err(Error::Conflict {
                operator: operator.to_owned(),
                paths: several
                    .iter()
                    .map(|&i| self.plugins[i].path().to_owned())
                    .collect(),
            }),
            None => {
                let mut available = match self.no_folder {
                    Some(why) => format!("none ({why})"),
                    None if self.offers.is_empty() => "none".to_owned(),
                    // A name several libraries offer is said so: `plugin_for` refuses it.
                    None => self
                        .offers
                        .iter()
                        .map(|(name, offers)| match offers.len() {
                            1 => format!("`{name}`"),
                            n => format!("`{name}` (in {n} libraries)"),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                // The operator may be in a library that was refused, or behind a link:
                // say what was.
                let rejected = self
                    .entries
                    .iter()
                    .filter_map(|entry| match &entry.outcome {
                        Outcome::Rejected(error) => Some(error),
                        _ => None,
                    });
                let shown: Vec<String> = rejected.clone().take(3).map(Error::to_string).collect();
                if !shown.is_empty() {
                    available.push_str(&format!("; rejected: {}", shown.join("; ")));
                    let more = rejected.count() - shown.len();
                    if more > 0 {
                        let libraries = if more == 1 { "library" } else { "libraries" };
                        available.push_str(&format!("; and {more} more {libraries}"));
                    }
                }
                let links = self
                    .entries
                    .iter()
                    .filter(|entry| {
                        matches!(&entry.outcome, Outcome::Skipped(why) if why.starts_with(SYMLINK))
                    })
                    .count();
                if links > 0 {
                    available.push_str(&format!(
                        "; skipped: {} (discovery follows none)",
                        oplink::__private::counted(links, "symbolic link", "symbolic links")
                    ));
                }
                Err(Error::NotFound {
                    name: operator.to_owned(),
                    available,
                })
            }
        }
    }
}
