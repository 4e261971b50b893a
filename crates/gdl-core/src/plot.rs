//! Plots written as PNG: line plots (loss curves, error against a hyper-parameter, coefficient
//! paths), optionally on log axes, and annotated heat maps (grid searches). Text is drawn with
//! the public-domain 8x8 bitmap font of the `font8x8` crate, so no system font is needed.

use crate::image::{write_png, Image8};
use crate::{Error, Result};
use font8x8::UnicodeFonts;
use std::path::Path;

type Rgb = [u8; 3];

/// Line colours (matplotlib's tab10).
const PALETTE: [Rgb; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];
const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];

/// How an axis maps values to pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scale {
    /// Values map linearly to pixels.
    #[default]
    Linear,
    /// log₁₀; points with a value <= 0 on this axis are left out.
    Log,
}

impl Scale {
    fn forward(self, v: f64) -> Option<f64> {
        match self {
            Scale::Linear => v.is_finite().then_some(v),
            Scale::Log => (v > 0.0 && v.is_finite()).then(|| v.log10()),
        }
    }
}

/// One named curve (or cloud of points).
#[derive(Clone, Debug)]
pub struct Series {
    /// The legend entry.
    pub label: String,
    /// (x, y) points, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Draw the points as dots without joining them (a scatter plot).
    pub points_only: bool,
}

/// A line plot of several series with axes, ticks, labels and a legend.
#[derive(Clone, Debug)]
pub struct LinePlot {
    /// The title above the plot.
    pub title: String,
    /// The x-axis label.
    pub x_label: String,
    /// The y-axis label.
    pub y_label: String,
    /// How x maps to pixels.
    pub x_scale: Scale,
    /// How y maps to pixels.
    pub y_scale: Scale,
    /// The curves.
    pub series: Vec<Series>,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

impl LinePlot {
    /// An empty 800 x 500 plot with linear axes.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        LinePlot {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            series: Vec::new(),
            width: 800,
            height: 500,
        }
    }

    /// Sets the axis scales.
    pub fn scales(mut self, x: Scale, y: Scale) -> Self {
        self.x_scale = x;
        self.y_scale = y;
        self
    }

    /// Adds a curve.
    pub fn series(mut self, label: &str, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        self.series.push(Series {
            label: label.into(),
            points: points.into_iter().collect(),
            points_only: false,
        });
        self
    }

    /// Adds a cloud of points drawn as small dots (a scatter plot).
    pub fn scatter(mut self, label: &str, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        self.series.push(Series {
            label: label.into(),
            points: points.into_iter().collect(),
            points_only: true,
        });
        self
    }

    /// Draws the plot; an error when no series has a point that can be drawn.
    pub fn render(&self) -> Result<Image8> {
        // Map every point to the scaled plane; None marks a gap in the line.
        let mapped: Vec<Vec<Option<(f64, f64)>>> = self
            .series
            .iter()
            .map(|s| {
                s.points
                    .iter()
                    .map(|&(x, y)| Some((self.x_scale.forward(x)?, self.y_scale.forward(y)?)))
                    .collect()
            })
            .collect();
        let all = mapped.iter().flatten().flatten();
        let (x_lo, x_hi) = bounds(all.clone().map(|p| p.0));
        let (y_lo, y_hi) = bounds(all.map(|p| p.1));
        if !(x_lo.is_finite() && y_lo.is_finite()) {
            return Err(Error::invalid(
                "plot",
                format!("`{}` has no finite point to draw", self.title),
            ));
        }
        let legend_w = 30
            + 8 * self
                .series
                .iter()
                .map(|s| s.label.chars().count())
                .max()
                .unwrap_or(0);
        let mut c = Canvas::new(self.width, self.height);
        let frame = Frame {
            left: 80,
            top: 30,
            right: self.width.saturating_sub(legend_w + 20).max(120),
            bottom: self.height.saturating_sub(50).max(60),
            x: (x_lo, x_hi),
            y: (y_lo, y_hi),
        };
        c.axes(&frame, self.x_scale, self.y_scale);
        for (k, line) in mapped.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            if self.series[k].points_only {
                for p in line.iter().flatten() {
                    c.small_dot(frame.px(*p), colour);
                }
            } else {
                for pair in line.windows(2) {
                    if let [Some(a), Some(b)] = pair {
                        c.line(frame.px(*a), frame.px(*b), colour);
                    }
                }
            }
            if !self.series[k].points_only
                && (line.iter().flatten().count() == 1 || line.len() < 30)
            {
                for p in line.iter().flatten() {
                    c.dot(frame.px(*p), colour);
                }
            }
            // Legend entry.
            let (lx, ly) = (frame.right + 12, frame.top + 6 + 14 * k);
            c.line(
                (lx as f64, ly as f64 + 4.0),
                (lx as f64 + 16.0, ly as f64 + 4.0),
                colour,
            );
            c.text(lx + 22, ly, &self.series[k].label, BLACK);
        }
        c.titles(&frame, &self.title, &self.x_label, &self.y_label);
        Ok(c.into_image())
    }

    /// Draws the plot and writes it as a PNG at `path`, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_png(&self.render()?, path)
    }
}

