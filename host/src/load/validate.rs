//! Validation of a plugin's header: a function of the header's address and the library's
//! memory ([`Memory`]), so that it can be tested and fuzzed without loading anything.
//!
//! Nothing read from the library is trusted. Every pointer is checked for alignment and for
//! lying inside a readable segment of the library before anything is read through it, and
//! every function pointer for lying inside an executable one. A struct is read only as far
//! as both its writer's size and ours go: fields a newer minor appended are absent from an
//! older writer's struct and take their defaults. Counts are bounded before they are used.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use oplink::abi::decl::{Addr, Declared, Decode, View};
use oplink::abi::{
    self, LayoutEntry, OperatorDescriptor, OperatorVTable, PluginHeader, ServiceMethod,
    ServiceRequirement, StrView,
};

use super::memory::Memory;
use crate::plugin::{BuildInfo, Implemented, RequiredMethod, RequiredService};

/// Upper bounds that catch garbage counts before anything is read.
const MAX_OPERATORS: usize = 4096;
const MAX_LAYOUTS: usize = 256;
const MAX_STR: usize = 1 << 20;
const MAX_REQUIRES: usize = 256;
const MAX_METHODS: usize = 4096;

/// Why a header is refused; the loader turns it into an [`Error`](crate::Error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The header is not oplink's.
    BadMagic([u8; 8]),
    /// Another major of the ABI.
    Major(u16),
    /// A newer minor than this host's, with the oplink version the library says it was
    /// built with, when its header holds a readable one.
    Minor(u16, Option<String>),
    /// Another layout than this host's; says which struct differs.
    Layout(String),
    /// Built with `panic = "abort"` (the SDK, or the crate of the named operator).
    PanicAbort(Option<String>),
    /// Two operators of one name: the name and the two versions, in the header's order.
    Duplicate(String, [String; 2]),
    /// Anything else, in one sentence.
    Invalid(String),
}

/// What a valid header describes.
#[derive(Debug)]
pub struct Described {
    /// Facts about the build.
    pub build: BuildInfo,
    /// The operators, in the header's order.
    pub operators: Vec<DescribedOperator>,
}

/// One operator of a valid header. Function addresses are checked to lie in executable
/// segments of the library.
#[derive(Debug)]
pub struct DescribedOperator {
    pub name: String,
    pub version: String,
    pub description: String,
    pub implemented: Implemented,
    pub requires: Vec<RequiredService>,
    /// `create`, `destroy`, `apply`, `pull`, `tick`, `flush_state`, `snapshot`, `restore`.
    pub slots: [usize; 8],
}

/// What is being read, for an error message: called only when there is one.
type What<'a> = &'a dyn Fn() -> String;

fn invalid(detail: impl Into<String>) -> Refusal {
    Refusal::Invalid(detail.into())
}

/// A shared list of the methods of a required service.
type Methods = Arc<[RequiredMethod]>;

struct Reader<'m, M: Memory> {
    memory: &'m M,
    /// Method lists read so far, by address and count: operators of one library point at
    /// the same lists (the standard services'), which are read once.
    methods: RefCell<Vec<(Addr, usize, Methods)>>,
    /// Required services whose fingerprint was checked against their name and methods:
    /// every operator of a library lists the standard services, checked once.
    checked: RefCell<Vec<(u64, Methods, String)>>,
}

