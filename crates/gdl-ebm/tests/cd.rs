//! Contrastive divergence against the exact gradient of a small RBM (enumeration): CD-k's
//! estimate approaches the exact positive-minus-negative-phase gradient as k grows.

use burn::tensor::Tensor;
use gdl_core::seed::seed_all;
use gdl_core::tensor::{from_f64, to_f64};
use gdl_core::testing::TestBackendF64 as B;
use gdl_ebm::rbm::cd::{Chains, ContrastiveDivergence, RbmGradient};
use gdl_ebm::rbm::exact::BinaryRbm;
use gdl_ebm::rbm::{Rbm, Visible};

fn bits(s: usize, n: usize) -> Vec<f64> {
    (0..n).map(|i| ((s >> i) & 1) as f64).collect()
}

/// A 6 x 4 RBM with strong couplings (so that a single Gibbs step is far from the model
/// distribution), its exact log-likelihood gradient on four data vectors, and those vectors
/// repeated 5,000 times each (the Monte Carlo noise of an estimate is small).
struct StrongRbm {
    rbm: Rbm<B>,
    exact_rbm: BinaryRbm,
    data: Vec<Vec<f64>>,
    exact: Vec<f64>,
    x: Tensor<B, 2>,
}

impl StrongRbm {
    fn new() -> Self {
        let (nv, nh) = (6, 4);
        let v = |n: usize, p: f64, s: f64| {
            (0..n)
                .map(|i| s * (i as f64 * 2.1 + p).sin())
                .collect::<Vec<_>>()
        };
        let exact_rbm =
            BinaryRbm::new(v(nv, 0.3, 0.5), v(nh, 1.1, 0.5), v(nv * nh, 0.7, 2.0)).unwrap();
        let data: Vec<Vec<f64>> = [0b000111, 0b111000, 0b101010, 0b110011]
            .iter()
            .map(|&s| bits(s, nv))
            .collect();
        let exact = exact_rbm.exact_gradient(&data).unwrap().flat();
        let d = Default::default();
        let rbm = Rbm::<B>::from_parameters(
            from_f64(exact_rbm.w.clone(), [nv, nh], &d),
            from_f64(exact_rbm.a.clone(), [nv], &d),
            from_f64(exact_rbm.b.clone(), [nh], &d),
            Visible::Binary,
        );
        let reps = 5_000;
        let batch: Vec<f64> = data.iter().flat_map(|x| x.repeat(reps)).collect();
        let x = from_f64::<B, 2>(batch, [data.len() * reps, nv], &d);
        StrongRbm {
            rbm,
            exact_rbm,
            data,
            exact,
            x,
        }
    }

    /// ‖estimate − exact‖ of the gradient whose negative phase is `model`.
    fn distance(&self, model: Tensor<B, 2>) -> f64 {
        self.error(RbmGradient::contrast(&self.rbm, self.x.clone(), model))
    }

    /// ‖g − exact‖.
    fn error(&self, g: RbmGradient<B>) -> f64 {
        let flat = [to_f64(g.w), to_f64(g.a), to_f64(g.b)].concat();
        flat.iter()
            .zip(&self.exact)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt()
    }
}

#[test]
fn cd_k_approaches_the_exact_gradient_as_k_grows() {
    let _serial = gdl_core::seed::serial();
    seed_all::<B>(&Default::default(), 21);
    let s = StrongRbm::new();
    let distance = |k: usize| {
        let model = Chains::Contrastive.negative_samples(&s.rbm, s.x.clone(), k);
        s.distance(model)
    };
    let (d1, d3, d30) = (distance(1), distance(3), distance(30));
    println!("‖CD-k − exact‖: k=1 {d1:.4}, k=3 {d3:.4}, k=30 {d30:.4}");
    assert!(d1 > d3 && d3 > d30, "{d1} {d3} {d30}");
    assert!(
        d30 < 0.3 * d1,
        "CD-30 should be close to exact: {d30} vs CD-1 {d1}"
    );
}

/// `ContrastiveDivergence::estimate`, which computes p(h|x) once for the positive phase, the
/// monitor's reconstruction and the chain's first step, estimates the same gradient as the
/// chains of `negative_samples` (CD-30 close to exact, CD-1 as far off as theirs), and its
/// reconstruction error ‖x − E[x|h]‖², h ~ p(h|x), averages to the enumerated
/// Σ_h p(h|x) ‖x − sigmoid(a + W h)‖².
#[test]
fn one_estimate_shares_p_h_between_its_phases_and_its_monitor() {
    let _serial = gdl_core::seed::serial();
    seed_all::<B>(&Default::default(), 23);
    let s = StrongRbm::new();
    let estimate = |k: usize| {
        let mut cd = ContrastiveDivergence::<B>::new(k, false, 0.1, 0.5, 0.0).unwrap();
        cd.estimate(&s.rbm, s.x.clone())
    };
    let (e1, e30) = (estimate(1), estimate(30));
    let (d1, d30) = (s.error(e1.gradient), s.error(e30.gradient));
    let d1_chains = s.distance(Chains::Contrastive.negative_samples(&s.rbm, s.x.clone(), 1));
    println!("‖estimate − exact‖: k=1 {d1:.4} (negative_samples {d1_chains:.4}), k=30 {d30:.4}");
    assert!(d30 < 0.3 * d1, "CD-30 {d30} vs CD-1 {d1}");
    assert!(
        (d1 - d1_chains).abs() < 0.1 * d1_chains,
        "{d1} vs {d1_chains}"
    );

    // Σ_h p(h|x) ‖x − sigmoid(a + W h)‖², averaged over the four data vectors.
    let (nv, nh) = (6, 4);
    let r = &s.exact_rbm;
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let exact: f64 = s
        .data
        .iter()
        .map(|x| {
            let p: Vec<f64> = (0..nh)
                .map(|j| sigmoid(r.b[j] + (0..nv).map(|i| r.w[i * nh + j] * x[i]).sum::<f64>()))
                .collect();
            (0..1usize << nh)
                .map(|code| {
                    let h = bits(code, nh);
                    let p_h: f64 = (0..nh)
                        .map(|j| if h[j] > 0.5 { p[j] } else { 1.0 - p[j] })
                        .product();
                    let error: f64 = (0..nv)
                        .map(|i| {
                            let z = r.a[i] + (0..nh).map(|j| r.w[i * nh + j] * h[j]).sum::<f64>();
                            (x[i] - sigmoid(z)).powi(2)
                        })
                        .sum();
                    p_h * error
                })
                .sum::<f64>()
        })
        .sum::<f64>()
        / s.data.len() as f64;
    let rows = s.x.dims()[0] as f64;
    let mc = to_f64((s.x.clone() - e1.reconstruction).powi_scalar(2).sum())[0] / rows;
    println!("reconstruction error: Monte Carlo {mc:.4}, enumerated {exact:.4}");
    assert!((mc - exact).abs() < 0.02 * exact, "{mc} vs {exact}");
}

