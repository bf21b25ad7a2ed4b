#[oplink::host_callbacks]
pub struct Lookup {
    table: Vec<String>,
}

fn main() {}
