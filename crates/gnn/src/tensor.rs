//! Host data as tensors on a device.

use burn::prelude::*;
use burn::tensor::TensorData;

/// Row-major `[n, d]` floats as a tensor.
pub fn matrix(values: Vec<f32>, n: usize, d: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [n, d]), device)
}

/// Indices as an `Int` tensor.
pub fn indices(values: &[u32], device: &Device) -> Tensor<1, Int> {
    let data: Vec<i32> = values.iter().map(|&v| v as i32).collect();
    Tensor::from_data(TensorData::new(data, [values.len()]), device)
}
