//! Rotated-rectangle crops: the geometry between image pixels and a model's square input.
//!
//! A [`RotatedRect`] is a region of the image (centre, size and rotation, all in image pixels).
//! [`sample_rotated_rect`] resamples it bilinearly into an `N x N` RGB f32 tensor buffer that the
//! caller owns and reuses (normally the model's own input tensor, so nothing is copied), exactly
//! like the reference pipeline (`tests/data/reference/tflite_reference_pipeline.py`, `warp`):
//! sample `(i, j)` of the crop reads the image at the centre of output pixel `(i + 0.5, j + 0.5)`,
//! samples outside the image read black. MediaPipe's own CPU path samples on a grid shifted by
//! half a crop pixel minus half an image pixel; [`SampleGrid::MediaPipe`] reproduces it for the
//! peer comparison. Rows that lie wholly inside the image (nearly all of them) take a fast path
//! without per-sample bounds tests: eight samples at a time with AVX2 (`pulp`'s safe intrinsics,
//! chosen at run time), else four; every path computes the same values.
//! [`RotatedRect::image_from_crop`] maps model outputs (normalised crop coordinates) back to
//! image pixels.

use crate::error::VisionError;
use crate::frame::Frame;

/// A rectangle in the image, rotated about its centre. All lengths in image pixels.
///
/// `rotation_rad` turns the rectangle's x axis from the image's x axis towards the image's y
/// axis (y points down), i.e. clockwise as seen on screen.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RotatedRect {
    /// Centre x, image pixels (0 = left edge of the image).
    pub center_x_px: f32,
    /// Centre y, image pixels (0 = top edge).
    pub center_y_px: f32,
    /// Width along the rectangle's own x axis, pixels.
    pub width_px: f32,
    /// Height along the rectangle's own y axis, pixels.
    pub height_px: f32,
    /// Rotation, radians, clockwise on screen, in (-pi, pi].
    pub rotation_rad: f32,
}

impl RotatedRect {
    /// The whole frame, padded to a square around its centre (a "letterbox", no rotation).
    pub fn letterbox(width_px: u32, height_px: u32) -> Self {
        let side_px = width_px.max(height_px) as f32;
        RotatedRect {
            center_x_px: width_px as f32 / 2.0,
            center_y_px: height_px as f32 / 2.0,
            width_px: side_px,
            height_px: side_px,
            rotation_rad: 0.0,
        }
    }

    /// Maps normalised crop coordinates (`u`, `v` in [0, 1], (0, 0) = top-left corner of the
    /// crop) to image pixels.
    pub fn image_from_crop(&self, u: f32, v: f32) -> [f32; 2] {
        let (sin, cos) = self.rotation_rad.sin_cos();
        let du = (u - 0.5) * self.width_px;
        let dv = (v - 0.5) * self.height_px;
        [
            self.center_x_px + du * cos - dv * sin,
            self.center_y_px + du * sin + dv * cos,
        ]
    }

    /// Maps image pixels to normalised crop coordinates (inverse of [`Self::image_from_crop`]).
    pub fn crop_from_image(&self, x_px: f32, y_px: f32) -> [f32; 2] {
        let (sin, cos) = self.rotation_rad.sin_cos();
        let dx = x_px - self.center_x_px;
        let dy = y_px - self.center_y_px;
        [
            (dx * cos + dy * sin) / self.width_px + 0.5,
            (-dx * sin + dy * cos) / self.height_px + 0.5,
        ]
    }
}

/// Wraps an angle to (-pi, pi].
pub fn normalize_radians(angle_rad: f32) -> f32 {
    use std::f32::consts::PI;
    let wrapped = angle_rad - 2.0 * PI * ((angle_rad + PI) / (2.0 * PI)).floor();
    if wrapped <= -PI {
        wrapped + 2.0 * PI
    } else {
        wrapped
    }
}

/// Checks that `frame.rgb` holds `width * height * 3` bytes.
pub fn check_frame(frame: &Frame) -> Result<(), VisionError> {
    let expected_len = frame.width as usize * frame.height as usize * 3;
    if frame.rgb.len() != expected_len || frame.width == 0 || frame.height == 0 {
        return Err(VisionError::FrameSize {
            frame_index: frame.index,
            width: frame.width,
            height: frame.height,
            rgb_len: frame.rgb.len(),
            expected_len,
        });
    }
    Ok(())
}

