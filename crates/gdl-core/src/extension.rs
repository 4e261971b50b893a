//! What gdl's own CPU kernels share as Burn backend extensions of Flex: recognising `Flex`
//! and `Autodiff<Flex>` behind a generic `B: Backend` (a `TypeId` comparison), moving a
//! tensor into its concrete type, the f32 slices the kernels work on, and recording a
//! kernel with its own backward on the autodiff graph ([`tracked`], [`backpropagate`]).
//!
//! Used by [`crate::conv`] (convolutions), [`crate::linear`] (the affine map),
//! [`crate::norm`] (fused group norm), [`crate::activation`] (SiLU, leaky ReLU),
//! [`crate::feature_map`] (concatenation, upsampling), [`crate::likelihood`] (the Bernoulli
//! NLL) and [`crate::random`] (parallel random tensors).

use std::any::{Any, TypeId};

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{DType, Tensor, TensorData, TensorMetadata, TensorPrimitive};
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
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

/// `flex` on the inputs when `B` is Flex, `autodiff` on them when `B` is `Autodiff<Flex>`,
/// and the result moved back into `B`'s type; `None` for every other backend and when an
/// input is not f32 (the caller then takes Burn's own operations). Every kernel of gdl's is
/// dispatched through here.
pub(crate) fn on_flex<B: Backend>(
    inputs: Vec<FloatTensor<B>>,
    flex: impl FnOnce(Vec<FlexTensor>) -> FlexTensor,
    autodiff: impl FnOnce(Vec<FloatTensor<FlexAutodiff>>) -> FloatTensor<FlexAutodiff>,
) -> Option<FloatTensor<B>> {
    if inputs.iter().any(|t| t.dtype() != DType::F32) {
        return None;
    }
    if is::<B, Flex>() {
        return Some(cast(flex(inputs.into_iter().map(cast).collect())));
    }
    if is::<B, FlexAutodiff>() {
        return Some(cast(autodiff(inputs.into_iter().map(cast).collect())));
    }
    None
}

/// `flex` on the inputs when `B` is Flex (an operation without a gradient of its own);
/// `None` for every other backend, `Autodiff<Flex>` included, and non-f32 inputs.
pub(crate) fn on_plain_flex<B: Backend>(
    inputs: Vec<FloatTensor<B>>,
    flex: impl FnOnce(Vec<FlexTensor>) -> FlexTensor,
) -> Option<FloatTensor<B>> {
    if !is::<B, Flex>() {
        return None;
    }
    on_flex::<B>(inputs, flex, |_| unreachable!("B is Flex"))
}

/// A float tensor primitive of `Autodiff<Flex>`: what the tracked operations take.
pub(crate) type AutodiffFloat = FloatTensor<FlexAutodiff>;

/// [`on_flex`] for an operation of an input x, weights w and an optional bias b (the affine
/// map, the convolutions): `flex(x, w, b)` on Flex; on `Autodiff<Flex>`, `autodiff(x, w, b)`
/// with a missing bias given as a constant zero of `bias_len` elements (a leaf without a
/// gradient), so that the tracked operation always has the same three parents.
pub(crate) fn on_flex_weighted<B: Backend, const D: usize, const E: usize>(
    x: &Tensor<B, D>,
    w: &Tensor<B, E>,
    b: Option<&Tensor<B, 1>>,
    bias_len: usize,
    flex: impl FnOnce(&FlexTensor, &FlexTensor, Option<&FlexTensor>) -> FlexTensor,
    autodiff: impl FnOnce(AutodiffFloat, AutodiffFloat, AutodiffFloat) -> AutodiffFloat,
) -> Option<Tensor<B, D>> {
    let mut inputs = vec![float(x), float(w)];
    inputs.extend(b.map(float));
    on_flex::<B>(
        inputs,
        |v| flex(&v[0], &v[1], v.get(2)),
        |v| {
            let mut v = v.into_iter();
            let (x, w) = (v.next().expect("x"), v.next().expect("w"));
            let b = v.next().unwrap_or_else(|| {
                Tensor::<FlexAutodiff, 1>::zeros([bias_len], &Default::default())
                    .into_primitive()
                    .tensor()
            });
            autodiff(x, w, b)
        },
    )
    .map(from_float)
}

/// Records `op`, an operation of `parents`, on the autodiff graph: `forward` gives the output
/// and the state `op`'s backward keeps, which is dropped when no parent needs a gradient.
/// Every tracked operation of gdl's kernels is recorded through here.
pub(crate) fn tracked<T, const N: usize>(
    op: T,
    parents: [&AutodiffFloat; N],
    forward: impl FnOnce() -> (FlexTensor, T::State),
) -> AutodiffFloat
where
    T: Backward<Flex, N>,
    T::State: Clone + Send + std::fmt::Debug + 'static,
{
    match op
        .prepare::<NoCheckpointing>(parents.map(|p| p.node.clone()))
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (y, state) = forward();
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward().0),
    }
}

/// The backward of a [`tracked`] operation: `gradients(state, ∂y, want)` gives the gradient of
/// each parent i with `want[i]` (a parent that needs one), and each is registered with its
/// parent. ∂y is contiguous.
pub(crate) fn backpropagate<S, const N: usize>(
    ops: Ops<S, N>,
    grads: &mut Gradients,
    gradients: impl FnOnce(S, FlexTensor, [bool; N]) -> [Option<FlexTensor>; N],
) {
    let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
    let want = ops.parents.each_ref().map(Option::is_some);
    for (node, grad) in ops.parents.into_iter().zip(gradients(ops.state, dy, want)) {
        if let (Some(node), Some(grad)) = (node, grad) {
            grads.register::<Flex>(node.id, grad);
        }
    }
}

/// The primitive of a float tensor (what [`on_flex`] takes).
pub(crate) fn float<B: Backend, const D: usize>(t: &Tensor<B, D>) -> FloatTensor<B> {
    t.clone().into_primitive().tensor()
}

/// A float tensor from its primitive (what [`on_flex`] gives).
pub(crate) fn from_float<B: Backend, const D: usize>(t: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
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
