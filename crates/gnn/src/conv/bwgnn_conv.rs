//! BWGNN's Beta-wavelet filter bank (Tang et al., "Rethinking Graph Neural Networks for Anomaly
//! Detection", ICML 2022).
//!
//! Fraud shifts a graph signal's spectral energy towards high frequencies: a fraudster looks
//! unlike its neighbours (heterophily). Low-pass layers such as GCN and mean-SAGE average that
//! difference away. BWGNN instead applies `C + 1` band-pass filters, polynomials in the
//! normalised Laplacian `L = I − D^{-1/2} A D^{-1/2}` built from the Beta distribution,
//!
//! `W_i = (L/2)^i (I − L/2)^{C−i} / B(i + 1, C + 1 − i)`,   `i = 0..=C`,
//!
//! which together cover the whole spectrum `[0, 2]` with localised, non-negative responses. The
//! layer concatenates `W_i x` and projects it: `x' = Lin([W_0 x ‖ … ‖ W_C x])`. Cost is `C`
//! sparse products per layer.
//!
//! We ship BWGNN rather than GHRN because it is a fixed filter bank on the graph as given: it
//! needs no edge pruning pass, works unchanged on sampled subgraphs and in layer-wise inference,
//! and is the stronger of the two on the GADBench tables for Reddit, tolokers and T-Finance.

use crate::dense::linear;
use crate::mp::EdgeIndex;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

/// Configuration of [`BwgnnConv`].
#[derive(Config, Debug)]
pub struct BwgnnConvConfig {
    /// Input feature size.
    pub d_input: usize,
    /// Output feature size.
    pub d_output: usize,
    /// Polynomial order `C`; the layer has `C + 1` filters. The paper uses 2.
    #[config(default = 2)]
    pub order: usize,
}

/// A Beta-wavelet filter bank followed by a linear projection.
#[derive(Module, Debug)]
pub struct BwgnnConv {
    lin: Linear,
    /// `theta[i][k]`: coefficient of `L^k` in filter `i`; fixed, not trained.
    #[module(skip)]
    theta: Vec<Vec<f32>>,
}

impl BwgnnConvConfig {
    /// Creates the layer.
    pub fn init(&self, device: &Device) -> BwgnnConv {
        BwgnnConv {
            lin: LinearConfig::new((self.order + 1) * self.d_input, self.d_output).init(device),
            theta: beta_wavelet_coefficients(self.order),
        }
    }
}

/// Coefficients of `(x/2)^i (1 − x/2)^{C−i} / B(i + 1, C + 1 − i)` in powers of `x`, for each
/// filter `i = 0..=C`: `theta[i][k]` multiplies `x^k`.
pub fn beta_wavelet_coefficients(order: usize) -> Vec<Vec<f32>> {
    let c = order;
    let binomial =
        |n: usize, k: usize| (0..k).fold(1f64, |acc, j| acc * (n - j) as f64 / (j + 1) as f64);
    let factorial = |n: usize| (1..=n).fold(1f64, |acc, j| acc * j as f64);
    (0..=c)
        .map(|i| {
            // 1 / B(i + 1, C + 1 − i) = (C + 1)! / (i! (C − i)!)
            let inv_beta = factorial(c + 1) / (factorial(i) * factorial(c - i));
            (0..=c)
                .map(|k| {
                    if k < i {
                        return 0.0;
                    }
                    // (x/2)^i (1 − x/2)^{C−i} = Σ_j C(C−i, j) (−1)^j (x/2)^{i+j}, with k = i + j
                    let j = k - i;
                    let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
                    (sign * binomial(c - i, j) * inv_beta / 2f64.powi(k as i32)) as f32
                })
                .collect()
        })
        .collect()
}

impl BwgnnConv {
    /// # Shapes
    /// - `x`: `[num_nodes, d_input]` → `[num_nodes, d_output]`; `e` must be square.
    pub fn forward(&self, x: Tensor<2>, e: &EdgeIndex) -> Tensor<2> {
        let norm = e.symmetric_norm();
        let laplacian = |h: Tensor<2>| h.clone() - e.propagate(h, norm.clone());
        // powers[k] = L^k x
        let mut powers = vec![x];
        for _ in 1..self.theta.len() {
            let next = laplacian(powers.last().expect("starts with x").clone());
            powers.push(next);
        }
        let filtered: Vec<Tensor<2>> = self
            .theta
            .iter()
            .map(|coefficients| {
                coefficients
                    .iter()
                    .zip(&powers)
                    .filter(|(c, _)| **c != 0.0)
                    .map(|(&c, p)| p.clone() * c)
                    .reduce(|a, b| a + b)
                    .expect("every filter has a non-zero coefficient")
            })
            .collect();
        linear(&self.lin, Tensor::cat(filtered, 1))
    }
}

impl crate::conv::GraphConv for BwgnnConv {
    const NAME: &'static str = "bwgnn";

    fn from_spec(spec: &crate::conv::LayerSpec, device: &Device) -> Self {
        BwgnnConvConfig::new(spec.d_input, spec.d_output).init(device)
    }

    fn forward_graph(&self, x: Tensor<2>, graph: &crate::graph::GraphTensors) -> Tensor<2> {
        self.forward(x, graph.merged())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each filter evaluated at a frequency must equal the Beta density it was built from.
    #[test]
    fn coefficients_reproduce_the_beta_kernels() {
        for order in 1..=4 {
            let theta = beta_wavelet_coefficients(order);
            assert_eq!(theta.len(), order + 1);
            for (i, coefficients) in theta.iter().enumerate() {
                for step in 0..=8 {
                    let x = step as f64 * 0.25; // λ ∈ [0, 2]
                    let poly: f64 = coefficients
                        .iter()
                        .enumerate()
                        .map(|(k, &c)| f64::from(c) * x.powi(k as i32))
                        .sum();
                    let (a, b) = ((i + 1) as f64, (order + 1 - i) as f64);
                    let beta = gamma(a) * gamma(b) / gamma(a + b);
                    let expected =
                        (x / 2.0).powi(i as i32) * (1.0 - x / 2.0).powi((order - i) as i32) / beta;
                    assert!(
                        (poly - expected).abs() < 1e-4,
                        "order {order} filter {i} at {x}: {poly} vs {expected}"
                    );
                }
            }
        }
    }

    fn gamma(x: f64) -> f64 {
        // Arguments here are positive integers.
        (1..x as usize).map(|v| v as f64).product()
    }

    /// The filters are band-pass: the low one peaks at λ = 0, the high one at λ = 2.
    #[test]
    fn first_filter_is_low_pass_and_last_is_high_pass() {
        let theta = beta_wavelet_coefficients(2);
        let at = |c: &[f32], x: f32| {
            c.iter()
                .enumerate()
                .map(|(k, &v)| v * x.powi(k as i32))
                .sum::<f32>()
        };
        assert!(at(&theta[0], 0.0) > at(&theta[0], 2.0));
        assert!(at(&theta[2], 2.0) > at(&theta[2], 0.0));
        assert!(at(&theta[1], 1.0) > at(&theta[1], 0.0) && at(&theta[1], 1.0) > at(&theta[1], 2.0));
    }
}
