//! A 2-D convolution as one matrix product over the whole batch (f32 host slices).
//!
//! For images x [N, C, H, W] and a kernel of kh × kw taps at stride s, padding p and
//! dilation d, the patch matrix has one row per tap (c, a, b) and one column per output
//! position (n, i, j) of the batch:
//!
//!   cols[(c, a, b), (n, i, j)] = x[n, c, i·s − p + a·d, j·s − p + b·d]   (0 outside the image)
//!
//! so that a convolution with weights W [O, C·kh·kw] is the product Y = W · cols, an
//! [O, N·Ho·Wo] matrix (`im2col`). `col2im` is the adjoint of `im2col`: it adds every entry
//! of a patch matrix back into the pixel it was read from. Then, with G the upstream
//! gradient written as [O, N·Ho·Wo]:
//!
//! * conv2d:            Y = W · cols(x),      ∂x = col2im(Wᵀ · G),   ∂W = G · cols(x)ᵀ
//! * conv_transpose2d:  Y = col2im(Wᵀ · X),   ∂X = W · cols(G),      ∂W = X · cols(G)ᵀ
//!
//! (for the transposed convolution W is [C_in, O·kh·kw], X the input as [C_in, N·H·W] and the
//! "image" side of the geometry is the output). One product per operation instead of one per
//! image is what makes these fast: the matrices are wide enough for the GEMM kernel and both
//! cores.

use rayon::prelude::*;

/// The shapes of one convolution: the image side (`channels` × `image`), the kernel, and
/// the grid of kernel positions `out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// N, the number of images.
    pub batch: usize,
    /// C, the channels of the image side (a conv's input, a transposed conv's output).
    pub channels: usize,
    /// [H, W] of the image side.
    pub image: [usize; 2],
    /// [kh, kw].
    pub kernel: [usize; 2],
    /// [s_h, s_w].
    pub stride: [usize; 2],
    /// [p_h, p_w], the same on both sides.
    pub padding: [usize; 2],
    /// [d_h, d_w].
    pub dilation: [usize; 2],
    /// [Ho, Wo], the kernel positions (a conv's output, a transposed conv's input).
    pub out: [usize; 2],
}

impl Geometry {
    /// C·kh·kw, the rows of the patch matrix.
    pub fn taps(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }

    /// N·Ho·Wo, the columns of the patch matrix.
    pub fn positions(&self) -> usize {
        self.batch * self.out[0] * self.out[1]
    }

