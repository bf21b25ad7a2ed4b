//! A look at a compressed Arrow IPC file before arrow-rs reads it: every compressed buffer
//! declares its uncompressed length in its first 8 bytes, and arrow-rs allocates that much
//! before it decompresses, so a damaged length (a terabyte) would end the process in an
//! allocation failure, which no `Result` or panic handler can catch. Each declared length
//! is held to what its codec can expand the buffer's bytes to.
//!
//! Only the lengths are checked, and how a stream ends: anything else wrong with the file (a
//! message that does not parse, a buffer past the body) is left to arrow-rs's reader, which
//! reports it. A stream cut short at a message's end reads as a shorter stream in arrow-rs,
//! so the walk says when a stream ends without its end-of-stream marker (which the format
//! allows, and every writer we know of writes), and refuses one that ends inside a message.

use std::fs::File;
use std::os::unix::fs::FileExt;

use arrow_ipc::{Block, CompressionType, Message, root_as_footer, root_as_message};

/// How many times its compressed size a buffer may declare, and a constant beside it for
/// the frame: LZ4 encodes at most 255 bytes of a match per byte; Zstandard's densest block
/// (a run of one byte) turns 4 bytes into 128 KiB.
fn bound(codec: CompressionType, compressed: u64) -> u64 {
    let (ratio, slack) = match codec {
        CompressionType::LZ4_FRAME => (255, 1 << 16),
        _ => (1 << 15, 1 << 20),
    };
    compressed.saturating_mul(ratio).saturating_add(slack)
}

/// Checks every compressed buffer of the IPC file (`is_file`) or stream in `file` (a
/// regular file; anything else is left to arrow-rs); the error says which buffer of which
/// message declares what, or where a stream was cut short. `Ok(Some(warning))`: a stream
/// that ends without its end-of-stream marker, where rows may be missing.
pub fn check(file: &File, is_file: bool) -> Result<Option<String>, String> {
    let Ok(size) = file
        .metadata()
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len())
        .ok_or(())
    else {
        return Ok(None);
    };
    let file = Source { file, size };
    if is_file {
        check_file(&file).map(|()| None)
    } else {
        check_stream(&file)
    }
}

/// The file, with its size (read once).
struct Source<'f> {
    file: &'f File,
    size: u64,
}

impl Source<'_> {
    fn read_at(&self, at: u64, len: usize) -> Option<Vec<u8>> {
        // A length read from a damaged file is held to what the file holds before anything
        // is allocated for it.
        if at.checked_add(len as u64)? > self.size {
            return None;
        }
        let mut bytes = vec![0; len];
        self.file.read_exact_at(&mut bytes, at).ok()?;
        Some(bytes)
    }
}

