//! Loading a library: pre-flight check of the file, `dlopen` with every symbol bound, the
//! library's segments from the dynamic loader, and validation of everything its header says.

pub mod checked;
pub mod memory;
mod preflight;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oplink::abi::decl::Addr;
use oplink::abi::{self, EntryFn};

use crate::error::{Error, Result};
use crate::plugin::{Library, OperatorInfo, Plugin, Slots};
use memory::{Memory, SegmentMap};
use validate::Refusal;

/// Held by every load of this process while it is in the dynamic loader, and by a checked
/// load across its `fork`: so no other thread of ours is inside `dlopen` or
/// `dl_iterate_phdr` (holding the loader's lock) at the moment of a fork, which would leave
/// the child waiting on that lock forever. (Threads that load libraries without oplink can
/// still do that; the check's timeout then refuses the file rather than hanging.)
static LOADER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds [`LOADER`] (a panic while holding it leaves nothing to repair).
pub(crate) fn loader_lock() -> std::sync::MutexGuard<'static, ()> {
    LOADER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Loads and validates the library at `path`; see [`Plugin::load`].
pub fn load(path: &Path) -> Result<Plugin> {
    let _loader = loader_lock();
    if let Some(plugin) = fresh_build_of(path) {
        return Ok(plugin);
    }
    load_unlocked(path)
}

/// The build [`Plugin::load_fresh`] loaded last from each path (absolute), with the
/// identity of the file it copied: a path replaced since it was first loaded gives that
/// build while it names that file, rather than [`Error::Replaced`], whose advice would map
/// yet another copy of it. Never read in the child of a checked load, so it needs no
/// [`LOADER`].
static FRESH: std::sync::Mutex<std::collections::BTreeMap<PathBuf, (FileId, Plugin)>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// The build [`Plugin::load_fresh`] loaded from the file now at `path`, when the path was
/// first loaded from another file (which the dynamic loader keeps under its name). Called
/// with [`LOADER`] held, as [`LOADED`] is read only so.
pub(crate) fn fresh_build_of(path: &Path) -> Option<Plugin> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let id = file_id(&path)?;
    if loaded_from(&path).is_none_or(|first| first == id) {
        return None;
    }
    let fresh = FRESH.lock().unwrap_or_else(|e| e.into_inner());
    match fresh.get(&path) {
        Some((seen, plugin)) if *seen == id => Some(plugin.clone()),
        _ => None,
    }
}

/// The plugin a [`load`] of `path` gives without opening anything that was not opened
/// before: the build loaded fresh from the file now there ([`fresh_build_of`]), or the
/// library loaded from it when it was not replaced since.
pub(crate) fn loaded_already(path: &Path) -> Option<Plugin> {
    let _loader = loader_lock();
    if let Some(plugin) = fresh_build_of(path) {
        return Some(plugin);
    }
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let id = file_id(&path)?;
    if loaded_from(&path) != Some(id) {
        return None;
    }
    load_unlocked(&path).ok()
}

/// Keeps `plugin`, loaded by [`Plugin::load_fresh`] from a copy of the file `id` at
/// `path`, for the loads of that path after it ([`fresh_build_of`]).
pub(crate) fn remember_fresh(path: &Path, id: FileId, plugin: &Plugin) {
    let mut fresh = FRESH.lock().unwrap_or_else(|e| e.into_inner());
    fresh.insert(path.to_path_buf(), (id, plugin.clone()));
}

/// [`load`] without taking [`LOADER`]: for the child of a checked load, whose copy of the
/// lock is held by a thread that does not exist there.
pub(crate) fn load_unlocked(path: &Path) -> Result<Plugin> {
    // The file checked is the file opened: a bare name would otherwise be searched for on
    // the library path by `dlopen`, after the check looked in the current folder.
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let id = file_id(&path);
    if let Some(id) = id
        && loaded_from(&path).is_some_and(|first| first != id)
    {
        return Err(Error::Replaced { path });
    }
    // A file removed since it was loaded: `dlopen` would hand back the library it has under
    // that name, as if the file were there.
    if id.is_none()
        && loaded_from(&path).is_some()
        && let Err(error) = std::fs::metadata(&path)
    {
        let gone = if error.kind() == std::io::ErrorKind::NotFound {
            " (the library loaded from it earlier is still loaded, but the file is gone)"
        } else {
            ""
        };
        return Err(Error::Unreadable {
            reason: format!("{}{gone}", crate::error::io_words(&error)),
            path,
        });
    }
    preflight::check(&path)?;
    let library = open(&path)?;
    let handle = library.into_raw();
    // SAFETY: a handle `into_raw` just gave us; it is owned again right away.
    let library = unsafe { libloading::os::unix::Library::from_raw(handle) };
    let segments = segments(handle, &path)?;
    let entry = entry_symbol(&library, &path, &segments)?;
    // SAFETY: `entry` lies in an executable segment of this library and is its entry symbol,
    // whose ABI is `EntryFn`; it runs none of the operators' code.
    let header = unsafe { (entry.0)() };
    let described = validate::validate(&segments, Addr(header as usize))
        .map_err(|refusal| refused(&path, refusal))?;
    let library = Arc::new(Library {
        _library: std::mem::ManuallyDrop::new(library),
        path,
        header: header as usize,
    });
    let operators = described
        .operators
        .into_iter()
        .map(|operator| OperatorInfo {
            // SAFETY: each address lies in an executable segment of the library (checked by
            // `validate`), in the vtable slot that the ABI types as this function.
            slots: unsafe { Slots::from_addresses(operator.slots) },
            name: operator.name,
            version: operator.version,
            description: operator.description,
            implemented: operator.implemented,
            requires: operator.requires,
        })
        .collect::<Vec<_>>();
    // By name: the order the linker laid the descriptors out in changes from build to
    // build of the same source.
    let mut operators = operators;
    operators.sort_by(|a, b| a.name.cmp(&b.name));
    // Only a library that loaded stays mapped under its name (one refused above is closed
    // again): a fixed build put at the path after a refusal is loaded, not called replaced.
    if let Some(id) = id {
        remember_loaded(&library.path, id);
    }
    tracing::debug!(path = %library.path.display(), operators = operators.len(), "loaded oplink plugin");
    Ok(Plugin::new(library, described.build, operators))
}

