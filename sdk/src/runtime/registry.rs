//! The descriptors of a library's operators, and the typed constructor the macro fills them
//! with.

use crate::abi::{
    self, ApplyFn, CreateFn, DestroyFn, FlushStateFn, OperatorDescriptor, OperatorVTable, PullFn,
    RestoreFn, ServiceRequirement, SnapshotFn, StrView, TickFn,
};

use super::OperatorImpl;
use super::thunks;

/// The vtable of `T`: every slot filled.
pub const fn vtable<T: OperatorImpl>() -> OperatorVTable {
    OperatorVTable {
        size: size_of::<OperatorVTable>() as u32,
        reserved: 0,
        create: Some(CreateFn(thunks::create::<T>)),
        destroy: Some(DestroyFn(thunks::destroy::<T>)),
        apply: Some(ApplyFn(thunks::apply::<T>)),
        pull: Some(PullFn(thunks::pull::<T>)),
        tick: Some(TickFn(thunks::tick::<T>)),
        flush_state: Some(FlushStateFn(thunks::flush_state::<T>)),
        snapshot: Some(SnapshotFn(thunks::snapshot::<T>)),
        restore: Some(RestoreFn(thunks::restore::<T>)),
    }
}

/// The descriptor of operator `T`. `implemented` holds the `IMPLEMENTS_*` bits of the
/// methods its author wrote; `panic_unwind` is `cfg!(panic = "unwind")` as evaluated in the
/// crate that defines the operator; `requires` lists the standard services and the ones it
/// declared.
pub const fn descriptor<T: OperatorImpl>(
    version: &'static str,
    description: &'static str,
    implemented: u32,
    panic_unwind: bool,
    vtable: &'static OperatorVTable,
    requires: &'static [ServiceRequirement],
) -> OperatorDescriptor {
    OperatorDescriptor {
        size: size_of::<OperatorDescriptor>() as u32,
        implemented,
        name: StrView::from_static(T::NAME),
        version: StrView::from_static(version),
        description: StrView::from_static(description),
        vtable,
        requires: requires.as_ptr(),
        requires_count: requires.len(),
        panic_strategy: if panic_unwind {
            abi::PANIC_UNWIND
        } else {
            abi::PANIC_ABORT
        },
        reserved: 0,
    }
}

/// The stand-in vtable of a type that is not an operator (the expansion reports why at the
/// type, so this is never compiled into a library).
pub const PLACEHOLDER_VTABLE: OperatorVTable = OperatorVTable {
    size: 0,
    reserved: 0,
    create: None,
    destroy: None,
    apply: None,
    pull: None,
    tick: None,
    flush_state: None,
    snapshot: None,
    restore: None,
};

/// The stand-in descriptor of a type that is not an operator (the expansion reports why at
/// the type, so this is never compiled into a library).
pub const PLACEHOLDER_DESCRIPTOR: OperatorDescriptor = OperatorDescriptor {
    size: 0,
    implemented: 0,
    name: StrView::from_static(""),
    version: StrView::from_static(""),
    description: StrView::from_static(""),
    vtable: std::ptr::null(),
    requires: std::ptr::null(),
    requires_count: 0,
    panic_strategy: 0,
    reserved: 0,
};

/// An entry of `OPERATORS`: one operator's descriptor.
#[derive(Debug)]
#[repr(transparent)]
pub struct Registration(pub &'static OperatorDescriptor);

/// Every operator linked into this library, registered by the `#[operator]` expansions.
#[linkme::distributed_slice]
pub static OPERATORS: [Registration];

/// The services that the operators called `name` linked into this binary list in their
/// `requires` (the standard ones included), or `None` when no such operator is linked: what
/// a unit test's [`Context::new`](crate::Context::new) holds its operator to.
pub(crate) fn declared_services(name: &str) -> Option<Vec<&'static str>> {
    let mut found: Option<Vec<&'static str>> = None;
    for Registration(descriptor) in OPERATORS.iter() {
        // SAFETY: a registered descriptor is a static (`OPERATORS` holds `&'static`s), and
        // its name a view of a `'static` string (or empty): the `#[operator]` expansion
        // writes them so, and `as_bytes` reads an empty or null view as no bytes.
        let own: &'static [u8] = unsafe { descriptor.name.as_bytes() };
        let requires = if descriptor.requires.is_null() || descriptor.requires_count == 0 {
            &[][..]
        } else {
            // SAFETY: a non-null list of `requires_count` requirements in a static array,
            // as the expansion writes it.
            unsafe { std::slice::from_raw_parts(descriptor.requires, descriptor.requires_count) }
        };
        if own != name.as_bytes() {
            continue;
        }
        let list = found.get_or_insert_with(Vec::new);
        for requirement in requires {
            // SAFETY: as above: a `'static` name written from a `&'static str`.
            let bytes: &'static [u8] = unsafe { requirement.name.as_bytes() };
            if let Ok(service) = std::str::from_utf8(bytes) {
                list.push(service);
            }
        }
    }
    found
}
