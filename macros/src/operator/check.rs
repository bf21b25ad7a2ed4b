//! What the operator macro checks: the impl block, and each method's signature against the
//! one its slot wants. Types it can recognise by their shape (a `Change` where `ctx` goes, a
//! `Result<Change>` from `tick`) are reported here, in plain words; types it cannot (an
//! alias) are left to rustc, whose errors the expansion points at the user's tokens.

use proc_macro2::TokenStream;
use syn::{FnArg, ImplItemFn, ItemImpl, ReturnType, Type};

use super::model::{Method, Slot};
use crate::common::errors::Errors;
use crate::common::sig::{self, Place};
use crate::common::types::{bare, last_ident, result_parts, text, type_args};

/// Checks of the impl block itself.
pub fn item(item: &ItemImpl, errors: &mut Errors) {
    if let Some((_, path, _)) = &item.trait_ {
        errors.at(
            path,
            format!(
                "#[oplink::operator] goes on an inherent impl, not on a trait impl: write the operator's methods (`new`, `apply`, ...) in `impl {} {{ ... }}` and put the attribute there (it sees only the methods written in its impl, not a trait's defaults)",
                text(&item.self_ty)
            ),
        );
    }
    let only_lifetimes = item
        .generics
        .params
        .iter()
        .all(|p| matches!(p, syn::GenericParam::Lifetime(_)));
    if !item.generics.params.is_empty() && only_lifetimes {
        errors.at(
            &item.generics,
            "an operator cannot borrow: the host keeps an instance for as long as it likes, so its type holds no shorter lifetime (write `impl Op<'static>` for a type with a lifetime parameter)",
        );
    } else if !item.generics.params.is_empty() {
        errors.at(
            &item.generics,
            "an operator cannot be generic: the host creates it by name, so it must be one concrete type (write a separate operator per type, or take the choice from the configuration)",
        );
    } else if let Some(clause) = &item.generics.where_clause {
        errors.at(
            clause,
            "an operator impl takes no `where` clause: its type is one concrete type, whose bounds hold or do not (move the bounds to the type's definition)",
        );
    }
    if elided_lifetime(&item.self_ty) {
        errors.at(
            &item.self_ty,
            "an operator cannot borrow: the host keeps an instance for as long as it likes, so write its type's lifetime as `'static`, not `'_`",
        );
    }
    if let Some(unsafety) = &item.unsafety {
        errors.at(unsafety, "an operator impl cannot be `unsafe`");
    }
    match bare(&item.self_ty) {
        Type::Path(path) if path.qself.is_none() => {}
        other => errors.at(
            other,
            "an operator must be a named struct or enum type, such as `impl Threshold { ... }`",
        ),
    }
}

/// What an argument is, by its shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `&mut Context` (`mutable`) or `&Context`.
    Ctx {
        mutable: bool,
    },
    Change,
    /// `ChangeView`: `apply`'s input read in place.
    View,
    RowNumbers,
    Bytes,
    Timestamp,
    /// Another type oplink or std names (`Rows`, `RecordBatch`, `Vec<…>`, …): surely wrong
    /// where a `Change`, row numbers, a time or bytes go.
    Known,
    /// Something else: a configuration, an alias, or a mistake rustc will report.
    Other,
}

/// Whether `ty` is a reference to a `ChangeView` (which `apply` takes by value).
fn borrows_a_view(ty: &Type) -> bool {
    matches!(bare(ty), Type::Reference(reference) if last_ident(&reference.elem).as_deref() == Some("ChangeView"))
}

/// The name of the type `ty` is or borrows (`Rows` for `&Rows`).
fn named(ty: &Type) -> Option<String> {
    match bare(ty) {
        Type::Reference(reference) => last_ident(&reference.elem),
        other => last_ident(other),
    }
}

/// Whether `ty` is, or borrows, a view of a part of a change (`RowsView`, `DiffView`).
fn part_of_a_view(ty: &Type) -> bool {
    matches!(
        named(ty).as_deref(),
        Some("RowsView" | "DiffView" | "ColumnView")
    )
}

