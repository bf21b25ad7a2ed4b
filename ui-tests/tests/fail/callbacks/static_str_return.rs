// A return value with its lifetime written is a borrow all the same: the advice is the owned
// type (not leaving the lifetime out, which is the advice for a parameter).
#[oplink::host_callbacks]
pub trait Tiers {
    fn default_tier(&self) -> &'static str;
    fn tier_of<'a>(&'a self, customer: &str) -> Option<&'a str>;
}

fn main() {}
