//! What both macros share.

pub mod attr;
pub mod cfg;
pub mod debug;
pub mod errors;
pub mod sig;
pub mod span;
pub mod suggest;
pub mod types;
