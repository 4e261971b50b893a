//! The lecture's "generate a sample of an ordered or disordered Ising phase": draw L x L Ising
//! configurations by Metropolis at temperature T, train a binary RBM on them (spins ±1 as
//! units 1/0), sample the RBM by long Gibbs chains, and compare the histograms of energy per
//! spin and magnetisation of both sample sets (PNG), with grids of configurations.
//!
//! ```text
//! cargo run --release --example rbm_ising                    # T = 1.8, ordered
//! cargo run --release --example rbm_ising -- --temperature 3.5 --output-dir target/gdl/ising_hot
//! ```

use clap::Parser;
use gdl::burn::tensor::backend::{AutodiffBackend, Backend};
use gdl::burn::tensor::Tensor;
use gdl::core::backend::{run_on, BackendKind, BackendTask};
use gdl::core::image::{save_grid, GridOptions};
use gdl::core::plot::LinePlot;
use gdl::core::seed::{derive_seed, host_rng, seed_all};
use gdl::core::tensor::{from_f64, to_f64};
use gdl::ebm::mcmc::ising::{
    critical_temperature, histogram, observables, spins_to_units, total_variation, units_to_spins,
    Ising, Spins,
};
use gdl::ebm::rbm::train::{train_rbm_on_units, RbmTraining};
use gdl::ebm::rbm::RbmConfig;
use std::path::PathBuf;

/// Train an RBM on Metropolis samples of the 2-D Ising model and compare the two.
#[derive(Parser, Debug, Clone)]
#[command(version, about)]
struct Args {
    /// L, the side of the periodic lattice.
    #[arg(long, default_value_t = 8)]
    side: usize,
    /// T in units of J (T_c ≈ 2.269).
    #[arg(long, default_value_t = 1.8)]
    temperature: f64,
    /// Metropolis configurations to train on (and to compare with).
    #[arg(long, default_value_t = 5000)]
    samples: usize,
    /// Sweeps (L² proposals each) before the first sample, and between samples.
    #[arg(long, default_value_t = 1000)]
    burn_in: usize,
    #[arg(long, default_value_t = 2)]
    thin: usize,
    /// Hidden units of the RBM.
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    /// Gibbs steps k of the negative phase.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Persistent CD instead of CD-k.
    #[arg(long)]
    pcd: bool,
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    #[arg(long, default_value_t = 0.05)]
    lr: f64,
    /// Gibbs steps of the RBM's sample chains.
    #[arg(long, default_value_t = 2000)]
    gibbs_steps: usize,
    /// Burn backend: flex, ndarray or wgpu (default: GDL_BACKEND, else flex).
    #[arg(long)]
    backend: Option<BackendKind>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value = "target/gdl/rbm_ising")]
    output_dir: PathBuf,
}

struct Run(Args);