/// A heat map of `values[row][col]` with labelled rows and columns and each cell's value
/// written in it (the lecture's grid searches).
#[derive(Clone, Debug)]
pub struct Heatmap {
    /// The title above the map.
    pub title: String,
    /// The label under the columns.
    pub x_label: String,
    /// The label beside the rows.
    pub y_label: String,
    /// One label per column.
    pub col_labels: Vec<String>,
    /// One label per row.
    pub row_labels: Vec<String>,
    /// values[row][col], the cells.
    pub values: Vec<Vec<f64>>,
}

impl Heatmap {
    /// Draws the heat map; an error when the labels do not match the values' shape.
    pub fn render(&self) -> Result<Image8> {
        let rows = self.values.len();
        let cols = self.values.first().map_or(0, Vec::len);
        if rows == 0
            || cols == 0
            || self.values.iter().any(|r| r.len() != cols)
            || self.row_labels.len() != rows
            || self.col_labels.len() != cols
        {
            return Err(Error::invalid(
                "heat map",
                format!(
                    "`{}`: values must be a full {} x {} grid matching the labels",
                    self.title,
                    self.row_labels.len(),
                    self.col_labels.len()
                ),
            ));
        }
        let label_w = 8 * self
            .row_labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        let cell_w = 12
            + 8 * self
                .col_labels
                .iter()
                .map(|l| l.chars().count())
                .max()
                .unwrap_or(0)
                .max(8);
        let cell_h = 30;
        let left = 40 + label_w;
        let (width, height) = (left + cols * cell_w + 20, 40 + rows * cell_h + 50);
        let mut c = Canvas::new(width, height);
        let (lo, hi) = bounds(self.values.iter().flatten().copied());
        for (i, row) in self.values.iter().enumerate() {
            let y0 = 30 + i * cell_h;
            c.text(
                left - 6 - 8 * self.row_labels[i].chars().count(),
                y0 + 11,
                &self.row_labels[i],
                BLACK,
            );
            for (j, &v) in row.iter().enumerate() {
                let x0 = left + j * cell_w;
                let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                let colour = if v.is_finite() {
                    viridis(t)
                } else {
                    [200, 200, 200]
                };
                c.rect(x0, y0, cell_w, cell_h, colour);
                let s = format_value(v);
                let ink = if t > 0.6 || !v.is_finite() {
                    BLACK
                } else {
                    WHITE
                };
                c.text(x0 + (cell_w - 8 * s.chars().count()) / 2, y0 + 11, &s, ink);
            }
        }
        for (j, label) in self.col_labels.iter().enumerate() {
            let x0 = left + j * cell_w + (cell_w - 8 * label.chars().count()) / 2;
            c.text(x0, 36 + rows * cell_h, label, BLACK);
        }
        let frame = Frame {
            left,
            top: 30,
            right: left + cols * cell_w,
            bottom: 30 + rows * cell_h,
            x: (0.0, 1.0),
            y: (0.0, 1.0),
        };
        c.titles(&frame, &self.title, &self.x_label, &self.y_label);
        Ok(c.into_image())
    }

    /// Draws the heat map and writes it as a PNG at `path`, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_png(&self.render()?, path)
    }
}

/// The range of finite values, widened when empty of width.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

/// Roughly five round tick positions (1, 2 or 5 times a power of ten) in [lo, hi].
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A short label: plain decimals for moderate magnitudes, `1e-3` style otherwise.
pub fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.1e}");
        return s.replace(".0e", "e");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// Piecewise-linear approximation of matplotlib's viridis colour map, t in [0, 1].
fn viridis(t: f64) -> Rgb {
    const STOPS: [Rgb; 5] = [
        [68, 1, 84],
        [59, 82, 139],
        [33, 145, 140],
        [94, 201, 98],
        [253, 231, 37],
    ];
    let t = t.clamp(0.0, 1.0) * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
    [
        mix(STOPS[i][0], STOPS[i + 1][0]),
        mix(STOPS[i][1], STOPS[i + 1][1]),
        mix(STOPS[i][2], STOPS[i + 1][2]),
    ]
}

/// The plotting area in pixels and the data range (in scaled units) it shows.
struct Frame {
    left: usize,
    top: usize,
    right: usize,
    bottom: usize,
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    /// Scaled data coordinates to pixel coordinates.
    fn px(&self, (x, y): (f64, f64)) -> (f64, f64) {
        let fx = (x - self.x.0) / (self.x.1 - self.x.0);
        let fy = (y - self.y.0) / (self.y.1 - self.y.0);
        (
            self.left as f64 + fx * (self.right - self.left) as f64,
            self.bottom as f64 - fy * (self.bottom - self.top) as f64,
        )
    }
}

