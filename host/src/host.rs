//! The host side of the services plugins may use.

use std::ffi::c_void;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use oplink::abi::{ErrorOut, HostApi, Status, StrView};
use oplink::service::{HostTable, Service, fingerprint};
use oplink::services::{Clock, Log, State};
use oplink::{MemoryState, SystemClock};

use crate::error::{Error, Result};
use crate::logging::TracingLog;
use crate::plugin::OperatorInfo;

/// What a host offers to the operators it instantiates: the standard services (log into
/// `tracing`, state in memory per instance, the system clock) and the services given to
/// [`HostBuilder::provide`]. Cheap to clone; every instance keeps a clone alive.
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
    provided: Vec<Provided>,
    clock: HostTable,
}

/// A service given to the builder.
struct Provided {
    name: &'static str,
    methods: &'static [&'static str],
    table: HostTable,
}

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
    /// keeps the last one.
    pub fn provide<S: Service + ?Sized>(mut self, implementation: Arc<S>) -> HostBuilder {
        self.provided.retain(|p| p.name != S::NAME);
        self.provided.push(Provided {
            name: S::NAME,
            methods: S::METHODS,
            table: S::__host_table(implementation),
        });
        self
    }

    /// The host.
    pub fn build(self) -> Host {
        Host {
            inner: Arc::new(HostInner {
                next_instance: AtomicU64::new(0),
                provided: self.provided,
                clock: <dyn Clock>::__host_table(Arc::new(SystemClock)),
            }),
        }
    }
}

