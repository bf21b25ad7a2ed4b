// `Cow<str>` hides a lifetime: refused at the type, with the forms that cross, rather than
// rustc's "missing lifetime specifier" suggesting a lifetime of the expansion; returned
// inside an `Option`, the owned form goes in its place.
#[oplink::host_callbacks]
pub trait Catalog {
    fn tier(&self, customer: std::borrow::Cow<str>) -> Option<String>;
    fn region(&self, customer: &str) -> Option<std::borrow::Cow<'static, str>>;
}

fn main() {}
