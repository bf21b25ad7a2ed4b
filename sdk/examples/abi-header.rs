//! Writes the files generated from the ABI's one declaration: the C header
//! `sdk/include/oplink.h` and the generated part of `docs/abi.md`.
//!
//! ```sh
//! cargo run -p oplink --example abi-header
//! ```
//!
//! `sdk/tests/abi_files.rs` fails when either checked-in file differs from what this writes.

use std::path::Path;

use oplink::abi::header;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let header_path = root.join(header::HEADER_PATH);
    std::fs::write(&header_path, header::c_header())?;
    println!("wrote {}", header_path.display());

    let docs_path = root.join("docs/abi.md");
    let docs = std::fs::read_to_string(&docs_path)?;
    let updated = header::splice_docs(&docs).unwrap_or_else(|| {
        format!(
            "{docs}\n## Reference\n\n{}\n{}{}\n",
            header::DOCS_BEGIN,
            header::markdown_tables(),
            header::DOCS_END
        )
    });
    std::fs::write(&docs_path, updated)?;
    println!("wrote {}", docs_path.display());
    Ok(())
}
