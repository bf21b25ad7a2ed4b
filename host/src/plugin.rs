//! Loading a library and validating everything its header says.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use oplink::abi::{
    self, ApplyFn, CreateFn, DestroyFn, EntryFn, FlushStateFn, LayoutEntry, OperatorDescriptor,
    OperatorVTable, PluginHeader, PullFn, RestoreFn, SnapshotFn, StrView, TickFn,
};

use crate::error::{Error, Result};
use crate::host::Host;
use crate::instance::Instance;

/// A loaded library. It is never unloaded: batches a plugin returned carry release callbacks
/// into its code, and thread-local destructors make `dlclose` unsound, so the mapping stays
/// until the process exits. Instances hold an `Arc` of it all the same, so every pointer
/// into the library they use is tied to an owner.
pub(crate) struct Library {
    _library: std::mem::ManuallyDrop<libloading::Library>,
    pub(crate) path: PathBuf,
}

/// Facts about the build of a plugin, from its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    /// ABI version, `(major, minor)`.
    pub abi: (u16, u16),
    /// Version of the `oplink` crate the plugin was built with.
    pub oplink_version: String,
    /// `rustc --version` of the build.
    pub rustc_version: String,
    /// Target triple.
    pub target: String,
    /// Cargo profile (`debug`, `release`, …).
    pub profile: String,
}

/// The optional methods an operator's author wrote (absent ones get defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Implemented(u32);

impl Implemented {
    /// `pull`.
    pub fn pull(self) -> bool {
        self.0 & abi::IMPLEMENTS_PULL != 0
    }
    /// `tick`.
    pub fn tick(self) -> bool {
        self.0 & abi::IMPLEMENTS_TICK != 0
    }
    /// `flush_state`.
    pub fn flush_state(self) -> bool {
        self.0 & abi::IMPLEMENTS_FLUSH_STATE != 0
    }
    /// `snapshot`.
    pub fn snapshot(self) -> bool {
        self.0 & abi::IMPLEMENTS_SNAPSHOT != 0
    }
    /// `restore`.
    pub fn restore(self) -> bool {
        self.0 & abi::IMPLEMENTS_RESTORE != 0
    }
    /// The names of the implemented optional methods.
    pub fn names(self) -> Vec<&'static str> {
        [
            ("pull", self.pull()),
            ("tick", self.tick()),
            ("flush_state", self.flush_state()),
            ("snapshot", self.snapshot()),
            ("restore", self.restore()),
        ]
        .into_iter()
        .filter_map(|(name, yes)| yes.then_some(name))
        .collect()
    }
}

/// The validated entry points of an operator.
#[derive(Clone, Copy)]
pub(crate) struct Slots {
    pub create: CreateFn,
    pub destroy: DestroyFn,
    pub apply: ApplyFn,
    pub pull: PullFn,
    pub tick: TickFn,
    pub flush_state: FlushStateFn,
    pub snapshot: SnapshotFn,
    pub restore: RestoreFn,
}

/// One operator of a loaded plugin.
#[derive(Clone)]
pub struct OperatorInfo {
    name: String,
    version: String,
    description: String,
    implemented: Implemented,
    requires: Vec<RequiredService>,
    pub(crate) slots: Slots,
}

/// A host service an operator requires, as its descriptor lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequiredService {
    /// The service's name, e.g. `Catalog`.
    pub name: String,
    /// The fingerprint of the plugin's view of the service.
    pub fingerprint: u64,
    /// Each method's signature as the plugin was built with it, in table order.
    pub methods: Vec<String>,
}

impl OperatorInfo {
    /// Its name, unique within the plugin.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its semantic version.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// Its one-line description (may be empty).
    pub fn description(&self) -> &str {
        &self.description
    }
    /// Which optional methods its author wrote.
    pub fn implemented(&self) -> Implemented {
        self.implemented
    }
    /// The host services it requires (`#[operator(requires = [..])]`).
    pub fn requires(&self) -> &[RequiredService] {
        &self.requires
    }
}

