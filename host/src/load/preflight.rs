//! Checks a library file before `dlopen` sees it, reading only its ELF headers.
//!
//! The dynamic loader maps a library's segments straight from the file. If the file is
//! shorter than its own headers say (a truncated copy, a build interrupted halfway), the
//! mapping extends past the end of the file and touching it raises `SIGBUS`, which kills the
//! host. So for ELF files we check, before loading, that every segment and header table lies
//! inside the file, and that the file is built for this machine (the loader's own message
//! for that, "wrong ELF class", names no architecture). Other formats are left to the
//! platform's loader.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};

/// The ELF machine of this host, and its name.
const HOST_MACHINE: (u16, &str) = host_machine();

const fn host_machine() -> (u16, &'static str) {
    if cfg!(target_arch = "x86_64") {
        (62, "x86_64")
    } else if cfg!(target_arch = "aarch64") {
        (183, "aarch64")
    } else if cfg!(target_arch = "x86") {
        (3, "x86")
    } else if cfg!(target_arch = "arm") {
        (40, "arm")
    } else if cfg!(target_arch = "riscv64") {
        (243, "riscv64")
    } else if cfg!(target_arch = "powerpc64") {
        (21, "powerpc64")
    } else if cfg!(target_arch = "s390x") {
        (22, "s390x")
    } else {
        (0, std::env::consts::ARCH)
    }
}

fn machine_name(machine: u16) -> String {
    match machine {
        3 => "x86".to_owned(),
        8 => "mips".to_owned(),
        20 => "powerpc".to_owned(),
        21 => "powerpc64".to_owned(),
        22 => "s390x".to_owned(),
        40 => "arm".to_owned(),
        62 => "x86_64".to_owned(),
        183 => "aarch64".to_owned(),
        243 => "riscv".to_owned(),
        258 => "loongarch".to_owned(),
        other => format!("ELF machine {other}"),
    }
}

/// Device, inode, size, and the times of the last change of content and of metadata.
#[cfg(unix)]
type Identity = (u64, u64, u64, i64, i64, i64, i64);

/// The identity of a file's content as `stat` tells it: a file that passed once and has
/// this identity still is the file that passed (a rewrite or a copy changes it).
#[cfg(unix)]
fn identity(metadata: &std::fs::Metadata) -> Identity {
    use std::os::unix::fs::MetadataExt;
    (
        metadata.dev(),
        metadata.ino(),
        metadata.len(),
        metadata.mtime(),
        metadata.mtime_nsec(),
        metadata.ctime(),
        metadata.ctime_nsec(),
    )
}

/// Files that passed, by identity: loading the same library again reads no headers.
#[cfg(unix)]
fn passed() -> &'static Mutex<HashSet<Identity>> {
    static PASSED: OnceLock<Mutex<HashSet<Identity>>> = OnceLock::new();
    PASSED.get_or_init(Default::default)
}

/// Validates what can be validated of `path` without loading it.
pub fn check(path: &Path) -> Result<()> {
    if path.as_os_str().is_empty() {
        // `dlopen("")` opens the program itself, whose operators (if it links any) would
        // come back as the library's.
        return Err(Error::EmptyPath);
    }
    let Ok(metadata) = std::fs::metadata(path) else {
        return Ok(()); // let the loader report the missing file in its own words
    };
    #[cfg(unix)]
    {
        let identity = identity(&metadata);
        let mut passed = passed().lock().unwrap_or_else(|e| e.into_inner());
        if passed.contains(&identity) {
            return Ok(());
        }
        drop(passed);
        check_headers(path, &metadata)?;
        passed = self::passed().lock().unwrap_or_else(|e| e.into_inner());
        passed.insert(identity);
        Ok(())
    }
    #[cfg(not(unix))]
    check_headers(path, &metadata)
}

fn wrong_target_of(path: &Path, detail: String) -> Error {
    Error::WrongTarget {
        path: path.to_owned(),
        detail,
    }
}

/// What a file that is no library starts with, in words: its text when its first bytes are
/// text (a CSV file, a linker script), else those bytes in hexadecimal.
fn starts_with(head: &[u8]) -> String {
    if head.is_empty() {
        return "it is empty".to_owned();
    }
    let text: String = String::from_utf8_lossy(head)
        .chars()
        .take_while(|c| *c != '\n' && *c != '\r')
        .take(24)
        .collect();
    if !text.is_empty() && text.chars().all(|c| !c.is_control() && c != '\u{fffd}') {
        return format!("it starts with `{}`", text.trim_end());
    }
    let bytes: Vec<String> = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!(
        "its first bytes are {}, not an ELF header's",
        bytes.join(" ")
    )
}