    /// The kernel positions of a convolution of `image` (⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1).
    pub fn conv_out(
        image: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
    ) -> usize {
        (image + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    }

    /// The output columns j whose tap b lands inside a row of width w, and the first pixel.
    fn span(&self, axis: usize, tap: usize) -> (usize, usize, isize) {
        let (len, size) = (self.out[axis], self.image[axis]);
        let (s, p, d) = (self.stride[axis], self.padding[axis], self.dilation[axis]);
        let first = (tap * d) as isize - p as isize; // pixel of position 0
                                                     // j ≥ lo ⟺ j·s + first ≥ 0;  j < hi ⟺ j·s + first < size
        let lo = if first >= 0 {
            0
        } else {
            ((-first) as usize).div_ceil(s)
        };
        let hi = if first >= size as isize {
            0
        } else {
            (((size as isize - first) as usize).div_ceil(s)).min(len)
        };
        (lo.min(hi), hi, first)
    }
}

/// The patch matrix [C·kh·kw, N·Ho·Wo] of images x [N, C, H, W].
pub fn im2col(x: &[f32], g: &Geometry) -> Vec<f32> {
    let [h, w] = g.image;
    let [kh, kw] = g.kernel;
    let [oh, ow] = g.out;
    assert_eq!(x.len(), g.batch * g.channels * h * w, "im2col: image size");
    let n_pos = g.positions();
    let mut cols = vec![0.0f32; g.taps() * n_pos];
    cols.par_chunks_mut(kh * kw * n_pos)
        .enumerate()
        .for_each(|(c, block)| {
            for a in 0..kh {
                let (i_lo, i_hi, y0) = g.span(0, a);
                for b in 0..kw {
                    let (j_lo, j_hi, x0) = g.span(1, b);
                    let row = &mut block[(a * kw + b) * n_pos..][..n_pos];
                    for n in 0..g.batch {
                        let plane = &x[(n * g.channels + c) * h * w..][..h * w];
                        for i in i_lo..i_hi {
                            let y = (y0 + (i * g.stride[0]) as isize) as usize;
                            let src = &plane[y * w..][..w];
                            let dst = &mut row[(n * oh + i) * ow..][..ow];
                            let start = (x0 + (j_lo * g.stride[1]) as isize) as usize;
                            if g.stride[1] == 1 {
                                dst[j_lo..j_hi].copy_from_slice(&src[start..start + j_hi - j_lo]);
                            } else {
                                for (k, d) in dst[j_lo..j_hi].iter_mut().enumerate() {
                                    *d = src[start + k * g.stride[1]];
                                }
                            }
                        }
                    }
                }
            }
        });
    cols
}

/// The adjoint of [`im2col`]: images [N, C, H, W] where each pixel is the sum of the
/// patch-matrix entries read from it (plus `bias[c]` when given).
pub fn col2im(cols: &[f32], g: &Geometry, bias: Option<&[f32]>) -> Vec<f32> {
    let [h, w] = g.image;
    let [kh, kw] = g.kernel;
    let [oh, ow] = g.out;
    let n_pos = g.positions();
    assert_eq!(cols.len(), g.taps() * n_pos, "col2im: patch matrix size");
    // Channel-major [C, N, H, W], so that each channel is one chunk for one thread.
    let mut img = vec![0.0f32; g.channels * g.batch * h * w];
    img.par_chunks_mut(g.batch * h * w)
        .enumerate()
        .for_each(|(c, planes)| {
            if let Some(b) = bias {
                planes.fill(b[c]);
            }
            let block = &cols[c * kh * kw * n_pos..][..kh * kw * n_pos];
            for a in 0..kh {
                let (i_lo, i_hi, y0) = g.span(0, a);
                for b in 0..kw {
                    let (j_lo, j_hi, x0) = g.span(1, b);
                    let row = &block[(a * kw + b) * n_pos..][..n_pos];
                    for n in 0..g.batch {
                        let plane = &mut planes[n * h * w..][..h * w];
                        for i in i_lo..i_hi {
                            let y = (y0 + (i * g.stride[0]) as isize) as usize;
                            let dst = &mut plane[y * w..][..w];
                            let src = &row[(n * oh + i) * ow..][..ow];
                            let start = (x0 + (j_lo * g.stride[1]) as isize) as usize;
                            for (k, s) in src[j_lo..j_hi].iter().enumerate() {
                                dst[start + k * g.stride[1]] += s;
                            }
                        }
                    }
                }
            }
        });
    swap_leading(&img, g.channels, g.batch, h * w)
}

/// [a, b, inner] → [b, a, inner].
pub fn swap_leading(x: &[f32], a: usize, b: usize, inner: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    swap_leading_into(&mut out, x, a, b, inner);
    out
}

/// out = x [a, b, inner] as [b, a, inner].
pub fn swap_leading_into(out: &mut [f32], x: &[f32], a: usize, b: usize, inner: usize) {
    assert_eq!(x.len(), a * b * inner, "swap_leading: size");
    assert_eq!(out.len(), x.len(), "swap_leading: destination size");
    out.par_chunks_mut(a * inner)
        .enumerate()
        .for_each(|(j, dst)| {
            for i in 0..a {
                dst[i * inner..][..inner].copy_from_slice(&x[(i * b + j) * inner..][..inner]);
            }
        });
}

/// A row-major matrix operand: `data` read as `rows` × `cols`, transposed when `t`.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    /// The elements, row-major [rows, cols] as stored.
    pub data: &'a [f32],
    /// Stored rows.
    pub rows: usize,
    /// Stored columns.
    pub cols: usize,
    /// Use the transpose.
    pub t: bool,
}

impl<'a> Mat<'a> {
    /// `data` as a row-major `rows` × `cols` matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix size");
        Mat {
            data,
            rows,
            cols,
            t: false,
        }
    }

    /// Its transpose (no copy).
    pub fn t(self) -> Self {
        Mat { t: !self.t, ..self }
    }

    /// (rows, cols, row stride, column stride) as used.
    fn used(&self) -> (usize, usize, isize, isize) {
        if self.t {
            (self.cols, self.rows, 1, self.cols as isize)
        } else {
            (self.rows, self.cols, self.cols as isize, 1)
        }
    }
}

