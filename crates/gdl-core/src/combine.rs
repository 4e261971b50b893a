//! Linear combinations of two tensors, a·x + b·y: the update of every moving average and
//! momentum in the library (θ̄ ← d θ̄ + (1 − d) θ, v ← γ v + η g). Burn computes one as three
//! passes (two scalings, one sum), on one core on Flex; on Flex this is one vectorised pass over
//! the thread pool, with the same roundings (a·x and b·y rounded, then their sum), so the
//! numbers are Burn's.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// a·x + b·y element-wise, for x and y of the same shape.
pub fn axpby<B: Backend, const D: usize>(
    a: f64,
    x: Tensor<B, D>,
    b: f64,
    y: Tensor<B, D>,
) -> Tensor<B, D> {
    #[cfg(feature = "flex")]
    if let Some(z) = flex::try_axpby(a, &x, b, &y) {
        return z;
    }
    x.mul_scalar(a) + y.mul_scalar(b)
}

/// x − y element-wise, for x and y of the same shape (a parameter minus its step); on Flex
/// one pass over the thread pool, Burn's `sub` elsewhere.
pub fn difference<B: Backend, const D: usize>(x: Tensor<B, D>, y: Tensor<B, D>) -> Tensor<B, D> {
    #[cfg(feature = "flex")]
    if let Some(z) = flex::try_map2(&x, &y, |x, y| x - y) {
        return z;
    }
    x - y
}

#[cfg(feature = "flex")]
mod flex {
    use burn::tensor::backend::Backend;
    use burn::tensor::Tensor;

    use crate::activation::kernel::map2;
    use crate::extension::{float, from_float, on_plain_flex, slice, tensor};

    /// The kernel on Flex; `None` for other backends (`Autodiff<Flex>` included: Burn's
    /// operations keep its gradients), non-f32 inputs or different shapes.
    pub(super) fn try_axpby<B: Backend, const D: usize>(
        a: f64,
        x: &Tensor<B, D>,
        b: f64,
        y: &Tensor<B, D>,
    ) -> Option<Tensor<B, D>> {
        let (a, b) = (a as f32, b as f32);
        try_map2(x, y, move |x, y| a * x + b * y)
    }

    /// f(x_i, y_i) element-wise on Flex; `None` elsewhere, as [`try_axpby`].
    pub(super) fn try_map2<B: Backend, const D: usize>(
        x: &Tensor<B, D>,
        y: &Tensor<B, D>,
        f: impl Fn(f32, f32) -> f32 + Sync,
    ) -> Option<Tensor<B, D>> {
        if x.dims() != y.dims() {
            return None;
        }
        let z = on_plain_flex::<B>(vec![float(x), float(y)], |v| {
            let mut v = v.into_iter().map(|t| t.to_contiguous());
            let (x, y) = (v.next().expect("x"), v.next().expect("y"));
            let z = map2(slice(&x), slice(&y), f);
            tensor(z, &x.layout().shape().to_vec())
        })?;
        Some(from_float(z))
    }
}

#[cfg(all(test, feature = "flex", feature = "ndarray"))]
mod tests {
    use super::*;
    use crate::backend::{Flex, FlexAutodiff, NdArray};
    use burn::tensor::{Distribution, TensorData};

    fn pair<B: Backend>(shape: [usize; 2]) -> [Tensor<B, 2>; 2] {
        let device = Default::default();
        let host = |seed: u64| {
            // a fixed, irregular sequence: the same numbers on every backend
            let n = shape[0] * shape[1];
            let v: Vec<f32> = (0..n as u64)
                .map(|i| ((i * 2654435761 + seed * 40503) % 1000) as f32 / 100.0 - 5.0)
                .collect();
            Tensor::<B, 2>::from_data(TensorData::new(v, shape), &device)
        };
        [host(1), host(2)]
    }

    /// Flex's kernel gives Burn's numbers bit for bit (NdArray's three passes), over several
    /// parallel runs and on a strided x; Autodiff<Flex> keeps the gradients.
    #[test]
    fn axpby_is_burns_linear_combination() {
        let shape = [70, 1000];
        let (a, b) = (0.95, -0.05);
        let [x, y] = pair::<Flex>(shape);
        let [x0, y0] = pair::<NdArray>(shape);
        let got = axpby(a, x.clone(), b, y.clone()).into_data();
        let want = (x0.clone().mul_scalar(a) + y0.clone().mul_scalar(b)).into_data();
        assert_eq!(got, want);
        let got = axpby(a, x.transpose(), b, y.transpose()).into_data();
        let want = (x0.transpose().mul_scalar(a) + y0.transpose().mul_scalar(b)).into_data();
        assert_eq!(got, want);
        let device = Default::default();
        let x = Tensor::<FlexAutodiff, 2>::random([3, 4], Distribution::Default, &device)
            .require_grad();
        let y = Tensor::<FlexAutodiff, 2>::random([3, 4], Distribution::Default, &device);
        let grads = axpby(a, x.clone(), b, y).sum().backward();
        let dx = x.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap();
        assert!(dx.iter().all(|&g| (g - a as f32).abs() < 1e-7), "{dx:?}");
    }

    /// Flex's x − y is Burn's, bit for bit, on contiguous and strided inputs.
    #[test]
    fn difference_is_burns_subtraction() {
        let [x, y] = pair::<Flex>([70, 1000]);
        let [x0, y0] = pair::<NdArray>([70, 1000]);
        assert_eq!(
            difference(x.clone(), y.clone()).into_data(),
            (x0.clone() - y0.clone()).into_data()
        );
        assert_eq!(
            difference(x.transpose(), y.transpose()).into_data(),
            (x0.transpose() - y0.transpose()).into_data()
        );
    }
}
