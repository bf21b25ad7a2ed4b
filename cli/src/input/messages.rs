//! Words the readers' errors share: a reader's own message made readable, and the sentences
//! several formats' errors end with.

/// What a value error says when the schema was inferred.
pub(super) const INFERRED_HINT: &str =
    " (the schema was inferred from the first rows; give `--schema` to set it)";

/// An arrow-rs message without the Rust debug dump some carry (`RangeOutOfBounds { range:
/// .., error_trace: .. }`), cut to a readable length.
pub(super) fn arrow_words(message: &str) -> String {
    shortened(message.split(" { ").next().unwrap_or(message))
}

/// A reader's message cut to a readable length: arrow-json quotes whole values in its
/// messages (a line's every field, in Rust's debug notation).
pub(super) fn shortened(message: &str) -> String {
    cut(message, 300)
}

/// `text` cut to its first `max` characters, marked ` …` when it was longer.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{} …", &text[..at]),
        None => text.to_owned(),
    }
}

/// serde_json's message without its " at line L column C" suffix.
pub(crate) fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// What a CSV, TSV or JSON lines file that is not UTF-8 is told: text in another encoding
/// (Latin-1, Windows-1252) is the usual cause.
pub(super) const NOT_UTF8: &str = "the text is not valid UTF-8 (text in another encoding can be converted first, e.g. `iconv -f latin1 -t utf-8`)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_messages_lose_their_debug_dumps_and_length() {
        assert_eq!(
            arrow_words(
                "Unable to get root as message: RangeOutOfBounds { range: 8..16, error_trace: ErrorTrace([]) }"
            ),
            "Unable to get root as message: RangeOutOfBounds"
        );
        let long = "x".repeat(1000);
        assert_eq!(arrow_words(&long), format!("{} …", "x".repeat(300)));
    }
}
