//! A loaded plugin: its build facts and operators, and instantiation.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use oplink::abi::{
    self, ApplyFn, CreateFn, DestroyFn, FlushStateFn, PullFn, RestoreFn, SnapshotFn, TickFn,
};

use crate::error::{Error, Result};
use crate::host::Host;
use crate::instance::Instance;
use crate::state::ScopedState;

/// A loaded library. It is never unloaded: batches a plugin returned carry release callbacks
/// into its code, and thread-local destructors make `dlclose` unsound, so the mapping stays
/// until the process exits. Instances hold an `Arc` of it all the same, so every pointer
/// into the library they use is tied to an owner.
pub(crate) struct Library {
    pub(crate) _library: std::mem::ManuallyDrop<libloading::os::unix::Library>,
    pub(crate) path: std::path::PathBuf,
    /// The address of its header: the same for every load of one mapped copy (`dlopen`
    /// hands back the copy it mapped before), another for another copy.
    pub(crate) header: usize,
}

/// Facts about the build of a plugin, from its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    /// ABI version, `(major, minor)`.
    pub abi: (u16, u16),
    /// Version of the `oplink` crate (or of `oplink.h`) the plugin was built with.
    pub oplink_version: String,
    /// The compiler that built it (`rustc --version`, or a C compiler's name).
    pub rustc_version: String,
    /// Target triple.
    pub target: String,
    /// Build profile (`debug`, `release`, …).
    pub profile: String,
    /// The fingerprint of the ABI layout the library was built with (a loaded library's
    /// always equals [`oplink::abi::LAYOUT_FINGERPRINT`]).
    pub layout_fingerprint: u64,
    /// The panic strategy of its SDK, `"unwind"` (a host refuses `"abort"`).
    pub panic_strategy: &'static str,
}

/// The optional methods an operator's author wrote (absent ones get defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Implemented(u32);

impl Implemented {
    pub(crate) fn from_bits(bits: u32) -> Implemented {
        Implemented(bits & abi::IMPLEMENTS_ALL)
    }
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

impl Slots {
    /// The entry points at these addresses: `create`, `destroy`, `apply`, `pull`, `tick`,
    /// `flush_state`, `snapshot`, `restore`.
    ///
    /// # Safety
    /// Each address is the non-null address of a function of the matching type of the ABI,
    /// in a library that stays loaded.
    pub(crate) unsafe fn from_addresses(slots: [usize; 8]) -> Slots {
        /// # Safety
        /// As for `from_addresses`, for one address and the function type `F`.
        unsafe fn function<F: Copy>(addr: usize) -> F {
            const { assert!(size_of::<F>() == size_of::<usize>()) };
            // SAFETY: a function pointer is an address of pointer size; the caller
            // guarantees the function's type.
            unsafe { std::mem::transmute_copy(&addr) }
        }
        // SAFETY: forwarded from the caller, slot by slot.
        unsafe {
            Slots {
                create: CreateFn(function(slots[0])),
                destroy: DestroyFn(function(slots[1])),
                apply: ApplyFn(function(slots[2])),
                pull: PullFn(function(slots[3])),
                tick: TickFn(function(slots[4])),
                flush_state: FlushStateFn(function(slots[5])),
                snapshot: SnapshotFn(function(slots[6])),
                restore: RestoreFn(function(slots[7])),
            }
        }
    }
}

/// One operator of a loaded plugin.
#[derive(Clone)]
pub struct OperatorInfo {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) description: String,
    pub(crate) implemented: Implemented,
    pub(crate) requires: Vec<RequiredService>,
    pub(crate) slots: Slots,
}

/// A host service an operator requires, as its descriptor lists it. Every operator lists
/// the standard services (`oplink.Log`, `oplink.State`, `oplink.Clock`) first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequiredService {
    /// The service's name, e.g. `Catalog`.
    pub name: String,
    /// The fingerprint of the plugin's view of the service.
    pub fingerprint: u64,
    /// Its methods as the plugin was built against them, in table order.
    pub methods: Arc<[RequiredMethod]>,
}

/// One method of a required service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequiredMethod {
    /// The method's name.
    pub name: String,
    /// Its signature as written in the plugin's trait.
    pub signature: String,
    /// The fingerprint of its name and of the C form of its types.
    pub fingerprint: u64,
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
    /// The host services it requires: the standard ones, then those of
    /// `#[operator(requires = [..])]`.
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

