// `io::Result<T>` (as `anyhow::Result<T>`) names its error type only through the alias: it
// is checked at the return type all the same, not first where a plugin asks for the service.
#[oplink::host_callbacks]
pub trait Files {
    fn size(&self, path: &str) -> std::io::Result<u64>;
}

fn main() {}