impl<'m, M: Memory> Reader<'m, M> {
    /// `len` bytes at `addr`, which must be aligned to `align`. `what` names them for the
    /// error (made only when there is one: a load reads hundreds of fields).
    fn bytes(
        &self,
        addr: Addr,
        len: usize,
        align: usize,
        what: What<'_>,
    ) -> Result<&'m [u8], Refusal> {
        if addr.is_null() {
            return Err(invalid(format!("{} is a null pointer", what())));
        }
        if !addr.0.is_multiple_of(align) {
            return Err(invalid(format!(
                "{} is at {:#x}, which is not aligned to {align} bytes",
                what(),
                addr.0
            )));
        }
        self.memory.read(addr.0, len).ok_or_else(|| {
            invalid(format!(
                "the library's mapped memory does not hold {} ({} at {:#x})",
                what(),
                oplink::__private::counted(len, "byte", "bytes"),
                addr.0
            ))
        })
    }

    /// A table that carries its writer's size (a `u32` field named `size`): its bytes, at
    /// most our size and at least the size of its frozen prefix.
    fn table<S: Declared>(&self, addr: Addr, what: What<'_>) -> Result<View<'m, S>, Refusal> {
        let align = align_of::<S>();
        let at = const { size_offset(S::DECL.fields) };
        let head = self.bytes(addr, at + 4, align, what)?;
        let size = u32::decode(&head[at..]) as usize;
        let frozen = const { abi::size_at_minor::<S>(0) };
        if size < frozen {
            return Err(invalid(format!(
                "{} says it is {size} bytes, less than the {frozen} of ABI {}.0",
                what(),
                abi::ABI_MAJOR
            )));
        }
        let len = size.min(size_of::<S>());
        Ok(View::new(self.bytes(addr, len, align, what)?))
    }

    /// An array of `count` `S`, each read as a view.
    fn array<S: Declared>(
        &self,
        addr: Addr,
        count: usize,
        max: usize,
        what: What<'_>,
    ) -> Result<Vec<View<'m, S>>, Refusal> {
        if count == 0 {
            return Ok(Vec::new());
        }
        if count > max {
            return Err(invalid(format!(
                "{} counts {count} entries, more than {max}",
                what()
            )));
        }
        let bytes = self.bytes(addr, count * size_of::<S>(), align_of::<S>(), what)?;
        Ok(bytes.chunks_exact(size_of::<S>()).map(View::new).collect())
    }

    /// A string view's text: its bytes inside the library, UTF-8, copied.
    fn str(&self, view: View<'_, StrView>, what: What<'_>) -> Result<String, Refusal> {
        self.text(view, what).map(str::to_owned)
    }

    /// A string view's text, borrowed from the library's memory.
    fn text(&self, view: View<'_, StrView>, what: What<'_>) -> Result<&'m str, Refusal> {
        let (ptr, len) = (
            required(view.get(StrView::ptr))?,
            required(view.get(StrView::len))?,
        );
        if len > MAX_STR {
            return Err(invalid(format!("{} is {len} bytes long", what())));
        }
        if len == 0 {
            return Ok("");
        }
        let bytes = self.bytes(ptr, len, 1, what)?;
        std::str::from_utf8(bytes)
            .map_err(|e| invalid(format!("{} is not valid UTF-8 ({e})", what())))
    }
}

/// The offset of a table's `size` field (0 when it has none).
const fn size_offset(fields: &[oplink::abi::decl::FieldDecl]) -> usize {
    let mut i = 0;
    while i < fields.len() {
        let name = fields[i].name.as_bytes();
        if name.len() == 4
            && name[0] == b's'
            && name[1] == b'i'
            && name[2] == b'z'
            && name[3] == b'e'
        {
            return fields[i].rust_offset;
        }
        i += 1;
    }
    0
}

/// A field of the frozen prefix, which a checked table always has.
fn required<T>(value: Option<T>) -> Result<T, Refusal> {
    value.ok_or_else(|| invalid("a table ends inside its frozen prefix"))
}

