//! The schema caches of one instance and direction: a schema crosses once, then batches
//! carry only the id of its slot.
//!
//! Ids are slots, from 1 to a capacity of at most [`MAX_SCHEMA_ID`]: a schema sent with an
//! id replaces whatever the receiver held in that slot. So the sender evicts by reusing a
//! slot (the least recently used one) and the receiver learns of the eviction by the next
//! schema sent with that id: both caches stay bounded, and both look schemas up in O(1).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::import::{Column, Placement, Unshared};
use super::small::Copies;
use crate::abi::MAX_SCHEMA_ID;
use crate::{Error, Result};

/// How many schemas a sender keeps per instance and direction unless told otherwise.
pub const DEFAULT_SCHEMA_SLOTS: usize = 64;

/// A schema compared and hashed by content.
#[derive(Clone, Debug)]
struct ByContent(SchemaRef);

impl PartialEq for ByContent {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || same_schema(&self.0, &other.0)
    }
}

/// Whether `a` and `b` are the same schema in everything that crosses: equal as arrow-rs
/// compares them, and with the same `dict_is_ordered` flag on every dictionary field,
/// nested ones included, which arrow-rs's `Field` equality (and hash) leaves out but which
/// crosses (`ARROW_FLAG_DICTIONARY_ORDERED`). Equal schemas hash alike under arrow-rs's
/// `Hash`, which this only refines.
pub(super) fn same_schema(a: &Schema, b: &Schema) -> bool {
    a == b
        && a.fields()
            .iter()
            .zip(b.fields())
            .all(|(a, b)| same_ordering(a, b))
}

/// Whether two fields of equal types have the same `dict_is_ordered` flags, theirs and
/// those of the fields nested in their types.
fn same_ordering(a: &Field, b: &Field) -> bool {
    a.dict_is_ordered() == b.dict_is_ordered() && same_nested_ordering(a.data_type(), b.data_type())
}

fn same_nested_ordering(a: &DataType, b: &DataType) -> bool {
    use DataType::*;
    match (a, b) {
        (List(a), List(b))
        | (LargeList(a), LargeList(b))
        | (ListView(a), ListView(b))
        | (LargeListView(a), LargeListView(b))
        | (FixedSizeList(a, _), FixedSizeList(b, _))
        | (Map(a, _), Map(b, _)) => same_ordering(a, b),
        (Struct(a), Struct(b)) => a.iter().zip(b).all(|(a, b)| same_ordering(a, b)),
        (Union(a, _), Union(b, _)) => a
            .iter()
            .zip(b.iter())
            .all(|((_, a), (_, b))| same_ordering(a, b)),
        (RunEndEncoded(_, a), RunEndEncoded(_, b)) => same_ordering(a, b),
        (Dictionary(_, a), Dictionary(_, b)) => same_nested_ordering(a, b),
        _ => true,
    }
}
impl Eq for ByContent {}
impl Hash for ByContent {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// Hashes an address: a multiplication that spreads its bits (SipHash, the default, costs
/// more than the rest of a lookup, and addresses need no protection from collisions).
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u8(*byte);
        }
    }
    fn write_u8(&mut self, byte: u8) {
        self.write_u64(u64::from(byte));
    }
    fn write_usize(&mut self, address: usize) {
        self.write_u64(address as u64);
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0 ^ value).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[derive(Debug)]
struct Slot {
    schema: SchemaRef,
    last_used: u64,
    /// Whether the receiver surely holds it (a send that carried it succeeded).
    committed: bool,
}

/// The sending side's record of which schemas the receiver holds, and in which slot.
#[derive(Debug)]
pub struct SchemaOutbox {
    capacity: usize,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// By the address of the `Arc` held in the slot (so the address cannot be reused).
    by_ptr: HashMap<usize, usize, BuildHasherDefault<AddressHasher>>,
    by_content: HashMap<ByContent, usize>,
    /// Slots assigned since the last commit or rollback.
    pending: Vec<usize>,
    clock: u64,
    /// The slot found last (checked against the schema's `Arc` before it is trusted).
    last: Option<usize>,
}

impl Default for SchemaOutbox {
    fn default() -> Self {
        SchemaOutbox::with_capacity(DEFAULT_SCHEMA_SLOTS)
    }
}

