//! Image grids: a batch of images (N x C x H x W, C = 1 or 3) laid out in rows and columns with
//! padding, and written as one PNG. Every generative example writes its samples this way.

use crate::fs::atomic_write_with;
use crate::{Error, Result};
use burn::tensor::{backend::Backend, Tensor};
use std::path::Path;

/// The value range of the pixels handed to the grid writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PixelRange {
    /// Values in [0, 1]: black is 0, white is 1.
    #[default]
    Unit,
    /// Values in [-1, 1]: black is -1, white is 1 (the range GANs and diffusion models use).
    Symmetric,
}

impl PixelRange {
    /// Maps a value of this range to a byte: clamp, then round(255 * (v - lo) / (hi - lo)).
    pub fn to_byte(self, v: f32) -> u8 {
        let unit = match self {
            PixelRange::Unit => v,
            PixelRange::Symmetric => (v + 1.0) * 0.5,
        };
        let unit = if unit.is_nan() {
            0.0
        } else {
            unit.clamp(0.0, 1.0)
        };
        (unit * 255.0).round() as u8
    }
}

/// How the grid is laid out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridOptions {
    /// Images per row (the last row may be shorter).
    pub cols: usize,
    /// Pixels of padding between images and around the border.
    pub padding: usize,
    /// The range of the input values.
    pub range: PixelRange,
    /// The padding's grey level in [0, 1].
    pub pad_value: f32,
}

impl Default for GridOptions {
    fn default() -> Self {
        GridOptions {
            cols: 10,
            padding: 2,
            range: PixelRange::Unit,
            pad_value: 0.0,
        }
    }
}

impl GridOptions {
    /// `cols` images per row, other options at their defaults.
    pub fn with_cols(cols: usize) -> Self {
        GridOptions {
            cols,
            ..Default::default()
        }
    }

    /// The same options with another pixel range.
    pub fn range(mut self, range: PixelRange) -> Self {
        self.range = range;
        self
    }
}

/// An 8-bit image in row-major order, grey (1 channel) or RGB (3 channels, interleaved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image8 {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// height x width x channels bytes, row-major.
    pub pixels: Vec<u8>,
}

/// Lays out `data` (N x C x H x W, row-major, as `shape`) as a grid.
pub fn grid(data: &[f32], shape: [usize; 4], opts: &GridOptions) -> Result<Image8> {
    let [n, c, h, w] = shape;
    if c != 1 && c != 3 {
        return Err(Error::invalid(
            "image channels",
            format!("expected 1 (grey) or 3 (RGB), got {c}"),
        ));
    }
    if n == 0 || h == 0 || w == 0 {
        return Err(Error::invalid(
            "image grid",
            format!("empty batch or image: shape {shape:?}"),
        ));
    }
    if data.len() != n * c * h * w {
        return Err(Error::invalid(
            "image grid",
            format!("{} values for shape {shape:?}", data.len()),
        ));
    }
    if opts.cols == 0 {
        return Err(Error::invalid("grid columns", "must be at least 1"));
    }
    let cols = opts.cols.min(n);
    let rows = n.div_ceil(cols);
    let p = opts.padding;
    let width = cols * w + (cols + 1) * p;
    let height = rows * h + (rows + 1) * p;
    let pad = PixelRange::Unit.to_byte(opts.pad_value);
    let mut pixels = vec![pad; width * height * c];
    for i in 0..n {
        // Top-left corner of image i: (row, col) = (i / cols, i % cols).
        let (y0, x0) = (p + (i / cols) * (h + p), p + (i % cols) * (w + p));
        for ch in 0..c {
            let plane = &data[(i * c + ch) * h * w..][..h * w];
            for y in 0..h {
                for x in 0..w {
                    pixels[((y0 + y) * width + x0 + x) * c + ch] =
                        opts.range.to_byte(plane[y * w + x]);
                }
            }
        }
    }
    Ok(Image8 {
        width,
        height,
        channels: c,
        pixels,
    })
}

/// Writes an 8-bit image as a PNG, atomically.
pub fn write_png(image: &Image8, path: &Path) -> Result<()> {
    let color = match image.channels {
        1 => png::ColorType::Grayscale,
        3 => png::ColorType::Rgb,
        c => {
            return Err(Error::invalid(
                "image channels",
                format!("{c} is not 1 or 3"),
            ))
        }
    };
    let mut encode_error = None;
    atomic_write_with(path, |file| {
        let mut encoder = png::Encoder::new(
            std::io::BufWriter::new(file),
            image.width as u32,
            image.height as u32,
        );
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let result = encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(&image.pixels));
        result.map_err(|e| {
            encode_error = Some(e.to_string());
            std::io::Error::other("PNG encoding failed")
        })
    })
    .map_err(|e| match encode_error.take() {
        Some(reason) => Error::Png {
            path: path.to_path_buf(),
            reason,
        },
        None => e,
    })
}

/// Writes a batch of images (host data, N x C x H x W) as a PNG grid at `path`.
pub fn save_grid_data(
    data: &[f32],
    shape: [usize; 4],
    path: &Path,
    opts: &GridOptions,
) -> Result<()> {
    write_png(&grid(data, shape, opts)?, path)
}