/// Where `apply` is given a part of a change (its rows, a batch, a diff), how to reach
/// that part from the change it takes.
fn part_hint(slot: Slot, ty: &Type, view: bool) -> &'static str {
    if slot != Slot::Apply {
        return "";
    }
    match named(ty).as_deref() {
        Some("RowsView" | "DiffView" | "ColumnView") => {
            " (`apply` gets the whole change: `change.diffs()` yields its `DiffView`s, whose sides are `RowsView`s)"
        }
        Some("Rows" | "Diff" | "RecordBatch") if !view => {
            " (`apply` gets the whole change, whose diffs hold the rows: `change.map(|batch| ..)` and `change.filter(|rows| ..)` work on the rows of every diff)"
        }
        _ => "",
    }
}

impl Kind {
    fn of(ty: &Type) -> Kind {
        match bare(ty) {
            Type::Reference(reference) => match bare(&reference.elem) {
                Type::Slice(slice) => match last_ident(&slice.elem).as_deref() {
                    Some("RowNumber" | "u64") => Kind::RowNumbers,
                    Some("u8") => Kind::Bytes,
                    // No method takes a slice of anything else.
                    _ => Kind::Known,
                },
                elem if last_ident(elem).as_deref() == Some("Context") => Kind::Ctx {
                    mutable: reference.mutability.is_some(),
                },
                // `&mut &mut Context`: one borrow too many, which the call cannot give.
                Type::Reference(inner) if last_ident(&inner.elem).as_deref() == Some("Context") => {
                    Kind::Known
                }
                // A borrowed `Change`, `Timestamp`, `Vec<…>`, …: every one is taken by value
                // (or, for row numbers and bytes, as a slice).
                elem if last_ident(elem).is_some_and(|name| {
                    matches!(name.as_str(), "Change" | "ChangeView" | "Timestamp")
                        || KNOWN.contains(&name.as_str())
                }) =>
                {
                    Kind::Known
                }
                _ => Kind::Other,
            },
            other => match last_ident(other).as_deref() {
                Some("Change") => Kind::Change,
                Some("ChangeView") => Kind::View,
                Some("Timestamp") => Kind::Timestamp,
                Some(name) if KNOWN.contains(&name) => Kind::Known,
                _ => Kind::Other,
            },
        }
    }

    /// How the user should write it.
    fn written(self) -> &'static str {
        match self {
            Kind::Ctx { .. } => "ctx: &mut Context",
            Kind::Change => "change: Change",
            Kind::View => "change: ChangeView",
            Kind::RowNumbers => "rows: &[RowNumber]",
            Kind::Bytes => "snapshot: &[u8]",
            Kind::Timestamp => "now: Timestamp",
            Kind::Known | Kind::Other => "config: Config",
        }
    }
}

/// The kind of a slot's data argument.
fn data_kind(slot: Slot) -> Kind {
    match slot {
        Slot::Apply => Kind::Change,
        Slot::Pull => Kind::RowNumbers,
        Slot::Tick => Kind::Timestamp,
        Slot::Restore => Kind::Bytes,
        Slot::New | Slot::FlushState | Slot::Snapshot => Kind::Other,
    }
}

