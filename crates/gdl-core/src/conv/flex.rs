//! The im2col convolutions as a Burn backend extension of Flex: the forward kernel for
//! `Flex` and, for `Autodiff<Flex>`, an autodiff operation with its own backward
//! (burn-autodiff's `Backward` trait, the mechanism Burn documents for custom kernels).
//!
//! Models stay generic over `B: Backend`: [`super::conv2d`] asks [`try_conv`] first, which
//! answers only when `B` is one of these two types (a `TypeId` comparison, then a move of
//! the tensor into its concrete type), and every other backend takes Burn's own kernels.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops};
use burn_flex::FlexTensor;

use super::grid::{self, Grid};
use super::im2col::{self, Geometry};
use super::pointwise;
use crate::backend::Flex;
use crate::extension::{backpropagate, on_flex_weighted, slice, tensor, tracked, AutodiffFloat};

/// One of the two operations, with its shapes.
#[derive(Clone, Copy, Debug)]
pub(super) enum Op {
    /// conv2d with `out_channels` filters; the image side of `g` is the input.
    Conv { out_channels: usize, g: Geometry },
    /// conv_transpose2d from `in_channels`; the image side of `g` is the output.
    ConvTranspose { in_channels: usize, g: Geometry },
}

impl Op {
    /// The output channels, which the bias is added to.
    fn bias_len(&self) -> usize {
        match *self {
            Op::Conv { out_channels, .. } => out_channels,
            Op::ConvTranspose { g, .. } => g.channels,
        }
    }

    fn out_shape(&self) -> [usize; 4] {
        match *self {
            Op::Conv { out_channels, g } => [g.batch, out_channels, g.out[0], g.out[1]],
            Op::ConvTranspose { g, .. } => [g.batch, g.channels, g.image[0], g.image[1]],
        }
    }

    fn forward(&self, x: &FlexTensor, w: &FlexTensor, b: Option<&FlexTensor>) -> FlexTensor {
        let (x, w, b) = (
            x.to_contiguous(),
            w.to_contiguous(),
            b.map(|b| b.to_contiguous()),
        );
        let (x, w, b) = (slice(&x), slice(&w), b.as_ref().map(slice));
        let y = match *self {
            Op::Conv { out_channels, g } if pointwise::applies(&g) => {
                pointwise::conv2d(x, w, b, out_channels, &g)
            }
            Op::Conv { out_channels, g } => match Grid::faster(&g) {
                Some(grid) => grid::conv2d(x, w, b, out_channels, &g, &grid),
                None => im2col::conv2d(x, w, b, out_channels, &g),
            },
            Op::ConvTranspose { in_channels, g } => {
                im2col::conv_transpose2d(x, w, b, in_channels, &g)
            }
        };
        tensor(y, &self.out_shape())
    }

    /// [∂x, ∂w, ∂b] for the upstream gradient dy, those in `want`.
    fn backward(
        &self,
        x: &FlexTensor,
        w: &FlexTensor,
        dy: &FlexTensor,
        want: [bool; 3],
    ) -> [Option<FlexTensor>; 3] {
        let (xc, wc, dyc) = (x.to_contiguous(), w.to_contiguous(), dy.to_contiguous());
        let (xs, ws, dys) = (slice(&xc), slice(&wc), slice(&dyc));
        let grads = match *self {
            Op::Conv { out_channels, g } if pointwise::applies(&g) => {
                pointwise::conv2d_backward(xs, ws, dys, out_channels, &g, want)
            }
            Op::Conv { out_channels, g } => match Grid::faster(&g) {
                Some(grid) => grid::conv2d_backward(xs, ws, dys, out_channels, &g, &grid, want),
                None => im2col::conv2d_backward(xs, ws, dys, out_channels, &g, want),
            },
            Op::ConvTranspose { in_channels, g } => {
                im2col::conv_transpose2d_backward(xs, ws, dys, in_channels, &g, want)
            }
        };
        let shapes = [
            x.layout().shape().to_vec(),
            w.layout().shape().to_vec(),
            vec![self.bias_len()],
        ];
        let mut grads = grads.into_iter().zip(shapes);
        std::array::from_fn(|_| {
            let (grad, shape) = grads.next().expect("three gradients");
            grad.map(|d| tensor(d, &shape))
        })
    }
}

/// `op` on `x`, `w` and `b` when `B` is Flex or `Autodiff<Flex>` and all are f32; `None`
/// for every other backend and dtype.
pub(super) fn try_conv<B: Backend>(
    op: Op,
    x: &Tensor<B, 4>,
    w: &Tensor<B, 4>,
    b: Option<&Tensor<B, 1>>,
) -> Option<Tensor<B, 4>> {
    on_flex_weighted(
        x,
        w,
        b,
        op.bias_len(),
        |x, w, b| op.forward(x, w, b),
        |x, w, b| autodiff(op, x, w, b),
    )
}

/// The backward of [`Op`]: ∂x, ∂w and ∂b of whichever parents need them.
#[derive(Debug)]
struct Im2colBackward;

impl Backward<Flex, 3> for Im2colBackward {
    type State = (FlexTensor, FlexTensor, Op);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        backpropagate(ops, grads, |(x, w, op), dy, want| {
            op.backward(&x, &w, &dy, want)
        });
    }
}

/// The tracked operation.
fn autodiff(op: Op, x: AutodiffFloat, w: AutodiffFloat, b: AutodiffFloat) -> AutodiffFloat {
    tracked(Im2colBackward, [&x, &w, &b], || {
        let y = op.forward(&x.primitive, &w.primitive, Some(&b.primitive));
        (y, (x.primitive.clone(), w.primitive.clone(), op))
    })
}