/// Resamples `rect` of `frame` into `out`, an `size_px x size_px x 3` row-major RGB buffer
/// (NHWC without the batch axis), bilinearly, writing `value * value_scale + value_offset` for
/// each 0..=255 channel value. Outside the image, pixels are 0 before scaling.
///
/// `frame` must have been checked with [`check_frame`] (its size is trusted here).
pub fn sample_rotated_rect(
    frame: &Frame,
    rect: &RotatedRect,
    size_px: usize,
    value_scale: f32,
    value_offset: f32,
    out: &mut [f32],
) {
    sample_rotated_rect_in_layout(
        frame,
        rect,
        size_px,
        value_scale,
        value_offset,
        PixelLayout::Interleaved,
        SampleGrid::PixelCenters,
        out,
    );
}

/// How a model's `size x size x 3` image input is laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PixelLayout {
    /// `[row][column][channel]` (NHWC, TFLite's and the ONNX files' own layout).
    #[default]
    Interleaved,
    /// `[channel][row][column]` (NCHW): what tract's convolutions work on, so feeding it saves
    /// the model a transpose of its input.
    Planar,
}

/// Where the samples of an `N x N` crop of a rect fall in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SampleGrid {
    /// Each crop pixel samples the centre of its 1/N of the rect (the reference pipeline of
    /// `tests/data/reference` and the golden tests).
    #[default]
    PixelCenters,
    /// MediaPipe's CPU image-to-tensor step (OpenCV `warpPerspective` from the rect's corners to
    /// the crop's): crop pixel i samples the rect's edge plus i/N of its side, in OpenCV's
    /// coordinates (pixel centres at whole numbers). It samples half a crop pixel minus half an
    /// image pixel away from [`SampleGrid::PixelCenters`] on each axis; only for comparing with
    /// MediaPipe.
    MediaPipe,
}

/// [`sample_rotated_rect`] writing `out` in `layout`, sampling on `grid`.
#[allow(clippy::too_many_arguments)]
pub fn sample_rotated_rect_in_layout(
    frame: &Frame,
    rect: &RotatedRect,
    size_px: usize,
    value_scale: f32,
    value_offset: f32,
    layout: PixelLayout,
    grid: SampleGrid,
    out: &mut [f32],
) {
    debug_assert_eq!(out.len(), size_px * size_px * 3);
    let plane_len = size_px * size_px;
    let image = Image {
        rgb: &frame.rgb[..],
        width: frame.width as i64,
        height: frame.height as i64,
        stride: frame.width as usize * 3,
    };
    let (sin, cos) = (rect.rotation_rad as f64).sin_cos();
    let step = 1.0 / size_px as f64;
    // Image position of crop sample (column u, row v) =
    //   origin + u_norm * axis_u + v_norm * axis_v, with u_norm, v_norm in [-0.5, 0.5).
    // Crop pixel i samples at (i + phase) / N of the rect; `shift` turns image coordinates
    // (pixel edges at whole numbers) into sample indices (pixel centres at whole numbers).
    let (phase, shift) = match grid {
        SampleGrid::PixelCenters => (0.5, 0.5),
        SampleGrid::MediaPipe => (0.0, 0.0),
    };
    let (cx, cy) = (
        rect.center_x_px as f64 - shift,
        rect.center_y_px as f64 - shift,
    );
    let (w, h) = (rect.width_px as f64, rect.height_px as f64);
    let axis_u = [w * cos, w * sin];
    let axis_v = [-h * sin, h * cos];
    // Each row's start in f64; along the row, f32 offsets from it (no accumulated drift).
    let step_x = (axis_u[0] * step) as f32;
    let step_y = (axis_u[1] * step) as f32;
    let row_samples = |row: usize| {
        let v_norm = (row as f64 + phase) * step - 0.5;
        let u_start = phase * step - 0.5;
        RowSamples {
            start: [
                (cx + v_norm * axis_v[0] + u_start * axis_u[0]) as f32,
                (cy + v_norm * axis_v[1] + u_start * axis_u[1]) as f32,
            ],
            step: [step_x, step_y],
            len: size_px,
        }
    };
    let scale = Scale {
        factor: value_scale,
        offset: value_offset,
    };
    match layout {
        PixelLayout::Interleaved => {
            for (row, row_out) in out.chunks_exact_mut(size_px * 3).enumerate() {
                image.sample_row(&row_samples(row), scale, &mut Interleaved(row_out));
            }
        }
        PixelLayout::Planar => {
            let (red, rest) = out.split_at_mut(plane_len);
            let (green, blue) = rest.split_at_mut(plane_len);
            let rows = red
                .chunks_exact_mut(size_px)
                .zip(green.chunks_exact_mut(size_px))
                .zip(blue.chunks_exact_mut(size_px));
            for (row, ((red, green), blue)) in rows.enumerate() {
                image.sample_row(&row_samples(row), scale, &mut Planar { red, green, blue });
            }
        }
    }
}

