//! The SiLU kernel as a Burn backend extension of Flex: [`kernel`]'s forward for `Flex` and,
//! for `Autodiff<Flex>`, an autodiff operation with its own backward (the mechanism of
//! `crate::conv` and `crate::norm`).

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

fn forward(x: &FlexTensor) -> FlexTensor {
    let x = x.to_contiguous();
    tensor(kernel::silu(slice(&x)), &x.layout().shape().to_vec())
}

/// SiLU(x) when `B` is Flex or `Autodiff<Flex>` and x is f32; `None` otherwise.
pub(super) fn try_silu<B: Backend, const D: usize>(x: &Tensor<B, D>) -> Option<Tensor<B, D>> {
    on_flex::<B>(
        vec![float(x)],
        |v| forward(&v[0]),
        |v| autodiff(v.into_iter().next().expect("x")),
    )
    .map(from_float)
}

/// SiLU's backward: ∂x from x and ∂y.
#[derive(Debug)]
struct SiluBackward;

impl Backward<Flex, 1> for SiluBackward {
    /// x (contiguous).
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let x = ops.state;
        let [parent] = ops.parents;
        if let Some(node) = parent {
            let dx = kernel::silu_backward(slice(&x), slice(&dy));
            grads.register::<Flex>(node.id, tensor(dx, &x.layout().shape().to_vec()));
        }
    }
}

/// The tracked operation on x.
fn autodiff(x: AutodiffFloat) -> AutodiffFloat {
    match SiluBackward
        .prepare::<NoCheckpointing>([x.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let x = x.primitive.to_contiguous();
            let y = forward(&x);
            prep.finish(x, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(&x.primitive)),
    }
}
