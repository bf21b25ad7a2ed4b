//! Telling a data file's format: from its extension, and from its first and last bytes (a
//! binary file named as text, a Parquet file cut short or encrypted).

use std::fs::File;
use std::path::Path;

use crate::args::InputFormat;
use crate::error::{CliError, Result};

/// The input format of `path`: the one given, else its extension's.
pub fn input_format(path: &Path, given: Option<InputFormat>) -> Result<InputFormat> {
    if let Some(format) = given {
        return Ok(format);
    }
    let extension = extension(path);
    Ok(match extension.as_str() {
        "csv" => InputFormat::Csv,
        "tsv" | "tab" => InputFormat::Tsv,
        "jsonl" | "ndjson" | "json" => InputFormat::Jsonl,
        "arrow" | "ipc" | "feather" | "arrows" => InputFormat::Ipc,
        "parquet" | "pq" => InputFormat::Parquet,
        _ if path == Path::new("-") && !path.exists() => {
            return Err(CliError::Usage(
                "`oplink run` does not read standard input (`-`): it reads its input more than once, so save the stream to a file first".to_owned(),
            ));
        }
        // What the path is says more than its extension when it is no file at all.
        _ if let Err(error) = std::fs::metadata(path) => {
            return Err(CliError::io("read", path, error));
        }
        _ if path.is_dir() => {
            return Err(CliError::Usage(format!(
                "`{}` is a folder, not a data file",
                path.display()
            )));
        }
        // A pipe or a device (`/dev/stdin`, `<(...)`) has no extension to tell, and giving
        // `--format` would only meet the next refusal: say that one now.
        _ if !path.is_file() => {
            return Err(CliError::Usage(format!(
                "`{}` is not a regular file: `oplink run` reads its input more than once, so save the stream to a file first",
                path.display()
            )));
        }
        _ if let Some((compression, _, undo)) = crate::output::compressed_extension(path) => {
            return Err(CliError::Usage(format!(
                "`{}` is named as {compression}, but `oplink run` reads no compressed files; decompress it first (`{undo}`)",
                path.display()
            )));
        }
        _ => {
            return Err(CliError::Usage(format!(
                "cannot tell the format of `{}` from its extension; name it with `--format csv|tsv|jsonl|ipc|parquet`",
                path.display()
            )));
        }
    })
}

pub(crate) fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Refuses a file that is no Parquet file, or one cut short, before parquet-rs says only
/// "Corrupt footer": a Parquet file starts with `PAR1` and ends with its footer's length and
/// `PAR1` (`PARE` at both ends when the footer is encrypted, which this reader cannot read).
pub(super) fn parquet_magic(file: &File) -> std::result::Result<(), String> {
    use std::os::unix::fs::FileExt;
    let Some(size) = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
    else {
        return Ok(());
    };
    let read = |at: u64| {
        let mut magic = [0u8; 4];
        file.read_exact_at(&mut magic, at).ok().map(|()| magic)
    };
    if size == 0 {
        return Err("it is empty".to_owned());
    }
    let head = read(0);
    let tail = parquet_tail(file, size);
    match (head, tail) {
        // Its magic at both ends and the footer's length: 12 bytes at the least.
        (Some(head), _) if &head == b"PAR1" && size < 12 => Err(format!(
            "it is cut short: it starts as a Parquet file, but is {size} bytes long, shorter than any"
        )),
        // Encrypted footer mode: `PARE` at both ends, and nothing readable without keys.
        (Some(head), _) if &head == b"PARE" => Err(
            "it is a Parquet file whose footer is encrypted, which `oplink run` cannot read: it holds no keys to decrypt it".to_owned(),
        ),
        (Some(head), _) if &head != b"PAR1" => Err(format!(
            "it is not a Parquet file: it starts with {}, not `PAR1`",
            shown(&head)
        )),
        (None, _) => Err(format!(
            "it is not a Parquet file: it is {size} bytes long, shorter than any"
        )),
        // The footer's length, just before the closing magic, must fit the file.
        (_, Some((footer, end))) if &end == b"PAR1" => {
            if u64::from(footer) + 12 > size {
                return Err(format!(
                    "it is damaged: its footer says it is {footer} bytes long, but a file of {size} bytes has room for {} at most",
                    size - 12
                ));
            }
            Ok(())
        }
        _ => Err(
            "it is cut short: it starts as a Parquet file, but does not end with the footer every Parquet file ends with".to_owned(),
        ),
    }
}