/// The affine map from 0..=255 channel values to the tensor's values.
#[derive(Debug, Clone, Copy)]
struct Scale {
    factor: f32,
    offset: f32,
}

impl Scale {
    #[inline(always)]
    fn apply(self, value: f32) -> f32 {
        value * self.factor + self.offset
    }
}

/// Where the scaled samples of one crop row go.
trait RowSink {
    /// Stores column `col`.
    fn put(&mut self, col: usize, rgb: [f32; 3]);

    /// Stores columns `col..col + 8`, channel by channel.
    #[inline(always)]
    fn put8(&mut self, col: usize, [red, green, blue]: [[f32; 8]; 3]) {
        for (lane, ((r, g), b)) in red.into_iter().zip(green).zip(blue).enumerate() {
            self.put(col + lane, [r, g, b]);
        }
    }
}

/// A row of `[column][channel]` values.
struct Interleaved<'a>(&'a mut [f32]);

impl RowSink for Interleaved<'_> {
    #[inline(always)]
    fn put(&mut self, col: usize, rgb: [f32; 3]) {
        self.0[col * 3..col * 3 + 3].copy_from_slice(&rgb);
    }
}

/// The same row in each of the three channel planes.
struct Planar<'a> {
    red: &'a mut [f32],
    green: &'a mut [f32],
    blue: &'a mut [f32],
}

impl RowSink for Planar<'_> {
    #[inline(always)]
    fn put(&mut self, col: usize, [r, g, b]: [f32; 3]) {
        self.red[col] = r;
        self.green[col] = g;
        self.blue[col] = b;
    }

    #[inline(always)]
    fn put8(&mut self, col: usize, [r, g, b]: [[f32; 8]; 3]) {
        self.red[col..col + 8].copy_from_slice(&r);
        self.green[col..col + 8].copy_from_slice(&g);
        self.blue[col..col + 8].copy_from_slice(&b);
    }
}

/// `v as f32` for every byte: a table load is cheaper than the conversion (the same value).
static BYTE_TO_F32: [f32; 256] = {
    let mut table = [0.0f32; 256];
    let mut value = 0;
    while value < 256 {
        table[value] = value as f32;
        value += 1;
    }
    table
};

/// An RGB24 frame as the sampler reads it.
struct Image<'a> {
    rgb: &'a [u8],
    width: i64,
    height: i64,
    stride: usize,
}

/// One row of crop samples: `len` points from `start`, `step` apart (image sample indices).
struct RowSamples {
    start: [f32; 2],
    step: [f32; 2],
    len: usize,
}

impl RowSamples {
    fn point(&self, col: usize) -> (f32, f32) {
        (
            self.start[0] + col as f32 * self.step[0],
            self.start[1] + col as f32 * self.step[1],
        )
    }
}