/// dst (+)= lhs · rhs, dst row-major (gemm, on every core when the product is large).
pub fn matmul_into(dst: &mut [f32], accumulate: bool, lhs: Mat, rhs: Mat) {
    let (m, k, l_rs, l_cs) = lhs.used();
    let (k2, n, r_rs, r_cs) = rhs.used();
    assert_eq!(k, k2, "matmul: inner dimensions");
    assert_eq!(dst.len(), m * n, "matmul: destination size");
    let parallelism = if m * n * k >= 1 << 18 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: dst is m × n row-major (row stride n, column stride 1); lhs and rhs were checked
    // to hold rows × cols elements and the strides above address exactly those elements.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            l_cs,
            l_rs,
            rhs.data.as_ptr(),
            r_cs,
            r_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// lhs · rhs as a new row-major matrix.
pub fn matmul(lhs: Mat, rhs: Mat) -> Vec<f32> {
    let mut dst = vec![0.0f32; lhs.used().0 * rhs.used().1];
    matmul_into(&mut dst, false, lhs, rhs);
    dst
}

/// About this many patch-matrix elements (8 MiB) are built at a time: the batch is cut into
/// chunks of images whose patch matrix stays in the cache instead of streaming through
/// memory (a 64-image patch matrix of a 3 × 3 conv at 24 × 24 is 42 MB).
const CHUNK_ELEMENTS: usize = 1 << 21;

impl Geometry {
    /// C·H·W, the elements of one image.
    fn image_len(&self) -> usize {
        self.channels * self.image[0] * self.image[1]
    }

    /// Ho·Wo, the kernel positions on one image.
    fn spatial(&self) -> usize {
        self.out[0] * self.out[1]
    }

    /// The image ranges processed together, each with its own geometry.
    fn chunks(&self) -> Vec<(std::ops::Range<usize>, Geometry)> {
        let per_image = self.taps() * self.spatial();
        let n = (CHUNK_ELEMENTS / per_image.max(1)).clamp(1, self.batch.max(1));
        (0..self.batch)
            .step_by(n)
            .map(|a| {
                let r = a..(a + n).min(self.batch);
                (
                    r.clone(),
                    Geometry {
                        batch: r.len(),
                        ..*self
                    },
                )
            })
            .collect()
    }
}

/// Σ over the batch and the pixels of x [N, C, inner], per channel: a bias gradient.
fn channel_sums(x: &[f32], n: usize, c: usize, inner: usize) -> Vec<f32> {
    let mut sums = vec![0.0f32; c];
    for image in x.chunks_exact(c * inner).take(n) {
        for (s, plane) in sums.iter_mut().zip(image.chunks_exact(inner)) {
            *s += plane.iter().sum::<f32>();
        }
    }
    sums
}

/// Writes W · cols (+ b 1ᵀ) of one chunk of `gc.batch` images, an [O, n·Ho·Wo] product,
/// into `out` as [n, O, Ho, Wo]: conv2d's output, and a transposed convolution's ∂x.
fn weights_times_patches(
    out: &mut [f32],
    w: &[f32],
    b: Option<&[f32]>,
    o: usize,
    cols: &[f32],
    gc: &Geometry,
) {
    let pos = gc.positions();
    let mut product = vec![0.0f32; o * pos];
    if let Some(b) = b {
        for (row, bias) in product.chunks_exact_mut(pos).zip(b) {
            row.fill(*bias);
        }
    }
    matmul_into(
        &mut product,
        b.is_some(),
        Mat::new(w, o, gc.taps()),
        Mat::new(cols, gc.taps(), pos),
    );
    swap_leading_into(out, &product, o, gc.batch, gc.out[0] * gc.out[1]);
}

/// col2im(Wᵀ · G) (+ b) of one chunk, G [O, n·Ho·Wo]: conv2d's ∂x, and a transposed
/// convolution's output.
fn patches_of_weights(
    w: &[f32],
    b: Option<&[f32]>,
    o: usize,
    gm: &[f32],
    gc: &Geometry,
) -> Vec<f32> {
    let cols = matmul(
        Mat::new(w, o, gc.taps()).t(),
        Mat::new(gm, o, gc.positions()),
    );
    col2im(&cols, gc, b)
}

/// conv2d: x [N, C, H, W], w [O, C, kh, kw], b [O] → y [N, O, Ho, Wo].
pub fn conv2d(
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    out_channels: usize,
    g: &Geometry,
) -> Vec<f32> {
    let (o, spatial, image) = (out_channels, g.spatial(), g.image_len());
    let mut y = vec![0.0f32; g.batch * o * spatial];
    for (r, gc) in g.chunks() {
        let cols = im2col(&x[r.start * image..r.end * image], &gc);
        weights_times_patches(
            &mut y[r.start * o * spatial..r.end * o * spatial],
            w,
            b,
            o,
            &cols,
            &gc,
        );
    }
    y
}

/// The gradients [∂x, ∂w, ∂b] of conv2d for the upstream gradient dy [N, O, Ho, Wo]; each
/// only when asked for.
pub fn conv2d_backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    out_channels: usize,
    g: &Geometry,
    want: [bool; 3],
) -> [Option<Vec<f32>>; 3] {
    let (o, spatial, image) = (out_channels, g.spatial(), g.image_len());
    let mut dx = want[0].then(|| vec![0.0f32; x.len()]);
    let mut dw = want[1].then(|| vec![0.0f32; w.len()]);
    if want[0] || want[1] {
        for (r, gc) in g.chunks() {
            // the chunk's upstream gradient as [O, n·Ho·Wo]
            let dyc = swap_leading(
                &dy[r.start * o * spatial..r.end * o * spatial],
                r.len(),
                o,
                spatial,
            );
            if let Some(dx) = dx.as_mut() {
                dx[r.start * image..r.end * image]
                    .copy_from_slice(&patches_of_weights(w, None, o, &dyc, &gc));
            }
            if let Some(dw) = dw.as_mut() {
                // ∂W += G · colsᵀ
                let cols = im2col(&x[r.start * image..r.end * image], &gc);
                let pos = gc.positions();
                matmul_into(
                    dw,
                    r.start > 0,
                    Mat::new(&dyc, o, pos),
                    Mat::new(&cols, gc.taps(), pos).t(),
                );
            }
        }
    }
    let db = want[2].then(|| channel_sums(dy, g.batch, o, spatial));
    [dx, dw, db]
}