/// Why a file to be read as text (`format`) is not: it starts as a binary format does (a
/// Parquet or Arrow file named `.csv`, a compressed file), which a text reader would take
/// for text and refuse at some line, or read as one column.
pub(super) fn not_text(file: &File, format: InputFormat) -> Option<String> {
    use std::os::unix::fs::FileExt;
    // Each magic in full, so that no header line of a text file is taken for one.
    let mut head = [0u8; 10];
    let n = file.read_at(&mut head, 0).ok()?;
    let head = &head[..n];
    // A Parquet file ends with its footer's length, which must fit, and the magic again.
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let parquet_end = |magic: &[u8; 4]| {
        parquet_tail(file, size)
            .is_some_and(|(footer, end)| &end == magic && u64::from(footer) + 12 <= size)
    };
    let (what, magic, instead) = if head.starts_with(b"PAR1") && parquet_end(b"PAR1") {
        (
            "a Parquet file",
            4,
            "give `--format parquet`, or name it `.parquet`",
        )
    } else if head.starts_with(b"PARE") && parquet_end(b"PARE") {
        (
            "a Parquet file whose footer is encrypted",
            4,
            "`oplink run` cannot read it, having no keys to decrypt it",
        )
    } else if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
        (
            "UTF-16 text",
            2,
            "convert it to UTF-8 first (`iconv -f utf-16 -t utf-8`)",
        )
    } else if head.starts_with(b"ARROW1\0\0") {
        (
            "an Arrow IPC file",
            6,
            "give `--format ipc`, or name it `.arrow`",
        )
    } else if head.starts_with(&[0xff; 4]) {
        (
            "an Arrow IPC stream",
            4,
            "give `--format ipc`, or name it `.arrows`",
        )
    } else if head.starts_with(&[0x1f, 0x8b]) {
        ("compressed with gzip", 2, "decompress it first (`gunzip`)")
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        (
            "compressed with Zstandard",
            4,
            "decompress it first (`unzstd`)",
        )
    } else if head.starts_with(b"BZh")
        && head.get(3).is_some_and(u8::is_ascii_digit)
        && head.get(4..10) == Some(&[0x31, 0x41, 0x59, 0x26, 0x53, 0x59][..])
    {
        (
            "compressed with bzip2",
            3,
            "decompress it first (`bunzip2`)",
        )
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        ("compressed with xz", 6, "decompress it first (`unxz`)")
    } else if head.starts_with(b"PK\x03\x04") {
        ("a zip archive", 4, "unpack it first (`unzip`)")
    } else {
        return None;
    };
    let text = match format {
        InputFormat::Csv => "CSV",
        InputFormat::Tsv => "TSV",
        _ => "JSON lines",
    };
    Some(format!(
        "it is {what} (it starts with {}), not {text}: {instead}",
        shown(&head[..magic])
    ))
}

