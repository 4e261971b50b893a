//! Backend selection: the concrete Burn backends gdl is built for, and the one run-time switch
//! (`--backend` / `GDL_BACKEND`) that picks which monomorphised instance a program runs.
//!
//! Model code is generic over `B: Backend` or `B: AutodiffBackend`; only programs name a
//! concrete backend, and they do it through [`run_on`]:
//!
//! ```
//! use gdl_core::backend::{run_on, BackendKind, BackendTask};
//! use burn::tensor::{backend::AutodiffBackend, ElementConversion, Tensor};
//!
//! struct SumOfSquares(Vec<f32>);
//! impl BackendTask for SumOfSquares {
//!     type Output = f32;
//!     fn run<B: AutodiffBackend>(self, device: &B::Device) -> f32 {
//!         let x = Tensor::<B, 1>::from_floats(self.0.as_slice(), device);
//!         x.powi_scalar(2).sum().into_scalar().elem()
//!     }
//! }
//! let kind: BackendKind = "ndarray".parse().unwrap();
//! assert_eq!(run_on(kind, SumOfSquares(vec![1.0, 2.0])).unwrap(), 5.0);
//! ```

use crate::pool::on_thread_pool;
use crate::{Error, Result};
use burn::tensor::backend::AutodiffBackend;
use std::fmt;
use std::str::FromStr;

/// Burn's NdArray backend in f32 (pure Rust CPU, SIMD and multi-threaded).
#[cfg(feature = "ndarray")]
pub type NdArray = burn_ndarray::NdArray<f32>;
/// [`NdArray`] with reverse-mode automatic differentiation.
#[cfg(feature = "ndarray")]
pub type NdArrayAutodiff = burn_autodiff::Autodiff<NdArray>;
/// Burn's NdArray backend in f64: least squares and exact enumerations, where f32's
/// seven digits are not enough.
#[cfg(feature = "ndarray")]
pub type NdArrayF64 = burn_ndarray::NdArray<f64>;
/// The CPU backend for f64 linear algebra (normal equations, Gram matrices), used with
/// [`crate::tensor::from_f64_precise`]: Flex where compiled (its f64 matrix products run
/// about 4x faster than NdArray's here), else NdArray in f64.
#[cfg(feature = "flex")]
pub type LinalgCpu = Flex;
/// The CPU backend for f64 linear algebra (Flex is not compiled in).
#[cfg(all(not(feature = "flex"), feature = "ndarray"))]
pub type LinalgCpu = NdArrayF64;
/// Burn's Flex backend in f32 (CPU; much faster convolutions than NdArray).
#[cfg(feature = "flex")]
pub type Flex = burn_flex::Flex<f32>;
/// [`Flex`] with reverse-mode automatic differentiation.
#[cfg(feature = "flex")]
pub type FlexAutodiff = burn_autodiff::Autodiff<Flex>;
/// Burn's Wgpu backend in f32: any GPU through Vulkan, Metal or DX12 (WGSL shaders).
#[cfg(feature = "wgpu")]
pub type Wgpu = burn_wgpu::Wgpu<f32, i32>;
/// [`Wgpu`] with reverse-mode automatic differentiation.
#[cfg(feature = "wgpu")]
pub type WgpuAutodiff = burn_autodiff::Autodiff<Wgpu>;
/// Burn's CUDA backend in f32 with kernel fusion (NVIDIA GPUs; needs the driver, and NVRTC
/// from the CUDA toolkit at run time to compile kernels).
#[cfg(feature = "cuda")]
pub type Cuda = burn_cuda::Cuda<f32, i32>;
/// [`Cuda`] with reverse-mode automatic differentiation.
#[cfg(feature = "cuda")]
pub type CudaAutodiff = burn_autodiff::Autodiff<Cuda>;

/// The environment variable read when no `--backend` flag is given.
pub const BACKEND_ENV: &str = "GDL_BACKEND";

/// Which backend a program runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// Burn's NdArray CPU backend.
    NdArray,
    /// Burn's Flex CPU backend (the default: it is the faster CPU backend for convolutions).
    Flex,
    /// Burn's Wgpu GPU backend.
    Wgpu,
    /// Burn's CUDA backend (NVIDIA GPUs).
    Cuda,
}