impl Host {
    /// A builder with the defaults.
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// The names of the services given to [`HostBuilder::provide`] (the standard
    /// `oplink.Log`, `oplink.State` and `oplink.Clock` are always there too).
    pub fn services(&self) -> Vec<&'static str> {
        self.inner.provided.iter().map(|p| p.name).collect()
    }

    /// Checks that this host provides every service `operator` requires, in a version the
    /// operator can use.
    pub(crate) fn check_requirements(&self, operator: &OperatorInfo) -> Result<()> {
        for required in operator.requires() {
            let Some(provided) = self.inner.provided.iter().find(|p| p.name == required.name)
            else {
                let provided = self.services();
                return Err(Error::MissingService {
                    operator: operator.name().to_owned(),
                    service: required.name.clone(),
                    provided: if provided.is_empty() {
                        "none besides the standard ones".to_owned()
                    } else {
                        provided
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                });
            };
            if let Some(difference) = difference(&required.methods, provided.methods) {
                return Err(Error::ServiceMismatch {
                    operator: operator.name().to_owned(),
                    service: required.name.clone(),
                    difference,
                });
            }
        }
        Ok(())
    }

    /// The `HostApi` and services of a new instance of `operator`.
    pub(crate) fn attach(&self, operator: &str) -> Attachment {
        let instance_id = self.inner.next_instance.fetch_add(1, Ordering::Relaxed) + 1;
        let services = Box::new(InstanceServices {
            host: self.inner.clone(),
            log: <dyn Log>::__host_table(Arc::new(TracingLog {
                operator: operator.to_owned(),
                instance: instance_id,
            })),
            state: <dyn State>::__host_table(Arc::new(MemoryState::default())),
        });
        let api = Box::new(HostApi {
            size: size_of::<HostApi>(),
            instance_id,
            context: (&*services as *const InstanceServices).cast_mut().cast(),
            lookup_service: Some(lookup_service),
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
/// (tables are append-only).
fn difference(plugin: &[String], host: &[&str]) -> Option<String> {
    let method_name = |signature: &str| {
        signature
            .strip_prefix("fn ")
            .and_then(|s| s.split('(').next())
            .unwrap_or(signature)
            .to_owned()
    };
    for (index, expected) in plugin.iter().enumerate() {
        let name = method_name(expected);
        match host.get(index) {
            Some(have) if have == expected => continue,
            _ => {}
        }
        return Some(match host.iter().find(|h| method_name(h) == name) {
            Some(have) if have == expected => format!(
                "method `{name}` is at position {} in the host's trait but at {} in the plugin's; methods may only be added at the end",
                host.iter().position(|h| h == have).unwrap_or(0) + 1,
                index + 1
            ),
            Some(have) => format!(
                "method `{name}` differs: the plugin expects `{expected}`, the host has `{have}`"
            ),
            None => format!(
                "method `{name}` is missing: the plugin expects `{expected}`, the host has no method `{name}`"
            ),
        });
    }
    None
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
    state: HostTable,
}

impl InstanceServices {
    /// The table of service `name` if the plugin's `fingerprint` fits it.
    fn table(&self, name: &str, plugin_fingerprint: u64) -> Result<*const c_void, String> {
        let standard = |table: &HostTable, ours: u64| {
            if ours == plugin_fingerprint {
                Ok(table.as_ptr())
            } else {
                Err(format!(
                    "the plugin's `{name}` (fingerprint {plugin_fingerprint:#018x}) differs from this host's ({ours:#018x}): rebuild the plugin against this host's oplink"
                ))
            }
        };
        match name {
            n if n == <dyn Log>::NAME => standard(&self.log, <dyn Log>::FINGERPRINT),
            n if n == <dyn State>::NAME => standard(&self.state, <dyn State>::FINGERPRINT),
            n if n == <dyn Clock>::NAME => standard(&self.host.clock, <dyn Clock>::FINGERPRINT),
            _ => {
                let provided = self
                    .host
                    .provided
                    .iter()
                    .find(|p| p.name == name)
                    .ok_or_else(|| format!("this host provides no service `{name}`"))?;
                // The plugin's table may be a prefix of ours (methods added later).
                let fits = (1..=provided.methods.len()).any(|n| {
                    fingerprint(provided.name, &provided.methods[..n]) == plugin_fingerprint
                });
                if fits {
                    Ok(provided.table.as_ptr())
                } else {
                    Err(format!(
                        "the plugin's `{name}` has other methods than this host's: {}",
                        provided.methods.join("; ")
                    ))
                }
            }
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
    let mut body = || {
        // SAFETY: the plugin passes a view valid for this call.
        let name = String::from_utf8_lossy(unsafe { name.as_bytes() }).into_owned();
        // SAFETY: `host` is the `HostApi` we gave this instance; its context points to the
        // instance's services, which outlive the instance.
        let services = unsafe { &*(*host).context.cast::<InstanceServices>() };
        let table = services
            .table(&name, plugin_fingerprint)
            .map_err(oplink::Error::msg)?;
        // SAFETY: `out` is writable for the call (ABI contract).
        unsafe { out.write(table) };
        Ok(())
    };
    // SAFETY: `err` is writable and empty for the call (ABI contract).
    unsafe { oplink::trampoline::guard_into(err, &mut body) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_method() {
        let host = ["fn a(&self) -> u8", "fn b(&self, x: &str) -> u64"];
        let same: Vec<String> = host.iter().map(|s| s.to_string()).collect();
        assert_eq!(difference(&same, &host), None);
        assert_eq!(difference(&same[..1], &host), None, "a prefix is fine");
        let changed = vec![
            "fn a(&self) -> u8".to_owned(),
            "fn b(&self, x: &str) -> i64".to_owned(),
        ];
        assert_eq!(
            difference(&changed, &host).unwrap(),
            "method `b` differs: the plugin expects `fn b(&self, x: &str) -> i64`, the host has `fn b(&self, x: &str) -> u64`"
        );
        let swapped = vec![host[1].to_owned(), host[0].to_owned()];
        assert_eq!(
            difference(&swapped, &host).unwrap(),
            "method `b` is at position 2 in the host's trait but at 1 in the plugin's; methods may only be added at the end"
        );
    }

    #[oplink::host_callbacks(name = "Lookup")]
    trait Lookup {
        fn get(&self, key: &str) -> Option<String>;
        fn count(&self) -> u64;
    }

    struct Empty;

    impl Lookup for Empty {
        fn get(&self, _: &str) -> Option<String> {
            None
        }
        fn count(&self) -> u64 {
            0
        }
    }

    #[test]
    fn lookups_check_names_and_fingerprints() {
        let host = Host::builder()
            .provide::<dyn Lookup>(Arc::new(Empty))
            .build();
        let attachment = host.attach("op");
        // SAFETY: the context of the `HostApi` that `attach` just made.
        let services = unsafe { &*attachment.api.context.cast::<InstanceServices>() };
        assert_eq!(
            services.table("Nope", 0).unwrap_err(),
            "this host provides no service `Nope`"
        );
        assert!(services.table("Lookup", <dyn Lookup>::FINGERPRINT).is_ok());
        // A plugin built when the trait had only its first method still fits.
        let older = fingerprint("Lookup", &<dyn Lookup>::METHODS[..1]);
        assert!(services.table("Lookup", older).is_ok());
        assert_eq!(
            services.table("Lookup", 1).unwrap_err(),
            "the plugin's `Lookup` has other methods than this host's: fn get(&self, key: &str) -> Option<String>; fn count(&self) -> u64"
        );
        assert!(
            services
                .table("oplink.State", 1)
                .unwrap_err()
                .starts_with("the plugin's `oplink.State` (fingerprint 0x0000000000000001) differs from this host's ("),
        );
    }
}