/// conv_transpose2d: x [N, C_in, Ho, Wo] (the kernel positions), w [C_in, C, kh, kw], b [C]
/// → y [N, C, H, W] (the image side of `g`).
pub fn conv_transpose2d(
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    in_channels: usize,
    g: &Geometry,
) -> Vec<f32> {
    let (c_in, spatial, image) = (in_channels, g.spatial(), g.image_len());
    let mut y = vec![0.0f32; g.batch * image];
    for (r, gc) in g.chunks() {
        let xc = swap_leading(
            &x[r.start * c_in * spatial..r.end * c_in * spatial],
            r.len(),
            c_in,
            spatial,
        );
        y[r.start * image..r.end * image]
            .copy_from_slice(&patches_of_weights(w, b, c_in, &xc, &gc));
    }
    y
}

/// The gradients [∂x, ∂w, ∂b] of conv_transpose2d for the upstream gradient dy [N, C, H, W].
pub fn conv_transpose2d_backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    in_channels: usize,
    g: &Geometry,
    want: [bool; 3],
) -> [Option<Vec<f32>>; 3] {
    let (c_in, spatial, image) = (in_channels, g.spatial(), g.image_len());
    let mut dx = want[0].then(|| vec![0.0f32; x.len()]);
    let mut dw = want[1].then(|| vec![0.0f32; w.len()]);
    if want[0] || want[1] {
        for (r, gc) in g.chunks() {
            let dcols = im2col(&dy[r.start * image..r.end * image], &gc); // [C·kh·kw, n·Ho·Wo]
            let range = r.start * c_in * spatial..r.end * c_in * spatial;
            if let Some(dx) = dx.as_mut() {
                weights_times_patches(&mut dx[range.clone()], w, None, c_in, &dcols, &gc);
            }
            if let Some(dw) = dw.as_mut() {
                // ∂W += X · cols(G)ᵀ
                let xc = swap_leading(&x[range], r.len(), c_in, spatial);
                let pos = gc.positions();
                matmul_into(
                    dw,
                    r.start > 0,
                    Mat::new(&xc, c_in, pos),
                    Mat::new(&dcols, gc.taps(), pos).t(),
                );
            }
        }
    }
    let db = want[2].then(|| channel_sums(dy, g.batch, g.channels, g.image[0] * g.image[1]));
    [dx, dw, db]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(
        n: usize,
        c: usize,
        hw: [usize; 2],
        k: [usize; 2],
        s: usize,
        p: usize,
        d: usize,
    ) -> Geometry {
        let out = [0, 1].map(|a| Geometry::conv_out(hw[a], k[a], s, p, d));
        Geometry {
            batch: n,
            channels: c,
            image: hw,
            kernel: k,
            stride: [s; 2],
            padding: [p; 2],
            dilation: [d; 2],
            out,
        }
    }

    fn ramp(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) % 1000) as f32
                    / 500.0
                    - 1.0
            })
            .collect()
    }

    /// The definition, one output at a time.
    fn naive_conv(x: &[f32], w: &[f32], o: usize, g: &Geometry) -> Vec<f32> {
        let ([h, wd], [kh, kw], [oh, ow]) = (g.image, g.kernel, g.out);
        let mut y = vec![0.0f32; g.batch * o * oh * ow];
        for n in 0..g.batch {
            for q in 0..o {
                for i in 0..oh {
                    for j in 0..ow {
                        let mut acc = 0.0f64;
                        for c in 0..g.channels {
                            for a in 0..kh {
                                for b in 0..kw {
                                    let yy = (i * g.stride[0] + a * g.dilation[0]) as isize
                                        - g.padding[0] as isize;
                                    let xx = (j * g.stride[1] + b * g.dilation[1]) as isize
                                        - g.padding[1] as isize;
                                    if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < wd
                                    {
                                        acc += x[((n * g.channels + c) * h + yy as usize) * wd
                                            + xx as usize]
                                            as f64
                                            * w[((q * g.channels + c) * kh + a) * kw + b] as f64;
                                    }
                                }
                            }
                        }
                        y[((n * o + q) * oh + i) * ow + j] = acc as f32;
                    }
                }
            }
        }
        y
    }

    /// |a − b| ≤ tol · (1 + max |b|): f32 sums of thousands of terms, against f64 ones.
    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        let scale = 1.0 + b.iter().fold(0.0f32, |m, y| m.max(y.abs()));
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tol * scale,
                "element {i}: {x} vs {y} (scale {scale})"
            );
        }
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    /// (N, C, [H, W], [kh, kw], stride, padding, dilation)
    type Case = (usize, usize, [usize; 2], [usize; 2], usize, usize, usize);

    const CASES: [Case; 6] = [
        (2, 3, [7, 6], [3, 3], 1, 1, 1),
        (3, 2, [9, 9], [5, 5], 2, 2, 1),
        (2, 4, [8, 7], [3, 2], 2, 0, 1),
        (1, 2, [10, 10], [3, 3], 1, 2, 2),
        (2, 1, [5, 5], [5, 5], 3, 4, 1),
        // 144 taps × 784 positions per image: chunks of 18 images
        (40, 16, [28, 28], [3, 3], 1, 1, 1),
    ];

    #[test]
    fn the_patch_product_equals_the_convolution_sum() {
        for (n, c, hw, k, s, p, d) in CASES {
            let g = geometry(n, c, hw, k, s, p, d);
            let o = 3;
            let x = ramp(n * c * hw[0] * hw[1], 1);
            let w = ramp(o * g.taps(), 2);
            close(
                &conv2d(&x, &w, None, o, &g),
                &naive_conv(&x, &w, o, &g),
                1e-5,
            );
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every x and c
        for (n, c, hw, k, s, p, d) in CASES {
            let g = geometry(n, c, hw, k, s, p, d);
            let x = ramp(n * c * hw[0] * hw[1], 3);
            let cols = ramp(g.taps() * g.positions(), 4);
            let lhs = dot(&im2col(&x, &g), &cols);
            let rhs = dot(&x, &col2im(&cols, &g, None));
            assert!(
                (lhs - rhs).abs() < 1e-6 * (1.0 + lhs.abs()),
                "{lhs} vs {rhs} for {g:?}"
            );
        }
    }

    /// The gradients of Σ conv(x, w) · gy by the definition: every product x · w that made
    /// an output sends gy back to both factors.
    fn naive_grads(
        x: &[f32],
        w: &[f32],
        gy: &[f32],
        o: usize,
        g: &Geometry,
    ) -> (Vec<f32>, Vec<f32>) {
        let ([h, wd], [kh, kw], [oh, ow]) = (g.image, g.kernel, g.out);
        let (mut dx, mut dw) = (vec![0.0f64; x.len()], vec![0.0f64; w.len()]);
        for n in 0..g.batch {
            for q in 0..o {
                for i in 0..oh {
                    for j in 0..ow {
                        let up = gy[((n * o + q) * oh + i) * ow + j] as f64;
                        for c in 0..g.channels {
                            for a in 0..kh {
                                for b in 0..kw {
                                    let yy = (i * g.stride[0] + a * g.dilation[0]) as isize
                                        - g.padding[0] as isize;
                                    let xx = (j * g.stride[1] + b * g.dilation[1]) as isize
                                        - g.padding[1] as isize;
                                    if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < wd
                                    {
                                        let xi = ((n * g.channels + c) * h + yy as usize) * wd
                                            + xx as usize;
                                        let wi = ((q * g.channels + c) * kh + a) * kw + b;
                                        dx[xi] += w[wi] as f64 * up;
                                        dw[wi] += x[xi] as f64 * up;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let f = |v: Vec<f64>| v.into_iter().map(|e| e as f32).collect();
        (f(dx), f(dw))
    }

    #[test]
    fn the_gradients_equal_the_definitions() {
        for (n, c, hw, k, s, p, d) in CASES {
            let g = geometry(n, c, hw, k, s, p, d);
            let o = 3;
            let x = ramp(n * c * hw[0] * hw[1], 5);
            let w = ramp(o * g.taps(), 6);
            let gy = ramp(n * o * g.out[0] * g.out[1], 7);
            let (want_dx, want_dw) = naive_grads(&x, &w, &gy, o, &g);
            let [dx, dw, db] = conv2d_backward(&x, &w, &gy, o, &g, [true, true, true]);
            close(&dx.unwrap(), &want_dx, 1e-5);
            close(&dw.unwrap(), &want_dw, 1e-5);
            // ∂b_o = Σ_{n,i,j} gy[n, o, i, j]
            let spatial = g.out[0] * g.out[1];
            let want_db: Vec<f32> = (0..o)
                .map(|q| {
                    (0..n)
                        .map(|m| gy[(m * o + q) * spatial..][..spatial].iter().sum::<f32>())
                        .sum()
                })
                .collect();
            close(&db.unwrap(), &want_db, 1e-5);

            // The transposed convolution of gy with w (w read as [C_in = O, C, kh, kw]) is
            // conv's ∂x; its own gradients for an upstream x: ∂gy = conv(x, w), ∂w as above
            // with the roles of x and gy kept.
            close(&conv_transpose2d(&gy, &w, None, o, &g), &want_dx, 1e-5);
            let [dgy, dw_t, _] = conv_transpose2d_backward(&gy, &w, &x, o, &g, [true, true, false]);
            close(&dgy.unwrap(), &naive_conv(&x, &w, o, &g), 1e-5);
            close(&dw_t.unwrap(), &want_dw, 1e-5);
        }
    }

    #[test]
    fn large_batches_are_cut_into_chunks() {
        let ranges = |g: Geometry| -> Vec<_> {
            g.chunks()
                .into_iter()
                .map(|(r, gc)| {
                    assert_eq!(
                        gc,
                        Geometry {
                            batch: r.len(),
                            ..g
                        }
                    );
                    r
                })
                .collect()
        };
        let (n, c, hw, k, s, p, d) = CASES[5];
        assert_eq!(
            ranges(geometry(n, c, hw, k, s, p, d)),
            vec![0..18, 18..36, 36..40]
        );
        let (n, c, hw, k, s, p, d) = CASES[0];
        assert_eq!(ranges(geometry(n, c, hw, k, s, p, d)), vec![0..2]);
    }

    #[test]
    fn asked_for_gradients_only() {
        let g = geometry(1, 1, [4, 4], [3, 3], 1, 1, 1);
        let x = ramp(16, 1);
        let w = ramp(9, 2);
        let [dx, dw, db] = conv2d_backward(&x, &w, &x, 1, &g, [false, true, false]);
        assert!(dx.is_none() && dw.is_some() && db.is_none());
    }
}
