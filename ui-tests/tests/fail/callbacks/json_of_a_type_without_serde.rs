use oplink::service::Json;

pub struct Customer {
    pub id: String,
}

#[oplink::host_callbacks]
pub trait Customers {
    fn find(&self, id: &str) -> Option<Json<Customer>>;
}

fn main() {}
