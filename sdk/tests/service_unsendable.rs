//! A value that cannot cross (a batch nested deeper than a crossing takes, a `Json` value
//! serde cannot write) fails the call saying why, on the side that holds it: an argument in
//! the plugin's proxy, before the call; a result in the host's thunk, as the host's error.
//! It never crosses as an empty value for the other side to misreport.

use std::collections::BTreeMap;
use std::sync::Arc;

use oplink::arrow::array::{Array, ArrayRef, Int64Array, ListArray, RecordBatch};
use oplink::arrow::buffer::OffsetBuffer;
use oplink::arrow::schema::Field;
use oplink::service::{HostTableFor, Json, Service};

/// A map serde_json cannot write: its keys are not strings.
type Pairs = BTreeMap<(u8, u8), u8>;

#[oplink::host_callbacks]
pub trait Carry {
    fn batch(&self, batch: RecordBatch) -> oplink::Result<u64>;
    fn deep(&self) -> oplink::Result<RecordBatch>;
    fn maybe_deep(&self) -> Option<RecordBatch>;
    fn pairs(&self, pairs: Json<Pairs>) -> oplink::Result<u64>;
    fn pairs_back(&self) -> oplink::Result<Json<Pairs>>;
    fn two(&self, ok: RecordBatch, bad: RecordBatch) -> oplink::Result<u64>;
    fn count(&self, batch: RecordBatch) -> u64;
}

struct Host;

impl Carry for Host {
    fn batch(&self, batch: RecordBatch) -> oplink::Result<u64> {
        Ok(batch.num_rows() as u64)
    }
    fn deep(&self) -> oplink::Result<RecordBatch> {
        Ok(deep())
    }
    fn maybe_deep(&self) -> Option<RecordBatch> {
        Some(deep())
    }
    fn pairs(&self, pairs: Json<Pairs>) -> oplink::Result<u64> {
        Ok(pairs.0.len() as u64)
    }
    fn pairs_back(&self) -> oplink::Result<Json<Pairs>> {
        Ok(Json(pairs()))
    }
    fn two(&self, ok: RecordBatch, bad: RecordBatch) -> oplink::Result<u64> {
        Ok((ok.num_rows() + bad.num_rows()) as u64)
    }
    fn count(&self, batch: RecordBatch) -> u64 {
        batch.num_rows() as u64
    }
}

/// A batch whose column is a list of lists … 20 levels down, deeper than a crossing takes.
fn deep() -> RecordBatch {
    let mut column: ArrayRef = Arc::new(Int64Array::from(vec![1]));
    for _ in 0..20 {
        let item = Arc::new(Field::new("item", column.data_type().clone(), true));
        column = Arc::new(ListArray::new(
            item,
            OffsetBuffer::from_lengths([1]),
            column,
            None,
        ));
    }
    RecordBatch::try_from_iter([("deep", column)]).unwrap()
}

fn pairs() -> Pairs {
    [((1, 2), 3)].into_iter().collect()
}

#[test]
fn a_value_that_cannot_cross_fails_the_call_saying_why() {
    let table = <dyn Carry as HostTableFor<Host>>::__host_table_for(Arc::new(Host));
    // SAFETY: the table was built just above for `dyn Carry` and outlives the proxy.
    let carry = unsafe { <dyn Carry>::__proxy(table.as_ptr()) }.unwrap();
    let shallow =
        RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef)])
            .unwrap();
    assert_eq!(carry.batch(shallow).unwrap(), 2);
    assert_eq!(
        carry.batch(deep()).unwrap_err().to_string(),
        "argument `batch` of `Carry::batch` cannot be sent to the host: a batch cannot cross: column `deep` nests deeper than 16 levels, more than a crossing takes (the column is level 1, and what a list, struct, map, union, dictionary or run-end array holds is one level deeper: flatten its type to 16 levels or fewer)"
    );
    assert_eq!(
        carry.deep().unwrap_err().to_string(),
        "the host's result of `Carry::deep` cannot be sent to the plugin: a batch cannot cross: column `deep` nests deeper than 16 levels, more than a crossing takes (the column is level 1, and what a list, struct, map, union, dictionary or run-end array holds is one level deeper: flatten its type to 16 levels or fewer)"
    );
    // serde_json's own words, after the type it could not write (as a signature writes it).
    let message = "cannot encode BTreeMap<(u8, u8), u8> as JSON: key must be a string";
    assert_eq!(
        carry.pairs(Json(pairs())).unwrap_err().to_string(),
        format!("argument `pairs` of `Carry::pairs` cannot be sent to the host: {message}")
    );
    assert_eq!(
        carry.pairs_back().unwrap_err().to_string(),
        format!("the host's result of `Carry::pairs_back` cannot be sent to the plugin: {message}")
    );
    // A method without `Result` has nowhere to report it: the operator's call panics.
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| carry.maybe_deep())).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        "host service call `Carry::maybe_deep` failed and the method has no `Result` to report it (declared returning `Result` in the service's trait, it would get an `Err` instead of a panic): the host's result of `Carry::maybe_deep` cannot be sent to the plugin: a batch cannot cross: column `deep` nests deeper than 16 levels, more than a crossing takes (the column is level 1, and what a list, struct, map, union, dictionary or run-end array holds is one level deeper: flatten its type to 16 levels or fewer)"
    );
    // An argument of such a method: the same, before the call.
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| carry.count(deep()))).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        "host service call `Carry::count` failed and the method has no `Result` to report it (declared returning `Result` in the service's trait, it would get an `Err` instead of a panic): argument `batch` of `Carry::count` cannot be sent to the host: a batch cannot cross: column `deep` nests deeper than 16 levels, more than a crossing takes (the column is level 1, and what a list, struct, map, union, dictionary or run-end array holds is one level deeper: flatten its type to 16 levels or fewer)"
    );
    // A second argument that cannot cross after a first that was laid out: the first is
    // released, nothing of it kept.
    let column: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
    let ok = RecordBatch::try_from_iter([("x", column.clone())]).unwrap();
    assert_eq!(
        carry.two(ok, deep()).unwrap_err().to_string(),
        "argument `bad` of `Carry::two` cannot be sent to the host: a batch cannot cross: column `deep` nests deeper than 16 levels, more than a crossing takes (the column is level 1, and what a list, struct, map, union, dictionary or run-end array holds is one level deeper: flatten its type to 16 levels or fewer)"
    );
    assert_eq!(
        Arc::strong_count(&column),
        1,
        "the first argument was released"
    );
}
