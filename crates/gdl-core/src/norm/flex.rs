//! The fused group norm (+ SiLU) as a Burn backend extension of Flex: [`kernel`]'s forward
//! for `Flex` and, for `Autodiff<Flex>`, an autodiff operation with its own backward, the
//! same mechanism as the im2col convolutions (`crate::conv`).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops};
use burn_flex::FlexTensor;

use super::kernel::{self, GroupShape};
use crate::backend::Flex;
use crate::extension::{
    backpropagate, float, from_float, on_flex, slice, tensor, tracked, AutodiffFloat,
};

fn forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    s: &GroupShape,
) -> (FlexTensor, Vec<[f32; 2]>) {
    let (x, gamma, beta) = (
        x.to_contiguous(),
        gamma.to_contiguous(),
        beta.to_contiguous(),
    );
    let (y, stats) = kernel::forward(slice(&x), slice(&gamma), slice(&beta), s);
    let shape = x.layout().shape().to_vec();
    (tensor(y, &shape), stats)
}

/// `shape`'s group norm (+ SiLU) of x [N, C, H, W] with γ, β [C] when `B` is Flex or
/// `Autodiff<Flex>` and all are f32; `None` for every other backend and dtype.
pub(super) fn try_group_norm<B: Backend>(
    x: &Tensor<B, 4>,
    gamma: &Tensor<B, 1>,
    beta: &Tensor<B, 1>,
    shape: GroupShape,
) -> Option<Tensor<B, 4>> {
    on_flex::<B>(
        vec![float(x), float(gamma), float(beta)],
        |v| forward(&v[0], &v[1], &v[2], &shape).0,
        |v| {
            let [x, gamma, beta] = <[_; 3]>::try_from(v).expect("three inputs");
            autodiff(shape, x, gamma, beta)
        },
    )
    .map(from_float)
}

/// The backward of the fused group norm: ∂x, ∂γ and ∂β of whichever parents need them.
#[derive(Debug)]
struct GroupNormBackward;

impl Backward<Flex, 3> for GroupNormBackward {
    /// x, γ, β (contiguous), the statistics and the shape.
    type State = (
        FlexTensor,
        FlexTensor,
        FlexTensor,
        Vec<[f32; 2]>,
        GroupShape,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        backpropagate(ops, grads, |(x, gamma, beta, stats, s), dy, _| {
            let (xs, gs, bs) = (slice(&x), slice(&gamma), slice(&beta));
            let [dx, dgamma, dbeta] = kernel::backward(xs, gs, bs, &stats, slice(&dy), &s);
            [
                Some(tensor(dx, &x.layout().shape().to_vec())),
                Some(tensor(dgamma, &[s.channels])),
                Some(tensor(dbeta, &[s.channels])),
            ]
        });
    }
}

/// The tracked operation on x, γ and β.
fn autodiff(
    s: GroupShape,
    x: AutodiffFloat,
    gamma: AutodiffFloat,
    beta: AutodiffFloat,
) -> AutodiffFloat {
    tracked(GroupNormBackward, [&x, &gamma, &beta], || {
        let (xc, gc, bc) = (
            x.primitive.to_contiguous(),
            gamma.primitive.to_contiguous(),
            beta.primitive.to_contiguous(),
        );
        let (y, stats) = forward(&xc, &gc, &bc, &s);
        (y, (xc, gc, bc, stats, s))
    })
}