/// Checks one method and models it; `None` when anything is wrong (all of it reported).
pub fn method<'a>(
    slot: Slot,
    function: &'a ImplItemFn,
    cfg: Option<TokenStream>,
    self_ty: &Type,
    errors: &mut Errors,
) -> Option<Method<'a>> {
    let sig = &function.sig;
    let before = errors.len();
    let name = slot.name();
    // `apply` may read its change in place: then messages show that form. It is the form
    // meant when a view is taken (of the change, or of a part of it: `RowsView`), or a
    // `ChangeOut` returned from anything but a `Change`, so that `change: RowsView` with
    // `-> Result<ChangeOut>` is one mistake, at the argument, not two.
    let typed_args = || {
        sig.inputs.iter().filter_map(|arg| match arg {
            FnArg::Typed(typed) => Some(&*typed.ty),
            FnArg::Receiver(_) => None,
        })
    };
    let returns_a_change_out = match &sig.output {
        ReturnType::Type(_, ty) => {
            result_parts(ty).is_some_and(|(ok, _)| last_ident(ok).as_deref() == Some("ChangeOut"))
        }
        ReturnType::Default => false,
    };
    let view = slot == Slot::Apply
        && (typed_args()
            .any(|ty| Kind::of(ty) == Kind::View || borrows_a_view(ty) || part_of_a_view(ty))
            || (returns_a_change_out && !typed_args().any(|ty| Kind::of(ty) == Kind::Change)));
    // A `new` without arguments is shown its own form (it takes no configuration).
    let expected = if slot == Slot::New && sig.inputs.is_empty() {
        "fn new() -> Result<Self>"
    } else {
        slot.expected_for(view)
    };
    sig::check_flavor(sig, Place::Operator, errors);
    sig::check_generics(sig, &format!(": expected `{expected}`"), errors);

    // The receivers a method may take: `flush_state` and `restore` only `&mut self`.
    let shared_ok = matches!(slot, Slot::Snapshot | Slot::Apply | Slot::Pull | Slot::Tick);
    let wanted = if shared_ok {
        "`&self` or `&mut self`"
    } else {
        "`&mut self`"
    };
    let mut inputs = sig.inputs.iter().peekable();
    match (slot, inputs.peek()) {
        (Slot::New, Some(FnArg::Receiver(receiver))) => {
            errors.at(
                receiver,
                format!("`new` creates the operator, so it takes no `self`: expected `{expected}`"),
            );
            inputs.next();
        }
        (Slot::New, _) => {}
        (_, Some(FnArg::Receiver(receiver))) => {
            // `&mut self`, or the same written out: `self: &mut Self`.
            let (by_ref, mutable) = match (&receiver.reference, &receiver.colon_token) {
                (Some(_), None) => (true, receiver.mutability.is_some()),
                (None, Some(_)) => match bare(&receiver.ty) {
                    Type::Reference(reference)
                        if last_ident(&reference.elem).as_deref() == Some("Self") =>
                    {
                        (true, reference.mutability.is_some())
                    }
                    _ => (false, false),
                },
                _ => (false, false),
            };
            if !(by_ref && (mutable || shared_ok)) {
                errors.at(
                    receiver,
                    format!("wrong receiver for `{name}`: it takes {wanted}, as in `{expected}`"),
                );
            }
            inputs.next();
        }
        (_, _) => errors.at(
            &sig.ident,
            format!("`{name}` needs a receiver, {wanted}: expected `{expected}`"),
        ),
    }

    let rest: Vec<&FnArg> = inputs.collect();
    let mut types: Vec<&Type> = Vec::new();
    for arg in &rest {
        match arg {
            FnArg::Typed(typed) => {
                if let Type::ImplTrait(_) = &*typed.ty {
                    errors.at(
                        &typed.ty,
                        format!(
                            "`{name}` cannot take `impl Trait` arguments: expected `{expected}`"
                        ),
                    );
                }
                types.push(&typed.ty);
            }
            FnArg::Receiver(receiver) => errors.at(
                receiver,
                format!("`{name}` takes `self` first: expected `{expected}`"),
            ),
        }
    }
    let data = slot.data_args();
    let with_ctx = slot.takes_ctx() && types.len() == data + 1;
    let config_optional = slot == Slot::New && types.is_empty();
    // `new(ctx: &mut Context, config: Config)`, written as the other methods take theirs:
    // the `ctx` is the mistake, not the count (so not "at most one argument" at the
    // configuration).
    let ctx_in_new = slot == Slot::New
        && types.len()
            - types
                .iter()
                .filter(|ty| matches!(Kind::of(ty), Kind::Ctx { .. }))
                .count()
            == data;
    if types.len() != data && !with_ctx && !config_optional && !ctx_in_new {
        arity(slot, sig, &rest, errors);
    } else if errors.len() == before {
        arguments(slot, &types, with_ctx, view, errors);
    }

    let output = match &sig.output {
        ReturnType::Type(_, ty) => Some(&**ty),
        ReturnType::Default => {
            errors.at(
                &sig.ident,
                format!("`{name}` must return a `Result`: expected `{expected}`"),
            );
            None
        }
    };
    // A type named otherwise may be an alias of `Result` (`type OpResult<T> = ...`): that
    // is left to rustc, which checks the call against it.
    let mut alias = false;
    let parts = output.and_then(|ty| {
        let parts = result_parts(ty);
        if parts.is_none() {
            if may_alias_result(ty) && last_ident(ty) != last_ident(self_ty) {
                alias = true;
                return Some((ty, None));
            }
            errors.at(
                ty,
                format!("`{name}` must return a `Result` (`oplink::Result<T>`, or a `Result<T, E>` whose error converts into `oplink::Error`): expected `{expected}`"),
            );
        }
        parts
    });
    if let Some((ok, err)) = parts.filter(|_| !alias) {
        returns(slot, ok, self_ty, view, expected, errors);
        if let Some(err) = err {
            error_type(slot, err, errors);
        }
    }
    if errors.len() != before {
        return None;
    }
    let (ok, err) = parts?;
    let (ctx_type, arg_types) = match types.split_first() {
        Some((ctx, data)) if with_ctx => (Some(*ctx), data.to_vec()),
        _ => (None, types),
    };
    Some(Method {
        slot,
        item: function,
        cfg,
        ctx_type,
        arg_types,
        ok,
        err,
    })
}

