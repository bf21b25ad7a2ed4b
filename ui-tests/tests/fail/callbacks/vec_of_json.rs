use oplink::service::Json;

#[oplink::host_callbacks]
pub trait Customers {
    fn names(&self, ids: Vec<Json<u64>>) -> Option<Json<Vec<String>>>;
}

fn main() {}