/// Why a text file to be read as `format` holds another text format, told by its first
/// line: JSON named `.csv` or `.tsv` (read as CSV, its first line would be a header of odd
/// names and the run would go on with the wrong columns, or none), or CSV or TSV named
/// `.jsonl` (refused at line 1 as no JSON, which does not say why). A first line that could
/// be either (`[id],[amount]` is a CSV header) is left to the reader.
pub(super) fn other_text(file: &File, format: InputFormat) -> Option<String> {
    use std::os::unix::fs::FileExt;
    let mut head = vec![0u8; 64 * 1024];
    let n = file.read_at(&mut head, 0).ok()?;
    let head = head.get(..n)?;
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let line = head.split(|b| *b == b'\n').next()?;
    // A first line longer than what was read (a JSON array written on one line) may be cut
    // inside a character: its text is what comes before it.
    let line = match std::str::from_utf8(line) {
        Ok(line) => line,
        Err(cut) if cut.error_len().is_none() => {
            std::str::from_utf8(&line[..cut.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    }
    .trim();
    let json = |line: &str| serde_json::from_str::<serde::de::IgnoredAny>(line).is_ok();
    match format {
        InputFormat::Csv | InputFormat::Tsv => {
            let text = if format == InputFormat::Csv {
                "CSV"
            } else {
                "TSV"
            };
            if line == "{" || line.starts_with("{\"") || (line.starts_with('{') && json(line)) {
                Some(format!(
                    "it is JSON, not {text}: its first line starts with `{{`; give `--format jsonl`, or name it `.jsonl` (JSON lines hold one object per line; `jq -c .` writes them)"
                ))
            } else if line == "[" || line.starts_with("[{") || (line.starts_with('[') && json(line))
            {
                Some(format!(
                    "it is JSON, not {text}: its first line starts with `[`; `oplink run` reads JSON lines, one object per line: convert an array of objects with `jq -c '.[]'` and name the result `.jsonl`"
                ))
            } else {
                None
            }
        }
        InputFormat::Jsonl if !line.is_empty() && !line.starts_with(['{', '[']) && !json(line) => {
            let (text, extension) = if line.contains('\t') {
                ("TSV", "tsv")
            } else if line.contains(',') {
                ("CSV", "csv")
            } else {
                return None;
            };
            Some(format!(
                "it is not JSON lines: its first line, `{}`, is no JSON but reads as a {text} header; give `--format {extension}`, or name it `.{extension}`",
                super::messages::cut(line, 60).replace('\t', "\\t")
            ))
        }
        _ => None,
    }
}

/// The last 8 bytes of a Parquet file of `size` bytes: its footer's length and its closing
/// magic (`PAR1`, or `PARE` for an encrypted footer); `None` for a file too short for them.
fn parquet_tail(file: &File, size: u64) -> Option<(u32, [u8; 4])> {
    use std::os::unix::fs::FileExt;
    let mut tail = [0u8; 8];
    let at = size.checked_sub(8)?;
    file.read_exact_at(&mut tail, at).ok()?;
    let [a, b, c, d, magic @ ..] = tail;
    Some((u32::from_le_bytes([a, b, c, d]), magic))
}

/// The first bytes of a file, as text when they are printable, else in hex.
pub(crate) fn shown(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("`{}`", String::from_utf8_lossy(bytes))
    } else {
        format!("the bytes {bytes:02x?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON array written on one line, longer than the 64 KiB read of it, whose cut falls
    /// inside a character, is still told to be JSON (the cut line was not taken for text,
    /// so the file went on to be read as CSV with a header of odd names).
    #[test]
    fn a_long_first_line_cut_inside_a_character_is_still_told() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("array.csv");
        let mut text = String::from("[{\"name\": \"");
        text.push_str(&"a".repeat(64 * 1024 - 1 - text.len()));
        // `é` takes bytes 65535 and 65536: the read ends between them.
        text.push_str("é\"}]\n");
        std::fs::write(&path, &text).unwrap();
        let file = File::open(&path).unwrap();
        let said = other_text(&file, InputFormat::Csv);
        assert!(
            said.as_deref().is_some_and(
                |s| s.starts_with("it is JSON, not CSV: its first line starts with `[`")
            ),
            "{said:?}"
        );
    }

    #[test]
    fn the_format_comes_from_the_extension_or_a_clear_error() {
        assert_eq!(
            input_format(Path::new("a.PARQUET"), None).unwrap(),
            InputFormat::Parquet
        );
        // A file that is there (this crate's manifest), of no data file's extension.
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        assert_eq!(
            input_format(&manifest, None).unwrap_err().to_string(),
            format!(
                "cannot tell the format of `{}` from its extension; name it with `--format csv|tsv|jsonl|ipc|parquet`",
                manifest.display()
            )
        );
        // A compressed file, named as one: what to do.
        let dir = tempfile::tempdir().unwrap();
        let packed = dir.path().join("orders.csv.gz");
        std::fs::write(&packed, [0x1f, 0x8b, 8, 0]).unwrap();
        assert_eq!(
            input_format(&packed, None).unwrap_err().to_string(),
            format!(
                "`{}` is named as gzip, but `oplink run` reads no compressed files; decompress it first (`gunzip`)",
                packed.display()
            )
        );
        assert_eq!(
            input_format(Path::new("no-such-data.txt"), None)
                .unwrap_err()
                .to_string(),
            "`no-such-data.txt` does not exist"
        );
    }
}
