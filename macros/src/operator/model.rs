//! The model of an operator: its impl block, parsed and checked. Every node keeps the
//! user's tokens, so errors and generated calls point at them.

use proc_macro2::TokenStream;
use syn::{ImplItem, ImplItemFn, ItemImpl, Type};

use super::check;
use crate::common::errors::Errors;

/// The methods an operator impl may hold.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Slot {
    New,
    Apply,
    Pull,
    Tick,
    FlushState,
    Snapshot,
    Restore,
}

impl Slot {
    pub const ALL: [Slot; 7] = [
        Slot::New,
        Slot::Apply,
        Slot::Pull,
        Slot::Tick,
        Slot::FlushState,
        Slot::Snapshot,
        Slot::Restore,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Slot::New => "new",
            Slot::Apply => "apply",
            Slot::Pull => "pull",
            Slot::Tick => "tick",
            Slot::FlushState => "flush_state",
            Slot::Snapshot => "snapshot",
            Slot::Restore => "restore",
        }
    }

    /// The signature the user should write, for messages; for `apply`, the view form when
    /// the user wrote a `ChangeView`.
    pub fn expected_for(self, view: bool) -> &'static str {
        if view && self == Slot::Apply {
            return "fn apply(&mut self, ctx: &mut Context, change: ChangeView) -> Result<ChangeOut>";
        }
        self.expected()
    }

    /// The signature the user should write, for messages.
    pub fn expected(self) -> &'static str {
        match self {
            Slot::New => "fn new(config: Config) -> Result<Self>",
            Slot::Apply => {
                "fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change>"
            }
            Slot::Pull => {
                "fn pull(&mut self, ctx: &mut Context, rows: &[RowNumber]) -> Result<RecordBatch>"
            }
            Slot::Tick => {
                "fn tick(&mut self, ctx: &mut Context, now: Timestamp) -> Result<Option<Change>>"
            }
            Slot::FlushState => "fn flush_state(&mut self, ctx: &mut Context) -> Result<()>",
            Slot::Snapshot => "fn snapshot(&self, ctx: &mut Context) -> Result<Vec<u8>>",
            Slot::Restore => {
                "fn restore(&mut self, ctx: &mut Context, snapshot: &[u8]) -> Result<()>"
            }
        }
    }

    /// Arguments besides `self` and the optional leading `ctx`.
    pub fn data_args(self) -> usize {
        match self {
            Slot::New | Slot::Apply | Slot::Pull | Slot::Tick | Slot::Restore => 1,
            Slot::FlushState | Slot::Snapshot => 0,
        }
    }

    /// Whether the method may take `ctx: &mut Context` first.
    pub fn takes_ctx(self) -> bool {
        matches!(
            self,
            Slot::Apply
                | Slot::Pull
                | Slot::Tick
                | Slot::FlushState
                | Slot::Snapshot
                | Slot::Restore
        )
    }

    /// Whether the method is optional; the `IMPLEMENTS_*` bit of an optional one.
    pub fn bit(self) -> Option<&'static str> {
        match self {
            Slot::New | Slot::Apply => None,
            Slot::Pull => Some("IMPLEMENTS_PULL"),
            Slot::Tick => Some("IMPLEMENTS_TICK"),
            Slot::FlushState => Some("IMPLEMENTS_FLUSH_STATE"),
            Slot::Snapshot => Some("IMPLEMENTS_SNAPSHOT"),
            Slot::Restore => Some("IMPLEMENTS_RESTORE"),
        }
    }

    pub fn from_name(name: &str) -> Option<Slot> {
        Slot::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One of the user's operator methods.
pub struct Method<'a> {
    pub slot: Slot,
    pub item: &'a ImplItemFn,
    /// The `#[cfg]` conditions on the method, combined.
    pub cfg: Option<TokenStream>,
    /// The type the user wrote for `ctx`, when the method takes it.
    pub ctx_type: Option<&'a Type>,
    /// The types of the data arguments (after `self` and `ctx`).
    pub arg_types: Vec<&'a Type>,
    /// The `Ok` type of the returned `Result`.
    pub ok: &'a Type,
    /// The error type of the returned `Result`, when written (`Result<T, E>`).
    pub err: Option<&'a Type>,
}

