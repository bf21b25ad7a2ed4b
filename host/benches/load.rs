//! What `Plugin::load` costs over the dynamic loader's own work, for a library that is
//! already mapped (the loader then only counts a reference): a bare `dlopen` + `dlsym` of the
//! same file against the full load — the pre-flight check of its ELF headers, `dlopen` with
//! `RTLD_NOW`, the segment map, the entry symbol and the validation of everything the
//! header says.
//!
//! Run with `cargo bench -p oplink-host --bench load` (it builds the example plugins in
//! release mode first). Target: `plugin_load` ≤ `bare_dlopen_dlsym` + 10 µs.
//! `plugin_load_checked` adds the checked load's child process (issue 10: its cost per file).

use std::path::PathBuf;
use std::sync::OnceLock;

use oplink_host::Plugin;

mod common;

fn main() {
    // Map the libraries once, as a host that has loaded them before would have.
    for path in [threshold(), toolkit()] {
        Plugin::load(path).expect("load plugin");
    }
    divan::main();
}

fn threshold() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| common::release_path(&["threshold", "toolkit"], "threshold"))
}

fn toolkit() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| common::release_path(&["threshold", "toolkit"], "toolkit"))
}

fn bare(path: &PathBuf) -> *const () {
    let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL;
    // SAFETY: an example plugin of this repository, already loaded; its initialisers ran.
    let library = unsafe { libloading::os::unix::Library::open(Some(path), flags) }.unwrap();
    // SAFETY: only the symbol's address is read.
    let entry = *unsafe { library.get::<*const ()>(b"oplink_plugin_v2\0") }.unwrap();
    // Like `Plugin::load`, keep the handle: libraries are never closed.
    std::mem::forget(library);
    entry
}

/// `dlopen` + `dlsym` of the entry symbol: the floor.
#[divan::bench(args = ["threshold", "toolkit"])]
fn bare_dlopen_dlsym(name: &str) -> *const () {
    bare(if name == "threshold" {
        threshold()
    } else {
        toolkit()
    })
}

/// `Plugin::load`: everything above, plus the checks.
#[divan::bench(args = ["threshold", "toolkit"])]
fn plugin_load(name: &str) -> Plugin {
    Plugin::load(if name == "threshold" {
        threshold()
    } else {
        toolkit()
    })
    .unwrap()
}

/// `Plugin::load_checked`: a `fork`ed child opens and validates the library first, the
/// parent waits for it, then loads as `plugin_load` does. The difference is the check's
/// cost per file.
#[divan::bench(args = ["threshold", "toolkit"], sample_count = 30, sample_size = 1)]
fn plugin_load_checked(name: &str) -> Plugin {
    Plugin::load_checked(if name == "threshold" {
        threshold()
    } else {
        toolkit()
    })
    .unwrap()
}
