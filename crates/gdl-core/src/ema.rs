//! Exponential moving average of a module's weights (Polyak averaging), the weights diffusion
//! models and GANs sample with: θ̄ ← d θ̄ + (1 − d) θ after every optimiser step, with the decay
//! warmed up as d_k = min(d, (1 + k)/(10 + k)) at step k so that the first steps are not
//! dominated by the initial weights.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use std::collections::HashMap;

use crate::combine::axpby;

/// The decay at step `step` (1-based) for a target decay `decay`.
pub fn warmed_decay(decay: f64, step: usize) -> f64 {
    decay.min((1.0 + step as f64) / (10.0 + step as f64))
}

/// θ̄ ← d θ̄ + (1 − d) θ for every float parameter of `average`, with θ the parameter of
/// `live` that has the same id (`average` must be a copy of `live`'s structure, as
/// `live.clone()` or `live.valid()` gives).
pub fn ema_update<B: Backend, M: Module<B>>(average: M, live: &M, decay: f64) -> M {
    let mut collect = Collect::<B>(HashMap::new());
    live.visit(&mut collect);
    average.map(&mut Blend {
        live: collect.0,
        decay,
    })
}

/// Every float parameter, flattened, by id.
struct Collect<B: Backend>(HashMap<ParamId, Tensor<B, 1>>);

impl<B: Backend> ModuleVisitor<B> for Collect<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let value = param.val();
        let n = value.shape().num_elements();
        self.0.insert(param.id, value.reshape([n]));
    }
}

struct Blend<B: Backend> {
    live: HashMap<ParamId, Tensor<B, 1>>,
    decay: f64,
}

impl<B: Backend> ModuleMapper<B> for Blend<B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, average, mapper) = param.consume();
        let value = match self.live.remove(&id) {
            Some(live) => {
                let shape = average.shape();
                // θ̄ ← d θ̄ + (1 − d) θ
                axpby(self.decay, average, 1.0 - self.decay, live.reshape(shape))
            }
            None => average,
        };
        Param::from_mapped_value(id, value, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::NdArray as B;
    use burn::nn::LinearConfig;

    #[test]
    fn the_average_moves_each_weight_towards_the_live_one() {
        let device = Default::default();
        let live = LinearConfig::new(3, 2).init::<B>(&device);
        let average = live.clone().map(&mut Shift(1.0));
        let out = ema_update(average.clone(), &live, 0.9);
        let (a, l, o) = (
            crate::tensor::to_f64(average.weight.val()),
            crate::tensor::to_f64(live.weight.val()),
            crate::tensor::to_f64(out.weight.val()),
        );
        for i in 0..6 {
            assert!((o[i] - (0.9 * a[i] + 0.1 * l[i])).abs() < 1e-6);
        }
        let (ab, lb, ob) = (
            crate::tensor::to_f64(average.bias.unwrap().val()),
            crate::tensor::to_f64(live.bias.unwrap().val()),
            crate::tensor::to_f64(out.bias.unwrap().val()),
        );
        for i in 0..2 {
            assert!((ob[i] - (0.9 * ab[i] + 0.1 * lb[i])).abs() < 1e-6);
        }
        assert_eq!(warmed_decay(0.999, 0), 0.1);
        assert_eq!(warmed_decay(0.5, 1000), 0.5);
    }

    /// Adds a constant to every weight (a different starting average).
    struct Shift(f64);
    impl<B: Backend> ModuleMapper<B> for Shift {
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (id, v, m) = p.consume();
            Param::from_mapped_value(id, v.add_scalar(self.0), m)
        }
    }
}