fn check_headers(path: &Path, metadata: &std::fs::Metadata) -> Result<()> {
    let truncated = |detail: String| Error::Truncated {
        path: path.to_owned(),
        detail,
    };
    if !metadata.is_file() {
        return Err(Error::NotAFile {
            path: path.to_owned(),
        });
    }
    let len = metadata.len();
    let unreadable = |e: std::io::Error| Error::Unreadable {
        path: path.to_owned(),
        reason: crate::error::io_words(&e),
    };
    let mut file = File::open(path).map_err(unreadable)?;
    let mut ident = [0u8; 64];
    let got = read_up_to(&mut file, &mut ident).map_err(unreadable)?;
    let ident = &ident[..got];
    if ident.starts_with(b"!<arch>\n") || ident.starts_with(b"!<thin>\n") {
        return Err(Error::WrongTarget {
            path: path.to_owned(),
            detail: "it is a static archive (a Rust `.rlib`, or a C `.a`), not a shared library: build a Rust plugin with `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in its Cargo.toml (and load the `.so`), a C one with `-shared -fPIC`".to_owned(),
        });
    }
    if !ident.starts_with(b"\x7fELF") {
        // Linux loads ELF files alone: said with what the file starts with, where the loader
        // says "file too short" or "invalid ELF header". Elsewhere its own checks apply.
        if cfg!(target_os = "linux") {
            return Err(wrong_target_of(
                path,
                format!("it is not a shared library at all ({})", starts_with(ident)),
            ));
        }
        return Ok(());
    }
    // The identification bytes (class, byte order, version) end at 16.
    if ident.len() < 16 {
        return Err(truncated(format!(
            "the file ends at {len} bytes, inside its own ELF header"
        )));
    }
    let class = ident.get(4).copied().unwrap_or(0);
    let data = ident.get(5).copied().unwrap_or(0);
    let host_class = if cfg!(target_pointer_width = "64") {
        2
    } else {
        1
    };
    let host_data = if cfg!(target_endian = "little") { 1 } else { 2 };
    let wrong_target = |detail: String| Error::WrongTarget {
        path: path.to_owned(),
        detail,
    };
    if class != host_class {
        let bits = |class: u8| match class {
            1 => "32-bit",
            2 => "64-bit",
            _ => "unknown-width",
        };
        let article = if class == 1 || class == 2 { "a" } else { "an" };
        return Err(wrong_target(format!(
            "it is {article} {} library and this host is {} {}",
            bits(class),
            bits(host_class),
            HOST_MACHINE.1
        )));
    }
    if data != host_data {
        return Err(wrong_target("its byte order is not this host's".to_owned()));
    }
    let short = || format!("the file ends at {len} bytes, inside its own ELF header");
    if class != 2 || data != 1 {
        return Ok(()); // 32-bit or big-endian hosts: the loader's own checks apply
    }
    let u16_at = |at: usize| -> Option<u64> {
        Some(u16::from_le_bytes(ident.get(at..at + 2)?.try_into().ok()?).into())
    };
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(ident.get(at..at + 8)?.try_into().ok()?))
    };
    let machine = u16_at(0x12).ok_or_else(|| truncated(short()))? as u16;
    if HOST_MACHINE.0 != 0 && machine != HOST_MACHINE.0 {
        return Err(wrong_target(format!(
            "it was built for {}, and this host is {}",
            machine_name(machine),
            HOST_MACHINE.1
        )));
    }
    let phoff = u64_at(0x20).ok_or_else(|| truncated(short()))?;
    let shoff = u64_at(0x28).ok_or_else(|| truncated(short()))?;
    let phentsize = u16_at(0x36).ok_or_else(|| truncated(short()))?;
    let phnum = u16_at(0x38).ok_or_else(|| truncated(short()))?;
    let shentsize = u16_at(0x3a).ok_or_else(|| truncated(short()))?;
    let shnum = u16_at(0x3c).ok_or_else(|| truncated(short()))?;
    let table_end = |off: u64, size: u64, n: u64| off.checked_add(size.checked_mul(n)?);
    let ph_end = table_end(phoff, phentsize, phnum)
        .ok_or_else(|| truncated("its program header table overflows".to_owned()))?;
    if ph_end > len {
        return Err(truncated(format!(
            "its program headers end at byte {ph_end}, but the file has {len} bytes"
        )));
    }
    if shoff != 0 {
        let sh_end = table_end(shoff, shentsize, shnum)
            .ok_or_else(|| truncated("its section header table overflows".to_owned()))?;
        if sh_end > len {
            return Err(truncated(format!(
                "its section headers end at byte {sh_end}, but the file has {len} bytes"
            )));
        }
    }
    if phentsize < 0x28 || phnum == 0 {
        return Ok(());
    }
    // The program headers: a few hundred bytes, read in one go.
    let mut headers = vec![0u8; (phentsize * phnum) as usize];
    file.seek(SeekFrom::Start(phoff))
        .and_then(|_| file.read_exact(&mut headers))
        .map_err(|e| truncated(format!("cannot read its program headers: {e}")))?;
    for (i, header) in headers.chunks_exact(phentsize as usize).enumerate() {
        let field = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().unwrap_or([0; 8]));
        let (offset, filesz) = (field(8), field(0x20));
        let end = offset
            .checked_add(filesz)
            .ok_or_else(|| truncated(format!("segment {i}'s extent overflows")))?;
        if end > len {
            return Err(truncated(format!(
                "segment {i} ends at byte {end}, but the file has {len} bytes"
            )));
        }
    }
    Ok(())
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
