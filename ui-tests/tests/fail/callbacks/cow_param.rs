// `Cow<str>` hides a lifetime: refused at the type, with the forms that cross, rather than
// rustc's "missing lifetime specifier" suggesting a lifetime of the expansion.
#[oplink::host_callbacks]
pub trait Catalog {
    fn tier(&self, customer: std::borrow::Cow<str>) -> Option<String>;
}

fn main() {}
