//! The file under a reader: opened, read past a byte-order mark, its bytes counted for the
//! progress bar.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{CliError, Result};

use super::quotes::Quotes;

/// The UTF-8 byte-order mark some editors put first in a text file.
pub(crate) const BOM: &str = "\u{feff}";

/// `text` without a byte-order mark first.
pub(crate) fn without_bom(text: String) -> String {
    match text.strip_prefix(BOM) {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

/// A file read from after its UTF-8 byte-order mark, if it starts with one (as files saved
/// by some Windows editors do): positions count from there, so rewinding goes back to it.
pub(super) struct AfterBom {
    file: File,
    start: u64,
}

impl AfterBom {
    pub(super) fn new(mut file: File) -> std::io::Result<AfterBom> {
        let mut head = [0u8; 3];
        let read = file.read(&mut head)?;
        let start = if head[..read] == *BOM.as_bytes() {
            3
        } else {
            0
        };
        file.seek(std::io::SeekFrom::Start(start))?;
        Ok(AfterBom { file, start })
    }
}

impl Read for AfterBom {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}

impl Seek for AfterBom {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let to = match to {
            std::io::SeekFrom::Start(n) => std::io::SeekFrom::Start(n + self.start),
            other => other,
        };
        let at = self.file.seek(to)?;
        Ok(at.saturating_sub(self.start))
    }
}

/// A reader that counts the bytes it has read (and, for CSV, follows its quotes).
pub(super) struct Counting<R> {
    pub(super) inner: R,
    pub(super) read: Arc<AtomicU64>,
    pub(super) quotes: Option<Arc<std::sync::Mutex<Quotes>>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(quotes) = &self.quotes {
            let mut quotes = quotes.lock().unwrap_or_else(|e| e.into_inner());
            quotes.feed(&buf[..n]);
            // Nothing read into room for something: the end of the file.
            quotes.ended |= n == 0 && !buf.is_empty();
        }
        Ok(n)
    }
}

pub(super) fn open(path: &Path) -> Result<File> {
    let file = File::open(path).map_err(|e| CliError::io("read", path, e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(CliError::Usage(format!(
            "`{}` is a folder, not a data file",
            path.display()
        )));
    }
    Ok(file)
}