impl SchemaOutbox {
    /// An outbox of `capacity` slots (1 to [`MAX_SCHEMA_ID`]).
    pub fn with_capacity(capacity: usize) -> SchemaOutbox {
        SchemaOutbox {
            capacity: capacity.clamp(1, MAX_SCHEMA_ID as usize),
            slots: Vec::new(),
            free: Vec::new(),
            by_ptr: HashMap::default(),
            by_content: HashMap::new(),
            pending: Vec::new(),
            clock: 0,
            last: None,
        }
    }

    /// How many schemas the receiver holds (or will, once the last send is committed).
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Whether no schema was sent yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts a new send: slots used from now on belong to it. A send neither committed nor
    /// rolled back (one whose export failed half way) is rolled back first: its schemas
    /// never reached the receiver.
    pub fn begin(&mut self) {
        if !self.pending.is_empty() {
            self.rollback();
        }
        self.clock += 1;
    }

    /// The slot id of `schema`, and whether the schema must travel with this batch.
    pub fn id_of(&mut self, schema: &SchemaRef) -> (u64, bool) {
        // A stream mostly repeats its last schema, in the same `Arc`: no hashing then.
        let last = self.last.filter(|&index| {
            self.slots
                .get(index)
                .and_then(Option::as_ref)
                .is_some_and(|slot| Arc::ptr_eq(&slot.schema, schema))
        });
        let found = last.or_else(|| {
            self.by_ptr
                .get(&ptr_key(schema))
                .or_else(|| self.by_content.get(&ByContent(schema.clone())))
                .copied()
        });
        if let Some(index) = found {
            self.last = Some(index);
        }
        if let Some(index) = found {
            let clock = self.clock;
            let slot = self.slots[index]
                .as_mut()
                .expect("indexed slots are filled");
            slot.last_used = clock;
            if !Arc::ptr_eq(&slot.schema, schema) {
                // The same schema in another `Arc`: keep the newest, so the pointer fast path
                // finds it next time.
                self.by_ptr.remove(&ptr_key(&slot.schema));
                slot.schema = schema.clone();
                self.by_ptr.insert(ptr_key(schema), index);
            }
            // A slot first filled by this very send is known to the receiver by the time it
            // reads this batch: receivers read a change's batches in order.
            let send = !slot.committed && !self.pending.contains(&index);
            if send {
                self.pending.push(index);
            }
            return (index as u64 + 1, send);
        }
        let index = self.free_slot();
        self.slots[index] = Some(Slot {
            schema: schema.clone(),
            last_used: self.clock,
            committed: false,
        });
        self.by_ptr.insert(ptr_key(schema), index);
        self.by_content.insert(ByContent(schema.clone()), index);
        self.pending.push(index);
        (index as u64 + 1, true)
    }

    fn free_slot(&mut self) -> usize {
        if let Some(index) = self.free.pop() {
            return index;
        }
        if self.slots.len() < self.capacity {
            self.slots.push(None);
            return self.slots.len() - 1;
        }
        let index = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| slot.as_ref().map(|s| (s.last_used, i)))
            .min()
            .map_or(0, |(_, i)| i);
        self.evict(index);
        index
    }

    fn evict(&mut self, index: usize) {
        if let Some(slot) = self.slots[index].take() {
            self.by_ptr.remove(&ptr_key(&slot.schema));
            self.by_content.remove(&ByContent(slot.schema));
        }
        self.pending.retain(|&i| i != index);
    }

    /// The receiver has taken every schema sent since the last commit: stop sending them.
    pub fn commit(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        for index in self.pending.drain(..) {
            if let Some(slot) = self.slots[index].as_mut() {
                slot.committed = true;
            }
        }
    }

    /// The receiver may not have taken the schemas of the last send: forget their slots, so
    /// they are sent again (with whatever slot they get) before they are referred to.
    pub fn rollback(&mut self) {
        for index in std::mem::take(&mut self.pending) {
            let committed = self.slots[index].as_ref().is_some_and(|s| s.committed);
            if !committed {
                self.evict(index);
                self.free.push(index);
            }
        }
    }
}

fn ptr_key(schema: &SchemaRef) -> usize {
    Arc::as_ptr(schema) as *const () as usize
}

