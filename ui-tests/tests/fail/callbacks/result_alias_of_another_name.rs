// Whether a method can fail is told by the name `Result`: an alias of another name is a
// type that cannot be returned (the README says to name it `Result`).
type Res<T> = Result<T, String>;

#[oplink::host_callbacks]
pub trait Catalog {
    fn tier(&self, customer: &str) -> Res<String>;
}

fn main() {}