impl Image<'_> {
    /// Bilinear blend of the 2x2 pixels whose top-left byte is at `top`, weights from the
    /// fractions `fx`, `fy` (the same arithmetic as the four-lane path).
    fn blend(&self, top: usize, fx: f32, fy: f32) -> [f32; 3] {
        let f = |byte: u8| BYTE_TO_F32[usize::from(byte)];
        let bottom = top + self.stride;
        let (top, bottom) = (&self.rgb[top..top + 6], &self.rgb[bottom..bottom + 6]);
        let w00 = (1.0 - fx) * (1.0 - fy);
        let w10 = fx * (1.0 - fy);
        let w01 = (1.0 - fx) * fy;
        let w11 = fx * fy;
        let mut sample = [0.0f32; 3];
        for (c, s) in sample.iter_mut().enumerate() {
            *s =
                f(top[c]) * w00 + f(top[c + 3]) * w10 + f(bottom[c]) * w01 + f(bottom[c + 3]) * w11;
        }
        sample
    }

    /// Samples a row bilinearly into `sink`, scaled. When the whole row lies inside the image
    /// (its two ends do: the points are on a line), every sample takes a fast path with no
    /// bounds test (eight at a time with AVX2 where the CPU has it); otherwise each point is
    /// tested and neighbours outside the image read black. All paths give the same values.
    fn sample_row(&self, row: &RowSamples, scale: Scale, sink: &mut impl RowSink) {
        let (first, last) = (row.point(0), row.point(row.len.saturating_sub(1)));
        // floor(v) >= 0 and floor(v) + 1 < limit, for both ends.
        let inside = |a: f32, b: f32, limit: i64| a.min(b) >= 0.0 && a.max(b) < (limit - 1) as f32;
        if inside(first.0, last.0, self.width) && inside(first.1, last.1, self.height) {
            #[cfg(target_arch = "x86_64")]
            let col = avx2::sample_inside_row(self, row, scale, sink);
            #[cfg(not(target_arch = "x86_64"))]
            let col = 0;
            self.sample_inside_row(row, col, scale, sink);
            return;
        }
        for col in 0..row.len {
            let (x, y) = row.point(col);
            let x0f = x.floor();
            let y0f = y.floor();
            let fx = x - x0f;
            let fy = y - y0f;
            let x0 = x0f as i64;
            let y0 = y0f as i64;
            let mut sample = [0.0f32; 3];
            if x0 >= 0 && y0 >= 0 && x0 + 1 < self.width && y0 + 1 < self.height {
                sample = self.blend(y0 as usize * self.stride + x0 as usize * 3, fx, fy);
            } else {
                // At least one neighbour is outside: those read black.
                let corners = [
                    (x0, y0, (1.0 - fx) * (1.0 - fy)),
                    (x0 + 1, y0, fx * (1.0 - fy)),
                    (x0, y0 + 1, (1.0 - fx) * fy),
                    (x0 + 1, y0 + 1, fx * fy),
                ];
                for (xi, yi, weight) in corners {
                    if xi >= 0 && yi >= 0 && xi < self.width && yi < self.height {
                        let i = yi as usize * self.stride + xi as usize * 3;
                        for (c, s) in sample.iter_mut().enumerate() {
                            *s += self.rgb[i + c] as f32 * weight;
                        }
                    }
                }
            }
            sink.put(col, sample.map(|value| scale.apply(value)));
        }
    }

    /// Columns `start..` of a row that lies wholly inside the image, four at a time, lane by
    /// lane the same arithmetic as one at a time (so the same values), written so that the
    /// compiler can use vector instructions for it.
    fn sample_inside_row(
        &self,
        row: &RowSamples,
        start: usize,
        scale: Scale,
        sink: &mut impl RowSink,
    ) {
        const LANES: usize = 4;
        let f = |byte: u8| BYTE_TO_F32[usize::from(byte)];
        let mut col = start;
        while col + LANES <= row.len {
            let mut fx = [0.0f32; LANES];
            let mut fy = [0.0f32; LANES];
            let mut taps = [[0.0f32; LANES]; 12];
            for lane in 0..LANES {
                let (x, y) = row.point(col + lane);
                // Non-negative and below the image size: truncation is the floor (an i32
                // cast is cheaper than a usize one).
                let (x0, y0) = (x as i32, y as i32);
                fx[lane] = x - x0 as f32;
                fy[lane] = y - y0 as f32;
                let top = y0 as usize * self.stride + x0 as usize * 3;
                let bottom = top + self.stride;
                let (top, bottom) = (&self.rgb[top..top + 6], &self.rgb[bottom..bottom + 6]);
                for c in 0..3 {
                    taps[c * 4][lane] = f(top[c]);
                    taps[c * 4 + 1][lane] = f(top[c + 3]);
                    taps[c * 4 + 2][lane] = f(bottom[c]);
                    taps[c * 4 + 3][lane] = f(bottom[c + 3]);
                }
            }
            let mut samples = [[0.0f32; LANES]; 3];
            for (c, channel) in samples.iter_mut().enumerate() {
                for lane in 0..LANES {
                    let w00 = (1.0 - fx[lane]) * (1.0 - fy[lane]);
                    let w10 = fx[lane] * (1.0 - fy[lane]);
                    let w01 = (1.0 - fx[lane]) * fy[lane];
                    let w11 = fx[lane] * fy[lane];
                    channel[lane] = taps[c * 4][lane] * w00
                        + taps[c * 4 + 1][lane] * w10
                        + taps[c * 4 + 2][lane] * w01
                        + taps[c * 4 + 3][lane] * w11;
                }
            }
            let [red, green, blue] = samples;
            for (lane, ((r, g), b)) in red.into_iter().zip(green).zip(blue).enumerate() {
                sink.put(col + lane, [r, g, b].map(|value| scale.apply(value)));
            }
            col += LANES;
        }
        for col in col..row.len {
            let (x, y) = row.point(col);
            let (x0, y0) = (x as i32, y as i32);
            let top = y0 as usize * self.stride + x0 as usize * 3;
            let sample = self.blend(top, x - x0 as f32, y - y0 as f32);
            sink.put(col, sample.map(|value| scale.apply(value)));
        }
    }
}

