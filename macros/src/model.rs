//! The model of an operator: its impl block, parsed and checked. Every node keeps the
//! user's tokens so errors and generated calls point at them.

use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, ReturnType, Type};

use crate::errors::Errors;

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
            Slot::Snapshot => "fn snapshot(&self) -> Result<Vec<u8>>",
            Slot::Restore => "fn restore(&mut self, snapshot: &[u8]) -> Result<()>",
        }
    }

    /// Arguments besides `self` and the optional leading `ctx`.
    fn data_args(self) -> usize {
        match self {
            Slot::New | Slot::Apply | Slot::Pull | Slot::Tick | Slot::Restore => 1,
            Slot::FlushState | Slot::Snapshot => 0,
        }
    }

    /// Whether the method may take `ctx: &mut Context` first.
    fn takes_ctx(self) -> bool {
        matches!(
            self,
            Slot::Apply | Slot::Pull | Slot::Tick | Slot::FlushState
        )
    }

    fn from_name(name: &str) -> Option<Slot> {
        Slot::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One of the user's operator methods.
pub struct Method<'a> {
    pub slot: Slot,
    pub item: &'a ImplItemFn,
    /// Whether the user's method takes `ctx` (methods may leave it out).
    pub has_ctx: bool,
    /// The type the user wrote for `ctx`, for spans.
    pub ctx_type: Option<&'a Type>,
    /// The types of the data arguments (after `self` and `ctx`), for spans.
    pub arg_types: Vec<&'a Type>,
}

/// A checked operator impl.
pub struct Operator<'a> {
    pub item: &'a ItemImpl,
    pub self_ty: &'a Type,
    pub methods: Vec<Method<'a>>,
}

