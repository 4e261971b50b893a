//! The kernels of [`super`] on f32 host slices, spread over the thread pool (one image or
//! one plane per task).

use crate::buffer::{written, zeroed};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// y [N, Ca + Cb, inner] = [a, b] along the second axis, a [N, Ca, inner], b [N, Cb, inner]
/// (`inner` = H·W): one copy of each input per image.
pub fn cat(a: &[f32], b: &[f32], n: usize, inner: usize) -> Vec<f32> {
    let (la, lb) = (a.len() / n.max(1), b.len() / n.max(1));
    assert_eq!(a.len(), n * la, "cat: a holds N images");
    assert_eq!(b.len(), n * lb, "cat: b holds N images");
    assert!(
        la % inner.max(1) == 0 && lb % inner.max(1) == 0,
        "cat: whole planes"
    );
    // SAFETY: the images cover y, and each image's a and b parts are copied whole.
    unsafe {
        written(a.len() + b.len(), |y| {
            y.par_chunks_mut((la + lb).max(1))
                .zip(a.par_chunks(la.max(1)).zip(b.par_chunks(lb.max(1))))
                .for_each(|(y, (a, b))| {
                    let (ya, yb) = y.split_at_mut(la);
                    copy(ya, a);
                    copy(yb, b);
                })
        })
    }
}

/// dst = src, dst not yet written (of src's length).
fn copy(dst: &mut [MaybeUninit<f32>], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        d.write(*s);
    }
}

/// The adjoint of [`cat`]: dy [N, Ca + Cb, inner] split into [∂a, ∂b], each contiguous.
pub fn split(dy: &[f32], n: usize, la: usize, lb: usize) -> [Vec<f32>; 2] {
    assert_eq!(
        dy.len(),
        n * (la + lb),
        "split: N images of la + lb elements"
    );
    // Part `first` of every image: dy[.., ..la] or dy[.., la..].
    let part = |first: bool| {
        let len = if first { la } else { lb };
        // SAFETY: the images cover the part, and each image's is copied whole.
        unsafe {
            written(n * len, |d| {
                d.par_chunks_mut(len.max(1))
                    .zip(dy.par_chunks((la + lb).max(1)))
                    .for_each(|(d, dy)| copy(d, if first { &dy[..la] } else { &dy[la..] }))
            })
        }
    };
    [part(true), part(false)]
}

/// y [P, 2h, 2w] with y[p, 2i + s, 2j + t] = x[p, i, j] for s, t ∈ {0, 1}: nearest 2×
/// upsampling of P planes [h, w].
pub fn upsample2(x: &[f32], [h, w]: [usize; 2]) -> Vec<f32> {
    if x.is_empty() {
        return Vec::new();
    }
    // SAFETY: the planes cover y; each input row writes both output rows it becomes, every
    // element of each.
    unsafe {
        written(4 * x.len(), |y| {
            y.par_chunks_mut(4 * h * w)
                .zip(x.par_chunks(h * w))
                .for_each(|(y, x)| {
                    for (rows, row) in y.chunks_exact_mut(4 * w).zip(x.chunks_exact(w)) {
                        let (top, bottom) = rows.split_at_mut(2 * w);
                        for ((t, b), v) in top
                            .chunks_exact_mut(2)
                            .zip(bottom.chunks_exact_mut(2))
                            .zip(row)
                        {
                            for e in t.iter_mut().chain(b) {
                                e.write(*v);
                            }
                        }
                    }
                })
        })
    }
}

/// The adjoint of [`upsample2`]: ∂x[p, i, j] = Σ of the 2×2 block dy[p, 2i..2i + 2, 2j..2j + 2]
/// (added as (top-left + top-right) + (bottom-left + bottom-right)).
pub fn upsample2_backward(dy: &[f32], [h, w]: [usize; 2]) -> Vec<f32> {
    let mut dx = zeroed(dy.len() / 4);
    if dx.is_empty() {
        return dx;
    }
    dx.par_chunks_mut(h * w)
        .zip(dy.par_chunks(4 * h * w))
        .for_each(|(dx, dy)| {
            for (row, rows) in dx.chunks_exact_mut(w).zip(dy.chunks_exact(4 * w)) {
                let (top, bottom) = rows.split_at(2 * w);
                for ((d, t), b) in row
                    .iter_mut()
                    .zip(top.chunks_exact(2))
                    .zip(bottom.chunks_exact(2))
                {
                    *d = (t[0] + t[1]) + (b[0] + b[1]);
                }
            }
        });
    dx
}

