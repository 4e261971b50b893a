//! Output buffers of the CPU kernels, zeroed over the thread pool.
//!
//! `vec![0.0; n]` zeroes its memory on the calling thread: for the kernels' outputs (a
//! feature map of the U-Net is 6 MB) that thread is the one walking the autodiff graph, while
//! the pool's other threads wait. Profiled on the DDPM's training step (2026-12-03, 2 cores),
//! 10% of the step's wall time was that single-threaded memset.

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Buffers of at least this many elements (256 KiB) are zeroed in parallel.
const PARALLEL_LEN: usize = 1 << 16;

/// A vector of `len` zeros, zeroed in parallel pieces when it is large.
pub fn zeroed(len: usize) -> Vec<f32> {
    if len < PARALLEL_LEN {
        return vec![0.0; len];
    }
    let mut v = Vec::with_capacity(len);
    v.spare_capacity_mut()[..len]
        .par_chunks_mut(PARALLEL_LEN)
        .for_each(|piece| piece.fill(MaybeUninit::new(0.0)));
    // SAFETY: the first `len` elements were all written just above.
    unsafe { v.set_len(len) };
    v
}

/// A vector of `len` elements written by `write`, without zeroing the memory first (for
/// outputs that a kernel writes element by element: the memset would be a pass of its own).
///
/// # Safety
/// `write` must write every element of the slice it is given (in any order, on any thread).
pub(crate) unsafe fn written(len: usize, write: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut v = Vec::with_capacity(len);
    write(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: the caller's `write` wrote all of the first `len` elements.
    unsafe { v.set_len(len) };
    v
}

/// `v` as slots to write (the view [`written`]'s writers take), for a kernel that writes an
/// initialised buffer.
pub(crate) fn slots(v: &mut [f32]) -> &mut [MaybeUninit<f32>] {
    // SAFETY: MaybeUninit<f32> has f32's layout, and a MaybeUninit can only be written
    // through this view with initialised f32s, so `v` stays initialised.
    unsafe { &mut *(v as *mut [f32] as *mut [MaybeUninit<f32>]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_buffers_are_zeros_of_the_length_asked() {
        for len in [0, 1, PARALLEL_LEN - 1, PARALLEL_LEN, 3 * PARALLEL_LEN + 5] {
            let v = zeroed(len);
            assert_eq!(v.len(), len);
            assert!(v.iter().all(|x| x.to_bits() == 0), "{len}");
        }
    }
}
