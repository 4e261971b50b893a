//! Host data in and out of tensors at the backend's own precision.
//!
//! Burn 0.21 gives a new float tensor the *device's* default dtype, and the device settings are
//! keyed by the device type, which `NdArray<f32>` and `NdArray<f64>` share: whichever touches
//! the CPU device first decides for both. These helpers always ask for the backend's element
//! type, so an f64 backend computes in f64 (`Tensor::from_floats` would also round through f32).

use burn::tensor::{backend::Backend, Element, Shape, Tensor, TensorCreationOptions, TensorData};

/// Creation options for a float tensor in the backend's element type on `device`.
pub fn float_options<B: Backend>(device: &B::Device) -> TensorCreationOptions<B> {
    TensorCreationOptions::new(device.clone()).with_dtype(<B::FloatElem as Element>::dtype())
}

/// A float tensor of `shape` holding `values` (row-major), in the backend's element type.
pub fn from_f64<B: Backend, const D: usize>(
    values: Vec<f64>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    let data = TensorData::new(values, Shape::new(shape))
        .convert_dtype(<B::FloatElem as Element>::dtype());
    Tensor::from_data(data, float_options::<B>(device))
}

/// A tensor of zeros of `shape`, in the backend's element type.
pub fn zeros<B: Backend, const D: usize>(shape: [usize; D], device: &B::Device) -> Tensor<B, D> {
    Tensor::zeros(shape, float_options::<B>(device))
}

/// The values of a float tensor, row-major, as f64.
pub fn to_f64<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f64> {
    tensor
        .into_data()
        .convert::<f64>()
        .into_vec::<f64>()
        .expect("a float tensor converts to f64")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{NdArray, NdArrayF64};

    #[test]
    fn f64_backend_keeps_f64_even_after_f32_used_the_device() {
        // The f32 backend touches the shared CPU device first.
        let _ = Tensor::<NdArray, 1>::from_floats([1.0], &Default::default());
        let x: Tensor<NdArrayF64, 1> = from_f64(vec![0.1], [1], &Default::default());
        let y = x.mul_scalar(3.0) + zeros::<NdArrayF64, 1>([1], &Default::default());
        assert_eq!(to_f64(y)[0], 0.1 * 3.0);
    }
}
