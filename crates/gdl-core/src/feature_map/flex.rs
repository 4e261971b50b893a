//! [`super::kernel`] as Burn backend extensions of Flex: the forward kernels for `Flex` and,
//! for `Autodiff<Flex>`, autodiff operations with their own backward (the mechanism of
//! `crate::conv`).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_flex::FlexTensor;

use super::kernel;
use crate::backend::Flex;
use crate::extension::{float, from_float, on_flex, slice, tensor, AutodiffFloat};

/// [N, C, H, W] of a 4-D tensor.
fn dims(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    [s[0], s[1], s[2], s[3]]
}

fn cat(a: &FlexTensor, b: &FlexTensor) -> FlexTensor {
    let (a, b) = (a.to_contiguous(), b.to_contiguous());
    let ([n, ca, h, w], [_, cb, _, _]) = (dims(&a), dims(&b));
    tensor(
        kernel::cat(slice(&a), slice(&b), n, h * w),
        &[n, ca + cb, h, w],
    )
}

/// [a, b] along the channels when `B` is Flex or `Autodiff<Flex>`, both f32, of the same
/// N, H, W and not empty; `None` otherwise.
pub(super) fn try_cat<B: Backend>(a: &Tensor<B, 4>, b: &Tensor<B, 4>) -> Option<Tensor<B, 4>> {
    let ([n, ca, h, w], [m, cb, i, j]) = (a.dims(), b.dims());
    if (n, h, w) != (m, i, j) || n * ca * cb * h * w == 0 {
        return None;
    }
    on_flex::<B>(
        vec![float(a), float(b)],
        |v| cat(&v[0], &v[1]),
        |v| {
            let mut v = v.into_iter();
            autodiff_cat(v.next().expect("a"), v.next().expect("b"))
        },
    )
    .map(from_float)
}

/// The backward of the concatenation: the upstream gradient's two blocks of channels.
#[derive(Debug)]
struct CatBackward;

impl Backward<Flex, 2> for CatBackward {
    /// [N, Ca, Cb, H·W].
    type State = [usize; 4];

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let [n, ca, cb, inner] = ops.state;
        let [_, _, h, w] = dims(&dy);
        let [da, db] = kernel::split(slice(&dy), n, ca * inner, cb * inner);
        for (node, (d, c)) in ops.parents.into_iter().zip([(da, ca), (db, cb)]) {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, tensor(d, &[n, c, h, w]));
            }
        }
    }
}

fn autodiff_cat(a: AutodiffFloat, b: AutodiffFloat) -> AutodiffFloat {
    let ([n, ca, h, w], [_, cb, _, _]) = (dims(&a.primitive), dims(&b.primitive));
    match CatBackward
        .prepare::<NoCheckpointing>([a.node.clone(), b.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let y = cat(&a.primitive, &b.primitive);
            prep.finish([n, ca, cb, h * w], y)
        }
        OpsKind::UnTracked(prep) => prep.finish(cat(&a.primitive, &b.primitive)),
    }
}

fn upsample2(x: &FlexTensor) -> FlexTensor {
    let x = x.to_contiguous();
    let [n, c, h, w] = dims(&x);
    tensor(kernel::upsample2(slice(&x), [h, w]), &[n, c, 2 * h, 2 * w])
}

/// Nearest 2× upsampling when `B` is Flex or `Autodiff<Flex>` and x is f32; `None` otherwise.
pub(super) fn try_upsample2<B: Backend>(x: &Tensor<B, 4>) -> Option<Tensor<B, 4>> {
    on_flex::<B>(
        vec![float(x)],
        |v| upsample2(&v[0]),
        |v| autodiff_upsample2(v.into_iter().next().expect("x")),
    )
    .map(from_float)
}

/// The backward of the upsampling: each pixel's 2×2 block of the upstream gradient, summed.
#[derive(Debug)]
struct Upsample2Backward;

impl Backward<Flex, 1> for Upsample2Backward {
    /// [N, C, H, W] of the input.
    type State = [usize; 4];

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let [n, c, h, w] = ops.state;
        let [parent] = ops.parents;
        if let Some(node) = parent {
            let dx = kernel::upsample2_backward(slice(&dy), [h, w]);
            grads.register::<Flex>(node.id, tensor(dx, &[n, c, h, w]));
        }
    }
}

fn autodiff_upsample2(x: AutodiffFloat) -> AutodiffFloat {
    let shape = dims(&x.primitive);
    match Upsample2Backward
        .prepare::<NoCheckpointing>([x.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(shape, upsample2(&x.primitive)),
        OpsKind::UnTracked(prep) => prep.finish(upsample2(&x.primitive)),
    }
}
