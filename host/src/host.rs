//! The host side of the services plugins may use.

use std::ffi::c_void;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use oplink::SystemClock;
use oplink::abi::{ErrorOut, HostApi, LookupServiceFn, Status, StrView};
use oplink::service::{
    HostTable, HostTableFor, Implementation, MethodInfo, Service, service_fingerprint,
};
use oplink::services::{Clock, Log, Spans, State};

use crate::error::{Error, Result};
use crate::logging::{TracingLog, TracingSpans};
use crate::plugin::{OperatorInfo, RequiredMethod, RequiredService};
use crate::state::{ScopedState, StateStore};

/// What a host offers to the operators it instantiates: the standard services (log into
/// `tracing`, state in memory per instance, the system clock) and the services given to
/// [`HostBuilder::provide`]. Cheap to clone; every instance keeps a clone alive. It is `Send`
/// and `Sync`.
///
/// ```
/// use std::sync::Arc;
///
/// #[oplink::host_callbacks]
/// pub trait Catalog {
///     fn row_count(&self, table: &str) -> oplink::Result<u64>;
/// }
///
/// struct Fixed;
/// impl Catalog for Fixed {
///     fn row_count(&self, _table: &str) -> oplink::Result<u64> {
///         Ok(42)
///     }
/// }
///
/// let host = oplink_host::Host::builder()
///     .provide::<dyn Catalog>(Arc::new(Fixed))
///     .build();
/// assert_eq!(host.services(), ["Catalog"]);
/// ```
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

struct HostInner {
    next_instance: AtomicU64,
    store: StateStore,
    provided: Vec<Provided>,
    clock: HostTable,
}

/// A service given to the builder.
struct Provided {
    name: &'static str,
    /// The trait's Rust path (`dyn shop::Catalog`), for messages.
    trait_path: &'static str,
    fingerprint: u64,
    methods: &'static [MethodInfo],
    table: HostTable,
}

/// The standard services: their names and methods, as this host's oplink declares them.
const STANDARD: [(&str, &[MethodInfo]); 4] = [
    (<dyn Log as Service>::NAME, <dyn Log as Service>::METHODS),
    (
        <dyn State as Service>::NAME,
        <dyn State as Service>::METHODS,
    ),
    (
        <dyn Clock as Service>::NAME,
        <dyn Clock as Service>::METHODS,
    ),
    (
        <dyn Spans as Service>::NAME,
        <dyn Spans as Service>::METHODS,
    ),
];

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field(
                "instances_created",
                &self.inner.next_instance.load(Ordering::Relaxed),
            )
            .field("services", &self.services())
            .finish()
    }
}

/// Builds a [`Host`].
#[derive(Default)]
pub struct HostBuilder {
    provided: Vec<Provided>,
    store: Option<StateStore>,
}

