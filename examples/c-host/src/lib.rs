//! `c-host`, an oplink host written in C (`host.c`) against `oplink.h` and `docs/abi.md`
//! alone. This crate only builds it: its build script runs the system C compiler, and this
//! constant says where the executable is.
//!
//! ```text
//! c-host LIBRARY                    # lists the library's operators
//! c-host LIBRARY OPERATOR CONFIG    # creates OPERATOR with the JSON CONFIG, applies two
//!                                   # example changes, prints what comes back, destroys it
//! ```

/// The executable.
pub const EXECUTABLE: &str = concat!(env!("OUT_DIR"), "/c-host");
