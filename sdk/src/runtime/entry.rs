//! The library's entry symbol and the header behind it.

use std::sync::OnceLock;

use crate::abi::{self, OperatorDescriptor, PluginHeader, StrView};

use super::OPERATORS;

struct Header(PluginHeader);

// SAFETY: built once and never written afterwards; every pointer in it targets immutable
// statics (the layout table, string literals, the registered descriptors).
unsafe impl Sync for Header {}
// SAFETY: as above.
unsafe impl Send for Header {}

static HEADER: OnceLock<Header> = OnceLock::new();

fn build() -> Header {
    // `Registration` is a transparent `&'static OperatorDescriptor`: the registry is already
    // the array of descriptor pointers the header lists.
    let operators: *const *const OperatorDescriptor = OPERATORS.as_ptr().cast();
    Header(PluginHeader {
        magic: abi::MAGIC,
        size: size_of::<PluginHeader>() as u32,
        abi_major: abi::ABI_MAJOR,
        abi_minor: abi::ABI_MINOR,
        layout_fingerprint: abi::LAYOUT_FINGERPRINT,
        layouts: abi::LAYOUTS.as_ptr(),
        layout_count: abi::LAYOUTS.len(),
        oplink_version: StrView::from_static(env!("CARGO_PKG_VERSION")),
        rustc_version: StrView::from_static(env!("OPLINK_RUSTC_VERSION")),
        target: StrView::from_static(env!("OPLINK_TARGET")),
        profile: StrView::from_static(env!("OPLINK_PROFILE")),
        panic_strategy: if cfg!(panic = "unwind") {
            abi::PANIC_UNWIND
        } else {
            abi::PANIC_ABORT
        },
        reserved: 0,
        operators: if OPERATORS.is_empty() {
            std::ptr::null()
        } else {
            operators
        },
        operator_count: OPERATORS.len(),
    })
}

/// The library's entry symbol ([`abi::ENTRY_SYMBOL`]): returns the static header. It runs
/// none of the operators' code.
#[unsafe(no_mangle)]
pub extern "C" fn oplink_plugin_v2() -> *const PluginHeader {
    crate::trampoline::install_panic_hook();
    &HEADER.get_or_init(build).0
}
