//! The Bernoulli NLL kernel as a Burn backend extension of Flex: the forward for `Flex` and,
//! for `Autodiff<Flex>`, an autodiff operation with its own backward (the mechanism of
//! `crate::conv` and `crate::activation`).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops};
use burn_flex::FlexTensor;

use crate::activation::kernel;
use crate::backend::Flex;
use crate::extension::{
    backpropagate, float, from_float, on_flex, slice, tensor, tracked, AutodiffFloat,
};

/// The row sums [N] for contiguous logits and x [N, D].
fn forward(l: &FlexTensor, x: &FlexTensor) -> FlexTensor {
    let shape = l.layout().shape().to_vec();
    let nll = kernel::bernoulli_nll(slice(l), slice(x), shape[1]);
    tensor(nll, &[shape[0]])
}

/// The NLL's rows when `B` is Flex or `Autodiff<Flex>` and both are f32; `None` otherwise.
pub(super) fn try_bernoulli_nll<B: Backend>(
    logits: &Tensor<B, 2>,
    x: &Tensor<B, 2>,
) -> Option<Tensor<B, 1>> {
    on_flex::<B>(
        vec![float(logits), float(x)],
        |v| forward(&v[0].to_contiguous(), &v[1].to_contiguous()),
        |v| {
            let mut v = v.into_iter();
            autodiff(v.next().expect("logits"), v.next().expect("x"))
        },
    )
    .map(from_float)
}

/// The backward: ∂l and ∂x from l, x and the rows' ∂y.
#[derive(Debug)]
struct BernoulliNllBackward;

impl Backward<Flex, 2> for BernoulliNllBackward {
    /// l and x (contiguous).
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        backpropagate(ops, grads, |(l, x), dy, [_, want_x]| {
            let (dl, dx) = kernel::bernoulli_nll_backward(slice(&l), slice(&x), slice(&dy), want_x);
            let shape = l.layout().shape().to_vec();
            [Some(tensor(dl, &shape)), dx.map(|dx| tensor(dx, &shape))]
        });
    }
}

/// The tracked operation on l and x.
fn autodiff(l: AutodiffFloat, x: AutodiffFloat) -> AutodiffFloat {
    tracked(BernoulliNllBackward, [&l, &x], || {
        let (l, x) = (l.primitive.to_contiguous(), x.primitive.to_contiguous());
        (forward(&l, &x), (l, x))
    })
}
