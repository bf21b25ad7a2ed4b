pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[oplink::host_callbacks]
pub trait Geo {
    fn centre_of(&self, region: &str) -> Option<Point>;
}

fn main() {}
