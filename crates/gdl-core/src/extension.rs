//! What gdl's own CPU kernels share as Burn backend extensions of Flex: recognising `Flex`
//! and `Autodiff<Flex>` behind a generic `B: Backend` (a `TypeId` comparison), moving a
//! tensor into its concrete type, and the f32 slices the kernels work on.
//!
//! Used by [`crate::conv`] (im2col convolutions), [`crate::norm`] (fused group norm),
//! [`crate::activation`] (SiLU) and [`crate::random`] (parallel random tensors).

use std::any::{Any, TypeId};

use burn::tensor::backend::Backend;
use burn::tensor::TensorData;
use burn_flex::FlexTensor;

use crate::backend::{Flex, FlexAutodiff};

/// Whether `A` and `T` are the same type.
pub(crate) fn is<A: 'static, T: 'static>() -> bool {
    TypeId::of::<A>() == TypeId::of::<T>()
}

/// Flex or `Autodiff<Flex>`.
pub(crate) fn is_flex<B: Backend>() -> bool {
    is::<B, Flex>() || is::<B, FlexAutodiff>()
}

/// Moves `a` into the type it is (callers compare the `TypeId`s first).
pub(crate) fn cast<A: 'static, T: 'static>(a: A) -> T {
    match (Box::new(a) as Box<dyn Any>).downcast::<T>() {
        Ok(t) => *t,
        Err(_) => unreachable!("cast between different types"),
    }
}

/// The numbers of a contiguous f32 tensor.
pub(crate) fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("a contiguous f32 tensor (checked before dispatch)")
}

/// A Flex tensor of `shape` holding `data`.
pub(crate) fn tensor(data: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape.to_vec()))
}
