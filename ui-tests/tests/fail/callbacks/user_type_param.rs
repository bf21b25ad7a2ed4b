pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[oplink::host_callbacks]
pub trait Geo {
    fn region_of(&self, point: Point) -> Option<String>;
}

fn main() {}