/// An RGB pixel buffer with the few drawing primitives plots need.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Self {
        Canvas {
            width,
            height,
            pixels: vec![255; width * height * 3],
        }
    }

    fn set(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = 3 * (y as usize * self.width + x as usize);
            self.pixels[i..i + 3].copy_from_slice(&c);
        }
    }

    fn rect(&mut self, x0: usize, y0: usize, w: usize, h: usize, c: Rgb) {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                self.set(x as i64, y as i64, c);
            }
        }
    }

    /// A two-pixel-wide segment (sampled at half-pixel steps).
    fn line(&mut self, a: (f64, f64), b: (f64, f64), c: Rgb) {
        let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()) * 2.0)
            .ceil()
            .max(1.0) as usize;
        for k in 0..=steps {
            let f = k as f64 / steps as f64;
            let (x, y) = (a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1));
            let (x, y) = (x.round() as i64, y.round() as i64);
            self.set(x, y, c);
            self.set(x + 1, y, c);
            self.set(x, y + 1, c);
        }
    }

    fn dot(&mut self, p: (f64, f64), c: Rgb) {
        let (x, y) = (p.0.round() as i64, p.1.round() as i64);
        for dy in -2..=2 {
            for dx in -2..=2 {
                self.set(x + dx, y + dy, c);
            }
        }
    }

    /// A 3 x 3 dot.
    fn small_dot(&mut self, p: (f64, f64), c: Rgb) {
        let (x, y) = (p.0.round() as i64, p.1.round() as i64);
        for dy in -1..=1 {
            for dx in -1..=1 {
                self.set(x + dx, y + dy, c);
            }
        }
    }

    /// Text with its top-left corner at (x, y); characters the font lacks show as '?'.
    fn text(&mut self, x: usize, y: usize, s: &str, c: Rgb) {
        for (k, ch) in s.chars().enumerate() {
            let glyph = glyph(ch);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        self.set((x + 8 * k + col) as i64, (y + row) as i64, c);
                    }
                }
            }
        }
    }

    /// Text rotated a quarter turn anticlockwise, reading bottom to top, starting at (x, y).
    fn text_up(&mut self, x: usize, y: usize, s: &str, c: Rgb) {
        for (k, ch) in s.chars().enumerate() {
            let glyph = glyph(ch);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        self.set((x + row) as i64, y as i64 - (8 * k + col) as i64, c);
                    }
                }
            }
        }
    }

    /// Frame, grid lines and tick labels.
    fn axes(&mut self, f: &Frame, xs: Scale, ys: Scale) {
        let label = |scale: Scale, v: f64| match scale {
            Scale::Linear => format_value(v),
            Scale::Log => format_value(10f64.powf(v)),
        };
        let tick_positions = |scale: Scale, (lo, hi): (f64, f64)| match scale {
            Scale::Log if hi - lo >= 1.0 => {
                let step = ((hi - lo) / 6.0).ceil().max(1.0);
                ((lo / step).ceil() as i64..=(hi / step).floor() as i64)
                    .map(|k| k as f64 * step)
                    .collect()
            }
            _ => ticks(lo, hi),
        };
        for v in tick_positions(xs, f.x) {
            let (px, _) = f.px((v, f.y.0));
            for y in f.top..f.bottom {
                self.set(px.round() as i64, y as i64, GRID);
            }
            let s = label(xs, v);
            let w = 8 * s.chars().count();
            self.text(
                (px.round() as usize).saturating_sub(w / 2),
                f.bottom + 6,
                &s,
                BLACK,
            );
        }
        for v in tick_positions(ys, f.y) {
            let (_, py) = f.px((f.x.0, v));
            for x in f.left..f.right {
                self.set(x as i64, py.round() as i64, GRID);
            }
            let s = label(ys, v);
            let w = 8 * s.chars().count();
            self.text(
                f.left.saturating_sub(w + 6),
                (py.round() as usize).saturating_sub(4),
                &s,
                BLACK,
            );
        }
        for x in f.left..=f.right {
            self.set(x as i64, f.top as i64, BLACK);
            self.set(x as i64, f.bottom as i64, BLACK);
        }
        for y in f.top..=f.bottom {
            self.set(f.left as i64, y as i64, BLACK);
            self.set(f.right as i64, y as i64, BLACK);
        }
    }

    /// Title above the frame, x label below, y label rotated on the left.
    fn titles(&mut self, f: &Frame, title: &str, x_label: &str, y_label: &str) {
        let mid_x = (f.left + f.right) / 2;
        self.text(
            mid_x.saturating_sub(4 * title.chars().count()),
            10,
            title,
            BLACK,
        );
        self.text(
            mid_x.saturating_sub(4 * x_label.chars().count()),
            f.bottom + 24,
            x_label,
            BLACK,
        );
        let mid_y = (f.top + f.bottom) / 2;
        self.text_up(8, mid_y + 4 * y_label.chars().count(), y_label, BLACK);
    }

    fn into_image(self) -> Image8 {
        Image8 {
            width: self.width,
            height: self.height,
            channels: 3,
            pixels: self.pixels,
        }
    }
}

