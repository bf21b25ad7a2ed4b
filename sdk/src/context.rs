//! What an operator method can ask of its surroundings.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::service::Service;
use crate::services::{Clock, Entries, FieldValue, Log, Spans, State};
use crate::{Error, Result, Timestamp};

/// The operator's view of its host, passed as `ctx` to every method but `new` (`apply`,
/// `pull`, `tick`, `flush_state`, `snapshot` and `restore`): the host services it declared,
/// and the standard ones every operator has (state, clock; `tracing` macros reach the
/// host's log on their own).
///
/// In a loaded plugin the host fills it in. In unit tests, build one with
/// [`Context::new`]; it keeps state in memory and reads the system clock, and
/// [`Context::with_service`] adds a service of your own:
///
/// ```
/// let mut ctx = oplink::Context::new("threshold");
/// assert_eq!(ctx.operator(), "threshold");
/// assert_eq!(ctx.instance_id(), 0);
/// ctx.state()?.put(b"seen", b"1")?;
/// assert_eq!(ctx.state()?.get(b"seen")?, Some(b"1".to_vec()));
/// # Ok::<(), oplink::Error>(())
/// ```
///
/// A context is only ever borrowed (`&mut Context`, lent for one call) or boxed (the
/// `Box<Context>` of [`Context::new`], which passes as `&mut ctx`): it is unsized (the
/// `Tail` parameter, always the default, makes it so: rustc's "the size for values of
/// type `[BorrowedOnly]` cannot be known" is about this), so no operator can move a host's
/// context out of its call with `std::mem::replace` or `swap` and keep it past the
/// instance, whose services point into tables the host frees with it:
///
/// ```compile_fail
/// fn keep(ctx: &mut oplink::Context) -> Box<oplink::Context> {
///     Box::new(std::mem::replace(ctx, *oplink::Context::new("other")))
/// }
/// ```
pub struct Context<Tail: ?Sized = [BorrowedOnly]> {
    operator: &'static str,
    instance_id: u64,
    /// The services the operator declared in `requires = [..]`.
    declared: Vec<&'static str>,
    /// Whether a service given but not declared is refused (a unit test's context for an
    /// operator linked into the test; a host's context gives only declared services).
    held_to_requires: bool,
    /// Each declared service, as an `Arc<dyn Service>` behind `Any`.
    services: Vec<(&'static str, Box<dyn Any + Send + Sync>)>,
    /// The log, the most verbose level the host wants, and the host's spans service.
    pub(crate) log: Option<crate::logging::Sink>,
    /// The same log for threads the operator spawns, closed when the context goes.
    log_shared: Arc<crate::logging::Shared>,
    state: Option<Arc<dyn State>>,
    clock: Option<Arc<dyn Clock>>,
    /// Empty; makes `Context` unsized (see the type's notes).
    _unsized: Tail,
}

/// What makes a [`Context`] unsized, so that it can only be borrowed or boxed (never
/// made: only an empty slice of it ever exists).
#[derive(Debug)]
pub struct BorrowedOnly(());

/// A context as the runtime keeps it in an instance (sized), lending it out as
/// `&mut Context`.
pub(crate) type SizedContext = Context<[BorrowedOnly; 0]>;

impl<Tail: ?Sized> fmt::Debug for Context<Tail> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("operator", &self.operator)
            .field("instance_id", &self.instance_id)
            .field(
                "services",
                &self.services.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl SizedContext {
    pub(crate) fn attached(
        operator: &'static str,
        instance_id: u64,
        declared: Vec<&'static str>,
    ) -> SizedContext {
        Context {
            operator,
            instance_id,
            held_to_requires: false,
            declared,
            services: Vec::new(),
            log: None,
            log_shared: crate::logging::Shared::new(None),
            state: None,
            clock: None,
            _unsized: [],
        }
    }
}

impl Context {
    /// A context outside any host, for calling operator methods directly in tests: the
    /// standard services as [`MemoryState`], [`SystemClock`] and [`StderrLog`], no other
    /// service until [`Context::with_service`].
    /// When an operator of that name is linked into the test (the usual case: the test
    /// lives in the operator's crate), [`Context::service`] holds it to its `requires` as a
    /// host would: a service it did not declare is an `Err` even when the test provides one.
    ///
    /// # Panics
    ///
    /// Inside a call through a plugin's thunk (a plugin keeping a context of its own): its
    /// state would be kept nowhere and its services would be none of the host's; a method
    /// takes the host's context as `ctx: &mut Context`.
    #[track_caller]
    pub fn new(operator: &'static str) -> Box<Context> {
        if crate::trampoline::in_call() {
            panic!(
                "`Context::new(\"{operator}\")` is for unit tests: a plugin's context is the host's, which a method takes as `ctx: &mut Context` (one of its own would keep its state nowhere); `new` gets none, so do what needs one in the first call that has a `ctx`"
            );
        }
        let declared = crate::runtime::declared_services(operator);
        let mut ctx: Box<Context> = Box::new(SizedContext::attached(
            operator,
            0,
            declared.clone().unwrap_or_default(),
        ));
        ctx.held_to_requires = declared.is_some();
        ctx.attach_standard(
            Some(crate::logging::Sink {
                log: Arc::new(StderrLog),
                level: crate::services::level::TRACE,
                spans: None,
            }),
            Some(Arc::new(MemoryState::default())),
            Some(Arc::new(SystemClock)),
        );
        ctx
    }

    /// This context with `implementation` as the service `S`, for tests:
    /// `Context::new("enrich").with_service::<dyn Catalog>(Arc::new(FakeCatalog))`.
    #[must_use = "the context is returned with the service; use the one returned"]
    pub fn with_service<S: Service + ?Sized>(
        mut self: Box<Self>,
        implementation: Arc<S>,
    ) -> Box<Context> {
        self.services.retain(|(name, _)| *name != S::NAME);
        self.services.push((S::NAME, Box::new(implementation)));
        self
    }

    pub(crate) fn attach_service(&mut self, name: &'static str, proxy: Box<dyn Any + Send + Sync>) {
        self.services.push((name, proxy));
    }

    pub(crate) fn attach_standard(
        &mut self,
        log: Option<crate::logging::Sink>,
        state: Option<Arc<dyn State>>,
        clock: Option<Arc<dyn Clock>>,
    ) {
        if let Some(sink) = &log {
            self.services
                .push((<dyn Log>::NAME, Box::new(sink.log.clone())));
            if let Some(spans) = &sink.spans {
                self.services
                    .push((<dyn Spans>::NAME, Box::new(spans.clone())));
            }
        }
        if let Some(state) = &state {
            self.services
                .push((<dyn State>::NAME, Box::new(state.clone())));
        }
        if let Some(clock) = &clock {
            self.services
                .push((<dyn Clock>::NAME, Box::new(clock.clone())));
        }
        self.log_shared.close();
        self.log_shared = crate::logging::Shared::new(log.as_ref());
        self.log = log;
        self.state = state;
        self.clock = clock;
    }

    /// The name of the operator this context belongs to.
    pub fn operator(&self) -> &str {
        self.operator
    }

    /// The host's identifier of this instance (0 outside a host).
    pub fn instance_id(&self) -> u64 {
        self.instance_id
    }

    /// The host service `S`, which the operator must list in `#[operator(requires = [..])]`
    /// (the standard services `Log`, `State` and `Clock` need not be listed):
    ///
    /// ```
    /// # #[oplink::host_callbacks]
    /// # pub trait Catalog { fn row_count(&self, table: &str) -> oplink::Result<u64>; }
    /// # struct Fixed;
    /// # impl Catalog for Fixed { fn row_count(&self, _: &str) -> oplink::Result<u64> { Ok(3) } }
    /// # let ctx = oplink::Context::new("enrich").with_service::<dyn Catalog>(std::sync::Arc::new(Fixed));
    /// let rows = ctx.service::<dyn Catalog>()?.row_count("orders")?;
    /// # assert_eq!(rows, 3);
    /// # Ok::<(), oplink::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `S` is not in the operator's `requires` (saying to add it), and when the host,
    /// or a unit test's context, has no `S` (in a test: add it with
    /// [`Context::with_service`]).
    #[track_caller]
    pub fn service<S: Service + ?Sized>(&self) -> Result<&S> {
        // No closures below: an error made in one would be located here, not at the caller.
        if let Some((_, service)) = self.services.iter().find(|(name, _)| *name == S::NAME) {
            if self.held_to_requires && !self.declared.contains(&S::NAME) {
                return Err(Error::msg(format!(
                    "the service `{}` is not in this operator's `requires`: add it to `#[operator(requires = [..])]`",
                    S::NAME
                )));
            }
            if let Some(service) = service.downcast_ref::<Arc<S>>() {
                return Ok(&**service);
            }
            return Err(Error::msg(format!(
                "service `{}` of operator `{}` has another type than the one asked for",
                S::NAME,
                self.operator
            )));
        }
        if self.declared.contains(&S::NAME) || (self.instance_id == 0 && !self.held_to_requires) {
            // Declared (so the host was checked to provide it), or outside any host.
            return Err(Error::msg(format!(
                "operator `{}` has no service `{}` here (in a unit test, add it with `Context::with_service`)",
                self.operator,
                S::NAME
            )));
        }
        Err(Error::msg(format!(
            "the service `{}` is not in this operator's `requires`: add it to `#[operator(requires = [..])]`",
            S::NAME
        )))
    }

    /// The instance's state: keys to bytes, private to this instance.
    ///
    /// # Errors
    ///
    /// When the host provides no state service, `oplink.State` (every `oplink-host` host
    /// and [`Context::new`] provide one).
    #[track_caller]
    pub fn state(&self) -> Result<&dyn State> {
        match self.state.as_deref() {
            Some(state) => Ok(state),
            None => Err(Error::msg(format!(
                "the host of operator `{}` provides no state service (`oplink.State`): run it in a host that does, as `oplink run` and every `oplink-host` host do",
                self.operator
            ))),
        }
    }

    /// A handle through which threads the operator spawns log as this instance: their
    /// `tracing` events and spans, while in the handle's scope, reach the host as those of
    /// the instance's calls do (on other threads outside any call they go nowhere), until
    /// the instance goes. See [`LogHandle`](crate::LogHandle).
    pub fn log_handle(&self) -> crate::LogHandle {
        crate::LogHandle(self.log_shared.clone())
    }

    /// The host's current time (the system clock outside a host).
    pub fn now(&self) -> Timestamp {
        match &self.clock {
            Some(clock) => Timestamp(clock.now_nanos()),
            None => Timestamp(SystemClock.now_nanos()),
        }
    }
}

impl<Tail: ?Sized> Drop for Context<Tail> {
    fn drop(&mut self) {
        // The instance's tables go with it: threads holding a `LogHandle` reach them no
        // more (this waits for an event one of them is forwarding).
        self.log_shared.close();
    }
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_nanos(&self) -> i64 {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
    }
}

/// A log that writes each message to standard error (which the test harness shows for a
/// failing test): what [`Context::new`] gives tests as `oplink.Log`. Only calls of the
/// service itself (`ctx.service::<dyn Log>()`) reach it: outside a host no forwarder is
/// installed, so the operator's `tracing` macros in a unit test go to the test process's
/// own subscriber (nowhere, when it has none), [`Context::log_handle`] included.
#[derive(Clone, Copy, Debug, Default)]
pub struct StderrLog;

impl StderrLog {
    fn level_name(level: u8) -> &'static str {
        crate::services::level::to_tracing(level).map_or("OFF", |level| level.as_str())
    }
}

impl Log for StderrLog {
    fn max_level(&self) -> u8 {
        crate::services::level::TRACE
    }