/// y [R, inner] = x + s broadcast along the rows: y[r, i] = x[r, i] + s[r] (a shift per
/// (image, channel) plane when R = N·C, `inner` = H·W).
pub fn shift(x: &[f32], s: &[f32], inner: usize) -> Vec<f32> {
    assert_eq!(x.len(), s.len() * inner, "shift: one value per row");
    if x.is_empty() {
        return Vec::new();
    }
    // SAFETY: the rows cover y, and each row is written whole.
    unsafe {
        written(x.len(), |y| {
            y.par_chunks_mut(inner)
                .zip(x.par_chunks(inner))
                .zip(s.par_iter())
                .for_each(|((y, x), s)| {
                    for (y, x) in y.iter_mut().zip(x) {
                        y.write(x + s);
                    }
                })
        })
    }
}

/// The adjoint of [`shift`] in s: ∂s[r] = Σ_i dy[r, i], each row summed in a vector's lanes.
pub fn row_sums(dy: &[f32], inner: usize) -> Vec<f32> {
    if inner == 0 {
        return Vec::new();
    }
    dy.par_chunks(inner)
        .map(|row| {
            crate::simd::wide(
                #[inline(always)]
                || crate::simd::lane_sum(row),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 20) as f32 / 4096.0)
            .collect()
    }

    #[test]
    fn cat_places_each_input_and_split_is_its_adjoint() {
        let (n, ca, cb, inner) = (3, 2, 5, 6);
        let (a, b) = (ramp(n * ca * inner, 1), ramp(n * cb * inner, 2));
        let y = cat(&a, &b, n, inner);
        for k in 0..n {
            for c in 0..ca + cb {
                for i in 0..inner {
                    let want = if c < ca {
                        a[(k * ca + c) * inner + i]
                    } else {
                        b[(k * cb + c - ca) * inner + i]
                    };
                    assert_eq!(y[(k * (ca + cb) + c) * inner + i], want);
                }
            }
        }
        // ⟨cat(a, b), g⟩ = ⟨a, ∂a⟩ + ⟨b, ∂b⟩ with [∂a, ∂b] = split(g): a permutation, exactly
        let g = ramp(y.len(), 3);
        let [da, db] = split(&g, n, ca * inner, cb * inner);
        assert_eq!(cat(&da, &db, n, inner), g);
    }

    #[test]
    fn upsample_copies_each_pixel_to_its_block_and_the_backward_sums_the_block() {
        let (planes, h, w) = (4, 3, 5);
        let x = ramp(planes * h * w, 4);
        let y = upsample2(&x, [h, w]);
        for p in 0..planes {
            for i in 0..2 * h {
                for j in 0..2 * w {
                    assert_eq!(
                        y[(p * 2 * h + i) * 2 * w + j],
                        x[(p * h + i / 2) * w + j / 2]
                    );
                }
            }
        }
        // ⟨upsample(x), g⟩ = ⟨x, upsample_backward(g)⟩
        let g = ramp(y.len(), 5);
        let dx = upsample2_backward(&g, [h, w]);
        let lhs: f64 = y.iter().zip(&g).map(|(a, b)| *a as f64 * *b as f64).sum();
        let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| *a as f64 * *b as f64).sum();
        assert!(
            (lhs - rhs).abs() < 1e-5 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
    }

    #[test]
    fn shift_adds_each_rows_value_and_row_sums_is_its_adjoint() {
        let (rows, inner) = (6, 7);
        let (x, sh) = (ramp(rows * inner, 6), ramp(rows, 7));
        let y = shift(&x, &sh, inner);
        for r in 0..rows {
            for i in 0..inner {
                assert_eq!(y[r * inner + i], x[r * inner + i] + sh[r]);
            }
        }
        // ⟨y(x + 0, s), g⟩ is linear in s with gradient row_sums(g): check per row
        let g = ramp(y.len(), 8);
        let ds = row_sums(&g, inner);
        for r in 0..rows {
            let want: f64 = g[r * inner..][..inner].iter().map(|v| *v as f64).sum();
            assert!(
                (ds[r] as f64 - want).abs() < 1e-5 * want.abs().max(1.0),
                "row {r}"
            );
        }
    }
}
