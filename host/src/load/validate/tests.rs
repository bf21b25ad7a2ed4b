//! The validator against headers laid out in fake memory: a valid one, hand-spoiled ones,
//! and a bounded fuzz run (random headers, and random changes to a valid one) that must
//! never panic or read outside the memory it was given.

use oplink::abi::decl::{Addr, Declared};
use oplink::abi::{
    self, LayoutEntry, OperatorDescriptor, OperatorVTable, PluginHeader, ServiceMethod,
    ServiceRequirement, StrView,
};
use proptest::prelude::*;

use super::*;
use crate::load::memory::FakeMemory;

const DATA: usize = 0x10_0000;
const CODE: usize = 0x40_0000;

/// A library's data laid out by hand, at `DATA`, with code at `CODE`.
struct Image {
    bytes: Vec<u8>,
}

fn offset<S: Declared>(field: &str) -> usize {
    S::DECL
        .fields
        .iter()
        .find(|f| f.name == field)
        .unwrap_or_else(|| panic!("{} has no field {field}", S::DECL.name))
        .rust_offset
}

impl Image {
    fn alloc(&mut self, len: usize, align: usize) -> usize {
        while !self.bytes.len().is_multiple_of(align) {
            self.bytes.push(0);
        }
        let at = DATA + self.bytes.len();
        self.bytes.resize(self.bytes.len() + len, 0);
        at
    }