/// A checked operator impl.
pub struct Operator<'a> {
    pub item: &'a ItemImpl,
    pub self_ty: &'a Type,
    pub methods: Vec<Method<'a>>,
}

impl<'a> Operator<'a> {
    /// The variants of `slot` (several only when `#[cfg]` picks one per build).
    pub fn methods(&self, slot: Slot) -> impl Iterator<Item = &Method<'a>> {
        self.methods.iter().filter(move |m| m.slot == slot)
    }

    /// Parses and checks `item`, recording every problem in `errors`.
    pub fn from_syn(item: &'a ItemImpl, errors: &mut Errors) -> Operator<'a> {
        check::item(item, errors);
        // A trait impl is refused as a whole: the trait sets its methods (and may give
        // `new` a default the attribute never sees), so they are not checked as an
        // operator's, which would report one mistake several times over.
        if item.trait_.is_some() {
            return Operator {
                item,
                self_ty: &item.self_ty,
                methods: Vec::new(),
            };
        }
        // A second `#[oplink::operator]` on the same impl (to give the operator two names,
        // say) would implement the bridge twice for one type.
        if let Some(again) = item.attrs.iter().find(|attr| {
            // `#[operator]` (imported) or `#[oplink::operator]`, not another crate's.
            let names: Vec<String> = attr
                .path()
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            matches!(names.as_slice(), [one] if one == "operator")
                || matches!(names.as_slice(), [krate, one] if krate == "oplink" && one == "operator")
        }) {
            errors.at(
                again,
                format!(
                    "this impl is an operator already: a type carries one operator, so `{}` takes one #[oplink::operator]; for a second operator (another name for the same code, say), make a second type, such as `struct Other({0});`, with an annotated impl that calls this one's methods",
                    crate::common::types::text(&item.self_ty)
                ),
            );
        }
        let mut methods: Vec<Method<'a>> = Vec::new();
        // A required method named otherwise (`init`, `process`) that a hint points at: it is
        // reported there, not again as missing.
        let mut hinted: Vec<Slot> = Vec::new();
        let named = |slot: Slot| {
            item.items
                .iter()
                .any(|i| matches!(i, ImplItem::Fn(f) if crate::common::unraw(&f.sig.ident) == slot.name()))
        };
        for impl_item in &item.items {
            let ImplItem::Fn(function) = impl_item else {
                let why = if matches!(impl_item, ImplItem::Macro(_)) {
                    "an #[oplink::operator] impl holds only operator methods, written out: a macro call in it is not expanded before the attribute reads the impl, so methods it would make are not seen; write them in the impl, and other items in a separate `impl` block"
                } else {
                    "an #[oplink::operator] impl holds only operator methods; move other items to a separate `impl` block"
                };
                errors.at(impl_item, why);
                continue;
            };
            // `fn r#apply` is `apply`.
            let name = crate::common::unraw(&function.sig.ident);
            let Some(slot) = Slot::from_name(&name) else {
                let by_name = closest_slot(&name);
                // A name far from any, with the form of a method that is missing
                // (`fn init(config: Config) -> Result<Self>` without a `new`).
                let by_form = by_name
                    .is_none()
                    .then(|| shaped_like(function, &item.self_ty))
                    .flatten()
                    .filter(|slot| !named(*slot) && !hinted.contains(slot));
                let hint = match (by_name, by_form) {
                    (Some(slot), _) => format!("did you mean `{}`? ", slot.name()),
                    (None, Some(slot)) => format!(
                        "it has the form of `{}`, which this impl lacks: name it `{0}`; ",
                        slot.name()
                    ),
                    (None, None) => String::new(),
                };
                hinted.extend(by_name.or(by_form).filter(|slot| !named(*slot)));
                errors.at(
                    &function.sig.ident,
                    format!(
                        "`{name}` is not an operator method; {hint}an #[oplink::operator] impl holds only `new`, `apply`, `pull`, `tick`, `flush_state`, `snapshot` and `restore` (put helpers in a separate `impl` block)"
                    ),
                );
                continue;
            };
            let cfg = crate::common::cfg::predicate(&function.attrs);
            let twice = methods
                .iter()
                .any(|m| m.slot == slot && (m.cfg.is_none() || cfg.is_none()));
            if twice {
                errors.at(
                    &function.sig.ident,
                    format!(
                        "`{name}` is defined twice; put `#[cfg(...)]` on each definition so that one is chosen per build"
                    ),
                );
                continue;
            }
            if let Some(method) = check::method(slot, function, cfg, &item.self_ty, errors) {
                methods.push(method);
            }
        }
        for slot in [Slot::New, Slot::Apply] {
            let present = named(slot);
            // A macro call may be where it is: said so above, at the call.
            let made_by_a_macro = item.items.iter().any(|i| matches!(i, ImplItem::Macro(_)));
            if !present && !made_by_a_macro && !hinted.contains(&slot) {
                errors.at(
                    &item.self_ty,
                    format!(
                        "missing method `{}`: every operator needs `{}` in its #[oplink::operator] impl (one in another impl of the type is not seen: move it here)",
                        slot.name(),
                        slot.expected()
                    ),
                );
            }
        }
        Operator {
            item,
            self_ty: &item.self_ty,
            methods,
        }
    }
}

