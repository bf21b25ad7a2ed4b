use oplink::service::Json;

#[oplink::host_callbacks]
pub trait Catalog {
    fn tiers(&self, customers: Json<Vec<&str>>) -> Json<Vec<String>>;
}

fn main() {}