impl<'a> Operator<'a> {
    pub fn method(&self, slot: Slot) -> Option<&Method<'a>> {
        self.methods.iter().find(|m| m.slot == slot)
    }

    /// Parses and checks `item`, recording every problem in `errors`.
    pub fn from_syn(item: &'a ItemImpl, errors: &mut Errors) -> Operator<'a> {
        if let Some((_, path, _)) = &item.trait_ {
            errors.at(
                path,
                "#[oplink::operator] goes on an inherent impl such as `impl Threshold { ... }`, not on a trait impl",
            );
        }
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            errors.at(
                &item.generics,
                "an operator cannot be generic: the host creates it by name, so it must be one concrete type (write a separate operator per type, or take the choice from the configuration)",
            );
        }
        if let Some(unsafety) = &item.unsafety {
            errors.at(unsafety, "an operator impl cannot be `unsafe`");
        }
        match &*item.self_ty {
            Type::Path(path) if path.qself.is_none() => {}
            other => errors.at(
                other,
                "an operator must be a named struct or enum type, such as `impl Threshold { ... }`",
            ),
        }

        let mut methods = Vec::new();
        for impl_item in &item.items {
            let ImplItem::Fn(function) = impl_item else {
                errors.at(
                    impl_item,
                    "an #[oplink::operator] impl holds only operator methods; move other items to a separate `impl` block",
                );
                continue;
            };
            let name = function.sig.ident.to_string();
            let Some(slot) = Slot::from_name(&name) else {
                let hint = closest_slot(&name)
                    .map(|s| format!("did you mean `{}`? ", s.name()))
                    .unwrap_or_default();
                errors.at(
                    &function.sig.ident,
                    format!(
                        "`{name}` is not an operator method; {hint}an #[oplink::operator] impl holds only `new`, `apply`, `pull`, `tick`, `flush_state`, `snapshot` and `restore` (put helpers in a separate `impl` block)"
                    ),
                );
                continue;
            };
            if let Some(method) = check_method(slot, function, errors) {
                methods.push(method);
            }
        }
        for slot in [Slot::New, Slot::Apply] {
            let present = item
                .items
                .iter()
                .any(|i| matches!(i, ImplItem::Fn(f) if f.sig.ident == slot.name()));
            if !present {
                errors.at(
                    &item.self_ty,
                    format!(
                        "missing method `{}`: every operator needs `{}`",
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

fn check_method<'a>(
    slot: Slot,
    function: &'a ImplItemFn,
    errors: &mut Errors,
) -> Option<Method<'a>> {
    let sig = &function.sig;
    let before = errors.len();
    let name = slot.name();
    if let Some(asyncness) = &sig.asyncness {
        errors.at(
            asyncness,
            format!(
                "`{name}` cannot be `async`: operator methods are called synchronously by the host"
            ),
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.at(
            unsafety,
            format!("`{name}` cannot be `unsafe`: the host calls it with no extra promises"),
        );
    }
    if let Some(abi) = &sig.abi {
        errors.at(
            abi,
            format!("`{name}` must be a plain Rust fn; oplink writes the `extern \"C\"` side"),
        );
    }
    if let Some(constness) = &sig.constness {
        errors.at(constness, format!("`{name}` cannot be `const`"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.at(
            &sig.generics,
            format!("`{name}` cannot be generic: expected `{}`", slot.expected()),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.at(variadic, format!("`{name}` cannot be variadic"));
    }

    let mut inputs = sig.inputs.iter().peekable();
    match (slot, inputs.peek()) {
        (Slot::New, Some(FnArg::Receiver(receiver))) => {
            errors.at(receiver, "`new` creates the operator, so it takes no `self`: expected `fn new(config: Config) -> Result<Self>`");
            inputs.next();
        }
        (Slot::New, _) => {}
        (_, Some(FnArg::Receiver(receiver))) => {
            let by_ref = receiver.reference.is_some() && receiver.colon_token.is_none();
            let mutable = receiver.mutability.is_some();
            let shared_ok = matches!(slot, Slot::Snapshot | Slot::Apply | Slot::Pull | Slot::Tick);
            let ok = by_ref && (mutable || shared_ok);
            if !ok {
                let wanted = if shared_ok {
                    "`&self` or `&mut self`"
                } else {
                    "`&mut self`"
                };
                errors.at(
                    receiver,
                    format!(
                        "wrong receiver for `{name}`: it takes {wanted}, as in `{}`",
                        slot.expected()
                    ),
                );
            }
            inputs.next();
        }
        (_, _) => {
            errors.at(
                &sig.ident,
                format!(
                    "`{name}` needs a `&mut self` receiver: expected `{}`",
                    slot.expected()
                ),
            );
        }
    }

    let rest: Vec<&FnArg> = inputs.collect();
    let data = slot.data_args();
    let has_ctx = slot.takes_ctx() && rest.len() == data + 1;
    let config_optional = slot == Slot::New && rest.is_empty();
    if rest.len() != data && !has_ctx && !config_optional {
        let takes = match (data, slot.takes_ctx()) {
            (0, true) => "no arguments besides an optional `ctx: &mut Context`".to_owned(),
            (0, false) => "no arguments".to_owned(),
            (1, true) => "one argument, after an optional `ctx: &mut Context`".to_owned(),
            _ if slot == Slot::New => "at most one argument, its configuration".to_owned(),
            _ => "one argument".to_owned(),
        };
        let message = format!("`{name}` takes {takes}: expected `{}`", slot.expected());
        let allowed = data + usize::from(slot.takes_ctx());
        if rest.len() > allowed {
            // Point at the surplus arguments, from the first to the last.
            let surplus = &rest[allowed..];
            errors.at(quote::quote!(#(#surplus),*), message);
        } else {
            errors.at_span(sig.paren_token.span.join(), message);
        }
    }
    let mut arg_types = Vec::new();
    for arg in &rest {
        match arg {
            FnArg::Typed(typed) => {
                if let Type::ImplTrait(_) = &*typed.ty {
                    errors.at(
                        &typed.ty,
                        format!(
                            "`{name}` cannot take `impl Trait` arguments: expected `{}`",
                            slot.expected()
                        ),
                    );
                }
                arg_types.push(&*typed.ty);
            }
            FnArg::Receiver(receiver) => errors.at(receiver, "`self` must come first"),
        }
    }

    match &sig.output {
        ReturnType::Type(_, ty) if returns_result(ty) => {}
        ReturnType::Type(_, ty) => errors.at(
            ty,
            format!("`{name}` must return a `Result` (oplink's `Result<T>` or any `Result<T, E>` whose error converts into `oplink::Error`): expected `{}`", slot.expected()),
        ),
        ReturnType::Default => errors.at(
            &sig.ident,
            format!("`{name}` must return a `Result`: expected `{}`", slot.expected()),
        ),
    }
    if errors.len() != before {
        return None;
    }
    let (ctx_type, arg_types) = match arg_types.split_first() {
        Some((ctx, data)) if has_ctx => (Some(*ctx), data.to_vec()),
        _ => (None, arg_types),
    };
    Some(Method {
        slot,
        item: function,
        has_ctx,
        ctx_type,
        arg_types,
    })
}

fn returns_result(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Result"),
        Type::Group(group) => returns_result(&group.elem),
        Type::Paren(paren) => returns_result(&paren.elem),
        _ => false,
    }
}

/// The slot whose name is within two edits of `name`, for "did you mean".
fn closest_slot(name: &str) -> Option<Slot> {
    Slot::ALL
        .into_iter()
        .map(|s| (edit_distance(name, s.name()), s))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, s)| s)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
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
