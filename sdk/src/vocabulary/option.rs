//! `Option<T>`: a flag and a value.

use std::mem::MaybeUninit;

use super::{Arg, Keep, Ret, Shape};
use crate::abi::decl::{CLayout, CType, struct_layout};
use crate::{Error, Result};

/// An optional value: `present` is 1 when `value` is written, 0 when it is not.
#[repr(C)]
#[derive(Debug)]
pub struct AbiOption<A> {
    /// 1 for `Some`, 0 for `None`; any other value is refused where it is read.
    pub present: u8,
    /// The value when `present` is 1.
    pub value: MaybeUninit<A>,
}

impl<A: Copy> Clone for AbiOption<A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A: Copy> Copy for AbiOption<A> {}

impl<A: CType> CType for AbiOption<A> {
    const LAYOUT: [CLayout; 3] = struct_layout(&[u8::LAYOUT, A::LAYOUT]);
    fn c_name() -> String {
        let inner: String = A::c_name()
            .trim_start_matches("Oplink")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        format!("OplinkOption{inner}")
    }
    fn c_dependencies(out: &mut Vec<String>) {
        A::c_dependencies(out);
        let definition = Self::c_definition();
        if !out.contains(&definition) {
            out.push(definition);
        }
    }
}

impl<A: CType> AbiOption<A> {
    /// The C definition of this instantiation, for a header: guarded, so that the
    /// declarations of several services (`oplink.h`'s and one's own) may each carry it.
    pub fn c_definition() -> String {
        let name = Self::c_name();
        format!(
            "#ifndef OPLINK_DEFINED_{name}\n#define OPLINK_DEFINED_{name}\ntypedef struct {{ uint8_t present; {}; }} {name};\n#endif",
            A::c_decl("value"),
        )
    }

    const CHECKED: () = {
        let model = crate::abi::decl::TARGET_MODEL;
        assert!(size_of::<AbiOption<A>>() == <AbiOption<A> as CType>::LAYOUT[model].size);
        assert!(std::mem::offset_of!(AbiOption<A>, value) == A::LAYOUT[model].align);
    };

    fn some(value: A) -> AbiOption<A> {
        let () = Self::CHECKED;
        AbiOption {
            present: 1,
            value: MaybeUninit::new(value),
        }
    }

    fn none() -> AbiOption<A> {
        let () = Self::CHECKED;
        AbiOption {
            present: 0,
            value: MaybeUninit::uninit(),
        }
    }
}

fn bad_flag(flag: u8) -> Error {
    Error::unlocated(format!("{flag} is not an option flag (0 or 1)"))
}

// SAFETY: a flag validated when read, and the inner type's own representation.
unsafe impl<T: Arg> Arg for Option<T> {
    type Abi = AbiOption<T::Abi>;
    const SHAPE: Shape = Shape::with::<AbiOption<T::Abi>>("option", &[T::SHAPE]);
    fn lower(&self, keep: &mut Keep) -> Self::Abi {
        match self {
            Some(value) => AbiOption::some(value.lower(keep)),
            None => AbiOption::none(),
        }
    }
    #[inline(always)]
    fn try_lower(&self, keep: &mut Keep) -> Result<Self::Abi> {
        match self {
            Some(value) => value.try_lower(keep).map(AbiOption::some),
            None => Ok(AbiOption::none()),
        }
    }
    unsafe fn lift(abi: Self::Abi) -> Result<Self> {
        match abi.present {
            0 => Ok(None),
            // SAFETY: `present` is 1, so the writer initialised `value`; forwarded.
            1 => unsafe { T::lift(abi.value.assume_init()) }.map(Some),
            other => Err(bad_flag(other)),
        }
    }
}

// SAFETY: as above.
unsafe impl<T: Ret> Ret for Option<T> {
    type Abi = AbiOption<T::Abi>;
    const SHAPE: Shape = Shape::with::<AbiOption<T::Abi>>("option", &[T::SHAPE]);
    fn raise(self) -> Self::Abi {
        match self {
            Some(value) => AbiOption::some(value.raise()),
            None => AbiOption::none(),
        }
    }
    #[inline(always)]
    fn try_raise(self) -> Result<Self::Abi> {
        match self {
            Some(value) => value.try_raise().map(AbiOption::some),
            None => Ok(AbiOption::none()),
        }
    }
    unsafe fn take(abi: Self::Abi) -> Result<Self> {
        match abi.present {
            0 => Ok(None),
            // SAFETY: `present` is 1, so the writer initialised `value`; forwarded.
            1 => unsafe { T::take(abi.value.assume_init()) }.map(Some),
            other => Err(bad_flag(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_flag_is_refused_before_the_value_is_read() {
        let flag = AbiOption::<u64> {
            present: 2,
            value: MaybeUninit::uninit(),
        };
        // SAFETY: a flag of 2 is rejected before the value is read.
        let err = unsafe { <Option<u64> as Arg>::lift(flag) }.unwrap_err();
        assert_eq!(err.to_string(), "2 is not an option flag (0 or 1)");
        assert_eq!(
            AbiOption::<crate::abi::OwnedVec>::c_definition(),
            "#ifndef OPLINK_DEFINED_OplinkOptionOwnedVec\n#define OPLINK_DEFINED_OplinkOptionOwnedVec\ntypedef struct { uint8_t present; OplinkOwnedVec value; } OplinkOptionOwnedVec;\n#endif"
        );
    }
}
