//! `c_filter`, an oplink operator written in C (`filter.c`) against `oplink.h` alone. This
//! crate only builds it: its build script runs the system C compiler, and these constants
//! say where the libraries are.
//!
//! ```text
//! let plugin = oplink_host::Plugin::load(c_operator::LIBRARY)?;
//! assert_eq!(plugin.operators().next().unwrap().name(), "c_filter");
//! ```

/// The library built against the current ABI minor.
pub const LIBRARY: &str = concat!(env!("OUT_DIR"), "/libc_filter.so");

/// The same library built against ABI 2.0 (`-DOPLINK_BUILD_MINOR=0`): smaller descriptors,
/// header minor 0.
pub const LIBRARY_MINOR_0: &str = concat!(env!("OUT_DIR"), "/libc_filter_v2_0.so");
