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

/// Files that passed, by identity: loading the same library again reads no headers. Taken
/// only under the loader's lock (`super::LOADER`): the child of a checked load, forked with
/// that lock held, takes it too.
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

fn truncated_of(path: &Path, detail: String) -> Error {
    Error::Truncated {
        path: path.to_owned(),
        detail,
    }
}

/// A file that ends inside its own ELF header, at `len` bytes.
fn inside_header(path: &Path, len: u64) -> Error {
    truncated_of(
        path,
        format!("the file ends at {len} bytes, inside its own ELF header"),
    )
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

/// The pre-flight check of a library file's headers, step by step: it is a regular file
/// (not a folder or a pipe) and readable, it is an ELF file and no archive (see
/// [`check_format`]), of this host's width and byte order (see [`check_identification`])
/// and machine (see [`check_machine`]), and its header tables (see [`check_tables`]) and
/// segments (see [`check_segments`]) lie inside the file. Only 64-bit little-endian files
/// are read past their identification bytes; for others the loader's own checks apply.
fn check_headers(path: &Path, metadata: &std::fs::Metadata) -> Result<()> {
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
    // The file's first bytes: the whole ELF header of a 64-bit file.
    let mut head = [0u8; 64];
    let got = read_up_to(&mut file, &mut head).map_err(unreadable)?;
    let head = &head[..got];
    if !check_format(path, head)? || !check_identification(path, head, len)? {
        return Ok(());
    }
    check_machine(path, head, len)?;
    let header = ElfHeader::read(head).ok_or_else(|| inside_header(path, len))?;
    check_tables(path, &header, len)?;
    check_segments(path, &mut file, &header, len)
}

/// Refuses a static archive, and on Linux any file that is not ELF, saying what it starts
/// with. `Ok(true)` for an ELF file; `Ok(false)` for another format elsewhere, which the
/// platform's loader judges.
fn check_format(path: &Path, head: &[u8]) -> Result<bool> {
    if head.starts_with(b"!<arch>\n") || head.starts_with(b"!<thin>\n") {
        return Err(Error::WrongTarget {
            path: path.to_owned(),
            detail: "it is a static archive (a Rust `.rlib`, or a C `.a`), not a shared library: build a Rust plugin with `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in its Cargo.toml (and load the `.so`), a C one with `-shared -fPIC`".to_owned(),
        });
    }
    if !head.starts_with(b"\x7fELF") {
        // Linux loads ELF files alone: said with what the file starts with, where the loader
        // says "file too short" or "invalid ELF header". Elsewhere its own checks apply.
        if cfg!(target_os = "linux") {
            return Err(wrong_target_of(
                path,
                format!("it is not a shared library at all ({})", starts_with(head)),
            ));
        }
        return Ok(false);
    }
    Ok(true)
}

/// Checks the ELF identification bytes: the file does not end inside them, and its class
/// (32- or 64-bit) and byte order are this host's. `Ok(true)` when the rest of the header
/// is one this check reads (64-bit little-endian), `Ok(false)` when the loader's own checks
/// apply (32-bit or big-endian hosts).
fn check_identification(path: &Path, head: &[u8], len: u64) -> Result<bool> {
    // The identification bytes (class, byte order, version) end at 16.
    if head.len() < 16 {
        return Err(inside_header(path, len));
    }
    let class = head.get(4).copied().unwrap_or(0);
    let data = head.get(5).copied().unwrap_or(0);
    let host_class = if cfg!(target_pointer_width = "64") {
        2
    } else {
        1
    };
    let host_data = if cfg!(target_endian = "little") { 1 } else { 2 };
    if class != host_class {
        let bits = |class: u8| match class {
            1 => "32-bit",
            2 => "64-bit",
            _ => "unknown-width",
        };
        let article = if class == 1 || class == 2 { "a" } else { "an" };
        return Err(wrong_target_of(
            path,
            format!(
                "it is {article} {} library and this host is {} {}",
                bits(class),
                bits(host_class),
                HOST_MACHINE.1
            ),
        ));
    }
    if data != host_data {
        return Err(wrong_target_of(
            path,
            "its byte order is not this host's".to_owned(),
        ));
    }
    Ok(class == 2 && data == 1)
}

/// Checks that a 64-bit little-endian file is built for this host's machine, naming the
/// machine it is built for (when this host's ELF machine is known).
fn check_machine(path: &Path, head: &[u8], len: u64) -> Result<()> {
    let machine = u16_at(head, 0x12).ok_or_else(|| inside_header(path, len))? as u16;
    if HOST_MACHINE.0 != 0 && machine != HOST_MACHINE.0 {
        return Err(wrong_target_of(
            path,
            format!(
                "it was built for {}, and this host is {}",
                machine_name(machine),
                HOST_MACHINE.1
            ),
        ));
    }
    Ok(())
}

/// The fields of a 64-bit little-endian ELF header that locate its program and section
/// header tables.
struct ElfHeader {
    phoff: u64,
    shoff: u64,
    phentsize: u64,
    phnum: u64,
    shentsize: u64,
    shnum: u64,
}

impl ElfHeader {
    /// The fields, read from the file's first bytes; `None` when the file ends before them.
    fn read(head: &[u8]) -> Option<ElfHeader> {
        Some(ElfHeader {
            phoff: u64_at(head, 0x20)?,
            shoff: u64_at(head, 0x28)?,
            phentsize: u16_at(head, 0x36)?,
            phnum: u16_at(head, 0x38)?,
            shentsize: u16_at(head, 0x3a)?,
            shnum: u16_at(head, 0x3c)?,
        })
    }
}

/// Checks that the program header table, and the section header table when there is one,
/// end inside the file (and that computing where they end does not overflow).
fn check_tables(path: &Path, header: &ElfHeader, len: u64) -> Result<()> {
    let table_end = |off: u64, size: u64, n: u64| off.checked_add(size.checked_mul(n)?);
    let ph_end = table_end(header.phoff, header.phentsize, header.phnum)
        .ok_or_else(|| truncated_of(path, "its program header table overflows".to_owned()))?;
    if ph_end > len {
        return Err(truncated_of(
            path,
            format!("its program headers end at byte {ph_end}, but the file has {len} bytes"),
        ));
    }
    if header.shoff != 0 {
        let sh_end = table_end(header.shoff, header.shentsize, header.shnum)
            .ok_or_else(|| truncated_of(path, "its section header table overflows".to_owned()))?;
        if sh_end > len {
            return Err(truncated_of(
                path,
                format!("its section headers end at byte {sh_end}, but the file has {len} bytes"),
            ));
        }
    }
    Ok(())
}

/// Reads the program headers and checks that every segment's part in the file (its offset
/// and file size) ends inside the file: the loader maps it from there. Nothing to check
/// when there are no program headers, or when they are too short to hold those fields.
fn check_segments(path: &Path, file: &mut File, header: &ElfHeader, len: u64) -> Result<()> {
    let ElfHeader {
        phoff,
        phentsize,
        phnum,
        ..
    } = *header;
    if phentsize < 0x28 || phnum == 0 {
        return Ok(());
    }
    // The program headers: a few hundred bytes, read in one go.
    let mut headers = vec![0u8; (phentsize * phnum) as usize];
    file.seek(SeekFrom::Start(phoff))
        .and_then(|_| file.read_exact(&mut headers))
        .map_err(|e| truncated_of(path, format!("cannot read its program headers: {e}")))?;
    for (i, header) in headers.chunks_exact(phentsize as usize).enumerate() {
        let field = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().unwrap_or([0; 8]));
        let (offset, filesz) = (field(8), field(0x20));
        let end = offset
            .checked_add(filesz)
            .ok_or_else(|| truncated_of(path, format!("segment {i}'s extent overflows")))?;
        if end > len {
            return Err(truncated_of(
                path,
                format!("segment {i} ends at byte {end}, but the file has {len} bytes"),
            ));
        }
    }
    Ok(())
}

/// The little-endian `u16` at byte `at` of the file's first bytes, if they reach past it.
fn u16_at(head: &[u8], at: usize) -> Option<u64> {
    Some(u16::from_le_bytes(head.get(at..at + 2)?.try_into().ok()?).into())
}

/// The little-endian `u64` at byte `at` of the file's first bytes, if they reach past it.
fn u64_at(head: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(head.get(at..at + 8)?.try_into().ok()?))
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