impl BackendKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [BackendKind; 4] = [
        BackendKind::Flex,
        BackendKind::NdArray,
        BackendKind::Wgpu,
        BackendKind::Cuda,
    ];

    /// The name used on the command line and in `GDL_BACKEND`.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::NdArray => "ndarray",
            BackendKind::Flex => "flex",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Cuda => "cuda",
        }
    }

    /// Whether this build contains the backend (cargo features `ndarray`, `flex`, `wgpu`,
    /// `cuda`).
    pub fn is_compiled(self) -> bool {
        match self {
            BackendKind::NdArray => cfg!(feature = "ndarray"),
            BackendKind::Flex => cfg!(feature = "flex"),
            BackendKind::Wgpu => cfg!(feature = "wgpu"),
            BackendKind::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The default CPU backend of this build: Flex when compiled in (measured faster for
    /// convolutions, see DESIGN.md), else NdArray.
    pub fn default_cpu() -> BackendKind {
        if cfg!(feature = "flex") {
            BackendKind::Flex
        } else {
            BackendKind::NdArray
        }
    }

    /// The error for a backend this build lacks: it names the cargo feature that adds it.
    pub fn not_compiled(self) -> Error {
        Error::Backend {
            name: self.name().into(),
            reason: format!(
                "not compiled into this build; rebuild with `--features {}`",
                self.name()
            ),
        }
    }

    /// The kind named by `GDL_BACKEND`, or [`BackendKind::default_cpu`] when it is unset.
    pub fn from_env() -> Result<BackendKind> {
        Self::from_env_value(std::env::var(BACKEND_ENV).ok().as_deref())
    }

    /// The kind a program's `--backend` flag names, else [`BackendKind::from_env`].
    pub fn resolve(flag: Option<BackendKind>) -> Result<BackendKind> {
        match flag {
            Some(kind) => Ok(kind),
            None => Self::from_env(),
        }
    }

    /// [`BackendKind::from_env`] for a given value of the variable (testable without touching
    /// the process environment).
    pub fn from_env_value(value: Option<&str>) -> Result<BackendKind> {
        match value {
            None | Some("") => Ok(Self::default_cpu()),
            Some(v) => v.parse().map_err(|e: Error| match e {
                Error::Backend { name, reason } => Error::Backend {
                    name,
                    reason: format!("{reason} (from {BACKEND_ENV})"),
                },
                other => other,
            }),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = Error;

    /// Parses `ndarray`, `flex`, `wgpu` or `cuda` (any case). A name this build was compiled without
    /// is an error that says which cargo feature to enable.
    fn from_str(s: &str) -> Result<Self> {
        let kind = Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::Backend {
                name: s.to_string(),
                reason: format!(
                    "unknown backend; expected one of: {}",
                    Self::ALL.map(|k| k.name()).join(", ")
                ),
            })?;
        if !kind.is_compiled() {
            return Err(kind.not_compiled());
        }
        Ok(kind)
    }
}

/// A computation written once, generically, and run on whichever backend the user picks.
///
/// Rust closures cannot be generic, so the generic function is this trait's method. Tasks
/// receive an autodiff backend: training needs it, and inference runs on it unchanged (or
/// on `B::InnerBackend` via `.valid()`).
pub trait BackendTask {
    /// What the task returns.
    type Output;
    /// Runs the task on backend `B` and `device`.
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> Self::Output;
}

/// Runs `task` on the backend `kind`, on that backend's default device (on Linux with glibc,
/// after [`keep_freed_memory`]; on the CPU backends, on a worker of the thread pool, see
/// [`crate::pool`]).
pub fn run_on<T: BackendTask + Send>(kind: BackendKind, task: T) -> Result<T::Output>
where
    T::Output: Send,
{
    keep_freed_memory();
    match kind {
        #[cfg(feature = "ndarray")]
        BackendKind::NdArray => Ok(on_thread_pool(|| {
            task.run::<NdArrayAutodiff>(&Default::default())
        })),
        #[cfg(feature = "flex")]
        BackendKind::Flex => Ok(on_thread_pool(|| {
            task.run::<FlexAutodiff>(&Default::default())
        })),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => Ok(task.run::<WgpuAutodiff>(&Default::default())),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => {
            cuda_libraries_present()?;
            Ok(task.run::<CudaAutodiff>(&Default::default()))
        }
        #[allow(unreachable_patterns)]
        other => Err(other.not_compiled()),
    }
}

/// Checks that the CUDA driver (libcuda) and NVRTC (libnvrtc, which compiles Burn's kernels
/// at run time) can be loaded, so that a machine without them gets an error saying what to
/// install instead of a panic inside the backend.
#[cfg(feature = "cuda")]
pub fn cuda_libraries_present() -> Result<()> {
    let missing = |what: &str| Error::Backend {
        name: "cuda".into(),
        reason: format!(
            "{what} could not be loaded; install it and put its directory on LD_LIBRARY_PATH \
             (see the README's backends section)"
        ),
    };
    // SAFETY: each call only tries to open the shared library (and closes it again).
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(missing("the NVIDIA driver's libcuda"));
    }
    // SAFETY: as above.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(missing("NVRTC (libnvrtc, from the CUDA toolkit)"));
    }
    Ok(())
}

/// Keeps the memory a training step frees for the next step, once per process. The CPU
/// backends allocate and free buffers the size of the activations and the parameters every
/// step; glibc's malloc returns blocks over its (adaptive) mmap threshold, and free memory
/// above 128 KiB at the top of its heap, to the kernel, and the next step faults every page of
/// them back in. Raising the mmap threshold to 32 MiB and the trim threshold to 256 MiB keeps
/// them: `cargo xtask bench` counted 50,586 → 4,351 page faults in the vae workload and
/// 398,524 → 52,201 in dcgan, and 23% and 9% less CPU time. A top pad of 64 MiB: the tasks
/// run on a worker of the thread pool, whose glibc arena holds 64 MiB heaps and unmaps each
/// heap that empties unless the pad is kept, so that a step's feature maps (13 MB each in the
/// U-Net) were mapped and faulted in again every step (ddpm workload: 459,000 → 63,000 page
/// faults, about 6% less time a step). Other platforms' allocators are left as they are.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only changes glibc's allocation thresholds; called once.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
            libc::mallopt(libc::M_TOP_PAD, 64 << 20);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_in_any_case() {
        assert_eq!(
            "ndarray".parse::<BackendKind>().unwrap(),
            BackendKind::NdArray
        );
        assert_eq!("Flex".parse::<BackendKind>().unwrap(), BackendKind::Flex);
        assert_eq!(
            " NDARRAY ".parse::<BackendKind>().unwrap(),
            BackendKind::NdArray
        );
        for k in BackendKind::ALL.into_iter().filter(|k| k.is_compiled()) {
            assert_eq!(k.to_string().parse::<BackendKind>().unwrap(), k);
        }
    }

    #[test]
    fn a_backend_the_build_lacks_names_the_feature_that_adds_it() {
        let lacking = BackendKind::ALL.into_iter().filter(|k| !k.is_compiled());
        for kind in lacking {
            let err = kind.name().parse::<BackendKind>().unwrap_err().to_string();
            assert!(err.contains(&format!("--features {kind}")), "{err}");
            let err = run_on(kind, Dot(vec![1.0], vec![1.0]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("--features {kind}")), "{err}");
        }
    }

    #[test]
    fn unknown_name_is_a_clear_error() {
        let err = "tpu".parse::<BackendKind>().unwrap_err().to_string();
        assert!(
            err.contains("`tpu`") && err.contains("expected one of: flex, ndarray, wgpu, cuda"),
            "{err}"
        );
    }

    #[test]
    fn env_value_defaults_and_names_the_variable() {
        assert_eq!(
            BackendKind::from_env_value(None).unwrap(),
            BackendKind::default_cpu()
        );
        assert_eq!(
            BackendKind::from_env_value(Some("ndarray")).unwrap(),
            BackendKind::NdArray
        );
        let err = BackendKind::from_env_value(Some("tpu"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("GDL_BACKEND"), "{err}");
    }

    struct Dot(Vec<f32>, Vec<f32>);
    impl BackendTask for Dot {
        type Output = f32;
        fn run<B: AutodiffBackend>(self, device: &B::Device) -> f32 {
            let a = burn::tensor::Tensor::<B, 1>::from_floats(self.0.as_slice(), device);
            let b = burn::tensor::Tensor::<B, 1>::from_floats(self.1.as_slice(), device);
            burn::tensor::ElementConversion::elem((a * b).sum().into_scalar())
        }
    }

    struct WorkerIndex;
    impl BackendTask for WorkerIndex {
        type Output = Option<usize>;
        fn run<B: AutodiffBackend>(self, _device: &B::Device) -> Option<usize> {
            rayon::current_thread_index()
        }
    }

    #[test]
    fn cpu_tasks_run_on_a_worker_of_the_thread_pool() {
        for kind in [BackendKind::NdArray, BackendKind::Flex] {
            if kind.is_compiled() {
                let index = run_on(kind, WorkerIndex).unwrap();
                assert!(index.is_some(), "{kind} ran its task outside the pool");
            }
        }
    }

    #[test]
    fn runs_the_same_task_on_each_cpu_backend() {
        for kind in [BackendKind::NdArray, BackendKind::Flex] {
            let out = run_on(kind, Dot(vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0])).unwrap();
            assert_eq!(out, 32.0, "{kind}");
        }
    }
}