    fn event(&self, event: crate::services::LogEvent) {
        use std::fmt::Write as _;
        let mut line = format!(
            "{} {}: {}",
            Self::level_name(event.level),
            event.target,
            event.message
        );
        for (name, value) in &event.fields {
            let _ = match value {
                FieldValue::I64(v) => write!(line, " {name}={v}"),
                FieldValue::U64(v) => write!(line, " {name}={v}"),
                FieldValue::F64(v) => write!(line, " {name}={v}"),
                FieldValue::Bool(v) => write!(line, " {name}={v}"),
                FieldValue::Str(v) => write!(line, " {name}={v:?}"),
            };
        }
        eprintln!("{line}");
    }

    fn message(&self, level: u8, target: &str, text: &str) {
        eprintln!("{} {target}: {text}", Self::level_name(level));
    }
}

/// State in memory: what [`Context::new`] gives tests as `oplink.State`. (A host keeps an
/// instance's state itself: `oplink-host` in memory per instance, or in its state store.)
#[derive(Debug, Default)]
pub struct MemoryState {
    entries: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryState {
    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        // A panic while the lock was held cannot leave the map half-written: every
        // operation below is one call on the map.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State for MemoryState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.entries().get(key).cloned())
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.entries().insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &[u8]) -> Result<bool> {
        Ok(self.entries().remove(key).is_some())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries> {
        let entries = self.entries();
        Ok(Entries(
            entries
                .range(prefix.to_vec()..)
                .take_while(|(key, _)| key.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host's spans service reaches `ctx.service` like the other standard services (an
    /// operator may list `oplink::services::Spans` in `requires`), when the host has one.
    #[test]
    fn the_hosts_spans_service_is_a_service_of_the_context() {
        struct NoSpans;
        impl Spans for NoSpans {
            fn open(&self, _: crate::services::LogSpan) -> u64 {
                0
            }
            fn record(&self, _: u64, _: crate::services::LogFields) {}
            fn enter(&self, _: u64) {}
            fn exit(&self, _: u64) {}
            fn close(&self, _: u64) {}
        }
        // A context as a host attaches it, with `spans` as the host's spans service.
        let attached = |spans: Option<Arc<dyn Spans>>| {
            let mut ctx = SizedContext::attached("op", 1, vec![<dyn Spans>::NAME]);
            (&mut ctx as &mut Context).attach_standard(
                Some(crate::logging::Sink {
                    log: Arc::new(StderrLog),
                    level: crate::services::level::INFO,
                    spans,
                }),
                None,
                None,
            );
            ctx
        };
        let mut sized = attached(Some(Arc::new(NoSpans)));
        let ctx: &mut Context = &mut sized;
        assert!(ctx.service::<dyn Spans>().is_ok());

        // A host without one (one built before it): the operator's call says so.
        let mut sized = attached(None);
        let ctx: &mut Context = &mut sized;
        assert_eq!(
            ctx.service::<dyn Spans>()
                .err()
                .map(|e| e.to_string())
                .as_deref()
                .unwrap_or("Ok"),
            "operator `op` has no service `oplink.Spans` here (in a unit test, add it with `Context::with_service`)"
        );
    }

    #[test]
    fn memory_state_scans_a_prefix_in_key_order() {
        let state = MemoryState::default();
        for key in ["b/2", "a/1", "b/1", "c", "b"] {
            state.put(key.as_bytes(), key.as_bytes()).unwrap();
        }
        let keys: Vec<_> = state
            .scan_prefix(b"b")
            .unwrap()
            .0
            .into_iter()
            .map(|(k, _)| String::from_utf8(k).unwrap())
            .collect();
        assert_eq!(keys, ["b", "b/1", "b/2"]);
        assert!(state.delete(b"b").unwrap());
        assert!(!state.delete(b"b").unwrap());
        assert_eq!(state.get(b"b").unwrap(), None);
    }

    #[crate::host_callbacks(crate = crate)]
    trait Lookup {
        fn size(&self) -> u64;
    }

    struct Seven;
    impl Lookup for Seven {
        fn size(&self) -> u64 {
            7
        }
    }

    #[test]
    fn asking_for_a_service_outside_a_host_says_how_to_add_it() {
        let ctx = Context::new("enrich");
        let err = ctx.service::<dyn Lookup>().err().unwrap();
        assert_eq!(
            err.to_string(),
            "operator `enrich` has no service `Lookup` here (in a unit test, add it with `Context::with_service`)"
        );
        let ctx = ctx.with_service::<dyn Lookup>(Arc::new(Seven));
        assert_eq!(ctx.service::<dyn Lookup>().unwrap().size(), 7);
        // The standard services are there without being declared.
        assert!(ctx.service::<dyn Clock>().unwrap().now_nanos() > 0);
        let log = ctx.service::<dyn crate::services::Log>().unwrap();
        assert_eq!(log.max_level(), crate::services::level::TRACE);
        log.message(
            crate::services::level::INFO,
            "test",
            "a message to standard error",
        );
        ctx.service::<dyn State>().unwrap().put(b"k", b"v").unwrap();
        assert_eq!(ctx.state().unwrap().get(b"k").unwrap(), Some(b"v".to_vec()));
    }
}