/// Which file a path names, and whether its content was written since: device, inode,
/// size and modification time (following symbolic links, as `dlopen` does). Not the change
/// time, which a `chmod`, a hard link or a rename moves without touching the content.
pub(crate) type FileId = (u64, u64, u64, i64, i64);

/// The [`FileId`] of `path`; `None` when it cannot be read (the load then fails on its own
/// words).
pub(crate) fn file_id(path: &Path) -> Option<FileId> {
    std::fs::metadata(path).ok().map(|m| id_of(&m))
}

/// The [`FileId`] of a file of these metadata.
pub(crate) fn id_of(m: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino(), m.len(), m.mtime(), m.mtime_nsec())
}

/// The start of an [`Error::State`](crate::Error::State)'s reason when the store's file is
/// open in another process, or in another `StateStore` of this one.
pub const OPEN_ALREADY: &str = "it is open already";

/// The end of an [`Error::State`](crate::Error::State)'s reason when the store's file is
/// damaged or is no state store: what to do, in a host's words (a host that names its store
/// otherwise, a command line's `--state DIR` say, puts its own words in its place).
pub const NOT_A_STORE: &str =
    "give the path of a state store, or move this file away to start with no state";

/// Removes the files `.NAME.PID{suffix}` (or `.NAME.PID-N{suffix}`) in `folder` whose
/// process is gone: what a process killed while it wrote `NAME` under a temporary name left
/// (`SIGKILL`, a power cut). A process still writing keeps its own. (For `oplink run`'s
/// output too.)
pub fn remove_stale(folder: &Path, name: &str, suffix: &str) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|f| f.strip_suffix(suffix))
            .and_then(|f| f.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The file each path was first loaded from in this process: `dlopen` finds a library it
/// has by the name it was opened under before it looks at the file, so a path whose file
/// was replaced since would give back the first build.
static LOADED: std::sync::Mutex<std::collections::BTreeMap<PathBuf, FileId>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn loaded_from(path: &Path) -> Option<FileId> {
    let loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    loaded.get(path).copied()
}

fn remember_loaded(path: &Path, id: FileId) {
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    loaded.entry(path.to_path_buf()).or_insert(id);
}

/// Which libraries offer one operator, in words: [`Error::Conflict`](crate::Error::Conflict)'s
/// message before its advice, which is for a program that loads plugins itself (the
/// command line gives its own).
pub fn conflict_words(operator: &str, paths: &[PathBuf]) -> String {
    format!(
        "operator `{operator}` is offered by more than one library: {}",
        paths
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(" and ")
    )
}

/// For a library path that does not exist, the file its author most likely meant, when that
/// one exists: the name with the platform's extension (`libthreshold` → `libthreshold.so`),
/// with cargo's `lib` prefix (`threshold.so` → `libthreshold.so`), or with a crate name's
/// `-` as the `_` cargo writes (`libmy-ops.so` → `libmy_ops.so`); or, when cargo built only
/// the crate's `.rlib` there, what its `Cargo.toml` lacks. `None` when the path exists or
/// nothing better is known. [`Plugin::load`]'s error for a missing file says this already;
/// a host that checks paths itself can add it to its own words.
pub fn library_path_hint(path: &Path) -> Option<String> {
    if path.exists() {
        return None;
    }
    let ext = std::env::consts::DLL_EXTENSION;
    let dir = path.parent().unwrap_or(Path::new(""));
    let name = path.file_name()?.to_string_lossy().into_owned();
    let stem = name.strip_suffix(&format!(".{ext}")).unwrap_or(&name);
    let crate_name = stem.strip_prefix("lib").unwrap_or(stem).replace('-', "_");
    let library = dir.join(format!("lib{crate_name}.{ext}"));
    let candidates = [
        dir.join(format!("{stem}.{ext}")),
        library.clone(),
        dir.join(format!("{}.{ext}", stem.replace('-', "_"))),
    ];
    if let Some(found) = candidates.iter().find(|c| c.is_file()) {
        return Some(format!("did you mean `{}`?", found.display()));
    }
    let rlib = dir.join(format!("lib{crate_name}.rlib"));
    rlib.is_file().then(|| {
        format!(
            "cargo built only `{}` there, a Rust library and not a shared one: add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in the plugin's Cargo.toml, and it builds `{}` too",
            rlib.display(),
            library.display()
        )
    })
}

/// `dlopen` with `RTLD_NOW`: a symbol the library needs and nothing provides is an error now,
/// not a crash at its first call.
fn open(path: &Path) -> Result<libloading::os::unix::Library> {
    let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL;
    // SAFETY: loading a library runs its initialisers (static constructors). oplink plugins
    // have none of their own; a damaged or hostile file can still misbehave here, which is
    // why the README tells hosts to load untrusted files in a separate process first.
    unsafe { libloading::os::unix::Library::open(Some(path), flags) }.map_err(|source| {
        let mut reason = reason(&source);
        // The loader starts with the path, which the sentence names already.
        if let Some(rest) = reason.strip_prefix(&format!("{}: ", path.display())) {
            reason = rest.to_owned();
        }
        if let Some(hint) = library_path_hint(path) {
            reason = format!("{reason} ({hint})");
        }
        Error::Open {
            path: path.to_owned(),
            reason,
            source,
        }
    })
}

/// The loader's own words: libloading's message is "dlopen failed", the reason its source.
fn reason(error: &libloading::Error) -> String {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason = cause.to_string();
        source = cause.source();
    }
    reason
}

