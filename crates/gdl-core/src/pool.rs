//! The thread pool that the CPU kernels split their work over (rayon's global pool), and how
//! a task runs on it.
//!
//! The kernels cut each operation (a matrix product, an element-wise pass, a convolution's
//! chunks of images) into jobs with `rayon::join` and parallel iterators. Two costs decide
//! how well that works for the small operations of a training step (the RBM's CD-1 update at
//! batch 64 takes about a millisecond, in a dozen parallel operations):
//!
//! 1. From a thread outside the pool, every operation is a job handed to the pool while the
//!    calling thread sleeps until it is done: two thread wake-ups per operation on the
//!    critical path. [`on_thread_pool`] runs the whole task on a worker instead, whose splits
//!    keep one half and leave the other to be stolen.
//! 2. An idle rayon worker sleeps after a few dozen rounds of looking for work (tens of µs),
//!    and waking it is a futex call of the thread that splits, about a fifth of the RBM
//!    step's samples in the kernel's scheduler. While a task runs, every other worker runs a
//!    spinner (`spin`): it takes any job there is (`rayon::yield_now`) and otherwise yields the
//!    core to any other runnable thread, and after [`SPIN_IDLE`] without a job (a serial
//!    phase: loading data, writing images) it only looks every [`DOZE`]. This is what
//!    OpenMP runtimes do between parallel regions (Intel's spins 200 ms by default).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Stack of the pool's workers, which run whole training tasks: twice a Linux main thread's
/// usual 8 MiB, for dropping long autodiff graphs (virtual memory; only the pages touched are
/// allocated).
pub const WORKER_STACK_BYTES: usize = 16 << 20;

/// How long a spinner keeps looking for work without finding any before it dozes.
pub const SPIN_IDLE: Duration = Duration::from_millis(5);

/// How long a dozing spinner sleeps between looks for work.
pub const DOZE: Duration = Duration::from_millis(1);

/// Runs `f` on a worker of rayon's global thread pool (built here, once, with
/// [`WORKER_STACK_BYTES`] stacks and `RAYON_NUM_THREADS` or one thread per core, unless
/// something built it before) with every other worker spinning until `f` returns, and
/// returns `f`'s result.
pub fn on_thread_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    static POOL: std::sync::Once = std::sync::Once::new();
    POOL.call_once(|| {
        // An error means the global pool exists already (a kernel ran before the first
        // task): it is used as it is.
        let _ = rayon::ThreadPoolBuilder::new()
            .stack_size(WORKER_STACK_BYTES)
            .build_global();
    });
    let done = AtomicBool::new(false);
    rayon::scope(|s| {
        let (task, done) = (rayon::current_thread_index(), &done);
        for _ in 1..rayon::current_num_threads() {
            s.spawn(move |_| spin(task, done));
        }
        let out = f();
        done.store(true, Ordering::Release);
        out
    })
}

/// A worker's loop while a task runs on worker `task`: run whatever job there is, else
/// yield the core, doze after [`SPIN_IDLE`] without a job, and return once `done` is set.
/// A spinner that lands on the task's own worker (while the task waits for a stolen job)
/// returns at once, so that the task is never stuck beneath it.
fn spin(task: Option<usize>, done: &AtomicBool) {
    if rayon::current_thread_index() == task {
        return;
    }
    let mut idle_since = Instant::now();
    while !done.load(Ordering::Acquire) {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            idle_since = Instant::now();
        } else if idle_since.elapsed() < SPIN_IDLE {
            std::thread::yield_now();
        } else {
            std::thread::sleep(DOZE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    fn parallel_sum(n: u64) -> u64 {
        (0..n).into_par_iter().map(|i| i % 7).sum()
    }

    fn sum_by_hand(n: u64) -> u64 {
        (0..n).map(|i| i % 7).sum()
    }

    #[test]
    fn tasks_run_on_a_worker_and_return_their_result() {
        let (index, sum) =
            on_thread_pool(|| (rayon::current_thread_index(), parallel_sum(1 << 20)));
        assert!(index.is_some());
        assert_eq!(sum, sum_by_hand(1 << 20));
    }

    /// Tasks started from several threads at once, and a task inside a task, all finish
    /// (spinners of one task run the jobs of another, never blocking the worker beneath them).
    #[test]
    fn concurrent_and_nested_tasks_finish() {
        let sums: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4u64)
                .map(|k| {
                    s.spawn(move || {
                        on_thread_pool(|| {
                            (0..20)
                                .map(|r| {
                                    let n = 10_000 * (k + 1) + r;
                                    parallel_sum(n) + on_thread_pool(|| parallel_sum(n))
                                })
                                .sum::<u64>()
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (k, sum) in sums.into_iter().enumerate() {
            let want: u64 = (0..20)
                .map(|r| 2 * sum_by_hand(10_000 * (k as u64 + 1) + r))
                .sum();
            assert_eq!(sum, want, "task {k}");
        }
    }
}
