//! The host side of the services plugins may use.

use std::ffi::c_void;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use oplink::abi::{ErrorOut, HostApi, Status, StrView};
use oplink::trampoline::Failure;

/// What a host offers to the operators it instantiates. Cheap to clone; every instance
/// keeps a clone alive.
///
/// ```
/// let host = oplink_host::Host::builder().build();
/// # let _ = host;
/// ```
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

struct HostInner {
    next_instance: AtomicU64,
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field(
                "instances_created",
                &self.inner.next_instance.load(Ordering::Relaxed),
            )
            .finish()
    }
}

/// Builds a [`Host`].
#[derive(Debug, Default)]
pub struct HostBuilder {
    _private: (),
}

impl HostBuilder {
    /// The host, with the default services.
    pub fn build(self) -> Host {
        Host {
            inner: Arc::new(HostInner {
                next_instance: AtomicU64::new(0),
            }),
        }
    }
}

impl Host {
    /// A builder with the defaults.
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    pub(crate) fn api_for_new_instance(&self) -> HostApi {
        HostApi {
            size: size_of::<HostApi>(),
            instance_id: self.inner.next_instance.fetch_add(1, Ordering::Relaxed) + 1,
            context: Arc::as_ptr(&self.inner).cast_mut().cast(),
            lookup_service: Some(lookup_service),
        }
    }
}

impl Default for Host {
    fn default() -> Host {
        Host::builder().build()
    }
}

/// The host's service lookup. ABI 1.0 hosts offer no custom services yet, so every lookup is
/// answered with an error that names the service.
unsafe extern "C" fn lookup_service(
    _host: *const HostApi,
    name: StrView,
    _fingerprint: u64,
    _out: *mut *const c_void,
    err: *mut ErrorOut,
) -> Status {
    let mut body = || {
        // SAFETY: the plugin passes a view valid for this call.
        let name = String::from_utf8_lossy(unsafe { name.as_bytes() }).into_owned();
        Err(oplink::Error::msg(format!(
            "this host provides no service `{name}`"
        )))
    };
    match oplink::trampoline::guard(&mut body) {
        Ok(()) => Status::OK,
        // SAFETY: `err` is writable for the call (ABI contract).
        Err(failure) => unsafe { Failure::write_to(failure, err) },
    }
}