/// Validates the header at `header` in `memory`.
pub fn validate<M: Memory>(memory: &M, header: Addr) -> Result<Described, Refusal> {
    let r = Reader {
        memory,
        methods: RefCell::new(Vec::new()),
        checked: RefCell::new(Vec::new()),
    };
    // The first 16 bytes are the same in every major: read them before trusting more.
    let prefix = r.bytes(header, 16, align_of::<abi::PluginHeader>(), &|| {
        "the header the entry symbol returned".to_owned()
    })?;
    let magic = <[u8; 8]>::decode(prefix);
    if magic != abi::MAGIC {
        return Err(Refusal::BadMagic(magic));
    }
    let (major, minor) = (u16::decode(&prefix[12..]), u16::decode(&prefix[14..]));
    if major != abi::ABI_MAJOR {
        return Err(Refusal::Major(major));
    }
    let table = r.table::<PluginHeader>(header, &|| "the header".to_owned());
    if minor > abi::ABI_MINOR {
        // A newer minor only appends to the header, so its frozen prefix still says which
        // oplink built the library: worth naming, not worth refusing it for.
        let version = table.ok().and_then(|h| {
            let view = h.get(PluginHeader::oplink_version)?;
            r.str(view, &|| String::new())
                .ok()
                .filter(|v| !v.is_empty())
        });
        return Err(Refusal::Minor(minor, version));
    }
    let h = table?;
    let fingerprint = required(h.get(PluginHeader::layout_fingerprint))?;
    if fingerprint != abi::LAYOUT_FINGERPRINT {
        return Err(Refusal::Layout(layout_difference(&r, &h, fingerprint)?));
    }
    if required(h.get(PluginHeader::reserved))? != 0 {
        return Err(invalid("the header's reserved field is not zero"));
    }
    let build = BuildInfo {
        abi: (major, minor),
        oplink_version: r.str(required(h.get(PluginHeader::oplink_version))?, &|| {
            "the oplink version".to_owned()
        })?,
        rustc_version: r.str(required(h.get(PluginHeader::rustc_version))?, &|| {
            "the compiler version".to_owned()
        })?,
        target: r.str(required(h.get(PluginHeader::target))?, &|| {
            "the target".to_owned()
        })?,
        profile: r.str(required(h.get(PluginHeader::profile))?, &|| {
            "the profile".to_owned()
        })?,
        layout_fingerprint: fingerprint,
        panic_strategy: "unwind",
    };
    match required(h.get(PluginHeader::panic_strategy))? {
        abi::PANIC_UNWIND => {}
        abi::PANIC_ABORT => return Err(Refusal::PanicAbort(None)),
        other => {
            return Err(invalid(format!(
                "its panic strategy is {other}, not 0 or 1"
            )));
        }
    }
    let count = required(h.get(PluginHeader::operator_count))?;
    let list = required(h.get(PluginHeader::operators))?;
    let pointers = if count == 0 {
        Vec::new()
    } else {
        if count > MAX_OPERATORS {
            return Err(invalid(format!(
                "it lists {count} operators, more than {MAX_OPERATORS}"
            )));
        }
        let bytes = r.bytes(
            list,
            count * size_of::<usize>(),
            align_of::<usize>(),
            &|| "the operator list".to_owned(),
        )?;
        bytes
            .chunks_exact(size_of::<usize>())
            .map(|b| Addr(usize::decode(b)))
            .collect()
    };
    let mut operators: Vec<DescribedOperator> = Vec::with_capacity(count);
    let mut seen = HashSet::new();
    for (index, addr) in pointers.into_iter().enumerate() {
        let operator = descriptor(&r, addr, index)?;
        if !seen.insert(operator.name.clone()) {
            let first = operators
                .iter()
                .find(|o| o.name == operator.name)
                .map(|o| o.version.clone())
                .unwrap_or_default();
            return Err(Refusal::Duplicate(operator.name, [first, operator.version]));
        }
        operators.push(operator);
    }
    Ok(Described { build, operators })
}

