//! Following the quotes of a CSV file, to tell a quote never closed: a reader takes the rest
//! of the file into its field without a word.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;

use super::csv_errors::record_start;
use super::file::BOM;

/// The line (from 1) of `path` that holds byte `offset` (from the file's start).
pub(super) fn line_at(path: &Path, offset: u64) -> u64 {
    let Ok(file) = File::open(path) else {
        return 1;
    };
    let mut before = file.take(offset);
    let (mut line, mut chunk) = (1, vec![0; 1 << 16]);
    while let Ok(n @ 1..) = before.read(&mut chunk) {
        line += memchr::memchr_iter(b'\n', &chunk[..n]).count() as u64;
    }
    line
}

/// What a field-count error means when the record holds a quote never closed.
pub(super) const UNCLOSED_QUOTE: &str = "a field opened with `\"` is never closed: the quote runs to the end of the file, so this line took in the rest of it";

/// Whether record `record` (counted as [`record_start`] counts) opens a quote that is never
/// closed: it is the file's last (the quote took in the rest), and the quotes from its
/// start to the end of the file leave one open.
pub(super) fn unclosed_quote(path: &Path, delimiter: u8, record: u64) -> bool {
    let Some((start, true)) = record_start(path, delimiter, record) else {
        return false;
    };
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let mut quotes = Quotes::new(delimiter);
    let mut chunk = vec![0; 1 << 16];
    if file.seek(std::io::SeekFrom::Start(start)).is_err() {
        return false;
    }
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => quotes.feed(&chunk[..n]),
            Err(_) => return false,
        }
    }
    quotes.open().is_some()
}

/// Where the quoted fields of CSV text open and close, followed through its bytes in order
/// (a field is quoted when a `"` starts it; `""` inside is a quote; a `"` elsewhere is
/// text): a quote opened and never closed makes a reader take the rest of the file as one
/// field, with no error of its own.
#[derive(Debug)]
pub(super) struct Quotes {
    delimiter: u8,
    state: QuoteState,
    /// The byte before the bytes fed next (the start counts as a line break).
    last: u8,
    /// Bytes fed so far.
    fed: u64,
    /// Where the quote still open opened, in bytes from the start.
    opened: u64,
    /// Whether the end of the file was reached.
    pub(super) ended: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum QuoteState {
    Outside,
    Inside,
    /// Just past a `"` inside a quoted field: a second `"` is a quote, anything else ends
    /// the quoting.
    Closing,
}

impl Quotes {
    pub(super) fn new(delimiter: u8) -> Quotes {
        Quotes {
            delimiter,
            state: QuoteState::Outside,
            last: b'\n',
            fed: 0,
            opened: 0,
            ended: false,
        }
    }

    pub(super) fn feed(&mut self, bytes: &[u8]) {
        // A byte-order mark is no part of the first field.
        let skip = if self.fed == 0 && bytes.starts_with(BOM.as_bytes()) {
            BOM.len()
        } else {
            0
        };
        let mut i = skip;
        while i < bytes.len() {
            match self.state {
                QuoteState::Outside => {
                    let Some(k) = memchr::memchr(b'"', &bytes[i..]) else {
                        break;
                    };
                    let at = i + k;
                    let before = if at > skip {
                        bytes[at - 1]
                    } else if skip > 0 {
                        b'\n'
                    } else {
                        self.last
                    };
                    if before == self.delimiter || before == b'\n' || before == b'\r' {
                        self.state = QuoteState::Inside;
                        self.opened = self.fed + at as u64;
                    }
                    i = at + 1;
                }
                QuoteState::Inside => {
                    let Some(k) = memchr::memchr(b'"', &bytes[i..]) else {
                        break;
                    };
                    self.state = QuoteState::Closing;
                    i += k + 1;
                }
                QuoteState::Closing => {
                    self.state = if bytes[i] == b'"' {
                        QuoteState::Inside
                    } else {
                        QuoteState::Outside
                    };
                    i += 1;
                }
            }
        }
        if bytes.len() > skip {
            self.last = bytes[bytes.len() - 1];
        }
        self.fed += bytes.len() as u64;
    }

    /// Where a quote opened that is still open, in bytes from the start.
    pub(super) fn open(&self) -> Option<u64> {
        (self.state == QuoteState::Inside).then_some(self.opened)
    }
}
