//! The affine map as a Burn backend extension of Flex: the forward for `Flex` and, for
//! `Autodiff<Flex>`, an autodiff operation with its own backward (the mechanism of
//! `crate::conv`).

use crate::buffer::zeroed;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops};
use burn_flex::FlexTensor;

use crate::backend::Flex;
use crate::extension::{backpropagate, on_flex_weighted, slice, tensor, tracked, AutodiffFloat};
use crate::matmul::{matmul_into, Mat};

/// A 2-D tensor as a matrix operand: row-major storage and whether it is read transposed.
/// Burn's `transpose` is a view, so a transposed row-major tensor is used without a copy;
/// other layouts are copied.
struct Operand(FlexTensor, bool);

impl Operand {
    fn new(t: &FlexTensor) -> Self {
        if t.is_contiguous() {
            return Operand(t.clone(), false);
        }
        let t_t = t.transpose(0, 1);
        if t_t.is_contiguous() {
            Operand(t_t, true)
        } else {
            Operand(t.to_contiguous(), false)
        }
    }

    fn mat(&self) -> Mat<'_> {
        let shape = self.0.layout().shape();
        let m = Mat::new(slice(&self.0), shape[0], shape[1]);
        if self.1 {
            m.t()
        } else {
            m
        }
    }

    /// [rows, cols] as used.
    fn dims(&self) -> [usize; 2] {
        let shape = self.0.layout().shape();
        if self.1 {
            [shape[1], shape[0]]
        } else {
            [shape[0], shape[1]]
        }
    }
}

/// y = x W (+ b 1ᵀ), the bias written into the destination before the product.
fn forward(x: &Operand, w: &Operand, b: Option<&FlexTensor>) -> FlexTensor {
    let ([n, _], [_, d_out]) = (x.dims(), w.dims());
    let mut y = match b {
        // n copies of b, written once (not zeroed first)
        Some(b) => slice(&b.to_contiguous()).repeat(n),
        None => zeroed(n * d_out),
    };
    matmul_into(&mut y, b.is_some(), x.mat(), w.mat(), true);
    tensor(y, &[n, d_out])
}

/// y = x W + b when `B` is Flex or `Autodiff<Flex>` and all are f32; `None` otherwise.
pub(super) fn try_linear<B: Backend>(
    x: &Tensor<B, 2>,
    w: &Tensor<B, 2>,
    b: Option<&Tensor<B, 1>>,
) -> Option<Tensor<B, 2>> {
    on_flex_weighted(
        x,
        w,
        b,
        w.dims()[1],
        |x, w, b| forward(&Operand::new(x), &Operand::new(w), b),
        autodiff,
    )
}

/// The backward: ∂x = ∂y Wᵀ, ∂W = xᵀ ∂y, ∂b = Σ_rows ∂y, for whichever parents need them.
#[derive(Debug)]
struct LinearBackward;

impl Backward<Flex, 3> for LinearBackward {
    /// x and W as they were used.
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        backpropagate(ops, grads, |(x, w), dy, [want_x, want_w, want_b]| {
            let (x, w) = (Operand::new(&x), Operand::new(&w));
            let ([n, d_in], [_, d_out]) = (x.dims(), w.dims());
            let dy_m = Mat::new(slice(&dy), n, d_out);
            let dx = want_x.then(|| {
                let mut dx = zeroed(n * d_in);
                matmul_into(&mut dx, false, dy_m, w.mat().t(), true);
                tensor(dx, &[n, d_in])
            });
            let dw = want_w.then(|| {
                let mut dw = zeroed(d_in * d_out);
                matmul_into(&mut dw, false, x.mat().t(), dy_m, true);
                tensor(dw, &[d_in, d_out])
            });
            let db = want_b.then(|| {
                let mut db = zeroed(d_out);
                for row in slice(&dy).chunks_exact(d_out) {
                    db.iter_mut().zip(row).for_each(|(s, g)| *s += g);
                }
                tensor(db, &[d_out])
            });
            [dx, dw, db]
        });
    }
}

/// The tracked operation.
fn autodiff(x: AutodiffFloat, w: AutodiffFloat, b: AutodiffFloat) -> AutodiffFloat {
    tracked(LinearBackward, [&x, &w, &b], || {
        let y = forward(
            &Operand::new(&x.primitive),
            &Operand::new(&w.primitive),
            Some(&b.primitive),
        );
        (y, (x.primitive.clone(), w.primitive.clone()))
    })
}