fn descriptor<M: Memory>(
    r: &Reader<'_, M>,
    addr: Addr,
    index: usize,
) -> Result<DescribedOperator, Refusal> {
    // Named by place until its name is read: "the 1st operator listed" (in `operators`),
    // words made only for an error.
    let listed = || {
        format!(
            "the {} operator listed",
            oplink::__private::ordinal(index + 1)
        )
    };
    let d = r.table::<OperatorDescriptor>(addr, &|| format!("the descriptor of {}", listed()))?;
    let what = |field: &str| format!("the {field} of {}", listed());
    let name = r.str(required(d.get(OperatorDescriptor::name))?, &|| what("name"))?;
    check_name(&name).map_err(|why| invalid(format!("{} {why}", listed())))?;
    let version = r.str(required(d.get(OperatorDescriptor::version))?, &|| {
        what("version")
    })?;
    if !is_semantic_version(&version) {
        // Shown as far as a version could reasonably go (the string may be 1 MiB).
        let shown: String = version.chars().take(64).collect();
        let more = if shown.len() < version.len() {
            "…"
        } else {
            ""
        };
        return Err(invalid(format!(
            "operator `{name}` has the version {shown:?}{more}; a version is semantic, such as `1.0.0` or `0.3.1-beta.2`"
        )));
    }
    let description = r.str(required(d.get(OperatorDescriptor::description))?, &|| {
        what("description")
    })?;
    let implemented = required(d.get(OperatorDescriptor::implemented))?;
    if implemented & !abi::IMPLEMENTS_ALL != 0 {
        return Err(invalid(format!(
            "operator `{name}` claims methods this host does not know (implemented bits {implemented:#x})"
        )));
    }
    // Appended in 2.1: absent from 2.0 descriptors, whose header's strategy covers them.
    match d.get(OperatorDescriptor::panic_strategy) {
        None | Some(abi::PANIC_UNWIND) => {}
        Some(abi::PANIC_ABORT) => return Err(Refusal::PanicAbort(Some(name))),
        Some(other) => {
            return Err(invalid(format!(
                "operator `{name}` has panic strategy {other}, not 0 or 1"
            )));
        }
    }
    if d.get(OperatorDescriptor::reserved).is_some_and(|r| r != 0) {
        return Err(invalid(format!(
            "operator `{name}`'s reserved field is not zero"
        )));
    }
    let vtable = r
        .table::<OperatorVTable>(required(d.get(OperatorDescriptor::vtable))?, &|| {
            format!("the vtable of operator `{name}`")
        })?;
    if required(vtable.get(OperatorVTable::reserved))? != 0 {
        return Err(invalid(format!(
            "the vtable of operator `{name}` has a reserved field that is not zero"
        )));
    }
    let entries = [
        ("create", vtable.get(OperatorVTable::create)),
        ("destroy", vtable.get(OperatorVTable::destroy)),
        ("apply", vtable.get(OperatorVTable::apply)),
        ("pull", vtable.get(OperatorVTable::pull)),
        ("tick", vtable.get(OperatorVTable::tick)),
        ("flush_state", vtable.get(OperatorVTable::flush_state)),
        ("snapshot", vtable.get(OperatorVTable::snapshot)),
        ("restore", vtable.get(OperatorVTable::restore)),
    ];
    let mut slots = [0usize; 8];
    for (slot, (entry, addr)) in slots.iter_mut().zip(entries) {
        let addr = required(addr)?;
        if addr.is_null() {
            return Err(invalid(format!(
                "operator `{name}` has no `{entry}` entry point (its vtable slot is null: every slot must be filled, a method the operator does not implement with the default docs/abi.md gives for it)"
            )));
        }
        if !r.memory.is_code(addr.0) {
            return Err(invalid(format!(
                "the `{entry}` entry point of operator `{name}` is at {:#x}, which is not code of the library",
                addr.0
            )));
        }
        *slot = addr.0;
    }
    let requires = requirements(r, &d, &name)?;
    Ok(DescribedOperator {
        name,
        version,
        description,
        implemented: Implemented::from_bits(implemented),
        requires,
        slots,
    })
}