/// PCD's chains persist: each update continues the particles of the last (k = 1 per update)
/// instead of restarting at the data, so with the model held fixed its one-step estimate
/// approaches the exact gradient as updates accumulate, where CD-1's stays biased.
#[test]
fn pcd_particles_persist_and_reach_the_model_distribution() {
    let _serial = gdl_core::seed::serial();
    seed_all::<B>(&Default::default(), 22);
    let s = StrongRbm::new();
    let mut pcd = Chains::Persistent(None);
    assert!(pcd.particles().is_none());
    let first = pcd.negative_samples(&s.rbm, s.x.clone(), 1);
    // The particles are what the update returned, and the next update starts from them: with
    // data of a different value (all ones) the particles, not the data, are continued.
    assert_eq!(to_f64(pcd.particles().unwrap()), to_f64(first.clone()));
    let d_first = s.distance(first);
    let mut last = None;
    for _ in 0..29 {
        last = Some(pcd.negative_samples(&s.rbm, s.x.clone().ones_like(), 1));
    }
    let d_pcd = s.distance(last.unwrap());
    let d_cd1 = s.distance(Chains::Contrastive.negative_samples(&s.rbm, s.x.clone(), 1));
    println!(
        "‖estimate − exact‖: PCD after 1 update {d_first:.4}, after 30 {d_pcd:.4}, CD-1 {d_cd1:.4}"
    );
    assert!(d_pcd < 0.3 * d_cd1, "PCD {d_pcd} vs CD-1 {d_cd1}");
    // Started from the ones instead, a CD chain would still be one step from all-ones.
    let d_from_ones =
        s.distance(Chains::Contrastive.negative_samples(&s.rbm, s.x.clone().ones_like(), 1));
    assert!(
        d_pcd < 0.3 * d_from_ones,
        "PCD {d_pcd} vs one step from ones {d_from_ones}"
    );
    assert!(Chains::<B>::Contrastive.particles().is_none());
}

/// Two momentum steps with weight decay against the rule written out on host numbers:
/// v ← μ v + η (g − λW) for W (g for a, b), Θ ← Θ + v; μ changes between the steps.
#[test]
fn momentum_and_weight_decay_follow_the_written_out_rule() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    let (w0, a0, b0) = (vec![0.5, -1.0], vec![0.2], vec![-0.3, 0.4]);
    let rbm = Rbm::<B>::from_parameters(
        from_f64(w0.clone(), [1, 2], &d),
        from_f64(a0.clone(), [1], &d),
        from_f64(b0.clone(), [2], &d),
        Visible::Binary,
    );
    let grads = [
        (vec![1.0, 2.0], vec![0.5], vec![-1.0, 0.25]),
        (vec![-0.5, 1.5], vec![-2.0], vec![0.75, 1.0]),
    ];
    let (eta, lambda, mus) = (0.1, 0.01, [0.5, 0.9]);
    let mut cd =
        gdl_ebm::rbm::cd::ContrastiveDivergence::<B>::new(1, false, eta, mus[0], lambda).unwrap();
    let mut rbm = rbm;
    let (mut w, mut a, mut b) = (w0, a0, b0);
    let (mut vw, mut va, mut vb) = (vec![0.0; 2], vec![0.0; 1], vec![0.0; 2]);
    for (step, (gw, ga, gb)) in grads.iter().enumerate() {
        cd.set_momentum(mus[step]);
        let grad = RbmGradient {
            w: from_f64(gw.clone(), [1, 2], &d),
            a: from_f64(ga.clone(), [1], &d),
            b: from_f64(gb.clone(), [2], &d),
        };
        rbm = cd.apply(rbm, grad);
        let mu = mus[step];
        for j in 0..2 {
            vw[j] = mu * vw[j] + eta * (gw[j] - lambda * w[j]);
            w[j] += vw[j];
            vb[j] = mu * vb[j] + eta * gb[j];
            b[j] += vb[j];
        }
        va[0] = mu * va[0] + eta * ga[0];
        a[0] += va[0];
    }
    let close = |got: Vec<f64>, want: &[f64]| {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
        }
    };
    close(to_f64(rbm.w.val()), &w);
    close(to_f64(rbm.a.val()), &a);
    close(to_f64(rbm.b.val()), &b);
}