/// A schema a receiver holds, with how each of its columns is imported (decided once, when
/// the schema arrives, so that a steady stream does not match on its types batch after
/// batch).
#[derive(Debug)]
pub(super) struct Received {
    pub(super) schema: SchemaRef,
    pub(super) columns: Box<[Column]>,
    /// Where each column was in the schema of the batch last sent at the place of one of
    /// this schema's (for an answer read beside what was sent).
    pub(super) placement: Placement,
}

impl Received {
    fn new(schema: SchemaRef) -> Received {
        let columns = Column::for_schema(&schema);
        Received {
            schema,
            columns,
            placement: Placement::default(),
        }
    }
}

/// The receiving side's cache: one schema per slot id.
#[derive(Debug, Default)]
pub struct SchemaInbox {
    slots: Vec<Option<Received>>,
    /// Whether batches this process exported, come back unchanged, are taken back as the
    /// batches they were instead of being imported.
    own: bool,
    /// Emptied owners of a typed view's sides, for the next view's (so a view operator that
    /// returns its input allocates none).
    pub(super) spare_owners: Vec<Unshared>,
    /// Where buffers too small to be worth sharing are copied (`small`'s notes).
    copies: Copies,
    /// Whether a change whose diff array could not be trusted made it forget every schema.
    untrusted: bool,
    /// Slots emptied because the schema sent into them could not be read, and not filled
    /// since: only for the error that names one.
    unreadable: Vec<u64>,
}

impl SchemaInbox {
    /// An inbox that recognises batches this process exported when they come back
    /// unchanged (a forwarded change), and takes them back as the very batches it sent,
    /// checked against the schema the other side declared, instead of importing them.
    /// What the runtime and the host use; the default inbox always imports.
    pub fn recognizing_own() -> SchemaInbox {
        SchemaInbox {
            own: true,
            ..SchemaInbox::default()
        }
    }

    /// Whether this inbox recognises batches this process exported.
    pub fn recognizes_own(&self) -> bool {
        self.own
    }

    /// Number of schemas held.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Whether no schema was received yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn index(id: u64) -> Result<usize> {
        if id == 0 || id > MAX_SCHEMA_ID {
            return Err(Error::unlocated(format!(
                "schema id {id} is not a slot (1 to {MAX_SCHEMA_ID})"
            )));
        }
        Ok(id as usize - 1)
    }

    /// Stores `schema` in slot `id`, replacing what was there.
    pub fn store(&mut self, id: u64, schema: SchemaRef) -> Result<()> {
        let index = Self::index(id)?;
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, || None);
        }
        self.slots[index] = Some(Received::new(schema));
        if !self.unreadable.is_empty() {
            self.unreadable.retain(|&slot| slot != id);
        }
        Ok(())
    }

    /// Empties every slot, after a change whose diff array could not be trusted.
    pub(super) fn forget_all(&mut self) {
        self.slots.clear();
        self.unreadable.clear();
        self.untrusted = true;
    }

    /// Whether a change whose diff array could not be trusted (a diff with an unknown kind
    /// or a reserved field not 0) made this inbox forget every schema it held: the sender
    /// is broken, and batches naming those schemas are refused from then on.
    pub fn lost_trust(&self) -> bool {
        self.untrusted
    }

    /// Empties slot `id`, whose new schema could not be read (nothing when the id is out
    /// of range).
    pub(super) fn forget(&mut self, id: u64) {
        let Ok(index) = Self::index(id) else {
            return;
        };
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = None;
        }
        if !self.unreadable.contains(&id) {
            self.unreadable.push(id);
        }
    }

    /// The schema in slot `id` (as [`SchemaInbox::received`]), with what reading a batch of it
    /// takes: the copies of small buffers and the spare owners.
    #[inline(always)]
    pub(super) fn reading(
        &mut self,
        id: u64,
    ) -> Result<(&mut Received, &mut Copies, &mut Vec<Unshared>)> {
        let index = Self::index(id)?;
        let SchemaInbox {
            slots,
            copies,
            spare_owners,
            unreadable,
            untrusted,
            ..
        } = self;
        match slots.get_mut(index).and_then(Option::as_mut) {
            Some(received) => Ok((received, copies, spare_owners)),
            None => Err(missing(id, unreadable, *untrusted)),
        }
    }

    /// Before a change, or a batch passed on its own, is read (`Copies::start`).
    #[inline(always)]
    pub(super) fn start_copies(&mut self) {
        self.copies.start();
    }

    /// The schema in slot `id`.
    pub fn get(&self, id: u64) -> Result<&SchemaRef> {
        Ok(&self.received(id)?.schema)
    }

    /// The schema in slot `id` with how its columns are imported.
    pub(super) fn received(&self, id: u64) -> Result<&Received> {
        let index = Self::index(id)?;
        self.slots
            .get(index)
            .and_then(Option::as_ref)
            .ok_or_else(|| missing(id, &self.unreadable, self.untrusted))
    }
}