/// The inside-row fast path eight columns at a time with AVX2 (through `pulp`'s safe
/// intrinsics; chosen at run time). The same operations in the same order as the scalar path,
/// without fused multiply-adds, so the same values; only the loads differ: each 2x2 block is
/// read as four little-endian words and its bytes are picked apart in vector registers, where
/// the scalar path converts twelve bytes one by one.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{__m256, __m256i};

    use pulp::bytemuck::cast;
    use pulp::x86::V3;

    use super::{Image, RowSamples, RowSink, Scale};

    /// Samples columns `0..8 * k` of a row that lies wholly inside the image and returns where
    /// it stopped (0 without AVX2).
    pub(super) fn sample_inside_row(
        image: &Image<'_>,
        row: &RowSamples,
        scale: Scale,
        sink: &mut impl RowSink,
    ) -> usize {
        // Byte offsets are computed in i32 lanes.
        if image.rgb.len() > i32::MAX as usize {
            return 0;
        }
        match V3::try_new() {
            Some(simd) => simd.vectorize(Row {
                simd,
                image,
                row,
                scale,
                sink,
            }),
            None => 0,
        }
    }

    struct Row<'a, 'b, S> {
        simd: V3,
        image: &'a Image<'b>,
        row: &'a RowSamples,
        scale: Scale,
        sink: &'a mut S,
    }

    impl<S: RowSink> pulp::NullaryFnOnce for Row<'_, '_, S> {
        type Output = usize;

        // Inlined into pulp's target-feature function: that is what makes these AVX2 code.
        #[inline(always)]
        fn call(self) -> usize {
            let Row {
                simd,
                image,
                row,
                scale,
                sink,
            } = self;
            let (avx, avx2) = (simd.avx, simd.avx2);
            let lanes = avx._mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
            let (start_x, start_y) = (
                avx._mm256_set1_ps(row.start[0]),
                avx._mm256_set1_ps(row.start[1]),
            );
            let (step_x, step_y) = (
                avx._mm256_set1_ps(row.step[0]),
                avx._mm256_set1_ps(row.step[1]),
            );
            let one = avx._mm256_set1_ps(1.0);
            let stride = avx._mm256_set1_epi32(image.stride as i32);
            let three = avx._mm256_set1_epi32(3);
            let low_byte = avx._mm256_set1_epi32(0xff);
            let (factor, offset) = (
                avx._mm256_set1_ps(scale.factor),
                avx._mm256_set1_ps(scale.offset),
            );
            let mut col = 0;
            while col + 8 <= row.len {
                // Sample points exactly as `RowSamples::point`: start + col * step.
                let cols = avx._mm256_add_ps(avx._mm256_set1_ps(col as f32), lanes);
                let x = avx._mm256_add_ps(start_x, avx._mm256_mul_ps(cols, step_x));
                let y = avx._mm256_add_ps(start_y, avx._mm256_mul_ps(cols, step_y));
                // Inside the image: truncation is the floor.
                let (x0, y0) = (avx._mm256_cvttps_epi32(x), avx._mm256_cvttps_epi32(y));
                let fx = avx._mm256_sub_ps(x, avx._mm256_cvtepi32_ps(x0));
                let fy = avx._mm256_sub_ps(y, avx._mm256_cvtepi32_ps(y0));
                let top = avx2._mm256_add_epi32(
                    avx2._mm256_mullo_epi32(y0, stride),
                    avx2._mm256_mullo_epi32(x0, three),
                );
                let top: [i32; 8] = cast(top);
                // Per lane, the block's top and bottom rows: bytes R G B R | G B.
                let mut words = [[0u32; 8]; 4];
                for (lane, &at) in top.iter().enumerate() {
                    let at = at as usize;
                    let upper = &image.rgb[at..at + 6];
                    let lower = &image.rgb[at + image.stride..at + image.stride + 6];
                    words[0][lane] = u32::from_le_bytes([upper[0], upper[1], upper[2], upper[3]]);
                    words[1][lane] = u32::from(u16::from_le_bytes([upper[4], upper[5]]));
                    words[2][lane] = u32::from_le_bytes([lower[0], lower[1], lower[2], lower[3]]);
                    words[3][lane] = u32::from(u16::from_le_bytes([lower[4], lower[5]]));
                }
                let upper_left: __m256i = cast(words[0]);
                let upper_right: __m256i = cast(words[1]);
                let lower_left: __m256i = cast(words[2]);
                let lower_right: __m256i = cast(words[3]);
                // Taps per channel: [left top, right top, left bottom, right bottom].
                let taps = [
                    [
                        avx2._mm256_and_si256(upper_left, low_byte),
                        avx2._mm256_srli_epi32::<24>(upper_left),
                        avx2._mm256_and_si256(lower_left, low_byte),
                        avx2._mm256_srli_epi32::<24>(lower_left),
                    ],
                    [
                        avx2._mm256_and_si256(avx2._mm256_srli_epi32::<8>(upper_left), low_byte),
                        avx2._mm256_and_si256(upper_right, low_byte),
                        avx2._mm256_and_si256(avx2._mm256_srli_epi32::<8>(lower_left), low_byte),
                        avx2._mm256_and_si256(lower_right, low_byte),
                    ],
                    [
                        avx2._mm256_and_si256(avx2._mm256_srli_epi32::<16>(upper_left), low_byte),
                        avx2._mm256_srli_epi32::<8>(upper_right),
                        avx2._mm256_and_si256(avx2._mm256_srli_epi32::<16>(lower_left), low_byte),
                        avx2._mm256_srli_epi32::<8>(lower_right),
                    ],
                ];
                let (gx, gy) = (avx._mm256_sub_ps(one, fx), avx._mm256_sub_ps(one, fy));
                let w00 = avx._mm256_mul_ps(gx, gy);
                let w10 = avx._mm256_mul_ps(fx, gy);
                let w01 = avx._mm256_mul_ps(gx, fy);
                let w11 = avx._mm256_mul_ps(fx, fy);
                let mut rgb = [[0.0f32; 8]; 3];
                for (out, [t00, t10, t01, t11]) in rgb.iter_mut().zip(taps) {
                    let sum = avx._mm256_add_ps(
                        avx._mm256_mul_ps(avx._mm256_cvtepi32_ps(t00), w00),
                        avx._mm256_mul_ps(avx._mm256_cvtepi32_ps(t10), w10),
                    );
                    let sum =
                        avx._mm256_add_ps(sum, avx._mm256_mul_ps(avx._mm256_cvtepi32_ps(t01), w01));
                    let sum =
                        avx._mm256_add_ps(sum, avx._mm256_mul_ps(avx._mm256_cvtepi32_ps(t11), w11));
                    let scaled: __m256 = avx._mm256_add_ps(avx._mm256_mul_ps(sum, factor), offset);
                    *out = cast(scaled);
                }
                sink.put8(col, rgb);
                col += 8;
            }
            col
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient_frame(width: u32, height: u32) -> Frame {
        let mut frame = Frame::default();
        frame.resize(width, height);
        for y in 0..height {
            for x in 0..width {
                let i = (y * width + x) as usize * 3;
                frame.rgb[i] = x as u8;
                frame.rgb[i + 1] = y as u8;
                frame.rgb[i + 2] = 100;
            }
        }
        frame
    }

    #[test]
    fn image_and_crop_coordinates_are_inverse() {
        let rect = RotatedRect {
            center_x_px: 40.0,
            center_y_px: 30.0,
            width_px: 20.0,
            height_px: 20.0,
            rotation_rad: 0.4,
        };
        let [x, y] = rect.image_from_crop(0.2, 0.9);
        let [u, v] = rect.crop_from_image(x, y);
        assert!((u - 0.2).abs() < 1e-5 && (v - 0.9).abs() < 1e-5);
        // The crop's x axis turns clockwise on screen (towards +y) for a positive rotation.
        let [x1, y1] = rect.image_from_crop(1.0, 0.5);
        assert!(x1 > 40.0 && y1 > 30.0);
    }

    #[test]
    fn axis_aligned_crop_reads_the_pixels_it_covers() {
        let frame = gradient_frame(64, 48);
        // An 8x8 crop of the 8x8 pixel block whose top-left is (10, 20): samples hit centres.
        let rect = RotatedRect {
            center_x_px: 14.0,
            center_y_px: 24.0,
            width_px: 8.0,
            height_px: 8.0,
            rotation_rad: 0.0,
        };
        let mut out = vec![0.0; 8 * 8 * 3];
        sample_rotated_rect(&frame, &rect, 8, 1.0, 0.0, &mut out);
        for row in 0..8 {
            for col in 0..8 {
                let i = (row * 8 + col) * 3;
                assert!(
                    (out[i] - (10 + col) as f32).abs() < 1e-4,
                    "x at {row},{col}: {}",
                    out[i]
                );
                assert!((out[i + 1] - (20 + row) as f32).abs() < 1e-4);
                assert!((out[i + 2] - 100.0).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn planar_layout_holds_the_same_samples_channel_by_channel() {
        let frame = gradient_frame(64, 48);
        let rect = RotatedRect {
            center_x_px: 30.0,
            center_y_px: 20.0,
            width_px: 50.0,
            height_px: 50.0,
            rotation_rad: 0.3,
        };
        let size = 16;
        let mut interleaved = vec![0.0; size * size * 3];
        let mut planar = vec![0.0; size * size * 3];
        sample_rotated_rect(&frame, &rect, size, 0.5, 1.0, &mut interleaved);
        sample_rotated_rect_in_layout(
            &frame,
            &rect,
            size,
            0.5,
            1.0,
            PixelLayout::Planar,
            SampleGrid::PixelCenters,
            &mut planar,
        );
        for pixel in 0..size * size {
            for c in 0..3 {
                assert_eq!(interleaved[pixel * 3 + c], planar[c * size * size + pixel]);
            }
        }
    }

    /// The fast paths (AVX2 eight at a time where the CPU has it, four at a time) give the
    /// same bits as sampling point by point, on rotated rows with tails of every length.
    #[test]
    fn inside_rows_match_point_by_point_sampling_exactly() {
        let mut frame = Frame::default();
        frame.resize(97, 61);
        let mut state = 12345u32;
        for byte in frame.rgb.iter_mut() {
            state = state.wrapping_mul(1664525).wrapping_add(1013904223);
            *byte = (state >> 24) as u8;
        }
        let image = Image {
            rgb: &frame.rgb,
            width: 97,
            height: 61,
            stride: 97 * 3,
        };
        let scale = Scale {
            factor: 1.0 / 255.0,
            offset: 0.0,
        };
        for (len, angle) in [(256, 0.0f32), (64, 0.3), (37, -1.2), (9, 2.5), (5, 0.7)] {
            let (sin, cos) = angle.sin_cos();
            let row = RowSamples {
                start: [48.3 - 10.0 * cos, 30.7 - 10.0 * sin],
                step: [20.0 * cos / len as f32, 20.0 * sin / len as f32],
                len,
            };
            let mut fast = vec![0.0f32; len * 3];
            image.sample_row(&row, scale, &mut Interleaved(&mut fast));
            let mut expected = vec![0.0f32; len * 3];
            for col in 0..len {
                let (x, y) = row.point(col);
                let (x0, y0) = (x.floor(), y.floor());
                let top = y0 as usize * image.stride + x0 as usize * 3;
                let sample = image.blend(top, x - x0, y - y0).map(|v| scale.apply(v));
                expected[col * 3..col * 3 + 3].copy_from_slice(&sample);
            }
            let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&expected), "{len} samples at {angle} rad");
        }
    }

    #[test]
    fn outside_the_image_is_black_then_scaled() {
        let frame = gradient_frame(16, 16);
        let rect = RotatedRect {
            center_x_px: -100.0,
            center_y_px: -100.0,
            width_px: 10.0,
            height_px: 10.0,
            rotation_rad: 1.0,
        };
        let mut out = vec![0.0; 4 * 4 * 3];
        sample_rotated_rect(&frame, &rect, 4, 1.0 / 127.5, -1.0, &mut out);
        assert!(out.iter().all(|v| (*v + 1.0).abs() < 1e-6));
    }

    #[test]
    fn angles_wrap_into_half_open_interval() {
        use std::f32::consts::PI;
        assert!((normalize_radians(3.0 * PI / 2.0) + PI / 2.0).abs() < 1e-5);
        assert!((normalize_radians(-PI) - PI).abs() < 1e-5);
        assert!((normalize_radians(0.3) - 0.3).abs() < 1e-6);
    }

    #[test]
    fn malformed_frames_are_reported() {
        let mut frame = gradient_frame(4, 4);
        frame.rgb.pop();
        let message = check_frame(&frame).unwrap_err().to_string();
        assert!(
            message.contains("4x4") && message.contains("47 bytes"),
            "{message}"
        );
    }

    /// On a rect twice the crop's size, the two grids sample half an image pixel apart
    /// (0.5 * (side / N - 1)); at the crop's own size they agree.
    #[test]
    fn mediapipe_grid_is_shifted_by_half_a_pixel_minus_half_a_crop_pixel() {
        let mut frame = Frame::default();
        frame.resize(64, 64);
        for y in 0..64 {
            for x in 0..64 {
                let i = (y * 64 + x) * 3;
                frame.rgb[i] = (x * 2) as u8;
                frame.rgb[i + 1] = (y * 2) as u8;
            }
        }
        let sample = |side: f32, grid: SampleGrid| {
            let rect = RotatedRect {
                center_x_px: 32.0,
                center_y_px: 32.0,
                width_px: side,
                height_px: side,
                rotation_rad: 0.0,
            };
            let mut out = vec![0.0; 8 * 8 * 3];
            sample_rotated_rect_in_layout(
                &frame,
                &rect,
                8,
                0.5,
                0.0,
                PixelLayout::Interleaved,
                grid,
                &mut out,
            );
            out
        };
        // Red = image column (x 2, halved back by the value scale), green = row.
        let centers = sample(16.0, SampleGrid::PixelCenters);
        let mediapipe = sample(16.0, SampleGrid::MediaPipe);
        for i in 0..8 {
            let red = |out: &[f32]| out[(3 * 8 + i) * 3];
            assert!((red(&centers) - (24.0 + 2.0 * i as f32 + 0.5)).abs() < 1e-4);
            assert!((red(&mediapipe) - (24.0 + 2.0 * i as f32)).abs() < 1e-4);
            let green = |out: &[f32]| out[(i * 8 + 3) * 3 + 1];
            assert!((green(&centers) - green(&mediapipe) - 0.5).abs() < 1e-4);
        }
        assert_eq!(
            sample(8.0, SampleGrid::PixelCenters),
            sample(8.0, SampleGrid::MediaPipe)
        );
    }
}