fn requirements<M: Memory>(
    r: &Reader<'_, M>,
    d: &View<'_, OperatorDescriptor>,
    operator: &str,
) -> Result<Vec<RequiredService>, Refusal> {
    let count = required(d.get(OperatorDescriptor::requires_count))?;
    let list = r.array::<ServiceRequirement>(
        required(d.get(OperatorDescriptor::requires))?,
        count,
        MAX_REQUIRES,
        &|| {
            format!(
                "the list of the {} required by operator `{operator}`",
                oplink::__private::counted(count, "service", "services")
            )
        },
    )?;
    let mut out: Vec<RequiredService> = Vec::with_capacity(list.len());
    for (index, entry) in list.into_iter().enumerate() {
        let what = || {
            format!(
                "the {} service that operator `{operator}` requires",
                oplink::__private::ordinal(index + 1)
            )
        };
        let name = r.str(required(entry.get(ServiceRequirement::name))?, &|| {
            format!("the name of {}", what())
        })?;
        let (list, count) = (
            required(entry.get(ServiceRequirement::methods))?,
            required(entry.get(ServiceRequirement::method_count))?,
        );
        let known = r
            .methods
            .borrow()
            .iter()
            .find(|(at, n, _)| *at == list && *n == count)
            .map(|(_, _, methods)| methods.clone());
        let methods = match known {
            Some(methods) => methods,
            None => {
                let methods = read_methods(r, list, count, &name, &what)?;
                r.methods.borrow_mut().push((list, count, methods.clone()));
                methods
            }
        };
        let fingerprint = required(entry.get(ServiceRequirement::fingerprint))?;
        // The service's fingerprint follows from its name and its methods' (a C library
        // copies it): one that does not is a typo, which would otherwise pass unseen.
        let checked = r
            .checked
            .borrow()
            .iter()
            .any(|(f, m, n)| *f == fingerprint && Arc::ptr_eq(m, &methods) && *n == name);
        if !checked {
            let follows =
                oplink::service::fingerprint_of(&name, methods.iter().map(|m| m.fingerprint));
            if fingerprint != follows {
                return Err(invalid(format!(
                    "operator `{operator}` requires `{name}` with the fingerprint {fingerprint:#018x}, but the methods it lists give {follows:#018x} (a C library copies a service's `OPLINK_*_FINGERPRINT` and `OPLINK_*_METHODS` together, from `oplink.h` or `oplink::service::c_declarations`)"
                )));
            }
            let key = (fingerprint, methods.clone(), name.clone());
            r.checked.borrow_mut().push(key);
        }
        let service = RequiredService {
            name,
            fingerprint,
            methods,
        };
        // A standard service also listed in `requires` appears twice: once is enough.
        if !out.iter().any(|s| s.name == service.name) {
            out.push(service);
        }
    }
    Ok(out)
}

fn read_methods<M: Memory>(
    r: &Reader<'_, M>,
    list: Addr,
    count: usize,
    name: &str,
    what: &dyn Fn() -> String,
) -> Result<Arc<[RequiredMethod]>, Refusal> {
    let methods = r.array::<ServiceMethod>(list, count, MAX_METHODS, &|| {
        format!("the methods of `{name}`, {}", what())
    })?;
    // Validate every string in place first; the owned copies are made once per distinct
    // list in the process (most plugins list the same standard services).
    let mut texts = Vec::with_capacity(methods.len());
    for (m, method) in methods.iter().enumerate() {
        let method_name = r.text(required(method.get(ServiceMethod::name))?, &|| {
            format!("the name of method {m} of `{name}`")
        })?;
        let signature = r.text(required(method.get(ServiceMethod::signature))?, &|| {
            format!("the signature of method {m} of `{name}`")
        })?;
        texts.push((
            method_name,
            signature,
            required(method.get(ServiceMethod::fingerprint))?,
        ));
    }
    Ok(intern(&texts))
}

/// The one shared copy of a method list with this content.
fn intern(texts: &[(&str, &str, u64)]) -> Arc<[RequiredMethod]> {
    static LISTS: OnceLock<Mutex<HashMap<u64, Vec<Methods>>>> = OnceLock::new();
    // The methods' fingerprints already digest their names and types: mixed, they key the
    // list (equal keys are told apart by `same`, below).
    let key = texts
        .iter()
        .fold(texts.len() as u64, |key, (_, _, fingerprint)| {
            (key.rotate_left(23) ^ fingerprint).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        });
    let same = |list: &Arc<[RequiredMethod]>| {
        list.len() == texts.len()
            && list
                .iter()
                .zip(texts)
                .all(|(have, (name, signature, fingerprint))| {
                    have.name == *name
                        && have.signature == *signature
                        && have.fingerprint == *fingerprint
                })
    };
    let mut lists = LISTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let bucket = lists.entry(key).or_default();
    if let Some(list) = bucket.iter().find(|list| same(list)) {
        return list.clone();
    }
    let list: Arc<[RequiredMethod]> = texts
        .iter()
        .map(|(name, signature, fingerprint)| RequiredMethod {
            name: (*name).to_owned(),
            signature: (*signature).to_owned(),
            fingerprint: *fingerprint,
        })
        .collect();
    bucket.push(list.clone());
    list
}