/// A loaded, validated plugin library. Cheap to clone (its clones share the library), `Send`
/// and `Sync`.
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

/// Two plugins are equal when they are the same build: the same mapped copy of a library
/// (clones, and loads of one file that was not replaced since), so a host that scans again
/// tells a new build from the one an instance runs on
/// (`found.plugin_for(name)? != &live.plugin()`). Each [`Plugin::load_fresh`] maps a copy
/// of its own, which equals no other, even of the same bytes.
impl PartialEq for Plugin {
    fn eq(&self, other: &Plugin) -> bool {
        self.library_id() == other.library_id()
    }
}

impl Eq for Plugin {}

impl std::hash::Hash for Plugin {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.library_id().hash(state);
    }
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

impl Plugin {
    pub(crate) fn new(
        library: Arc<Library>,
        build: BuildInfo,
        operators: Vec<OperatorInfo>,
    ) -> Plugin {
        Plugin {
            library,
            build,
            operators: operators.into(),
        }
    }

    /// Opens the library at `path` and validates everything its header says: the file's
    /// ELF headers (a truncated file or one built for another machine is refused before it
    /// is mapped), every symbol it needs bound (`RTLD_NOW`), the entry symbol, magic, ABI
    /// version, sizes, layout fingerprint, every pointer (aligned, inside the library's own
    /// mapped segments, functions inside its code), UTF-8, operator names and the panic
    /// strategy. Runs none of the operators' code; `dlopen` itself runs the library's static
    /// initialisers, if it has any (see the README on untrusted files).
    ///
    /// Loading the same file again gives the same library. A path whose file was replaced
    /// since this process loaded from it (a new build renamed into place, or the file
    /// written over in place) is
    /// [`Error::Replaced`]: the dynamic loader would hand back the first build under that
    /// name; [`Plugin::load_fresh`] loads the new one, and from then on a load of the path
    /// gives that build, for as long as the path names the file it was copied from.
    ///
    /// # Errors
    ///
    /// Each refusal is its own variant, naming the file: [`Error::EmptyPath`],
    /// [`Error::NotAFile`], [`Error::Unreadable`], [`Error::Truncated`] and
    /// [`Error::WrongTarget`] before `dlopen`; [`Error::Open`] from it; then
    /// [`Error::NotAPlugin`], [`Error::BadMagic`], [`Error::AbiMajor`], [`Error::AbiMinor`],
    /// [`Error::Layout`], [`Error::InvalidHeader`], [`Error::PanicAbort`],
    /// [`Error::DuplicateOperator`] and [`Error::Replaced`] for what its header says.
    pub fn load(path: impl AsRef<Path>) -> Result<Plugin> {
        crate::load::load(path.as_ref())
    }

    /// Loads the library at `path` only after a short-lived child process opened and
    /// validated it: a library whose constructor aborts or exits, or that crashes the
    /// loader, ends the child, not this process, and is refused with
    /// [`Error::CheckFailed`](crate::Error::CheckFailed) naming the signal or exit status.
    /// A check that takes longer than 10 s is killed and refused the same way. Costs a
    /// `fork` and a second `dlopen` (the README has the measured cost), once per file: a
    /// file loaded already, or opened by a check before, and not replaced since, is not
    /// checked again (one written over in place since a check, its size and modification
    /// time kept, is: its change time tells it), and one the pre-flight refuses (cut short,
    /// another machine's) is refused before any check. Otherwise as [`Plugin::load`], with
    /// the same errors.
    ///
    /// # Errors
    ///
    /// Those of [`Plugin::load`], and [`Error::CheckFailed`] when the child process did not
    /// end with a verdict (a signal, an exit, the timeout).
    pub fn load_checked(path: impl AsRef<Path>) -> Result<Plugin> {
        crate::load::checked::load_checked(
            path.as_ref(),
            crate::load::checked::DEFAULT_CHECK_TIMEOUT,
        )
    }

    /// [`Plugin::load_checked`] with a timeout of the caller's.
    ///
    /// # Errors
    ///
    /// As [`Plugin::load_checked`]: [`Error::CheckFailed`] when the check takes longer than
    /// `timeout`.
    pub fn load_checked_within(
        path: impl AsRef<Path>,
        timeout: std::time::Duration,
    ) -> Result<Plugin> {
        crate::load::checked::load_checked(path.as_ref(), timeout)
    }