    fn put(&mut self, addr: usize, bytes: &[u8]) {
        let at = addr - DATA;
        self.bytes[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn set<S: Declared>(&mut self, base: usize, field: &str, bytes: &[u8]) {
        self.put(base + offset::<S>(field), bytes);
    }

    fn word<S: Declared>(&mut self, base: usize, field: &str, value: usize) {
        self.set::<S>(base, field, &value.to_ne_bytes());
    }

    fn text(&mut self, s: &str) -> (usize, usize) {
        let at = self.alloc(s.len().max(1), 1);
        self.put(at, s.as_bytes());
        (at, s.len())
    }

    fn view<S: Declared>(&mut self, base: usize, field: &str, s: &str) {
        let (ptr, len) = self.text(s);
        let at = base + offset::<S>(field);
        self.word::<StrView>(at, "ptr", ptr);
        self.word::<StrView>(at, "len", len);
    }

    /// A valid header with one operator that requires one service of two methods.
    fn valid() -> (Image, usize) {
        let mut image = Image { bytes: Vec::new() };
        let methods = image.alloc(2 * size_of::<ServiceMethod>(), 8);
        for (i, name) in ["get", "put"].into_iter().enumerate() {
            let m = methods + i * size_of::<ServiceMethod>();
            image.view::<ServiceMethod>(m, "name", name);
            image.view::<ServiceMethod>(m, "signature", &format!("fn {name}(&self)"));
            image.set::<ServiceMethod>(m, "fingerprint", &(i as u64 + 7).to_ne_bytes());
        }
        let requires = image.alloc(size_of::<ServiceRequirement>(), 8);
        image.view::<ServiceRequirement>(requires, "name", "Lookup");
        let fingerprint = oplink::service::fingerprint_of("Lookup", [7, 8]);
        image.set::<ServiceRequirement>(requires, "fingerprint", &fingerprint.to_ne_bytes());
        image.word::<ServiceRequirement>(requires, "methods", methods);
        image.word::<ServiceRequirement>(requires, "method_count", 2);

        let vtable = image.alloc(size_of::<OperatorVTable>(), 8);
        image.set::<OperatorVTable>(
            vtable,
            "size",
            &(size_of::<OperatorVTable>() as u32).to_ne_bytes(),
        );
        for (i, slot) in [
            "create",
            "destroy",
            "apply",
            "pull",
            "tick",
            "flush_state",
            "snapshot",
            "restore",
        ]
        .into_iter()
        .enumerate()
        {
            image.word::<OperatorVTable>(vtable, slot, CODE + 16 * i);
        }

        let descriptor = image.alloc(size_of::<OperatorDescriptor>(), 8);
        image.set::<OperatorDescriptor>(
            descriptor,
            "size",
            &(size_of::<OperatorDescriptor>() as u32).to_ne_bytes(),
        );
        image.set::<OperatorDescriptor>(
            descriptor,
            "implemented",
            &abi::IMPLEMENTS_SNAPSHOT.to_ne_bytes(),
        );
        image.view::<OperatorDescriptor>(descriptor, "name", "lookup_join");
        image.view::<OperatorDescriptor>(descriptor, "version", "1.2.3");
        image.view::<OperatorDescriptor>(descriptor, "description", "joins");
        image.word::<OperatorDescriptor>(descriptor, "vtable", vtable);
        image.word::<OperatorDescriptor>(descriptor, "requires", requires);
        image.word::<OperatorDescriptor>(descriptor, "requires_count", 1);

        let list = image.alloc(size_of::<usize>(), 8);
        image.put(list, &descriptor.to_ne_bytes());

        let layouts = image.alloc(size_of::<LayoutEntry>(), 8);
        image.view::<LayoutEntry>(layouts, "name", "OperatorVTable");
        image.set::<LayoutEntry>(layouts, "fingerprint", &1u64.to_ne_bytes());

        let header = image.alloc(size_of::<PluginHeader>(), 8);
        image.set::<PluginHeader>(header, "magic", &abi::MAGIC);
        image.set::<PluginHeader>(
            header,
            "size",
            &(size_of::<PluginHeader>() as u32).to_ne_bytes(),
        );
        image.set::<PluginHeader>(header, "abi_major", &abi::ABI_MAJOR.to_ne_bytes());
        image.set::<PluginHeader>(header, "abi_minor", &abi::ABI_MINOR.to_ne_bytes());
        image.set::<PluginHeader>(
            header,
            "layout_fingerprint",
            &abi::LAYOUT_FINGERPRINT.to_ne_bytes(),
        );
        image.word::<PluginHeader>(header, "layouts", layouts);
        image.word::<PluginHeader>(header, "layout_count", 1);
        for (field, text) in [
            ("oplink_version", "0.2.0"),
            ("rustc_version", "rustc"),
            ("target", "x86_64-unknown-linux-gnu"),
            ("profile", "release"),
        ] {
            image.view::<PluginHeader>(header, field, text);
        }
        image.word::<PluginHeader>(header, "operators", list);
        image.word::<PluginHeader>(header, "operator_count", 1);
        (image, header)
    }

    fn memory(&self) -> FakeMemory {
        let mut memory = FakeMemory::default();
        memory.map(DATA, self.bytes.clone(), false);
        memory.map(CODE, vec![0xc3; 256], true);
        memory
    }
}

#[test]
fn a_valid_header_is_described() {
    let (image, header) = Image::valid();
    let described = validate(&image.memory(), Addr(header)).unwrap();
    assert_eq!(described.build.abi, (abi::ABI_MAJOR, abi::ABI_MINOR));
    assert_eq!(described.build.profile, "release");
    let [operator] = &described.operators[..] else {
        panic!("{described:?}")
    };
    assert_eq!(operator.name, "lookup_join");
    assert_eq!(operator.implemented.names(), ["snapshot"]);
    assert_eq!(operator.slots[2], CODE + 32);
    let [service] = &operator.requires[..] else {
        panic!()
    };
    assert_eq!(
        (service.name.as_str(), service.fingerprint),
        ("Lookup", oplink::service::fingerprint_of("Lookup", [7, 8]))
    );
    assert_eq!(service.methods[1].signature, "fn put(&self)");
}

/// The valid image with one change, validated.
fn spoiled(change: impl FnOnce(&mut Image, usize)) -> Result<Described, Refusal> {
    let (mut image, header) = Image::valid();
    change(&mut image, header);
    validate(&image.memory(), Addr(header))
}

fn descriptor_of(image: &Image, header: usize) -> usize {
    let list = usize::from_ne_bytes(
        image.bytes[header - DATA + offset::<PluginHeader>("operators")..][..8]
            .try_into()
            .unwrap(),
    );
    usize::from_ne_bytes(image.bytes[list - DATA..][..8].try_into().unwrap())
}

fn vtable_of(image: &Image, header: usize) -> usize {
    let d = descriptor_of(image, header);
    usize::from_ne_bytes(
        image.bytes[d - DATA + offset::<OperatorDescriptor>("vtable")..][..8]
            .try_into()
            .unwrap(),
    )
}

#[test]
fn an_older_minors_descriptor_is_read_without_its_appended_fields() {
    let described = spoiled(|image, header| {
        let descriptor = descriptor_of(image, header);
        let v20 = abi::size_at_minor::<OperatorDescriptor>(0) as u32;
        image.set::<OperatorDescriptor>(descriptor, "size", &v20.to_ne_bytes());
        // What lies beyond the 2.0 size is not the descriptor's: an abort flag there is
        // not read.
        image.set::<OperatorDescriptor>(
            descriptor,
            "panic_strategy",
            &abi::PANIC_ABORT.to_ne_bytes(),
        );
        image.set::<PluginHeader>(header, "abi_minor", &0u16.to_ne_bytes());
    })
    .unwrap();
    assert_eq!(described.build.abi.1, 0);
    assert_eq!(described.operators[0].name, "lookup_join");
}

#[test]
fn a_newer_minor_is_refused_naming_the_oplink_that_built_it_when_it_can_be_read() {
    let newer = (abi::ABI_MINOR + 1).to_ne_bytes();
    let refusal = spoiled(|image, header| {
        image.set::<PluginHeader>(header, "abi_minor", &newer);
    })
    .unwrap_err();
    assert_eq!(
        refusal,
        Refusal::Minor(abi::ABI_MINOR + 1, Some("0.2.0".to_owned()))
    );
    // A version that cannot be read is left out, not a reason of its own.
    let refusal = spoiled(|image, header| {
        image.set::<PluginHeader>(header, "abi_minor", &newer);
        image.word::<PluginHeader>(header, "oplink_version", 0x9999_0000);
    })
    .unwrap_err();
    assert_eq!(refusal, Refusal::Minor(abi::ABI_MINOR + 1, None));
}

#[test]
fn spoiled_headers_are_refused_with_a_reason() {
    type Change = Box<dyn FnOnce(&mut Image, usize)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "an unmapped vtable",
            Box::new(|image, header| {
                let d = descriptor_of(image, header);
                image.word::<OperatorDescriptor>(d, "vtable", 0x9999_0000);
            }),
            "the library's mapped memory does not hold the vtable of operator `lookup_join` (4 bytes at 0x99990000)",
        ),
        (
            "a function outside the code",
            Box::new(|image, header| {
                let vtable = vtable_of(image, header);
                image.word::<OperatorVTable>(vtable, "apply", DATA + 8);
            }),
            "the `apply` entry point of operator `lookup_join` is at 0x100008, which is not code of the library",
        ),
        (
            "a string that runs off the end of its segment",
            Box::new(|image, header| {
                let d = descriptor_of(image, header);
                image.word::<StrView>(d + offset::<OperatorDescriptor>("version"), "len", 1 << 19);
            }),
            "the library's mapped memory does not hold the version of the 1st operator listed (524288 bytes at 0x10014b)",
        ),
        (
            "a misaligned operator list",
            Box::new(|image, header| {
                let list = usize::from_ne_bytes(
                    image.bytes[header - DATA + offset::<PluginHeader>("operators")..][..8]
                        .try_into()
                        .unwrap(),
                );
                image.word::<PluginHeader>(header, "operators", list + 1);
            }),
            "which is not aligned to 8 bytes",
        ),
        (
            "too many operators",
            Box::new(|image, header| image.word::<PluginHeader>(header, "operator_count", 1 << 40)),
            "it lists 1099511627776 operators, more than 4096",
        ),
        (
            "too many requirements",
            Box::new(|image, header| {
                let d = descriptor_of(image, header);
                image.word::<OperatorDescriptor>(d, "requires_count", 1 << 20);
            }),
            "counts 1048576 entries, more than 256",
        ),
        (
            "an empty operator name",
            Box::new(|image, header| {
                let d = descriptor_of(image, header);
                image.view::<OperatorDescriptor>(d, "name", "");
            }),
            "the 1st operator listed has an empty name",
        ),
        (
            "a name too long",
            Box::new(|image, header| {
                let d = descriptor_of(image, header);
                image.view::<OperatorDescriptor>(d, "name", &"n".repeat(65));
            }),
            "the 1st operator listed has a name of 65 bytes, more than 64",
        ),
        (
            "a panic strategy that is neither",
            Box::new(|image, header| {
                image.set::<PluginHeader>(header, "panic_strategy", &7u32.to_ne_bytes());
            }),
            "its panic strategy is 7, not 0 or 1",
        ),
        (
            "an operator's panic strategy that is neither",
            Box::new(|image, header| {
                let d = descriptor_of(image, header);
                image.set::<OperatorDescriptor>(d, "panic_strategy", &7u32.to_ne_bytes());
            }),
            "operator `lookup_join` has panic strategy 7, not 0 or 1",
        ),
        (
            "a missing entry point",
            Box::new(|image, header| {
                let vtable = vtable_of(image, header);
                image.word::<OperatorVTable>(vtable, "tick", 0);
            }),
            "operator `lookup_join` has no `tick` entry point (its vtable slot is null: every slot must be filled, a method the operator does not implement with the default docs/abi.md gives for it)",
        ),
    ];
    for (what, change, expected) in cases {
        let refusal = spoiled(change).expect_err(what);
        let Refusal::Invalid(detail) = &refusal else {
            panic!("{what}: {refusal:?}")
        };
        assert!(
            detail.ends_with(expected) || detail == expected,
            "{what}: {detail}"
        );
    }
    let refusal = spoiled(|image, header| {
        image.set::<PluginHeader>(header, "layout_fingerprint", &1u64.to_ne_bytes());
    })
    .unwrap_err();
    assert_eq!(
        refusal,
        Refusal::Layout(
            "the fields of `OperatorVTable` (`OplinkOperatorVTable` in C) differ between the plugin and this host".to_owned()
        )
    );
    // The same fields, laid out at another size; then every listed struct right, one
    // missing from the list.
    let vtable = abi::STRUCTS
        .iter()
        .find(|s| s.name == "OperatorVTable")
        .unwrap();
    let layout_entry = |image: &Image, header: usize| {
        usize::from_ne_bytes(
            image.bytes[header - DATA + offset::<PluginHeader>("layouts")..][..8]
                .try_into()
                .unwrap(),
        )
    };
    let refusal = spoiled(|image, header| {
        image.set::<PluginHeader>(header, "layout_fingerprint", &1u64.to_ne_bytes());
        let entry = layout_entry(image, header);
        image.set::<LayoutEntry>(entry, "fingerprint", &vtable.fingerprint().to_ne_bytes());
        image.set::<LayoutEntry>(entry, "size", &99u32.to_ne_bytes());
        image.set::<LayoutEntry>(entry, "align", &(vtable.rust_align as u32).to_ne_bytes());
    })
    .unwrap_err();
    assert_eq!(
        refusal,
        Refusal::Layout(format!(
            "`OperatorVTable` (`OplinkOperatorVTable` in C) is 99 bytes aligned to {1} in the plugin but {0} bytes aligned to {1} in this host",
            vtable.rust_size, vtable.rust_align
        ))
    );
    let refusal = spoiled(|image, header| {
        image.set::<PluginHeader>(header, "layout_fingerprint", &1u64.to_ne_bytes());
        let entry = layout_entry(image, header);
        image.set::<LayoutEntry>(entry, "fingerprint", &vtable.fingerprint().to_ne_bytes());
        image.set::<LayoutEntry>(entry, "size", &(vtable.rust_size as u32).to_ne_bytes());
        image.set::<LayoutEntry>(entry, "align", &(vtable.rust_align as u32).to_ne_bytes());
    })
    .unwrap_err();
    let Refusal::Layout(text) = refusal else {
        panic!("{refusal:?}")
    };
    assert_eq!(
        text,
        format!(
            "the plugin does not describe `{0}` (`Oplink{0}` in C; layout fingerprint 0x0000000000000001, this host's {1:#018x})",
            abi::STRUCTS[0].name,
            abi::LAYOUT_FINGERPRINT
        )
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Up to eight bytes changed anywhere in a valid image: an answer, never a panic.
    #[test]
    fn changed_bytes_never_crash_the_validator(
        changes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
    ) {
        let (mut image, header) = Image::valid();
        let len = image.bytes.len();
        for (at, value) in changes {
            image.bytes[at.index(len)] = value;
        }
        let _ = validate(&image.memory(), Addr(header));
    }

    /// A header of random bytes in memory of random bytes.
    #[test]
    fn random_headers_never_crash_the_validator(bytes in prop::collection::vec(any::<u8>(), 16..2048)) {
        let mut memory = FakeMemory::default();
        let mut bytes = bytes;
        bytes[..8].copy_from_slice(&abi::MAGIC);
        bytes[12..14].copy_from_slice(&abi::ABI_MAJOR.to_ne_bytes());
        bytes[14..16].copy_from_slice(&0u16.to_ne_bytes());
        memory.map(DATA, bytes, false);
        let _ = validate(&memory, Addr(DATA));
    }
}

#[test]
fn versions_are_semantic() {
    for good in [
        "1.0.0",
        "0.3.1-beta.2",
        "1.2.3+build.5",
        "10.20.30-rc.1+b-7",
        "0.0.0",
    ] {
        assert!(super::is_semantic_version(good), "{good}");
    }
    for bad in [
        "",
        "banana",
        "1.0",
        "1.0.0.0",
        "01.0.0",
        "1.0.0-",
        "1.0.0+",
        "1.0.0-be ta",
        "1..0",
        "v1.0.0",
        " 1.0.0",
        "99999999999999999999.0.0",
    ] {
        assert!(!super::is_semantic_version(bad), "{bad:?}");
    }
    // Compared by their numbers alone, one parser for the check and the comparison.
    assert_eq!(
        super::semantic_version("10.20.30-rc.1+b-7"),
        Some((10, 20, 30))
    );
    assert_eq!(super::semantic_version("1.2.3-"), None);
}