/// Which struct differs from this host's, by the layout table the header points to.
fn layout_difference<M: Memory>(
    r: &Reader<'_, M>,
    h: &View<'_, PluginHeader>,
    fingerprint: u64,
) -> Result<String, Refusal> {
    let count = required(h.get(PluginHeader::layout_count))?;
    let table = r.array::<LayoutEntry>(
        required(h.get(PluginHeader::layouts))?,
        count,
        MAX_LAYOUTS,
        &|| "the layout table".to_owned(),
    );
    let theirs = match table {
        Ok(theirs) if !theirs.is_empty() => theirs,
        // What is wrong is the fingerprint, whatever the table: say that, and why no
        // struct is named.
        unreadable => {
            let why = if unreadable.is_err() {
                "the plugin's layout table cannot be read"
            } else {
                "the plugin has no layout table"
            };
            return Ok(format!(
                "layout fingerprint {fingerprint:#018x} differs from this host's {:#018x}, and {why} to say which struct differs (a C library copies `OPLINK_LAYOUT_FINGERPRINT` from this host's `oplink.h`)",
                abi::LAYOUT_FINGERPRINT
            ));
        }
    };
    let mut named = Vec::with_capacity(theirs.len());
    for entry in theirs {
        let name = r.str(required(entry.get(LayoutEntry::name))?, &|| {
            "a layout entry's name".to_owned()
        })?;
        named.push((
            name,
            required(entry.get(LayoutEntry::size))?,
            required(entry.get(LayoutEntry::align))?,
            required(entry.get(LayoutEntry::fingerprint))?,
        ));
    }
    let mut missing = None;
    for ours in abi::STRUCTS {
        let ours_fp = ours.fingerprint();
        match named.iter().find(|(n, ..)| n == ours.name) {
            None => missing = missing.or(Some(ours)),
            Some((_, _, _, fp)) if *fp != ours_fp => {
                return Ok(format!(
                    "the fields of `{}` (`{}` in C) differ between the plugin and this host",
                    ours.name,
                    ours.c_name()
                ));
            }
            Some((_, size, align, _))
                if *size as usize != ours.rust_size || *align as usize != ours.rust_align =>
            {
                return Ok(format!(
                    "`{}` (`{}` in C) is {size} bytes aligned to {align} in the plugin but {} bytes aligned to {} in this host",
                    ours.name,
                    ours.c_name(),
                    ours.rust_size,
                    ours.rust_align
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(ours) = missing {
        return Ok(format!(
            "the plugin does not describe `{}` (`{}` in C; layout fingerprint {fingerprint:#018x}, this host's {:#018x})",
            ours.name,
            ours.c_name(),
            abi::LAYOUT_FINGERPRINT
        ));
    }
    Ok(format!(
        "layout fingerprint {fingerprint:#018x} differs from this host's {:#018x}",
        abi::LAYOUT_FINGERPRINT
    ))
}

/// Operator names: 1 to 64 ASCII letters, digits, `_`, `-` or `.`, starting with a letter.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("has an empty name".to_owned());
    }
    if name.len() > 64 {
        return Err(format!("has a name of {} bytes, more than 64", name.len()));
    }
    if !oplink::__private::is_operator_name(name) {
        return Err(format!(
            "has the name {name:?}; names are ASCII letters, digits, `_`, `-` and `.`, starting with a letter"
        ));
    }
    Ok(())
}

/// Whether `version` is a semantic version: `MAJOR.MINOR.PATCH` (numbers without leading
/// zeros), then an optional `-pre` and `+build` of dot-separated ASCII letters, digits and
/// `-`: what `#[oplink::operator]` accepts, checked again here for libraries written in
/// other languages.
fn is_semantic_version(version: &str) -> bool {
    semantic_version(version).is_some()
}

/// The `MAJOR.MINOR.PATCH` of a semantic version (`None` for any other text), for checks
/// and comparisons alike.
pub(crate) fn semantic_version(version: &str) -> Option<(u64, u64, u64)> {
    let identifiers = |s: &str| {
        s.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    };
    let (rest, build) = match version.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (version, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    if !pre.is_none_or(identifiers) || !build.is_none_or(identifiers) {
        return None;
    }
    let number = |p: &str| {
        let plain = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        (plain && (p == "0" || !p.starts_with('0')))
            .then(|| p.parse::<u64>().ok())
            .flatten()
    };
    let mut parts = core.split('.').map(number);
    let triple = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(triple)
}

#[cfg(test)]
mod tests;