    /// The library's path (absolute): the file the caller named, also for
    /// [`Plugin::load_fresh`], which loads a copy of it.
    pub fn path(&self) -> &Path {
        &self.library.path
    }

    /// Which mapped copy of a library this is: the same for every clone of the plugin and
    /// for every load of a file already loaded (which maps nothing new).
    pub(crate) fn library_id(&self) -> usize {
        self.library.header
    }

    /// This plugin, named after `path`: a freshly loaded plugin (no instance holds its
    /// library yet) that was loaded from a copy of `path`.
    pub(crate) fn named(mut self, path: std::path::PathBuf) -> Plugin {
        let library = Arc::get_mut(&mut self.library)
            .expect("a plugin just loaded shares its library with no one");
        library.path = path;
        self
    }

    /// Facts about the plugin's build.
    pub fn build(&self) -> &BuildInfo {
        &self.build
    }

    /// The operators the library carries, by name.
    pub fn operators(&self) -> impl ExactSizeIterator<Item = &OperatorInfo> {
        self.operators.iter()
    }

    /// The operator called `name`, if any.
    pub fn operator(&self, name: &str) -> Option<&OperatorInfo> {
        self.operators.iter().find(|op| op.name == name)
    }

    /// Creates an instance of operator `name` with a configuration (anything serde can
    /// write as JSON, such as `serde_json::json!({...})`). Its `ctx.state()` is its own, in
    /// memory, and goes with it.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownOperator`] when the library has no operator `name` (naming those it
    /// has); [`Error::Config`] when `config` cannot be written as JSON;
    /// [`Error::MissingService`] or [`Error::ServiceMismatch`] when `host` lacks a service
    /// the operator requires, or offers another version of it; [`Error::InvalidConfig`] when
    /// the operator refuses the configuration; [`Error::Failed`] or [`Error::Panicked`] when
    /// its `new` returns an error or panics; [`Error::Data`] when the plugin breaks the
    /// protocol (an unknown status, no instance).
    pub fn instantiate(
        &self,
        name: &str,
        config: impl serde::Serialize,
        host: &Host,
    ) -> Result<Instance> {
        self.create(name, config, host, ScopedState::unnamed())
    }

    /// Creates an instance whose `ctx.state()` is the scope `state` of the host's store
    /// ([`HostBuilder::state_store`](crate::HostBuilder::state_store)): it sees what an
    /// earlier instance of that name flushed, in this process or, with an on-disk store,
    /// before a restart. One live instance per name: another is [`Error::StateInUse`]. A
    /// name is not empty and does not start with `#`, which keeps a host's own entries
    /// apart ([`Instance::commit_states_with`](crate::Instance::commit_states_with));
    /// either is an [`Error::State`].
    ///
    /// # Errors
    ///
    /// Those of [`Plugin::instantiate`], and [`Error::StateInUse`] and [`Error::State`] as
    /// above.
    pub fn instantiate_named(
        &self,
        name: &str,
        config: impl serde::Serialize,
        host: &Host,
        state: &str,
    ) -> Result<Instance> {
        let info = self.find(name)?;
        let state = host.state_store().claim(state, &info.name)?;
        self.create(&info.name.clone(), config, host, state)
    }

    /// An instance of `name` with the given state (a reload hands over the old one's).
    pub(crate) fn create(
        &self,
        name: &str,
        config: impl serde::Serialize,
        host: &Host,
        state: Arc<ScopedState>,
    ) -> Result<Instance> {
        let info = self.find(name)?;
        let config = serde_json::to_string(&config).map_err(|source| Error::Config {
            operator: name.to_owned(),
            source,
        })?;
        host.check_requirements(info)?;
        Instance::create(self.library.clone(), info.clone(), &config, host, state)
    }

    /// The operator `name`, or the error naming those that exist.
    fn find(&self, name: &str) -> Result<&OperatorInfo> {
        self.operators
            .iter()
            .find(|op| op.name == name)
            .ok_or_else(|| {
                let available = self
                    .operators
                    .iter()
                    .map(|op| format!("`{}`", op.name))
                    .collect::<Vec<_>>();
                Error::UnknownOperator {
                    path: self.library.path.clone(),
                    name: name.to_owned(),
                    available: if available.is_empty() {
                        "no operators".to_owned()
                    } else {
                        available.join(", ")
                    },
                }
            })
    }
}
