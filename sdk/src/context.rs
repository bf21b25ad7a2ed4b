//! What an operator method can ask of its surroundings.

use crate::abi::HostApi;

/// The operator's view of its host, passed to `apply`, `pull`, `tick` and `flush_state`.
///
/// In a loaded plugin the host fills it in. In unit tests, build one with
/// [`Context::new`]:
///
/// ```
/// let mut ctx = oplink::Context::new("threshold");
/// assert_eq!(ctx.operator(), "threshold");
/// assert_eq!(ctx.instance_id(), 0);
/// ```
#[derive(Debug)]
pub struct Context {
    operator: &'static str,
    instance_id: u64,
    // Kept for the host services of ABI 1.x; never dereferenced without the host's promise
    // that it outlives the instance.
    _host: *const HostApi,
}

impl Context {
    /// A context outside any host, for calling operator methods directly in tests.
    pub fn new(operator: &'static str) -> Context {
        Context {
            operator,
            instance_id: 0,
            _host: std::ptr::null(),
        }
    }

    pub(crate) fn attached(
        operator: &'static str,
        instance_id: u64,
        host: *const HostApi,
    ) -> Context {
        Context {
            operator,
            instance_id,
            _host: host,
        }
    }

    /// The name of the operator this context belongs to.
    pub fn operator(&self) -> &str {
        self.operator
    }

    /// The host's identifier of this instance (0 outside a host).
    pub fn instance_id(&self) -> u64 {
        self.instance_id
    }
}