impl fmt::Debug for OperatorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorInfo")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("description", &self.description)
            .field("implemented", &self.implemented.names())
            .field(
                "requires",
                &self.requires.iter().map(|r| &r.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A loaded, validated plugin library.
///
/// ```no_run
/// let plugin = oplink_host::Plugin::load("target/debug/libthreshold.so")?;
/// for op in plugin.operators() {
///     println!("{} {}: {}", op.name(), op.version(), op.description());
/// }
/// # Ok::<(), oplink_host::Error>(())
/// ```
#[derive(Clone)]
pub struct Plugin {
    library: Arc<Library>,
    build: BuildInfo,
    operators: Arc<[OperatorInfo]>,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("path", &self.library.path)
            .field("build", &self.build)
            .field("operators", &self.operators)
            .finish()
    }
}

/// Upper bounds that catch garbage counts before anything is read.
const MAX_OPERATORS: usize = 4096;
const MAX_LAYOUTS: usize = 256;
const MAX_STR: usize = 1 << 20;

impl Plugin {
    /// Opens the library at `path`, performs the handshake and validates everything it
    /// reads: magic, ABI version, sizes, layout fingerprint, pointers, UTF-8, operator names
    /// and the panic strategy of the build. Runs no operator code.
    pub fn load(path: impl AsRef<Path>) -> Result<Plugin> {
        let path = path.as_ref().to_path_buf();
        crate::preflight::check(&path)?;
        // SAFETY: loading a library runs its initialisers. oplink plugins have none of their
        // own (the handshake is a plain function), and native plugins are trusted code: see
        // the README's "Trust" section.
        let library = unsafe { libloading::Library::new(&path) }.map_err(|source| Error::Open {
            path: path.clone(),
            source,
        })?;
        let entry = entry_symbol(&library, &path)?;
        // SAFETY: `entry` is the library's `oplink_plugin_v1`, whose ABI is `EntryFn`; it
        // runs no operator code and returns a pointer to a static header.
        let header_ptr = unsafe { entry() };
        let library = Arc::new(Library {
            _library: std::mem::ManuallyDrop::new(library),
            path,
        });
        // SAFETY: the header pointer came from the entry symbol and the library stays mapped.
        let (build, operators) = unsafe { read_header(header_ptr, &library.path) }?;
        tracing::debug!(path = %library.path.display(), operators = operators.len(), "loaded oplink plugin");
        Ok(Plugin {
            library,
            build,
            operators: operators.into(),
        })
    }

    /// The library's path.
    pub fn path(&self) -> &Path {
        &self.library.path
    }

    /// Facts about the plugin's build.
    pub fn build(&self) -> &BuildInfo {
        &self.build
    }

    /// The operators the library carries.
    pub fn operators(&self) -> impl ExactSizeIterator<Item = &OperatorInfo> {
        self.operators.iter()
    }

    /// The operator called `name`, if any.
    pub fn operator(&self, name: &str) -> Option<&OperatorInfo> {
        self.operators.iter().find(|op| op.name == name)
    }

    /// Creates an instance of operator `name` with a configuration (anything serde can
    /// write as JSON, such as `serde_json::json!({...})`).
    pub fn instantiate(
        &self,
        name: &str,
        config: impl serde::Serialize,
        host: &Host,
    ) -> Result<Instance> {
        let Some(info) = self.operators.iter().find(|op| op.name == name) else {
            let available = self
                .operators
                .iter()
                .map(|op| format!("`{}`", op.name))
                .collect::<Vec<_>>();
            return Err(Error::UnknownOperator {
                path: self.library.path.clone(),
                name: name.to_owned(),
                available: if available.is_empty() {
                    "no operators".to_owned()
                } else {
                    available.join(", ")
                },
            });
        };
        let config = serde_json::to_string(&config).map_err(|source| Error::Config {
            operator: name.to_owned(),
            source,
        })?;
        host.check_requirements(info)?;
        Instance::create(self.library.clone(), info.clone(), &config, host)
    }
}

fn entry_symbol(library: &libloading::Library, path: &Path) -> Result<EntryFn> {
    let name = format!("{}\0", abi::ENTRY_SYMBOL);
    // SAFETY: the symbol's type is `EntryFn` by the ABI contract; we only copy the pointer.
    if let Ok(symbol) = unsafe { library.get::<EntryFn>(name.as_bytes()) } {
        return Ok(*symbol);
    }
    for major in 2..=16u32 {
        let other = format!("{}{major}\0", abi::ENTRY_SYMBOL_PREFIX);
        // SAFETY: only probing whether the symbol exists; it is never called.
        if unsafe { library.get::<EntryFn>(other.as_bytes()) }.is_ok() {
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

/// Reads `len` bytes of a view, checking pointer and UTF-8.
///
/// # Safety
/// A non-null `view.ptr` must point to `view.len` readable bytes that stay mapped.
unsafe fn read_str(view: StrView, what: &str, path: &Path) -> Result<String> {
    let invalid = |detail: String| Error::InvalidHeader {
        path: path.to_owned(),
        detail,
    };
    if view.len > MAX_STR {
        return Err(invalid(format!("{what} is {} bytes long", view.len)));
    }
    if view.ptr.is_null() && view.len != 0 {
        return Err(invalid(format!("{what} is a null pointer")));
    }
    // SAFETY: non-null with `len` readable bytes (caller), or empty.
    let bytes = unsafe { view.as_bytes() };
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|e| invalid(format!("{what} is not valid UTF-8 ({e})")))
}

/// # Safety
/// `header` is what the entry symbol returned; the library stays mapped.
unsafe fn read_header(
    header: *const PluginHeader,
    path: &Path,
) -> Result<(BuildInfo, Vec<OperatorInfo>)> {
    let invalid = |detail: String| Error::InvalidHeader {
        path: path.to_owned(),
        detail,
    };
    if header.is_null() {
        return Err(invalid(
            "the entry symbol returned a null header".to_owned(),
        ));
    }
    // The first 16 bytes are frozen across every ABI major: read them before trusting more.
    // SAFETY: every oplink header, of any major, starts with these 16 bytes.
    let (magic, size, major, minor) = unsafe {
        let h = &*header;
        (h.magic, h.size, h.abi_major, h.abi_minor)
    };
    if magic != abi::MAGIC {
        return Err(Error::BadMagic {
            path: path.to_owned(),
            found: magic,
            expected: abi::MAGIC,
        });
    }
    if major != abi::ABI_MAJOR {
        return Err(Error::AbiMajor {
            path: path.to_owned(),
            found: major.into(),
            expected: abi::ABI_MAJOR,
        });
    }
    if minor > abi::ABI_MINOR {
        return Err(Error::AbiMinor {
            path: path.to_owned(),
            found: minor,
            supported: abi::ABI_MINOR,
        });
    }
    if (size as usize) < size_of::<PluginHeader>() {
        return Err(invalid(format!(
            "the header is {size} bytes, ABI 1.{minor} needs {}",
            size_of::<PluginHeader>()
        )));
    }
    // SAFETY: the header declares itself at least as large as ours.
    let h = unsafe { &*header };
    if h.layout_fingerprint != abi::LAYOUT_FINGERPRINT {
        // SAFETY: the header's layout table is a static of the library.
        let detail = unsafe { layout_difference(h, path) }?;
        return Err(Error::Layout {
            path: path.to_owned(),
            detail,
        });
    }
    let build = BuildInfo {
        abi: (major, minor),
        // SAFETY: header and descriptor strings are statics of the mapped library.
        oplink_version: unsafe { read_str(h.oplink_version, "the oplink version", path) }?,
        // SAFETY: header and descriptor strings are statics of the mapped library.
        rustc_version: unsafe { read_str(h.rustc_version, "the rustc version", path) }?,
        // SAFETY: header and descriptor strings are statics of the mapped library.
        target: unsafe { read_str(h.target, "the target", path) }?,
        // SAFETY: header and descriptor strings are statics of the mapped library.
        profile: unsafe { read_str(h.profile, "the profile", path) }?,
    };
    match h.panic_strategy {
        abi::PANIC_UNWIND => {}
        abi::PANIC_ABORT => {
            return Err(Error::PanicAbort {
                path: path.to_owned(),
            });
        }
        other => return Err(invalid(format!("unknown panic strategy {other}"))),
    }
    if h.operator_count > MAX_OPERATORS {
        return Err(invalid(format!("it claims {} operators", h.operator_count)));
    }
    if h.operator_count > 0 && h.operators.is_null() {
        return Err(invalid(format!(
            "it lists {} operators but the list is a null pointer",
            h.operator_count
        )));
    }
    let mut operators = Vec::with_capacity(h.operator_count);
    let mut seen = HashSet::new();
    for index in 0..h.operator_count {
        // SAFETY: `operators` holds `operator_count` pointers (checked non-null above).
        let descriptor = unsafe { *h.operators.add(index) };
        // SAFETY: a descriptor pointer of the library's static table.
        let info = unsafe { read_descriptor(descriptor, index, path) }?;
        if !seen.insert(info.name.clone()) {
            return Err(Error::DuplicateOperator {
                path: path.to_owned(),
                name: info.name,
            });
        }
        operators.push(info);
    }
    Ok((build, operators))
}

/// # Safety
/// `h.layouts` is null or points to `h.layout_count` entries that stay mapped.
unsafe fn layout_difference(h: &PluginHeader, path: &Path) -> Result<String> {
    let theirs: &[LayoutEntry] =
        if h.layouts.is_null() || h.layout_count == 0 || h.layout_count > MAX_LAYOUTS {
            &[]
        } else {
            // SAFETY: checked non-null and bounded; a static table of the library (caller).
            unsafe { std::slice::from_raw_parts(h.layouts, h.layout_count) }
        };
    let mut named = Vec::with_capacity(theirs.len());
    for entry in theirs {
        // SAFETY: a static string of the library.
        named.push((
            unsafe { read_str(entry.name, "a layout name", path) }?,
            entry,
        ));
    }
    let mut missing = None;
    for ours in abi::LAYOUTS.iter() {
        // SAFETY: our own static strings.
        let name = unsafe { read_str(ours.name, "a layout name", path) }?;
        match named.iter().find(|(n, _)| *n == name).map(|(_, e)| e) {
            None => missing = missing.or(Some(name)),
            Some(t) if t.size != ours.size || t.align != ours.align => {
                return Ok(format!(
                    "`{name}` is {} bytes aligned to {} in the plugin but {} bytes aligned to {} in this host",
                    t.size, t.align, ours.size, ours.align
                ));
            }
            Some(t) if t.fingerprint != ours.fingerprint => {
                return Ok(format!(
                    "the fields of `{name}` sit at different offsets in the plugin and in this host"
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(name) = missing {
        return Ok(format!(
            "the plugin does not describe `{name}` (layout fingerprint {:#018x}, this host's {:#018x})",
            h.layout_fingerprint,
            abi::LAYOUT_FINGERPRINT
        ));
    }
    Ok(format!(
        "layout fingerprint {:#018x} differs from this host's {:#018x}",
        h.layout_fingerprint,
        abi::LAYOUT_FINGERPRINT
    ))
}

/// # Safety
/// `descriptor` is null or points into the library's static tables.
unsafe fn read_descriptor(
    descriptor: *const OperatorDescriptor,
    index: usize,
    path: &Path,
) -> Result<OperatorInfo> {
    let invalid = |detail: String| Error::InvalidHeader {
        path: path.to_owned(),
        detail,
    };
    if descriptor.is_null() {
        return Err(invalid(format!("operator {index} is a null pointer")));
    }
    // SAFETY: non-null static of the library (caller). `size` is the first field of every
    // version of the descriptor.
    let size = unsafe { (*descriptor).size };
    // Descriptors of ABI 1.0 end before `requires`: such an operator requires nothing.
    let v1_0_size = std::mem::offset_of!(OperatorDescriptor, requires);
    if size < v1_0_size {
        return Err(invalid(format!(
            "operator {index}'s descriptor is {size} bytes, expected at least {v1_0_size}"
        )));
    }
    // SAFETY: at least as large as an ABI 1.0 descriptor; the fields beyond the writer's
    // size are not read (below).
    let d = unsafe { &*descriptor };
    let what = |field: &str| format!("the {field} of operator {index}");
    // SAFETY: header and descriptor strings are statics of the mapped library.
    let name = unsafe { read_str(d.name, &what("name"), path) }?;
    // SAFETY: header and descriptor strings are statics of the mapped library.
    let version = unsafe { read_str(d.version, &what("version"), path) }?;
    // SAFETY: header and descriptor strings are statics of the mapped library.
    let description = unsafe { read_str(d.description, &what("description"), path) }?;
    if name.is_empty() {
        return Err(invalid(format!("operator {index} has an empty name")));
    }
    if d.vtable.is_null() {
        return Err(invalid(format!("operator `{name}` has a null vtable")));
    }
    // SAFETY: non-null static of the library; `size` is its first field in every version.
    let vtable_size = unsafe { (*d.vtable).size };
    if vtable_size < size_of::<OperatorVTable>() {
        return Err(invalid(format!(
            "operator `{name}`'s vtable is {vtable_size} bytes, expected {}",
            size_of::<OperatorVTable>()
        )));
    }
    // SAFETY: at least as large as ours.
    let v = unsafe { &*d.vtable };
    let missing = |slot: &str| invalid(format!("operator `{name}` has no `{slot}` entry point"));
    let slots = Slots {
        create: v.create.ok_or_else(|| missing("create"))?,
        destroy: v.destroy.ok_or_else(|| missing("destroy"))?,
        apply: v.apply.ok_or_else(|| missing("apply"))?,
        pull: v.pull.ok_or_else(|| missing("pull"))?,
        tick: v.tick.ok_or_else(|| missing("tick"))?,
        flush_state: v.flush_state.ok_or_else(|| missing("flush_state"))?,
        snapshot: v.snapshot.ok_or_else(|| missing("snapshot"))?,
        restore: v.restore.ok_or_else(|| missing("restore"))?,
    };
    let requires = if size >= size_of::<OperatorDescriptor>() {
        // SAFETY: the descriptor has the fields; what they point to is the library's statics.
        unsafe { read_requires(d, &name, path) }?
    } else {
        Vec::new()
    };
    Ok(OperatorInfo {
        name,
        version,
        description,
        implemented: Implemented(d.implemented),
        requires,
        slots,
    })
}

const MAX_REQUIRES: usize = 256;
const MAX_SERVICE_METHODS: usize = 4096;

/// # Safety
/// `d.requires` is null or points into the library's static tables.
unsafe fn read_requires(
    d: &OperatorDescriptor,
    operator: &str,
    path: &Path,
) -> Result<Vec<RequiredService>> {
    let invalid = |detail: String| Error::InvalidHeader {
        path: path.to_owned(),
        detail,
    };
    if d.requires_count == 0 {
        return Ok(Vec::new());
    }
    if d.requires.is_null() || d.requires_count > MAX_REQUIRES {
        return Err(invalid(format!(
            "operator `{operator}` lists {} required services at {:?}",
            d.requires_count, d.requires
        )));
    }
    // SAFETY: non-null, `requires_count` entries (the library's statics).
    let entries = unsafe { std::slice::from_raw_parts(d.requires, d.requires_count) };
    let mut out = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let what = format!("required service {index} of operator `{operator}`");
        // SAFETY: a static string of the library.
        let name = unsafe { read_str(entry.name, &format!("the name of {what}"), path) }?;
        if entry.method_count > MAX_SERVICE_METHODS
            || (entry.method_count > 0 && entry.methods.is_null())
        {
            return Err(invalid(format!(
                "{what} (`{name}`) lists {} methods at {:?}",
                entry.method_count, entry.methods
            )));
        }
        let views = if entry.method_count == 0 {
            &[][..]
        } else {
            // SAFETY: non-null, `method_count` views (the library's statics).
            unsafe { std::slice::from_raw_parts(entry.methods, entry.method_count) }
        };
        let methods = views
            .iter()
            .enumerate()
            .map(|(m, view)| {
                // SAFETY: a static string of the library.
                unsafe { read_str(*view, &format!("method {m} of `{name}` in {what}"), path) }
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(RequiredService {
            name,
            fingerprint: entry.fingerprint,
            methods,
        });
    }
    Ok(out)
}