fn segments(handle: *mut std::ffi::c_void, path: &Path) -> Result<SegmentMap> {
    // SAFETY: `handle` is the live handle of the library just opened (it is never closed).
    #[cfg(target_os = "linux")]
    let map = unsafe { memory::segments_of(handle) };
    #[cfg(not(target_os = "linux"))]
    let map: Option<SegmentMap> = {
        let _ = handle;
        None
    };
    map.ok_or_else(|| Error::InvalidHeader {
        path: path.to_owned(),
        detail: "the dynamic loader does not say where the library is mapped (oplink-host reads plugins on Linux)".to_owned(),
    })
}

fn entry_symbol(
    library: &libloading::os::unix::Library,
    path: &Path,
    segments: &SegmentMap,
) -> Result<EntryFn> {
    let name = format!("{}\0", abi::ENTRY_SYMBOL);
    // SAFETY: only the symbol's address is read here; it is checked before it is called.
    if let Ok(symbol) = unsafe { library.get::<*const ()>(name.as_bytes()) } {
        let addr = *symbol as usize;
        if !segments.is_code(addr) {
            return Err(Error::InvalidHeader {
                path: path.to_owned(),
                detail: format!(
                    "its entry symbol `{}` is at {addr:#x}, which is not code of the library",
                    abi::ENTRY_SYMBOL
                ),
            });
        }
        // SAFETY: a non-null address of the library's code, exported under the entry
        // symbol's name, whose type the ABI fixes as `EntryFn`.
        return Ok(EntryFn(unsafe {
            std::mem::transmute::<usize, unsafe extern "C" fn() -> *const abi::PluginHeader>(addr)
        }));
    }
    for major in (1..=16u32).filter(|&m| m != u32::from(abi::ABI_MAJOR)) {
        let other = format!("{}{major}\0", abi::ENTRY_SYMBOL_PREFIX);
        // SAFETY: only probing whether the symbol exists; it is never called.
        if unsafe { library.get::<*const ()>(other.as_bytes()) }.is_ok() {
            return Err(Error::AbiMajor {
                path: path.to_owned(),
                found: major,
                expected: abi::ABI_MAJOR,
            });
        }
    }
    Err(Error::NotAPlugin {
        path: path.to_owned(),
    })
}

fn refused(path: &Path, refusal: Refusal) -> Error {
    let path: PathBuf = path.to_owned();
    match refusal {
        Refusal::BadMagic(found) => Error::BadMagic {
            path,
            found,
            expected: abi::MAGIC,
        },
        Refusal::Major(found) => Error::AbiMajor {
            path,
            found: found.into(),
            expected: abi::ABI_MAJOR,
        },
        Refusal::Minor(found, oplink_version) => Error::AbiMinor {
            path,
            found,
            supported: abi::ABI_MINOR,
            oplink_version,
        },
        Refusal::Layout(detail) => Error::Layout { path, detail },
        Refusal::PanicAbort(operator) => Error::PanicAbort { path, operator },
        Refusal::Duplicate(name, versions) => Error::DuplicateOperator {
            path,
            name,
            versions,
        },
        Refusal::Invalid(detail) => Error::InvalidHeader { path, detail },
    }
}