fn i32_at(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The file format: the footer lists every message's place.
fn check_file(file: &Source<'_>) -> Result<(), String> {
    let size = file.size;
    // ... footer, its length (4 bytes), "ARROW1"; the file starts with "ARROW1" and 2 bytes
    // of padding. arrow-rs says of a file cut short only that its footer is not correct.
    let tail = size.checked_sub(10).and_then(|at| file.read_at(at, 10));
    let Some(tail) = tail.filter(|tail| size >= 18 && tail.ends_with(b"ARROW1")) else {
        return Err(
            "the Arrow IPC file is cut short: it starts as one, but does not end with the footer every Arrow IPC file ends with"
                .to_owned(),
        );
    };
    let room = size - 18;
    let Some(footer_len) = i32_at(&tail, 0)
        .and_then(|n| u64::try_from(n).ok())
        .filter(|&n| n <= room)
    else {
        return Err(format!(
            "the Arrow IPC file is damaged: its footer says it is {} bytes long, but a file of {size} bytes has room for {room} at most",
            i32_at(&tail, 0).unwrap_or_default()
        ));
    };
    let Some(footer) = (size - 10)
        .checked_sub(footer_len)
        .and_then(|at| file.read_at(at, footer_len as usize))
    else {
        return Ok(());
    };
    let Ok(footer) = root_as_footer(&footer) else {
        return Ok(());
    };
    let blocks: Vec<Block> = footer
        .dictionaries()
        .into_iter()
        .flatten()
        .chain(footer.recordBatches().into_iter().flatten())
        .copied()
        .collect();
    let dictionaries = footer.dictionaries().map_or(0, |d| d.len());
    for (index, block) in blocks.iter().enumerate() {
        // Where the footer puts each message must lie within the file: arrow-rs allocates
        // (and fills with zeros) what a block declares before it reads, so a 1 KB file whose
        // footer declares 4 GB took 4 GB.
        let (Ok(offset), Ok(meta_len), Ok(body_len)) = (
            u64::try_from(block.offset()),
            usize::try_from(block.metaDataLength()),
            u64::try_from(block.bodyLength()),
        ) else {
            return Err(block_past_end(block, index, dictionaries, size));
        };
        let end = offset
            .checked_add(meta_len as u64)
            .and_then(|at| at.checked_add(body_len));
        if end.is_none_or(|end| end > size) {
            return Err(block_past_end(block, index, dictionaries, size));
        }
        let Some(meta) = file.read_at(offset, meta_len) else {
            continue;
        };
        // The message is prefixed by 0xFFFFFFFF and its length, or (before format 0.15)
        // by its length alone.
        let start = if meta.starts_with(&[0xff; 4]) { 8 } else { 4 };
        let Some(len) = i32_at(&meta, start - 4).and_then(|n| usize::try_from(n).ok()) else {
            continue;
        };
        let Some(Ok(message)) = meta.get(start..start + len).map(root_as_message) else {
            continue;
        };
        check_message(file, &message, offset + meta_len as u64, index)?;
    }
    Ok(())
}

/// The error of a footer that puts a message (block `index` of its list: dictionaries
/// first) outside a file of `size` bytes.
fn block_past_end(block: &Block, index: usize, dictionaries: usize, size: u64) -> String {
    let which = if index < dictionaries {
        format!("dictionary {}", index + 1)
    } else {
        format!("record batch {}", index - dictionaries + 1)
    };
    format!(
        "the Arrow IPC file is damaged: its footer puts {which} at byte {} with {} bytes of metadata and {} of data, past the end of the file ({size} bytes)",
        block.offset(),
        block.metaDataLength(),
        block.bodyLength()
    )
}

/// The stream format: messages one after another, each followed by its body.
fn check_stream(file: &Source<'_>) -> Result<Option<String>, String> {
    if file.size == 0 {
        return Err("it is empty".to_owned());
    }
    let mut at = 0u64;
    for index in 0.. {
        let Some(prefix) = file.read_at(at, 8) else {
            return if index == 0 {
                Err(format!(
                    "it is not an Arrow IPC file or stream: it is {} bytes long, shorter than any",
                    file.size
                ))
            } else if legacy_end(file, at) {
                Ok(None)
            } else if at == file.size {
                Ok(Some(format!(
                    "it ends after {index} messages without an Arrow stream's end-of-stream marker: if it was cut short, rows are missing"
                )))
            } else {
                // Fewer than 8 bytes: less than any message, and not the marker.
                Err(format!(
                    "the Arrow stream is cut short: after {index} messages, it ends in the first {} bytes of another",
                    file.size.saturating_sub(at)
                ))
            };
        };
        let (len, header) = if prefix.starts_with(&[0xff; 4]) {
            (i32_at(&prefix, 4), 8)
        } else {
            (i32_at(&prefix, 0), 4)
        };
        if index == 0 && len.is_none_or(|n| n <= 0 || n as u64 > file.size) {
            // No stream starts with its end, or with a message longer than the file.
            return Err(format!(
                "it is not an Arrow IPC file or stream: it starts with {}, neither `ARROW1` (a file) nor a stream's first message",
                crate::input::shown(&prefix[..6.min(prefix.len())])
            ));
        }
        let Some(len) = len.and_then(|n| usize::try_from(n).ok()).filter(|&n| n > 0) else {
            return Ok(None); // the end of the stream, or a length arrow-rs will refuse
        };
        let end = at + header + len as u64;
        if end > file.size {
            return Err(format!(
                "the Arrow stream is cut short: its message {} ends {} bytes past the end of the file",
                index + 1,
                end - file.size
            ));
        }
        let Some(bytes) = file.read_at(at + header, len) else {
            return Ok(None); // arrow-rs says what it cannot read
        };
        let Ok(message) = root_as_message(&bytes) else {
            return Ok(None);
        };
        let body = at + header + len as u64;
        check_message(file, &message, body, index)?;
        let Ok(body_len) = u64::try_from(message.bodyLength()) else {
            return Ok(None);
        };
        at = body.saturating_add(body_len);
        if at > file.size {
            return Err(format!(
                "the Arrow stream is cut short: its message {} ends {} bytes past the end of the file",
                index + 1,
                at - file.size
            ));
        }
    }
    Ok(None)
}

/// Whether the file ends at `at` with the 4 zero bytes that end a stream of the format
/// before Arrow 0.15 (then a message's length had no continuation marker before it).
fn legacy_end(file: &Source<'_>, at: u64) -> bool {
    file.size.checked_sub(at) == Some(4) && file.read_at(at, 4).is_some_and(|b| b == [0; 4])
}

/// Checks the compressed buffers of one record or dictionary batch whose body starts at
/// `body`.
fn check_message(
    file: &Source<'_>,
    message: &Message,
    body: u64,
    index: usize,
) -> Result<(), String> {
    let batch = message
        .header_as_record_batch()
        .or_else(|| message.header_as_dictionary_batch().and_then(|d| d.data()));
    let Some(batch) = batch else {
        return Ok(());
    };
    let (Some(compression), Some(buffers)) = (batch.compression(), batch.buffers()) else {
        return Ok(());
    };
    for (number, buffer) in buffers.iter().enumerate() {
        let (Ok(offset), Ok(length)) = (
            u64::try_from(buffer.offset()),
            u64::try_from(buffer.length()),
        ) else {
            continue;
        };
        if length < 8 {
            continue;
        }
        let Some(prefix) = file.read_at(body.saturating_add(offset), 8) else {
            continue;
        };
        let declared = i64::from_le_bytes(prefix.try_into().expect("8 bytes"));
        // -1: stored uncompressed.
        let Ok(declared) = u64::try_from(declared) else {
            continue;
        };
        if declared > bound(compression.codec(), length - 8) {
            return Err(format!(
                "the file is damaged (buffer {number} of message {index} says it holds {declared} bytes once decompressed, more than {} compressed bytes can hold)",
                length - 8
            ));
        }
    }
    Ok(())
}