impl BackendTask for Run {
    type Output = anyhow::Result<()>;
    fn run<AD: AutodiffBackend>(self, device: &AD::Device) -> anyhow::Result<()> {
        run::<AD::InnerBackend>(self.0, device)
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn run<B: Backend>(args: Args, device: &B::Device) -> anyhow::Result<()> {
    anyhow::ensure!(args.side >= 2, "--side must be >= 2");
    anyhow::ensure!(args.temperature > 0.0, "--temperature must be > 0");
    anyhow::ensure!(
        args.samples > 0 && args.batch_size > 0 && args.hidden > 0 && args.k > 0,
        "--samples, --batch-size, --hidden and --k must be >= 1"
    );
    seed_all::<B>(device, args.seed);
    let dir = &args.output_dir;
    let ising = Ising::new(args.side);
    let spins = args.side * args.side;
    let phase = if args.temperature < critical_temperature() {
        "ordered"
    } else {
        "disordered"
    };
    println!(
        "Ising {0} x {0}, T = {1} ({phase} phase; T_c = {2:.3})",
        args.side,
        args.temperature,
        critical_temperature()
    );
    // 1. Metropolis samples
    let mut rng = host_rng(derive_seed(args.seed, 1));
    let (configs, acceptance) = ising.sample(
        args.temperature,
        args.samples,
        args.burn_in,
        args.thin,
        &mut rng,
    );
    let (e_mc, m_mc) = observables(&ising, &configs);
    println!(
        "Metropolis: {} configurations, acceptance {:.3}, ⟨E⟩/N {:.3}, ⟨|m|⟩ {:.3}",
        configs.len(),
        acceptance,
        mean(&e_mc),
        mean(&m_mc.iter().map(|m| m.abs()).collect::<Vec<_>>())
    );
    // 2. the RBM's data: unit = (s + 1)/2, trained through the driver (μ = 0.5 throughout)
    let units = from_f64::<B, 2>(spins_to_units(&configs), [configs.len(), spins], device);
    let cfg = RbmTraining::new(RbmConfig::new(spins, args.hidden))
        .with_epochs(args.epochs)
        .with_batch_size(args.batch_size)
        .with_k(args.k)
        .with_persistent(args.pcd)
        .with_learning_rate(args.lr)
        .with_momentum(0.5)
        .with_seed(args.seed);
    let rbm = cfg.model.init::<B>(device)?;
    let (rbm, _) = train_rbm_on_units(rbm, units, &cfg, device)?;
    // 3. RBM samples: chains from random units, binary states after gibbs_steps steps
    let n = configs.len();
    let start = Tensor::<B, 2>::random(
        [n, spins],
        gdl::burn::tensor::Distribution::Bernoulli(0.5),
        device,
    );
    let last = (0..args.gibbs_steps).fold(start, |x, _| rbm.gibbs_step(x));
    let rbm_configs = units_to_spins(&to_f64(last), spins);
    let (e_rbm, m_rbm) = observables(&ising, &rbm_configs);
    // 4. compare the histograms
    let (he_mc, he_rbm) = (
        histogram(&e_mc, -2.0, 0.5, 25),
        histogram(&e_rbm, -2.0, 0.5, 25),
    );
    let (hm_mc, hm_rbm) = (
        histogram(&m_mc, -1.0, 1.0, 21),
        histogram(&m_rbm, -1.0, 1.0, 21),
    );
    println!(
        "RBM samples: ⟨E⟩/N {:.3}, ⟨|m|⟩ {:.3}; total-variation distance to Metropolis: energy {:.3}, magnetisation {:.3}",
        mean(&e_rbm),
        mean(&m_rbm.iter().map(|m| m.abs()).collect::<Vec<_>>()),
        total_variation(&he_mc, &he_rbm),
        total_variation(&hm_mc, &hm_rbm)
    );
    LinePlot::new(
        &format!("energy per spin, T = {}", args.temperature),
        "E/N",
        "frequency",
    )
    .series("Metropolis", he_mc)
    .series("RBM", he_rbm)
    .save(&dir.join("energy_histogram.png"))?;
    LinePlot::new(
        &format!("magnetisation, T = {}", args.temperature),
        "m",
        "frequency",
    )
    .series("Metropolis", hm_mc)
    .series("RBM", hm_rbm)
    .save(&dir.join("magnetisation_histogram.png"))?;
    // 5. configurations as images (white = +1)
    let grid = |c: &[Spins]| {
        let k = c.len().min(64);
        from_f64::<B, 4>(
            spins_to_units(&c[..k]),
            [k, 1, args.side, args.side],
            device,
        )
    };
    let opts = GridOptions::with_cols(8);
    save_grid(grid(&configs), &dir.join("metropolis_samples.png"), &opts)?;
    save_grid(grid(&rbm_configs), &dir.join("rbm_samples.png"), &opts)?;
    println!("wrote {}", dir.display());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let backend = BackendKind::resolve(args.backend)?;
    run_on(backend, Run(args))?
}