fn arity(slot: Slot, sig: &syn::Signature, rest: &[&FnArg], errors: &mut Errors) {
    let name = slot.name();
    let data = slot.data_args();
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

/// Each argument against what its position wants, where its shape tells.
fn arguments(slot: Slot, types: &[&Type], with_ctx: bool, view: bool, errors: &mut Errors) {
    let name = slot.name();
    let expected = slot.expected_for(view);
    let kinds: Vec<Kind> = types.iter().map(|ty| Kind::of(ty)).collect();
    let want = data_kind(slot);
    // What to write in its place: the view form's change where that is the form meant.
    let wanted = if view { Kind::View } else { want };
    // `apply` may read its change in place instead.
    let fits = |kind: Kind| kind == want || (want == Kind::Change && kind == Kind::View);
    // The data argument first and no `ctx` at all: the second one is one too many (not a
    // `ctx` in the wrong place).
    if with_ctx && kinds.len() == 2 && fits(kinds[0]) && !matches!(kinds[1], Kind::Ctx { .. }) {
        errors.at(
            types[1],
            format!(
                "`{name}` takes one argument after `self` (and an optional `ctx` before it), so `{}` is one too many: expected `{expected}`",
                text(types[1])
            ),
        );
        return;
    }
    if with_ctx && kinds.len() == 2 && fits(kinds[0]) && matches!(kinds[1], Kind::Ctx { .. }) {
        errors.at(
            quote::quote!(#(#types),*),
            format!("the arguments of `{name}` are the wrong way round: `ctx` comes first, then `{}`: expected `{expected}`", kinds[0].written()),
        );
        return;
    }
    for (index, (ty, kind)) in types.iter().zip(&kinds).enumerate() {
        let position_is_ctx = with_ctx && index == 0;
        if position_is_ctx {
            match kind {
                Kind::Ctx { mutable: true } | Kind::Other => {}
                Kind::Known => errors.at(
                    ty,
                    format!(
                        "`{name}` takes `ctx: &mut Context` here, not `{}`: expected `{expected}`",
                        text(ty)
                    ),
                ),
                Kind::Ctx { mutable: false } => errors.at(
                    ty,
                    format!(
                        "`{name}` takes `ctx: &mut Context`, not `&Context`: expected `{expected}`"
                    ),
                ),
                other => errors.at(
                    ty,
                    format!(
                        "`{name}` takes `ctx: &mut Context` here, not `{}`: expected `{expected}`",
                        other.written()
                    ),
                ),
            }
            continue;
        }
        if slot == Slot::New {
            match kind {
                Kind::Ctx { .. } => errors.at(
                    ty,
                    format!("`new` takes no `ctx`: it runs before the instance exists, and gets only its configuration: expected `{expected}`"),
                ),
                _ if matches!(bare(ty), Type::Reference(_)) => errors.at(
                    ty,
                    {
                        let owned = reference_target(ty);
                        // Not the JSON text: a `String` configuration is one JSON string.
                        let note = if owned == "String" {
                            " (the configuration is then one JSON string, such as `\"amount\"`, not the JSON text; for an object's fields, take a struct that derives `serde::Deserialize`)"
                        } else {
                            ""
                        };
                        format!("`new` takes its configuration by value, not `{}`: oplink reads a fresh configuration for every instance and hands it over, so write `fn new(config: {owned}) -> Result<Self>`{note}", text(ty))
                    },
                ),
                _ if borrows(ty) => errors.at(
                    ty,
                    format!("the configuration `{}` borrows (it has a lifetime): it is read from the host's JSON, which is gone once `new` returns, so it must own its data (`String`, not `&str`; no `#[serde(borrow)]`)", text(ty)),
                ),
                _ => {}
            }
            continue;
        }
        match kind {
            Kind::Other => {}
            Kind::Known if slot == Slot::Apply && borrows_a_view(ty) => errors.at(
                ty,
                format!(
                    "`apply` takes its view by value, `change: ChangeView`, not `{}`: expected `{expected}`",
                    text(ty)
                ),
            ),
            Kind::Known => errors.at(
                ty,
                format!(
                    "`{name}` takes `{}` here, not `{}`: expected `{expected}`{}",
                    wanted.written(),
                    text(ty),
                    part_hint(slot, ty, view)
                ),
            ),
            Kind::Ctx { .. } if slot.takes_ctx() => errors.at(
                ty,
                format!(
                    "`{name}` is missing its `{}` after `ctx`: expected `{expected}`",
                    wanted.written()
                ),
            ),
            kind if fits(*kind) => {}
            other => errors.at(
                ty,
                format!(
                    "`{name}` takes `{}` here, not `{}`: expected `{expected}`",
                    wanted.written(),
                    other.written()
                ),
            ),
        }
    }
}

fn reference_target(ty: &Type) -> String {
    match bare(ty) {
        // A borrowed type that cannot be taken by value is named by its owned form.
        Type::Reference(reference) => match bare(&reference.elem) {
            Type::Slice(slice) => format!("Vec<{}>", text(&slice.elem)),
            elem => match text(elem).as_str() {
                "str" => "String".to_owned(),
                "Path" | "std::path::Path" => "PathBuf".to_owned(),
                "OsStr" | "std::ffi::OsStr" => "OsString".to_owned(),
                other => other.to_owned(),
            },
        },
        other => text(other),
    }
}

/// What a slot returns inside its `Result`.
enum Want {
    SelfType(String),
    Named(&'static str),
    /// Any of these (what converts into the one the slot returns).
    AnyOf(&'static [&'static str]),
    Option(&'static str),
    VecOfU8,
    Unit,
}

/// Type names the check knows, so that a different one is surely a mistake (an unknown
/// name may be an alias, which rustc checks).
const KNOWN: &[&str] = &[
    "Change",
    "ChangeOut",
    "ChangeView",
    "DiffOut",
    "DiffView",
    "RowsOut",
    "RowsView",
    "ColumnOut",
    "ColumnView",
    "RecordBatch",
    "Option",
    "Vec",
    "Self",
    "Rows",
    "Diff",
    "Timestamp",
    "String",
    "str",
    "bool",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "Box",
    "Arc",
    "HashMap",
    "BTreeMap",
    "Context",
    "RowNumber",
    "Result",
];

enum Verdict {
    Fits,
    Wrong,
    Unknown,
}

fn judge(ty: &Type, want: &Want, self_name: &str) -> Verdict {
    let ty = bare(ty);
    if let Type::Tuple(tuple) = ty {
        return if tuple.elems.is_empty() && matches!(want, Want::Unit) {
            Verdict::Fits
        } else {
            Verdict::Wrong
        };
    }
    let Some(last) = last_ident(ty) else {
        return Verdict::Wrong; // references, slices, arrays, tuples, fn pointers, ...
    };
    let fits = match want {
        Want::SelfType(name) => last == "Self" || last == *name,
        Want::Named(name) => last == *name,
        Want::AnyOf(names) => names.contains(&last.as_str()),
        Want::Unit => false,
        Want::Option(inner) if last == "Option" => {
            return match type_args(ty).first() {
                Some(arg) => judge(arg, &Want::Named(inner), self_name),
                None => Verdict::Wrong,
            };
        }
        Want::VecOfU8 if last == "Vec" => {
            return match type_args(ty).first().and_then(|t| last_ident(t)) {
                Some(elem) if elem == "u8" => Verdict::Fits,
                _ => Verdict::Wrong,
            };
        }
        Want::Option(_) | Want::VecOfU8 => false,
    };
    if fits {
        Verdict::Fits
    } else if KNOWN.contains(&last.as_str()) || last == self_name {
        Verdict::Wrong
    } else {
        Verdict::Unknown
    }
}

/// `view`: whether `apply` takes a view; `expected`: the signature to show.
fn returns(slot: Slot, ok: &Type, self_ty: &Type, view: bool, expected: &str, errors: &mut Errors) {
    let self_name = last_ident(self_ty).unwrap_or_default();
    let (want, what) = match slot {
        Slot::New => (
            Want::SelfType(self_name.clone()),
            "`Result<Self>` (the new operator)".to_owned(),
        ),
        Slot::Apply if view => (
            Want::AnyOf(&["ChangeOut", "Change", "ChangeView"]),
            "`Result<ChangeOut>` (its input forwarded with `change.forward()`, or a `Change` it built, with `.into()`)"
                .to_owned(),
        ),
        Slot::Apply => (
            Want::Named("Change"),
            "`Result<Change>` (the change it emits; `change.empty_like()` starts an empty one)"
                .to_owned(),
        ),
        Slot::Pull => (
            Want::Named("RecordBatch"),
            "`Result<RecordBatch>` (one row per requested row number)".to_owned(),
        ),
        Slot::Tick => (
            Want::Option("Change"),
            "`Result<Option<Change>>` (`Ok(None)` when nothing is due)".to_owned(),
        ),
        Slot::FlushState => (Want::Unit, "`Result<()>`".to_owned()),
        Slot::Snapshot => (
            Want::VecOfU8,
            "`Result<Vec<u8>>` (the state as bytes)".to_owned(),
        ),
        Slot::Restore => (Want::Unit, "`Result<()>`".to_owned()),
    };
    if let Verdict::Wrong = judge(ok, &want, &self_name) {
        // A `ChangeOut` is what the view form returns: say how to get there.
        let hint = if slot == Slot::Apply && last_ident(ok).as_deref() == Some("ChangeOut") {
            " (or take `change: ChangeView` to return a `ChangeOut`)"
        } else {
            ""
        };
        errors.at(
            ok,
            format!(
                "`{}` must return {what}, not `Result<{}>`: expected `{expected}`{hint}",
                slot.name(),
                text(ok),
            ),
        );
    }
}

/// The names of the lifetimes a type names, at any depth (`a` and `static` for
/// `Cow<'a, str>` in `Vec<(Cow<'a, str>, Config<'static>)>`).
fn lifetimes(ty: &Type) -> Vec<String> {
    use proc_macro2::TokenTree;
    fn collect(tokens: proc_macro2::TokenStream, out: &mut Vec<String>) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            match (token, tokens.get(i + 1)) {
                (TokenTree::Punct(p), Some(TokenTree::Ident(name))) if p.as_char() == '\'' => {
                    out.push(name.to_string());
                }
                (TokenTree::Group(g), _) => collect(g.stream(), out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    collect(quote::ToTokens::to_token_stream(ty), &mut out);
    out
}

/// Whether a type names the elided lifetime `'_` anywhere.
fn elided_lifetime(ty: &Type) -> bool {
    lifetimes(ty).iter().any(|name| name == "_")
}

/// Whether a type names a lifetime anywhere (`Config<'static>`, `Cow<'a, str>`).
fn borrows(ty: &Type) -> bool {
    !lifetimes(ty).is_empty()
}

/// Whether `ty`, not spelled `Result`, may be an alias of one: a path to a type this macro
/// does not know (`OpResult<Self>`), not one it does (`Change`, `Self`, `Vec<u8>`).
fn may_alias_result(ty: &Type) -> bool {
    matches!(bare(ty), Type::Path(_))
        && last_ident(ty).is_some_and(|name| !KNOWN.contains(&name.as_str()) && name != "Self")
}

/// Error types that surely do not convert into `oplink::Error`: strings, and boxed trait
/// objects (`Box<dyn Error>` is no `std::error::Error`; a box of one, `Box<io::Error>`, is).
fn error_type(slot: Slot, err: &Type, errors: &mut Errors) {
    let plain = match bare(err) {
        Type::Reference(reference) => last_ident(&reference.elem).as_deref() == Some("str"),
        other => match last_ident(other).as_deref() {
            Some("String") => true,
            Some("Box") => type_args(other)
                .first()
                .is_some_and(|inner| matches!(bare(inner), Type::TraitObject(_))),
            _ => false,
        },
    };
    if plain {
        let ok = slot_ok(slot);
        errors.at(
            err,
            format!(
                "the error type of `{}` must convert into `oplink::Error`, and `{}` does not: return `oplink::Result<{ok}>` and make errors with `Error::msg(\"...\")` or `bail!(\"...\")` (any `std::error::Error` converts with `?`)",
                slot.name(),
                text(err)
            ),
        );
    }
}

fn slot_ok(slot: Slot) -> &'static str {
    match slot {
        Slot::New => "Self",
        Slot::Apply => "Change",
        Slot::Pull => "RecordBatch",
        Slot::Tick => "Option<Change>",
        Slot::FlushState | Slot::Restore => "()",
        Slot::Snapshot => "Vec<u8>",
    }
}