impl fmt::Debug for HostBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostBuilder")
            .field(
                "services",
                &self.provided.iter().map(|p| p.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl HostBuilder {
    /// Offers `implementation` as the service `S` (a trait declared with
    /// `#[oplink::host_callbacks]`) to every operator that requires it. One value serves
    /// every instance, from whichever thread calls the instance. Providing a service twice
    /// keeps the last one. Given a value of a concrete type (`Arc::new(MyCatalog)`), the
    /// service's thunks call its methods directly; given an `Arc<dyn Trait>`, through the
    /// trait object.
    ///
    /// # Panics
    ///
    /// When another service of the same name but other methods was provided: two traits
    /// that share a name (`a::Catalog` and `b::Catalog`), of which operators could reach
    /// only one. Give one a name of its own with `#[oplink::host_callbacks(name = "...")]`.
    ///
    /// When the service's name is one of the standard services' (`oplink.Log`,
    /// `oplink.State`, `oplink.Clock`, `oplink.Spans`), which every host provides itself
    /// and `provide` cannot replace: operators would never reach the value given.
    #[track_caller]
    #[must_use = "the builder is returned with the service; call `build` on it"]
    pub fn provide<S: Service + ?Sized>(
        mut self,
        implementation: Arc<impl Implementation<S> + ?Sized>,
    ) -> HostBuilder {
        if STANDARD.iter().any(|(name, _)| *name == S::NAME) {
            panic!(
                "`{}` cannot be provided: `{}` is a standard service, which every host provides itself (the instance's state, kept in the store given to `state_store`; the system clock; logs and spans to the host's `tracing` subscriber), so operators would never reach this value; remove this `provide`",
                std::any::type_name::<S>(),
                S::NAME
            );
        }
        if let Some(other) = self
            .provided
            .iter()
            .find(|p| p.name == S::NAME && p.fingerprint != S::FINGERPRINT)
        {
            panic!(
                "two services named `{}` were provided, `{}` and `{}`, whose methods differ: two traits share the name, and an operator could reach only one; give one a name of its own with `#[oplink::host_callbacks(name = \"...\")]`",
                S::NAME,
                other.trait_path,
                std::any::type_name::<S>()
            );
        }
        self.provided.retain(|p| p.name != S::NAME);
        self.provided.push(Provided {
            name: S::NAME,
            trait_path: std::any::type_name::<S>(),
            fingerprint: S::FINGERPRINT,
            methods: S::METHODS,
            table: implementation.__table(),
        });
        self
    }

    /// Keeps the state of named instances ([`Plugin::instantiate_named`]) in `store`: for
    /// example `StateStore::open("state.redb")?`, which survives restarts. By default it
    /// is kept in memory.
    ///
    /// [`Plugin::instantiate_named`]: crate::Plugin::instantiate_named
    #[must_use = "the builder is returned with the store; call `build` on it"]
    pub fn state_store(mut self, store: StateStore) -> HostBuilder {
        self.store = Some(store);
        self
    }

    /// The host.
    #[must_use]
    pub fn build(self) -> Host {
        Host {
            inner: Arc::new(HostInner {
                next_instance: AtomicU64::new(0),
                store: self.store.unwrap_or_else(StateStore::in_memory),
                provided: self.provided,
                clock: <dyn Clock as HostTableFor<SystemClock>>::__host_table_for(Arc::new(
                    SystemClock,
                )),
            }),
        }
    }
}

impl Host {
    /// A builder with the defaults.
    #[must_use]
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// The names of the services given to [`HostBuilder::provide`] (the standard
    /// `oplink.Log`, `oplink.State`, `oplink.Clock` and `oplink.Spans` are always there too).
    pub fn services(&self) -> Vec<&'static str> {
        self.inner.provided.iter().map(|p| p.name).collect()
    }

    /// Checks that this host provides every service `operator` requires, in a version the
    /// operator can use.
    pub(crate) fn check_requirements(&self, operator: &OperatorInfo) -> Result<()> {
        self.check_services(operator.name(), operator.requires())
    }

    fn check_services(&self, operator: &str, requires: &[RequiredService]) -> Result<()> {
        for required in requires {
            let methods = STANDARD
                .iter()
                .find(|(name, _)| *name == required.name)
                .map(|(_, methods)| *methods)
                .or_else(|| {
                    self.inner
                        .provided
                        .iter()
                        .find(|p| p.name == required.name)
                        .map(|p| p.methods)
                });
            let Some(methods) = methods else {
                let provided = self.services();
                return Err(Error::MissingService {
                    operator: operator.to_owned(),
                    service: required.name.clone(),
                    provided: if provided.is_empty() {
                        "it provides only the standard services `oplink.Log`, `oplink.State`, `oplink.Clock` and `oplink.Spans`".to_owned()
                    } else {
                        format!(
                            "it provides {} besides the standard services",
                            provided
                                .iter()
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                });
            };
            if let Some(difference) = difference(&required.methods, methods) {
                return Err(Error::ServiceMismatch {
                    operator: operator.to_owned(),
                    service: required.name.clone(),
                    difference,
                });
            }
        }
        Ok(())
    }

    /// The store of named instances' state.
    pub fn state_store(&self) -> &StateStore {
        &self.inner.store
    }

    /// The `HostApi` and services of a new instance of `operator`, with `state` as its
    /// `oplink.State`; of the other services it reaches those it `requires`.
    pub(crate) fn attach(
        &self,
        operator: &str,
        requires: &[RequiredService],
        state: Arc<ScopedState>,
    ) -> Attachment {
        let instance_id = self.inner.next_instance.fetch_add(1, Ordering::Relaxed) + 1;
        let services = Box::new(InstanceServices {
            host: self.inner.clone(),
            log: <dyn Log as HostTableFor<TracingLog>>::__host_table_for(Arc::new(TracingLog {
                operator: operator.to_owned(),
                instance: instance_id,
            })),
            spans: <dyn Spans as HostTableFor<TracingSpans>>::__host_table_for(Arc::new(
                TracingSpans::new(operator, instance_id),
            )),
            state: <dyn State as Service>::__host_table(state as Arc<dyn State>),
            declared: requires.iter().map(|r| r.name.clone()).collect(),
        });
        let api = Box::new(HostApi {
            size: size_of::<HostApi>() as u32,
            reserved: 0,
            instance_id,
            context: (&*services as *const InstanceServices).cast_mut().cast(),
            lookup_service: Some(LookupServiceFn(lookup_service)),
        });
        Attachment {
            api,
            _services: services,
        }
    }
}

impl Default for Host {
    fn default() -> Host {
        Host::builder().build()
    }
}

/// How the plugin's view of a service differs from the host's, or `None` when the plugin
/// can use the host's: the same methods, or the plugin's followed by methods added later
/// (tables are append-only). Methods are compared by fingerprint (their names and the C
/// form of their types), and named by their signatures.
fn difference(plugin: &[RequiredMethod], host: &[MethodInfo]) -> Option<String> {
    for (index, expected) in plugin.iter().enumerate() {
        let name = expected.name.as_str();
        if host
            .get(index)
            .is_some_and(|have| have.name == name && have.fingerprint == expected.fingerprint)
        {
            continue;
        }
        return Some(match host.iter().position(|h| h.name == name) {
            Some(at) if host[at].fingerprint == expected.fingerprint => format!(
                "method `{name}` is at position {} in the host's trait but at {} in the plugin's; methods may only be added at the end",
                at + 1,
                index + 1
            ),
            Some(at) if host[at].signature == expected.signature => format!(
                "method `{name}` differs in what crosses, though it reads `{}` on both sides (fingerprint {:#018x} in the plugin, {:#018x} in the host): a `Wire` type's encoding (its `SCHEMA`) or a type's size differs, or a C library's fingerprint was not copied from the host's `oplink.h`",
                expected.signature, expected.fingerprint, host[at].fingerprint
            ),
            Some(at) => {
                // Shown without paths when the types differ without them too
                // (`Result<f64>` against `oplink::Result<f32>` reads as a difference of paths).
                let (full_theirs, full_ours) = (expected.signature.as_str(), host[at].signature);
                let (theirs, ours) = (unqualified(full_theirs), unqualified(full_ours));
                let (theirs, ours) = if theirs != ours {
                    (theirs, ours)
                } else {
                    (full_theirs.to_owned(), full_ours.to_owned())
                };
                format!(
                    "method `{name}` differs: the plugin expects `{theirs}`, the host has `{ours}`"
                )
            }
            None => format!(
                "method `{name}` is missing: the plugin expects `{}`, the host has no method `{name}`",
                expected.signature
            ),
        });
    }
    None
}

/// A signature's text without the paths before its names: `oplink::Result<f32>` reads
/// `Result<f32>`.
fn unqualified(signature: &str) -> String {
    let mut out = String::with_capacity(signature.len());
    let mut word = String::new();
    let mut chars = signature.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else if c == ':' && chars.peek() == Some(&':') && !word.is_empty() {
            // `word::` is a path segment: dropped with its `::`.
            chars.next();
            word.clear();
        } else {
            out.push_str(&word);
            word.clear();
            out.push(c);
        }
    }
    out.push_str(&word);
    out
}

/// What a live instance holds of its host: the `HostApi` the plugin keeps a pointer to,
/// and the tables it points at. Must outlive the plugin's instance.
pub(crate) struct Attachment {
    pub(crate) api: Box<HostApi>,
    _services: Box<InstanceServices>,
}

/// The services of one instance: its own log and state, and the host's shared ones.
struct InstanceServices {
    host: Arc<HostInner>,
    log: HostTable,
    spans: HostTable,
    state: HostTable,
    /// The services the operator lists in its requirements: the only others it reaches.
    declared: Vec<String>,
}

impl InstanceServices {
    /// The table of service `name` if the plugin's `fingerprint` fits it: the fingerprint
    /// of all of the host's methods, or of a prefix of them (the plugin was built before
    /// methods were appended).
    fn table(&self, name: &str, plugin_fingerprint: u64) -> Result<*const c_void, String> {
        let (table, methods): (&HostTable, &[MethodInfo]) = match name {
            n if n == <dyn Log>::NAME => (&self.log, <dyn Log>::METHODS),
            n if n == <dyn State>::NAME => (&self.state, <dyn State>::METHODS),
            n if n == <dyn Clock>::NAME => (&self.host.clock, <dyn Clock>::METHODS),
            n if n == <dyn Spans>::NAME => (&self.spans, <dyn Spans>::METHODS),
            _ => {
                let provided = self
                    .host
                    .provided
                    .iter()
                    .find(|p| p.name == name)
                    .ok_or_else(|| format!("this host provides no service `{name}`"))?;
                // Checked before `create` only when listed: a C operator that calls a
                // service it did not list would otherwise fail late, or not where it should.
                if !self.declared.iter().any(|d| d == name) {
                    return Err(format!(
                        "`{name}` is not in this operator's requirements, so the host gives it no table: list it (`requires_` in C, `requires = [..]` in Rust), and the host checks it before creating the operator"
                    ));
                }
                (&provided.table, provided.methods)
            }
        };
        let fits = (1..=methods.len())
            .any(|n| service_fingerprint(name, &methods[..n]) == plugin_fingerprint);
        if fits {
            Ok(table.as_ptr())
        } else {
            Err(format!(
                "the plugin's `{name}` (fingerprint {plugin_fingerprint:#018x}) has other methods than this host's: {}",
                methods
                    .iter()
                    .map(|m| m.signature)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        }
    }
}

/// The host's service lookup, called by the plugin while it creates an instance.
unsafe extern "C" fn lookup_service(
    host: *const HostApi,
    name: StrView,
    plugin_fingerprint: u64,
    out: *mut *const c_void,
    err: *mut ErrorOut,
) -> Status {
    // A C operator's mistake, answered as a service method answers one, not written through.
    if out.is_null() {
        // SAFETY: `err` is writable for the call (ABI contract).
        return unsafe { oplink::service::bad_out(err) };
    }
    if !out.is_aligned() {
        let error = oplink::Error::unlocated(format!(
            "the out-parameter is misaligned ({out:p}: a pointer must be aligned to {} bytes)",
            align_of::<*const c_void>()
        ));
        // SAFETY: `err` is writable for the call (ABI contract).
        return unsafe { oplink::trampoline::Failure::invalid_input(&error).write_to(err) };
    }
    let mut body = || {
        // SAFETY: the plugin passes a view valid for this call.
        let name = String::from_utf8_lossy(unsafe { name.as_bytes() }).into_owned();
        // SAFETY: `host` is the `HostApi` we gave this instance; its context points to the
        // instance's services, which outlive the instance.
        let services = unsafe { &*(*host).context.cast::<InstanceServices>() };
        let table = services
            .table(&name, plugin_fingerprint)
            .map_err(oplink::Error::unlocated)?;
        // SAFETY: `out` is writable for the call (ABI contract).
        unsafe { out.write(table) };
        Ok(())
    };
    // SAFETY: `err` is writable for the call (ABI contract).
    unsafe { oplink::trampoline::guard_into(err, &mut body) }
}

#[cfg(test)]
mod tests;
