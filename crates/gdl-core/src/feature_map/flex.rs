//! [`super::kernel`] as Burn backend extensions of Flex: the forward kernels for `Flex` and,
//! for `Autodiff<Flex>`, autodiff operations with their own backward (the mechanism of
//! `crate::conv`).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops};
use burn_flex::FlexTensor;

use super::kernel;
use crate::backend::Flex;
use crate::extension::{
    backpropagate, float, from_float, on_flex, slice, tensor, tracked, AutodiffFloat,
};

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
        backpropagate(ops, grads, |[n, ca, cb, inner], dy, _| {
            let [_, _, h, w] = dims(&dy);
            let [da, db] = kernel::split(slice(&dy), n, ca * inner, cb * inner);
            [
                Some(tensor(da, &[n, ca, h, w])),
                Some(tensor(db, &[n, cb, h, w])),
            ]
        });
    }
}

fn autodiff_cat(a: AutodiffFloat, b: AutodiffFloat) -> AutodiffFloat {
    let ([n, ca, h, w], [_, cb, _, _]) = (dims(&a.primitive), dims(&b.primitive));
    tracked(CatBackward, [&a, &b], || {
        (cat(&a.primitive, &b.primitive), [n, ca, cb, h * w])
    })
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
        backpropagate(ops, grads, |[n, c, h, w], dy, _| {
            let dx = kernel::upsample2_backward(slice(&dy), [h, w]);
            [Some(tensor(dx, &[n, c, h, w]))]
        });
    }
}

fn autodiff_upsample2(x: AutodiffFloat) -> AutodiffFloat {
    let shape = dims(&x.primitive);
    tracked(Upsample2Backward, [&x], || (upsample2(&x.primitive), shape))
}

fn shift(x: &FlexTensor, s: &FlexTensor) -> FlexTensor {
    let (x, s) = (x.to_contiguous(), s.to_contiguous());
    let shape = dims(&x);
    tensor(
        kernel::shift(slice(&x), slice(&s), shape[2] * shape[3]),
        &shape,
    )
}

/// x [N, C, H, W] + s [N, C] per plane when `B` is Flex or `Autodiff<Flex>` and both are
/// f32; `None` otherwise.
pub(super) fn try_shift<B: Backend>(x: &Tensor<B, 4>, s: &Tensor<B, 2>) -> Option<Tensor<B, 4>> {
    let ([n, c, _, _], [m, k]) = (x.dims(), s.dims());
    if (n, c) != (m, k) {
        return None;
    }
    on_flex::<B>(
        vec![float(x), float(s)],
        |v| shift(&v[0], &v[1]),
        |v| {
            let mut v = v.into_iter();
            autodiff_shift(v.next().expect("x"), v.next().expect("s"))
        },
    )
    .map(from_float)
}

/// The backward of the shift: ∂x = ∂y, ∂s = ∂y summed over each plane.
#[derive(Debug)]
struct ShiftBackward;

impl Backward<Flex, 2> for ShiftBackward {
    /// [N, C, H·W].
    type State = [usize; 3];

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        backpropagate(ops, grads, |[n, c, inner], dy, want| {
            let ds = want[1].then(|| tensor(kernel::row_sums(slice(&dy), inner), &[n, c]));
            [want[0].then_some(dy), ds]
        });
    }
}

fn autodiff_shift(x: AutodiffFloat, s: AutodiffFloat) -> AutodiffFloat {
    let [n, c, h, w] = dims(&x.primitive);
    tracked(ShiftBackward, [&x, &s], || {
        (shift(&x.primitive, &s.primitive), [n, c, h * w])
    })
}

fn sum(x: &FlexTensor, h: &FlexTensor) -> FlexTensor {
    let (x, h) = (x.to_contiguous(), h.to_contiguous());
    let z = crate::activation::kernel::map2(slice(&x), slice(&h), |x, h| x + h);
    tensor(z, &dims(&x))
}

/// x + h when `B` is Flex or `Autodiff<Flex>`, both f32 of the same shape; `None` otherwise.
pub(super) fn try_residual<B: Backend>(x: &Tensor<B, 4>, h: &Tensor<B, 4>) -> Option<Tensor<B, 4>> {
    if x.dims() != h.dims() {
        return None;
    }
    on_flex::<B>(
        vec![float(x), float(h)],
        |v| sum(&v[0], &v[1]),
        |v| {
            let mut v = v.into_iter();
            let (x, h) = (v.next().expect("x"), v.next().expect("h"));
            tracked(ResidualBackward, [&x, &h], || {
                (sum(&x.primitive, &h.primitive), ())
            })
        },
    )
    .map(from_float)
}

/// The backward of the sum: ∂x = ∂h = ∂y (the same buffer, not copied).
#[derive(Debug)]
struct ResidualBackward;

impl Backward<Flex, 2> for ResidualBackward {
    type State = ();

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        backpropagate(ops, grads, |(), dy, want| {
            [want[0].then(|| dy.clone()), want[1].then_some(dy)]
        });
    }
}