/// The error for a batch naming slot `id`, which holds no schema.
#[cold]
fn missing(id: u64, unreadable: &[u64], untrusted: bool) -> Error {
    Error::unlocated(if unreadable.contains(&id) {
        format!(
            "batch refers to schema id {id}, whose slot is empty: the schema last sent into it could not be read"
        )
    } else if untrusted {
        format!(
            "batch refers to schema id {id}, whose slot is empty: every schema was forgotten after a change whose diffs could not be trusted"
        )
    } else {
        format!("batch refers to schema id {id}, which was never sent")
    })
}

#[cfg(test)]
mod tests {
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn schema(n: usize) -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new(
            format!("c{n}"),
            DataType::Int64,
            false,
        )]))
    }

    #[test]
    fn a_known_schema_is_sent_once_by_pointer_or_by_content() {
        let mut outbox = SchemaOutbox::default();
        let s = schema(1);
        outbox.begin();
        assert_eq!(outbox.id_of(&s), (1, true));
        assert_eq!(
            outbox.id_of(&s),
            (1, false),
            "same send: already on its way"
        );
        outbox.commit();
        outbox.begin();
        assert_eq!(outbox.id_of(&s), (1, false));
        assert_eq!(
            outbox.id_of(&schema(1)),
            (1, false),
            "equal content, other Arc"
        );
        assert_eq!(outbox.id_of(&schema(2)), (2, true));
    }

    #[test]
    fn slots_are_bounded_and_reused_least_recently_used_first() {
        let mut outbox = SchemaOutbox::with_capacity(3);
        let schemas: Vec<_> = (0..10).map(schema).collect();
        for s in &schemas[..3] {
            outbox.begin();
            outbox.id_of(s);
            outbox.commit();
        }
        outbox.begin();
        outbox.id_of(&schemas[0]); // slot 1 is now the most recent
        outbox.commit();
        outbox.begin();
        assert_eq!(
            outbox.id_of(&schemas[3]),
            (2, true),
            "evicts slot 2, the oldest"
        );
        outbox.commit();
        for s in &schemas {
            outbox.begin();
            outbox.id_of(s);
            outbox.commit();
        }
        assert_eq!(outbox.len(), 3);
    }

    #[test]
    fn a_rolled_back_schema_is_sent_again() {
        let mut outbox = SchemaOutbox::default();
        outbox.begin();
        assert_eq!(outbox.id_of(&schema(1)), (1, true));
        outbox.rollback();
        outbox.begin();
        assert!(outbox.id_of(&schema(1)).1);
        outbox.commit();
        outbox.begin();
        assert!(!outbox.id_of(&schema(1)).1);
    }

    #[test]
    fn the_inbox_holds_one_schema_per_slot_and_refuses_other_ids() {
        let mut inbox = SchemaInbox::default();
        inbox.store(2, schema(1)).unwrap();
        inbox.store(2, schema(2)).unwrap();
        assert_eq!(inbox.len(), 1);
        assert_eq!(inbox.get(2).unwrap().field(0).name(), "c2");
        assert_eq!(
            inbox.get(1).unwrap_err().to_string(),
            "batch refers to schema id 1, which was never sent"
        );
        assert_eq!(
            inbox.store(0, schema(1)).unwrap_err().to_string(),
            "schema id 0 is not a slot (1 to 1024)"
        );
        assert!(inbox.store(MAX_SCHEMA_ID + 1, schema(1)).is_err());
    }
}