/// The 8x8 bitmap of `ch` (row-major, least significant bit leftmost).
fn glyph(ch: char) -> [u8; 8] {
    // Dashes the font lacks are drawn as the hyphen.
    let ch = match ch {
        '−' | '–' | '—' => '-',
        c => c,
    };
    font8x8::BASIC_FONTS
        .get(ch)
        .or_else(|| font8x8::LATIN_FONTS.get(ch))
        .or_else(|| font8x8::GREEK_FONTS.get(ch))
        .or_else(|| font8x8::BASIC_FONTS.get('?'))
        .unwrap_or([0; 8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside() {
        assert_eq!(
            ticks(0.0, 1.0),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(ticks(-3.7, 12.2), vec![0.0, 5.0, 10.0]);
        assert_eq!(ticks(120.0, 480.0), vec![200.0, 300.0, 400.0]);
    }

    #[test]
    fn values_format_short() {
        assert_eq!(format_value(0.5), "0.5");
        assert_eq!(format_value(12.0), "12");
        assert_eq!(format_value(1e-5), "1e-5");
        assert_eq!(format_value(123456.0), "1.2e5");
        assert_eq!(format_value(-0.0), "0");
    }

    #[test]
    fn a_line_is_drawn_where_its_points_map() {
        // A horizontal line at y = 1 between y-range points 0 and 2 lies mid-frame.
        let plot = LinePlot::new("t", "x", "y")
            .series("flat", [(0.0, 1.0), (1.0, 1.0)])
            .series("bounds", [(0.0, 0.0), (0.0, 2.0)]);
        let img = plot.render().unwrap();
        assert_eq!((img.width, img.height, img.channels), (800, 500, 3));
        // Frame: top 30, bottom 450, so y = 1 maps to row 240; column 300 is inside.
        let at =
            |x: usize, y: usize| &img.pixels[3 * (y * img.width + x)..3 * (y * img.width + x) + 3];
        assert_eq!(at(300, 240), &PALETTE[0]);
        assert_eq!(at(300, 200), &WHITE);
    }

    #[test]
    fn scatter_points_are_dots_without_lines() {
        let img = LinePlot::new("s", "x", "y")
            .scatter("a", [(0.0, 0.0), (1.0, 1.0)])
            .render()
            .unwrap();
        let at =
            |x: usize, y: usize| &img.pixels[3 * (y * img.width + x)..3 * (y * img.width + x) + 3];
        // Frame: x 80..(800 − legend − 20), y 30..450; the midpoint of the diagonal stays white.
        let right = 800 - (30 + 8) - 20;
        assert_eq!(at(80, 450), &PALETTE[0]);
        assert_eq!(at((80 + right) / 2, 240), &WHITE);
    }

    #[test]
    fn log_axes_leave_out_non_positive_points_and_empty_plots_fail() {
        let plot = LinePlot::new("t", "x", "y")
            .scales(Scale::Log, Scale::Log)
            .series("s", [(0.0, 1.0), (1.0, 10.0), (100.0, 1000.0)]);
        assert!(plot.render().is_ok());
        let empty = LinePlot::new("empty", "x", "y").series("s", [(f64::NAN, 1.0)]);
        assert!(empty.render().unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn heat_map_checks_its_shape_and_colours_extremes() {
        let h = Heatmap {
            title: "grid".into(),
            x_label: "λ".into(),
            y_label: "η".into(),
            col_labels: vec!["a".into(), "b".into()],
            row_labels: vec!["r".into()],
            values: vec![vec![0.0, 1.0]],
        };
        let img = h.render().unwrap();
        // Cell corners take the colour map's ends.
        let left = 40 + 8;
        let at = |x: usize, y: usize| {
            img.pixels[3 * (y * img.width + x)..3 * (y * img.width + x) + 3].to_vec()
        };
        assert_eq!(at(left + 1, 31), viridis(0.0).to_vec());
        let cell_w = 12 + 64;
        assert_eq!(at(left + cell_w + 1, 31), viridis(1.0).to_vec());
        let bad = Heatmap {
            values: vec![vec![0.0]],
            ..h
        };
        assert!(bad.render().unwrap_err().to_string().contains("grid"));
    }
}
