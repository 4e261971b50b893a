//! Host data in and out of tensors at the backend's own precision.
//!
//! Burn 0.21 gives a new float tensor the *device's* default dtype, and the device settings are
//! keyed by the device type, which `NdArray<f32>` and `NdArray<f64>` share: whichever touches
//! the CPU device first decides for both. These helpers always ask for the backend's element
//! type, so an f64 backend computes in f64 (`Tensor::from_floats` would also round through f32).

use burn::tensor::{
    backend::Backend, DType, Element, Shape, Tensor, TensorCreationOptions, TensorData,
};

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

/// The dtype for work that needs f64 (least squares, exact enumeration): f64 where the backend
/// supports it on `device` (NdArray, Flex; Flex's f64 products are several times faster than
/// NdArray's here), else the backend's own float type (Wgpu: f32).
pub fn precise_dtype<B: Backend>(device: &B::Device) -> DType {
    if B::supports_dtype(device, DType::F64) {
        DType::F64
    } else {
        <B::FloatElem as Element>::dtype()
    }
}

/// A float tensor of `shape` holding `values` in [`precise_dtype`]; every tensor computed
/// from it keeps that dtype.
pub fn from_f64_precise<B: Backend, const D: usize>(
    values: Vec<f64>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    let dtype = precise_dtype::<B>(device);
    let data = TensorData::new(values, Shape::new(shape)).convert_dtype(dtype);
    Tensor::from_data(data, (device, dtype))
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

    #[test]
    fn precise_tensors_are_f64_on_the_f32_cpu_backends() {
        let x: Tensor<NdArray, 1> = from_f64_precise(vec![0.1], [1], &Default::default());
        assert_eq!(x.dtype(), DType::F64);
        assert_eq!(to_f64(x.mul_scalar(3.0))[0], 0.1 * 3.0);
        #[cfg(feature = "flex")]
        {
            let x: Tensor<crate::backend::Flex, 2> =
                from_f64_precise(vec![0.1, 0.2], [1, 2], &Default::default());
            let g = x.clone().transpose().matmul(x);
            assert_eq!(g.dtype(), DType::F64);
            assert_eq!(to_f64(g)[1], 0.1 * 0.2);
        }
    }
}
