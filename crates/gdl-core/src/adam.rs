//! Adam (Kingma & Ba 2015) as Burn's `AdamConfig` describes it, with the update fused into one
//! pass over the parameters on Flex:
//!
//! ```text
//! m ← β₁ m + (1 − β₁) g            v ← β₂ v + (1 − β₂) g²          t ← t + 1
//! θ ← θ − η (√(1 − β₂ᵗ)/(1 − β₁ᵗ)) m / (√v + ε √(1 − β₂ᵗ))
//! ```
//!
//! (Burn's arrangement of the bias corrections, so the two agree to rounding.) Burn's own Adam
//! makes about twelve passes over every parameter tensor and allocates three of its size per
//! step; on the small models (the MLP VAE's step) that was a third of the step. Other
//! backends, AMSGrad and weight decay take Burn's Adam unchanged. The state is Burn's
//! `AdamState`, so checkpoints of either load into the other.

use crate::backend::Flex;
use crate::extension::{cast, is, slice};
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, SimpleOptimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Tensor, TensorPrimitive};
use burn_flex::FlexTensor;
use rayon::prelude::*;

/// Adam: the fused pass on Flex, Burn's Adam elsewhere.
#[derive(Clone)]
pub struct Adam {
    burn: burn::optim::Adam,
    /// β₁, β₂, ε when the fused pass applies (no AMSGrad, no weight decay).
    fused: Option<[f32; 3]>,
}

/// The fields of an `AdamConfig`, read from its serialised form (Burn keeps them private).
#[derive(serde::Deserialize)]
struct Fields {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    amsgrad: bool,
    weight_decay: Option<serde_json::Value>,
    grad_clipping: Option<GradientClippingConfig>,
}

fn fields(cfg: &AdamConfig) -> Fields {
    let value = serde_json::to_value(cfg).expect("an AdamConfig serialises");
    serde_json::from_value(value).expect("an AdamConfig has Adam's fields")
}

impl Adam {
    /// Adam as `cfg` describes it.
    pub fn new(cfg: &AdamConfig) -> Self {
        let f = fields(cfg);
        let plain = !f.amsgrad && f.weight_decay.is_none();
        Adam {
            burn: cfg.build(),
            fused: plain.then_some([f.beta_1, f.beta_2, f.epsilon]),
        }
    }
}

impl Adam {
    /// Whether steps on backend `B` (f32 tensors) take the fused pass.
    pub fn is_fused<B: Backend>(&self) -> bool {
        self.fused.is_some() && is::<B, Flex>()
    }
}

/// What `AdamConfig::init` makes, with [`Adam`] inside (gradient clipping included).
pub fn adam<B: AutodiffBackend, M: AutodiffModule<B>>(
    cfg: &AdamConfig,
) -> OptimizerAdaptor<Adam, M, B> {
    let optim = OptimizerAdaptor::from(Adam::new(cfg));
    match fields(cfg).grad_clipping {
        Some(clip) => optim.with_grad_clipping(clip.init()),
        None => optim,
    }
}

impl<B: Backend> SimpleOptimizer<B> for Adam {
    type State<const D: usize> = AdamState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        match self.fused {
            Some(hyper) if self.is_fused::<B>() && tensor.dtype() == DType::F32 => {
                let (tensor, state) = fused_step(lr, hyper, tensor, grad, state);
                (tensor, Some(state))
            }
            _ => self.burn.step(lr, tensor, grad, state),
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        <burn::optim::Adam as SimpleOptimizer<B>>::to_device(state, device)
    }
}

fn flex<B: Backend, const D: usize>(t: Tensor<B, D>) -> FlexTensor {
    // A contiguous copy that owns its buffer (the input is dropped first, so that an unshared
    // buffer is updated in place).
    let t: FlexTensor = cast(t.into_primitive().tensor());
    let c = t.to_contiguous();
    drop(t);
    c
}

fn back<B: Backend, const D: usize>(t: FlexTensor) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(cast(t)))
}

/// One fused Adam step on Flex tensors (B is Flex: checked by the caller).
fn fused_step<B: Backend, const D: usize>(
    lr: LearningRate,
    [b1, b2, eps]: [f32; 3],
    tensor: Tensor<B, D>,
    grad: Tensor<B, D>,
    state: Option<AdamState<B, D>>,
) -> (Tensor<B, D>, AdamState<B, D>) {
    let shape = tensor.shape();
    let (time, m, v) = match state {
        Some(s) => (
            s.momentum.time,
            flex(s.momentum.moment_1),
            flex(s.momentum.moment_2),
        ),
        None => {
            let zeros = || FlexTensor::zeros(shape.clone(), DType::F32);
            (0, zeros(), zeros())
        }
    };
    let (mut theta, g, mut m, mut v) = (flex(tensor), flex(grad), m, v);
    let time = time + 1;
    let c2 = (1.0 - b2.powi(time as i32)).sqrt();
    let factor = c2 / (1.0 - b1.powi(time as i32));
    let (eps, lr) = (eps * c2, lr as f32);
    let update = |((theta, m), v): ((&mut [f32], &mut [f32]), &mut [f32]), g: &[f32]| {
        crate::simd::wide(
            #[inline(always)]
            || {
                for i in 0..g.len() {
                    let gi = g[i];
                    m[i] = m[i] * b1 + gi * (1.0 - b1);
                    v[i] = v[i] * b2 + gi * gi * (1.0 - b2);
                    theta[i] -= (m[i] * factor) / (v[i].sqrt() + eps) * lr;
                }
            },
        )
    };
    {
        let g = slice(&g);
        let (theta, m, v) = (
            theta.storage_mut::<f32>(),
            m.storage_mut::<f32>(),
            v.storage_mut::<f32>(),
        );
        const CHUNK: usize = 1 << 14;
        if g.len() > 2 * CHUNK {
            theta
                .par_chunks_mut(CHUNK)
                .zip(m.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .zip(g.par_chunks(CHUNK))
                .for_each(|(tmv, g)| update(tmv, g));
        } else {
            update(((theta, m), v), g);
        }
    }
    let momentum = AdaptiveMomentumState::new(time, back(m), back(v));
    (back(theta), AdamState::new(momentum))
}
