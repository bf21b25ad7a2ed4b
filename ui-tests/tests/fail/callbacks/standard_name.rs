// A trait of one's own named as a standard service: every host answers that name itself,
// so the trait could never be provided nor reached.
#[oplink::host_callbacks(name = "oplink.State")]
pub trait Settings {
    fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
