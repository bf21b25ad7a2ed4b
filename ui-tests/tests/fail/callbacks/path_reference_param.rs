use std::path::Path;

// A path has no by-value form that crosses (`Path` is unsized, `PathBuf` is no service
// type): the message says to pass its text.
#[oplink::host_callbacks]
pub trait Files {
    fn size(&self, path: &Path) -> u64;
    fn exists(&self, name: &std::ffi::OsStr) -> bool;
}

fn main() {}