/// The method a method of another name looks like: `new` for one without `self` that
/// returns the operator (`Result<Self>`), `apply` for one that takes a `Change` or a
/// `ChangeView`, `tick` a `Timestamp`, `pull` row numbers, `restore` bytes, and `snapshot`
/// for one that returns bytes (`checkpoint`, `save`).
fn shaped_like(function: &ImplItemFn, self_ty: &Type) -> Option<Slot> {
    use crate::common::types::{last_ident, result_parts};
    let sig = &function.sig;
    let receiver = matches!(sig.inputs.first(), Some(syn::FnArg::Receiver(_)));
    let returns_self = match &sig.output {
        syn::ReturnType::Type(_, ty) => result_parts(ty).is_some_and(|(ok, _)| {
            let ok = last_ident(ok);
            ok.as_deref() == Some("Self") || ok == last_ident(self_ty)
        }),
        syn::ReturnType::Default => false,
    };
    let takes = |wanted: &dyn Fn(&Type) -> bool| {
        sig.inputs
            .iter()
            .any(|arg| matches!(arg, syn::FnArg::Typed(typed) if wanted(&typed.ty)))
    };
    let named = |ty: &Type, names: &[&str]| {
        last_ident(ty).is_some_and(|name| names.contains(&name.as_str()))
    };
    // `&[T]` with `T` one of `names`.
    let slice_of = |ty: &Type, names: &[&str]| {
        matches!(crate::common::types::bare(ty), Type::Reference(reference)
            if matches!(crate::common::types::bare(&reference.elem), Type::Slice(slice) if named(&slice.elem, names)))
    };
    let returns_bytes = match &sig.output {
        syn::ReturnType::Type(_, ty) => result_parts(ty).is_some_and(|(ok, _)| {
            named(ok, &["Vec"])
                && crate::common::types::type_args(ok)
                    .first()
                    .is_some_and(|elem| named(elem, &["u8"]))
        }),
        syn::ReturnType::Default => false,
    };
    if !receiver && returns_self {
        Some(Slot::New)
    } else if !receiver {
        None
    } else if takes(&|ty| named(ty, &["Change", "ChangeView"])) {
        Some(Slot::Apply)
    } else if takes(&|ty| named(ty, &["Timestamp"])) {
        Some(Slot::Tick)
    } else if takes(&|ty| slice_of(ty, &["RowNumber", "u64"])) {
        Some(Slot::Pull)
    } else if takes(&|ty| slice_of(ty, &["u8"])) {
        Some(Slot::Restore)
    } else if returns_bytes {
        Some(Slot::Snapshot)
    } else {
        None
    }
}

/// The slot whose name is within two edits of `name`, for "did you mean".
fn closest_slot(name: &str) -> Option<Slot> {
    let slot = crate::common::suggest::closest(name, Slot::ALL.map(Slot::name))?;
    Slot::from_name(slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(closest_slot("aply"), Some(Slot::Apply));
        assert_eq!(closest_slot("snapshots"), Some(Slot::Snapshot));
        assert_eq!(closest_slot("helper"), None);
    }
}
