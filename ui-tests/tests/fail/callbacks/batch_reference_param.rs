use oplink::arrow::array::RecordBatch;

#[oplink::host_callbacks]
pub trait Sink {
    fn write(&self, batch: &RecordBatch) -> oplink::Result<u64>;
}

fn main() {}
