//! The SiLU and leaky ReLU kernels as Burn backend extensions of Flex: [`kernel`]'s forward
//! for `Flex` and, for `Autodiff<Flex>`, an autodiff operation with its own backward (the
//! mechanism of `crate::conv` and `crate::norm`).

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

/// The element-wise function.
#[derive(Clone, Copy, Debug)]
pub(super) enum Activation {
    /// σ(x) = 1 / (1 + e^{−x}).
    Sigmoid,
    /// SiLU(x) = x σ(x).
    Silu,
    /// LeakyReLU with this negative slope.
    LeakyRelu(f32),
}

impl Activation {
    fn forward(self, x: &FlexTensor) -> FlexTensor {
        let x = x.to_contiguous();
        let y = match self {
            Activation::Sigmoid => kernel::sigmoids(slice(&x)),
            Activation::Silu => kernel::silu(slice(&x)),
            Activation::LeakyRelu(a) => kernel::leaky_relu(slice(&x), a),
        };
        tensor(y, &x.layout().shape().to_vec())
    }

    /// ∂x from x and ∂y.
    fn backward(self, x: &[f32], dy: &[f32]) -> Vec<f32> {
        match self {
            Activation::Sigmoid => kernel::sigmoid_backward(x, dy),
            Activation::Silu => kernel::silu_backward(x, dy),
            Activation::LeakyRelu(a) => kernel::leaky_relu_backward(x, dy, a),
        }
    }
}

/// `f`(x) when `B` is Flex or `Autodiff<Flex>` and x is f32; `None` otherwise.
pub(super) fn try_activation<B: Backend, const D: usize>(
    f: Activation,
    x: &Tensor<B, D>,
) -> Option<Tensor<B, D>> {
    on_flex::<B>(
        vec![float(x)],
        |v| f.forward(&v[0]),
        |v| autodiff(f, v.into_iter().next().expect("x")),
    )
    .map(from_float)
}

/// The activation's backward: ∂x from x and ∂y.
#[derive(Debug)]
struct ActivationBackward;

impl Backward<Flex, 1> for ActivationBackward {
    /// x (contiguous) and the function.
    type State = (FlexTensor, Activation);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        backpropagate(ops, grads, |(x, f), dy, _| {
            let dx = f.backward(slice(&x), slice(&dy));
            [Some(tensor(dx, &x.layout().shape().to_vec()))]
        });
    }
}

/// The tracked operation on x.
fn autodiff(f: Activation, x: AutodiffFloat) -> AutodiffFloat {
    tracked(ActivationBackward, [&x], || {
        let x = x.primitive.to_contiguous();
        (f.forward(&x), (x, f))
    })
}