/// Writes a batch of images (N x C x H x W tensor on any backend) as a PNG grid at `path`.
pub fn save_grid<B: Backend>(images: Tensor<B, 4>, path: &Path, opts: &GridOptions) -> Result<()> {
    let shape = images.dims();
    let data = images
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| Error::invalid("image tensor", format!("{e:?}")))?;
    save_grid_data(&data, shape, path, opts)
}

/// Images and their reconstructions [N, 1, H, W] (N a multiple of `cols`) as one grid of
/// `cols` columns whose rows alternate: `cols` originals, then their reconstructions.
pub fn interleave_rows<B: Backend>(
    originals: Tensor<B, 4>,
    reconstructions: Tensor<B, 4>,
    cols: usize,
) -> Tensor<B, 4> {
    let rows: Vec<_> = (0..originals.dims()[0] / cols.max(1))
        .flat_map(|r| {
            [
                originals.clone().narrow(0, r * cols, cols),
                reconstructions.clone().narrow(0, r * cols, cols),
            ]
        })
        .collect();
    Tensor::cat(rows, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(path: &Path) -> (png::OutputInfo, Vec<u8>) {
        let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    #[test]
    fn byte_mapping_of_both_ranges() {
        assert_eq!(PixelRange::Unit.to_byte(0.0), 0);
        assert_eq!(PixelRange::Unit.to_byte(1.0), 255);
        assert_eq!(PixelRange::Unit.to_byte(0.5), 128);
        assert_eq!(PixelRange::Unit.to_byte(7.0), 255);
        assert_eq!(PixelRange::Symmetric.to_byte(-1.0), 0);
        assert_eq!(PixelRange::Symmetric.to_byte(0.0), 128);
        assert_eq!(PixelRange::Symmetric.to_byte(f32::NAN), 0);
    }

    #[test]
    fn grid_layout_and_png_round_trip() {
        // Three 2x2 grey images in 2 columns with padding 1: width 2*2 + 3 = 7, height 2*2 + 3 = 7.
        let data: Vec<f32> = (0..12).map(|i| i as f32 / 11.0).collect();
        let opts = GridOptions {
            cols: 2,
            padding: 1,
            range: PixelRange::Unit,
            pad_value: 1.0,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.png");
        save_grid_data(&data, [3, 1, 2, 2], &path, &opts).unwrap();
        let (info, px) = decode(&path);
        assert_eq!((info.width, info.height), (7, 7));
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        let at = |x: usize, y: usize| px[y * 7 + x];
        assert_eq!(at(0, 0), 255); // padding
        assert_eq!(at(1, 1), 0); // image 0, pixel (0,0) = 0
        assert_eq!(at(2, 2), PixelRange::Unit.to_byte(3.0 / 11.0)); // image 0, pixel (1,1)
        assert_eq!(at(4, 1), PixelRange::Unit.to_byte(4.0 / 11.0)); // image 1, pixel (0,0)
        assert_eq!(at(2, 5), PixelRange::Unit.to_byte(11.0 / 11.0)); // image 2, pixel (1,1)
        assert_eq!(at(5, 5), 255); // empty cell is padding
    }

    #[test]
    fn rgb_channels_are_interleaved() {
        // One 1x1 RGB image: (r, g, b) = (0, 0.5, 1) in [-1, 1] units = (-1, 0, 1).
        let img = grid(
            &[-1.0, 0.0, 1.0],
            [1, 3, 1, 1],
            &GridOptions {
                cols: 1,
                padding: 0,
                range: PixelRange::Symmetric,
                pad_value: 0.0,
            },
        )
        .unwrap();
        assert_eq!(img.pixels, vec![0, 128, 255]);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let o = GridOptions::default();
        assert!(grid(&[0.0; 4], [1, 2, 1, 2], &o)
            .unwrap_err()
            .to_string()
            .contains("channels"));
        assert!(grid(&[0.0; 3], [1, 1, 2, 2], &o)
            .unwrap_err()
            .to_string()
            .contains("3 values"));
        assert!(grid(&[], [0, 1, 2, 2], &o).is_err());
        assert!(grid(&[0.0; 4], [1, 1, 2, 2], &GridOptions::with_cols(0)).is_err());
    }

    #[cfg(feature = "ndarray")]
    #[test]
    fn tensor_grid_matches_host_grid() {
        type B = crate::backend::NdArray;
        let data: Vec<f32> = (0..8).map(|i| i as f32 / 7.0).collect();
        let t =
            Tensor::<B, 1>::from_floats(data.as_slice(), &Default::default()).reshape([2, 1, 2, 2]);
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
        save_grid(t, &a, &GridOptions::default()).unwrap();
        save_grid_data(&data, [2, 1, 2, 2], &b, &GridOptions::default()).unwrap();
        assert_eq!(decode(&a).1, decode(&b).1);
    }

    #[cfg(feature = "ndarray")]
    #[test]
    fn interleaved_rows_alternate_originals_and_reconstructions() {
        type B = crate::backend::NdArray;
        let d = Default::default();
        let a = Tensor::<B, 1>::from_floats([0.0, 1.0, 2.0, 3.0], &d).reshape([4, 1, 1, 1]);
        let b = a.clone().add_scalar(10.0);
        let v: Vec<f32> = interleave_rows(a, b, 2).into_data().to_vec().unwrap();
        assert_eq!(v, vec![0.0, 1.0, 10.0, 11.0, 2.0, 3.0, 12.0, 13.0]);
    }
}
