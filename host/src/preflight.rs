//! Checks a library file before `dlopen` sees it.
//!
//! The dynamic loader maps a library's segments straight from the file. If the file is
//! shorter than its own headers say (a truncated copy, a build interrupted halfway), the
//! mapping extends past the end of the file and touching it raises `SIGBUS`, which kills
//! the host. So for ELF files we check, before loading, that every segment and header table
//! lies inside the file. Other formats are left to the platform's loader.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Validates what can be validated of `path` without loading it.
pub fn check(path: &Path) -> Result<()> {
    let invalid = |detail: String| Error::Truncated {
        path: path.to_owned(),
        detail,
    };
    let Ok(metadata) = std::fs::metadata(path) else {
        return Ok(()); // let the loader report the missing file in its own words
    };
    if !metadata.is_file() {
        return Err(Error::NotAFile {
            path: path.to_owned(),
        });
    }
    let mut file = File::open(path).map_err(|e| invalid(format!("cannot read it: {e}")))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| invalid(format!("cannot read it: {e}")))?;
    elf64_fits(&bytes).map_err(invalid)
}

fn u16_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?).into())
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// For a little-endian 64-bit ELF file: every table and segment lies within the file.
fn elf64_fits(b: &[u8]) -> std::result::Result<(), String> {
    if !b.starts_with(b"\x7fELF") || b.get(4) != Some(&2) || b.get(5) != Some(&1) {
        return Ok(()); // not ELF64 LE: the loader's own checks apply
    }
    let len = b.len() as u64;
    let short = || format!("the file ends at {len} bytes, inside its own ELF header");
    let phoff = u64_at(b, 0x20).ok_or_else(short)?;
    let shoff = u64_at(b, 0x28).ok_or_else(short)?;
    let phentsize = u16_at(b, 0x36).ok_or_else(short)?;
    let phnum = u16_at(b, 0x38).ok_or_else(short)?;
    let shentsize = u16_at(b, 0x3a).ok_or_else(short)?;
    let shnum = u16_at(b, 0x3c).ok_or_else(short)?;
    let table_end = |off: u64, size: u64, n: u64| off.checked_add(size.checked_mul(n)?);
    let ph_end = table_end(phoff, phentsize, phnum).ok_or("its program header table overflows")?;
    if ph_end > len {
        return Err(format!(
            "its program headers end at byte {ph_end}, but the file has {len} bytes"
        ));
    }
    for i in 0..phnum {
        let at = (phoff + i * phentsize) as usize;
        let (offset, filesz) = (
            u64_at(b, at + 8).unwrap_or(0),
            u64_at(b, at + 0x20).unwrap_or(0),
        );
        let end = offset
            .checked_add(filesz)
            .ok_or("a segment's extent overflows")?;
        if end > len {
            return Err(format!(
                "segment {i} ends at byte {end}, but the file has {len} bytes"
            ));
        }
    }
    if shoff != 0 {
        let sh_end =
            table_end(shoff, shentsize, shnum).ok_or("its section header table overflows")?;
        if sh_end > len {
            return Err(format!(
                "its section headers end at byte {sh_end}, but the file has {len} bytes"
            ));
        }
    }
    Ok(())
}
