//! Region motion: optical flow of brows, lower lids, nose wings, mouth corners and upper lip,
//! referenced to the nose, with head motion removed.
//!
//! Blendshapes miss some movements (MediaPipe's `cheekSquint` stays near 0 on real smiles) and
//! are noisy for small ones. The best training-free micro-expression spotters measure optical
//! flow in facial regions relative to the nose instead. [`RegionMotionEstimator`] does this
//! cheaply, per tracked face:
//!
//! 1. Each frame, a small grey crop of the face is sampled with a similarity transform from the
//!    landmarks (eyes level, inter-ocular distance = [`RegionMotionConfig::crop_iod_px`]), so head
//!    translation, roll and distance are mostly gone before any flow is computed. The crop and a
//!    3-level pyramid with gradients go into a per-track history (buffers reused).
//! 2. The reference is the history entry closest to `pts - reference_lag_s` (95 ms by default,
//!    chosen by presentation time, never by a frame count).
//! 3. Pyramidal Lucas–Kanade (bias-compensated; 17x17 window at the brows and lower lids, 7x7 at
//!    the inner brows, nose wings, lips and upper lids, 5x5 at the mouth corners, at 60 px per
//!    IOD) tracks a few points per region, placed from the reference frame's landmarks, from the
//!    reference crop into the current crop.
//! 4. A similarity (shift, scale, rotation) fitted to the rigid points (nose bridge and the
//!    bony sides of the nose) is subtracted: what is left is facial movement relative to the nose.
//! 5. Each region's value is the median of its points, in inter-ocular distances, rotated back to
//!    image axes (x right, y down), written to [`FaceSignals::region_motion`].
//!
//! Regions (subject's left/right; landmark indices of MediaPipe's mesh):
//! brows (outer and middle: 296/334/293, 66/105/63), inner brows (107/55/336/285), eyes = lower
//! lid and the skin under it (374/450/348, 145/230/119: the cheek raise of a genuine smile, not
//! blinks), nose wings (278/279/294, 48/49/64), mouth corners (291, 61: the corner itself), lips =
//! upper lip (0/37/267: down for lip compression, up for a nose wrinkle / upper-lip raise),
//! upper lids = the centre of each upper-lid margin (386, 159: up in surprise, AU5; one point,
//! because the lid lifts most at its centre and the margin's ends hardly move), lower lip =
//! 17/84/314 (up when the lips press together).
//! A region whose points all fail to track reports `[0, 0]`. Brows are long horizontal edges:
//! their vertical motion is well measured, their horizontal motion much less (aperture problem).
//!
//! The value is a difference over ~100 ms, so a brief movement gives a pulse at its rise and an
//! opposite pulse at its fall; a slow drift gives almost nothing.
//!
//! ```
//! use microcue_core::{FaceSignals, TrackId};
//! use microcue_vision::flow::{RegionMotionConfig, RegionMotionEstimator};
//! use microcue_vision::Frame;
//!
//! let mut estimator = RegionMotionEstimator::new(RegionMotionConfig::default());
//! let frame = Frame { width: 4, height: 4, rgb: vec![0; 48], ..Frame::default() };
//! let mut signals = FaceSignals::neutral(TrackId(0), 0.0);
//! // No landmarks, no region motion.
//! estimator.update(&frame, &mut signals);
//! assert!(signals.region_motion.is_none());
//! ```

use std::collections::VecDeque;

use microcue_core::numeric::{EvenMedian, median};
use microcue_core::{FaceSignals, Region, RegionMotion, TrackId};

use crate::frame::Frame;
use crate::warp::FaceAxes;

/// Settings of [`RegionMotionEstimator`].
#[derive(Debug, Clone, PartialEq)]
pub struct RegionMotionConfig {
    /// How far back the reference frame is, seconds. The default, 95 ms, is never half-way
    /// between two frames at 24, 25, 30, 50, 60 or 120 fps, so the lag in frames does not
    /// flicker with rounding (a brief movement must show its return pulse).
    pub reference_lag_s: f64,
    /// Inter-ocular distance in the normalised crop, pixels (sets the crop size: 2.6 x 2.5 IOD).
    pub crop_iod_px: f32,
    /// Half-size of the Lucas–Kanade window at every pyramid level, pixels.
    pub window_radius_px: usize,
    /// Lucas–Kanade iterations per pyramid level, at most.
    pub max_iterations: usize,
    /// A gap between two frames of one track longer than this restarts its history, seconds.
    pub max_gap_s: f64,
    /// Tracks kept at once; the least recently seen is dropped beyond this.
    pub max_tracks: usize,
}

impl Default for RegionMotionConfig {
    fn default() -> Self {
        RegionMotionConfig {
            reference_lag_s: 0.095,
            // Every larger crop found more planted movements than 40 px; 60 px costs least (see
            // docs/evaluation.md). The windows are sized for it.
            crop_iod_px: 60.0,
            window_radius_px: 8,
            max_iterations: 10,
            max_gap_s: 0.5,
            max_tracks: 4,
        }
    }
}

/// Crop layout in inter-ocular distances: width, and extent above and below the eye line.
const CROP_WIDTH_IOD: f32 = 2.6;
const CROP_ABOVE_EYES_IOD: f32 = 0.9;
const CROP_BELOW_EYES_IOD: f32 = 1.6;
/// Pyramid levels (full, half, quarter).
const LEVELS: usize = 3;

/// Points of the rigid reference: the nose bridge and the bony sides of the nose. Chosen away
/// from the brows, lids, nose wings and lips so that expressions do not leak into the
/// head-motion estimate (the nose root between the brows, the inner eye corners and the nose
/// tip do).
const RIGID_LANDMARKS: [usize; 8] = [6, 197, 195, 5, 114, 343, 188, 412];

/// Points of each region, in the order of [`Region::ALL`].
const REGION_LANDMARKS: [&[usize]; Region::COUNT] = [
    &[296, 334, 293],     // BrowLeft
    &[66, 105, 63],       // BrowRight
    &[107, 55, 336, 285], // BrowInner
    &[374, 450, 348],     // LowerLidLeft (lower lid and below)
    &[145, 230, 119],     // LowerLidRight
    &[278, 279, 294],     // NoseLeft
    &[48, 49, 64],        // NoseRight
    &[291],               // MouthCornerLeft (the corner itself)
    &[61],                // MouthCornerRight
    &[0, 37, 267],        // UpperLip
    &[386],               // UpperLidLeft (upper-lid margin, centre)
    &[159],               // UpperLidRight
    &[17, 84, 314],       // LowerLip
];

/// Lucas–Kanade window half-size of each region's points, pixels at the default 60 px per IOD
/// (`None`: [`RegionMotionConfig::window_radius_px`]; a smaller value caps it). A window sees
/// the movement of its centre diluted by the skin around it that moves less, so each region
/// uses the smallest window that still has texture across its edges. Measured on injected
/// movements (docs/evaluation.md, "Window sizes"):
/// - the brows and the lower lids keep 17x17 (long edges: the aperture problem);
/// - the inner brows and the nose wings use 7x7: a nose wrinkle showed 33 % of the planted lift
///   with 17x17 and 71 % with 7x7, a frown 47 % and 59 %;
/// - the upper lip, the lower lip and the upper-lid margins use 7x7 (the lid lifts in a band a
///   few pixels high; lips at 5x5 found no more movements);
/// - each mouth corner is one point on the corner itself, 5x5: the corner moves most, the skin
///   beside it (the old second and third points) half to three quarters as much.
const REGION_WINDOW_RADIUS_PX: [Option<usize>; Region::COUNT] = [
    None,    // BrowLeft
    None,    // BrowRight
    Some(3), // BrowInner
    None,    // LowerLidLeft
    None,    // LowerLidRight
    Some(3), // NoseLeft
    Some(3), // NoseRight
    Some(2), // MouthCornerLeft
    Some(2), // MouthCornerRight
    Some(3), // UpperLip
    Some(3), // UpperLidLeft
    Some(3), // UpperLidRight
    Some(3), // LowerLip
];

/// The window cap of every tracked point (rigid points: none).
const POINT_WINDOW_RADIUS_PX: [Option<usize>; POINT_COUNT] = {
    let mut out = [None; POINT_COUNT];
    let mut i = RIGID_LANDMARKS.len();
    let mut region = 0;
    while region < Region::COUNT {
        let mut j = 0;
        while j < REGION_LANDMARKS[region].len() {
            out[i] = REGION_WINDOW_RADIUS_PX[region];
            i += 1;
            j += 1;
        }
        region += 1;
    }
    out
};

/// Total number of tracked points: rigid ones first, then each region's in order.
const POINT_COUNT: usize = {
    let mut count = RIGID_LANDMARKS.len();
    let mut region = 0;
    while region < Region::COUNT {
        count += REGION_LANDMARKS[region].len();
        region += 1;
    }
    count
};

/// The landmark index of every tracked point.
const POINT_LANDMARKS: [usize; POINT_COUNT] = {
    let mut out = [0usize; POINT_COUNT];
    let mut i = 0;
    while i < RIGID_LANDMARKS.len() {
        out[i] = RIGID_LANDMARKS[i];
        i += 1;
    }
    let mut region = 0;
    while region < Region::COUNT {
        let mut j = 0;
        while j < REGION_LANDMARKS[region].len() {
            out[i] = REGION_LANDMARKS[region][j];
            i += 1;
            j += 1;
        }
        region += 1;
    }
    out
};

/// Largest believable displacement between the reference and the current crop, in IODs.
const MAX_DISPLACEMENT_IOD: f32 = 0.5;
/// Smallest eigenvalue of the structure tensor, per window pixel (grey levels 0..255), below
/// which a window has too little texture to track.
const MIN_EIGENVALUE_PER_PIXEL: f32 = 0.01;

/// One pyramid level: intensity (grey levels 0..255) and its central-difference gradients.
#[derive(Debug, Clone, Default)]
struct Level {
    width: usize,
    height: usize,
    intensity: Vec<f32>,
    grad_x: Vec<f32>,
    grad_y: Vec<f32>,
}

impl Level {
    fn resize(&mut self, width: usize, height: usize) {
        self.width = width;
        self.height = height;
        let len = width * height;
        self.intensity.resize(len, 0.0);
        self.grad_x.resize(len, 0.0);
        self.grad_y.resize(len, 0.0);
    }

    /// Central differences, one-sided at the edges. Rows are written as slices so that the
    /// compiler can vectorise them (element by element the same arithmetic).
    fn compute_gradients(&mut self) {
        let (w, h) = (self.width, self.height);
        for y in 0..h {
            let up = y.saturating_sub(1);
            let down = (y + 1).min(h - 1);
            let row = &self.intensity[y * w..(y + 1) * w];
            let grad_x = &mut self.grad_x[y * w..(y + 1) * w];
            for x in [0, w - 1] {
                let left = x.saturating_sub(1);
                let right = (x + 1).min(w - 1);
                grad_x[x] = 0.5 * (row[right] - row[left]);
            }
            if w > 2 {
                for ((gradient, right), left) in grad_x[1..w - 1]
                    .iter_mut()
                    .zip(&row[2..])
                    .zip(&row[..w - 2])
                {
                    *gradient = 0.5 * (right - left);
                }
            }
            let below = &self.intensity[down * w..(down + 1) * w];
            let above = &self.intensity[up * w..(up + 1) * w];
            for ((gradient, below), above) in self.grad_y[y * w..(y + 1) * w]
                .iter_mut()
                .zip(below)
                .zip(above)
            {
                *gradient = 0.5 * (below - above);
            }
        }
    }

    /// Bilinear samples of `values` on the `side` x `side` grid of unit spacing whose first
    /// point is `corner`, row by row into `out`. All points share one fractional offset, so the
    /// weights are computed once; windows reaching past the edge take the clamped path.
    fn sample_window(&self, values: &[f32], corner: [f32; 2], side: usize, out: &mut [f32]) {
        let x0 = corner[0].floor();
        let y0 = corner[1].floor();
        let inside = x0 >= 0.0
            && y0 >= 0.0
            && (x0 as usize + side) < self.width
            && (y0 as usize + side) < self.height;
        if !inside {
            for (k, value) in out.iter_mut().enumerate() {
                *value = self.sample(
                    values,
                    corner[0] + (k % side) as f32,
                    corner[1] + (k / side) as f32,
                );
            }
            return;
        }
        let fx = corner[0] - x0;
        let fy = corner[1] - y0;
        let (w00, w01, w10, w11) = (
            (1.0 - fx) * (1.0 - fy),
            fx * (1.0 - fy),
            (1.0 - fx) * fy,
            fx * fy,
        );
        let (x0, y0) = (x0 as usize, y0 as usize);
        for (row, out_row) in out.chunks_exact_mut(side).enumerate() {
            let top = &values[(y0 + row) * self.width + x0..][..side + 1];
            let bottom = &values[(y0 + row + 1) * self.width + x0..][..side + 1];
            for (i, value) in out_row.iter_mut().enumerate() {
                *value = w00 * top[i] + w01 * top[i + 1] + w10 * bottom[i] + w11 * bottom[i + 1];
            }
        }
    }

    /// Bilinear sample of `values` (one of this level's planes) at pixel coordinates (pixel
    /// centres at integers), clamped to the edge.
    fn sample(&self, values: &[f32], x: f32, y: f32) -> f32 {
        let x = x.clamp(0.0, (self.width - 1) as f32);
        let y = y.clamp(0.0, (self.height - 1) as f32);
        let x0 = x as usize;
        let y0 = y as usize;
        let x1 = (x0 + 1).min(self.width - 1);
        let y1 = (y0 + 1).min(self.height - 1);
        let fx = x - x0 as f32;
        let fy = y - y0 as f32;
        let top = values[y0 * self.width + x0] * (1.0 - fx) + values[y0 * self.width + x1] * fx;
        let bottom = values[y1 * self.width + x0] * (1.0 - fx) + values[y1 * self.width + x1] * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// A normalised face crop with its pyramid, time and point positions.
#[derive(Debug, Clone, Default)]
struct CropPyramid {
    pts_s: f64,
    levels: [Level; LEVELS],
    /// Tracked points in level-0 crop pixels.
    points: Vec<[f32; 2]>,
}

impl CropPyramid {
    /// Samples the crop of `frame` for a face with `axes` and fills the pyramid, the points and
    /// the time (`pts_s`, the face signals' time).
    fn fill(
        &mut self,
        frame: &Frame,
        pts_s: f64,
        landmarks_in_image: &[[f32; 3]],
        axes: &FaceAxes,
        crop_iod_px: f32,
    ) {
        let width = (CROP_WIDTH_IOD * crop_iod_px).round() as usize;
        let height = ((CROP_ABOVE_EYES_IOD + CROP_BELOW_EYES_IOD) * crop_iod_px).round() as usize;
        let geometry = CropGeometry::new(axes, crop_iod_px, width);
        self.levels[0].resize(width, height);
        let frame_width = frame.width as usize;
        let frame_height = frame.height as usize;
        for (y, row) in self.levels[0].intensity.chunks_exact_mut(width).enumerate() {
            #[cfg(target_arch = "x86_64")]
            let start = avx2::sample_grey_row(frame, &geometry, y, row);
            #[cfg(not(target_arch = "x86_64"))]
            let start = 0;
            for (x, value) in row.iter_mut().enumerate().skip(start) {
                let [ix, iy] = geometry.image_from_crop([x as f32, y as f32]);
                *value = sample_grey(&frame.rgb, frame_width, frame_height, ix - 0.5, iy - 0.5);
            }
        }
        self.levels[0].compute_gradients();
        for level in 1..LEVELS {
            let (lower, upper) = self.levels.split_at_mut(level);
            let source = &lower[level - 1];
            let target = &mut upper[0];
            target.resize(source.width.div_ceil(2), source.height.div_ceil(2));
            for y in 0..target.height {
                for x in 0..target.width {
                    let x0 = 2 * x;
                    let y0 = 2 * y;
                    let x1 = (x0 + 1).min(source.width - 1);
                    let y1 = (y0 + 1).min(source.height - 1);
                    let s = &source.intensity;
                    target.intensity[y * target.width + x] = 0.25
                        * (s[y0 * source.width + x0]
                            + s[y0 * source.width + x1]
                            + s[y1 * source.width + x0]
                            + s[y1 * source.width + x1]);
                }
            }
            target.compute_gradients();
        }
        self.points.clear();
        for &landmark in &POINT_LANDMARKS {
            let p = landmarks_in_image[landmark];
            self.points.push(geometry.crop_from_image([p[0], p[1]]));
        }
        self.pts_s = pts_s;
    }
}

/// The similarity between image pixels and level-0 crop pixels (pixel centres at integers in
/// the crop; at `i + 0.5` in the image, as landmarks are).
struct CropGeometry {
    axes: FaceAxes,
    /// Crop pixels per image pixel.
    scale: f32,
    /// Crop coordinates of the eye midpoint.
    eye_mid_in_crop: [f32; 2],
}

impl CropGeometry {
    fn new(axes: &FaceAxes, crop_iod_px: f32, width: usize) -> Self {
        CropGeometry {
            axes: *axes,
            scale: crop_iod_px / axes.iod_px,
            eye_mid_in_crop: [
                0.5 * (width as f32 - 1.0),
                CROP_ABOVE_EYES_IOD * crop_iod_px - 0.5,
            ],
        }
    }

    fn image_from_crop(&self, p: [f32; 2]) -> [f32; 2] {
        let along = (p[0] - self.eye_mid_in_crop[0]) / self.scale;
        let down = (p[1] - self.eye_mid_in_crop[1]) / self.scale;
        let u = self.axes.toward_left;
        let up = self.axes.up;
        [
            self.axes.eye_mid[0] + along * u[0] - down * up[0],
            self.axes.eye_mid[1] + along * u[1] - down * up[1],
        ]
    }

    fn crop_from_image(&self, p: [f32; 2]) -> [f32; 2] {
        let rel = [p[0] - self.axes.eye_mid[0], p[1] - self.axes.eye_mid[1]];
        let along = rel[0] * self.axes.toward_left[0] + rel[1] * self.axes.toward_left[1];
        let down = -(rel[0] * self.axes.up[0] + rel[1] * self.axes.up[1]);
        [
            self.eye_mid_in_crop[0] + along * self.scale,
            self.eye_mid_in_crop[1] + down * self.scale,
        ]
    }
}

/// Bilinear grey (BT.601 luma, 0..255) sample of an RGB8 image at pixel coordinates (centres at
/// integers), clamped to the edge.
fn sample_grey(rgb: &[u8], width: usize, height: usize, x: f32, y: f32) -> f32 {
    let luma =
        |i: usize| 0.299 * rgb[i] as f32 + 0.587 * rgb[i + 1] as f32 + 0.114 * rgb[i + 2] as f32;
    let x = x.clamp(0.0, (width - 1) as f32);
    let y = y.clamp(0.0, (height - 1) as f32);
    let x0 = x as usize;
    let y0 = y as usize;
    let x1 = (x0 + 1).min(width - 1);
    let y1 = (y0 + 1).min(height - 1);
    let fx = x - x0 as f32;
    let fy = y - y0 as f32;
    let top = luma((y0 * width + x0) * 3) * (1.0 - fx) + luma((y0 * width + x1) * 3) * fx;
    let bottom = luma((y1 * width + x0) * 3) * (1.0 - fx) + luma((y1 * width + x1) * 3) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// [`CropPyramid::fill`]'s grey crop eight pixels at a time with AVX2 (through `pulp`'s safe
/// intrinsics; chosen at run time): [`CropGeometry::image_from_crop`] and [`sample_grey`] with
/// the same operations in the same order (no fused multiply-adds), so the same values; the
/// pixels are read as words and their bytes picked apart in vector registers.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{__m256, __m256i};

    use pulp::bytemuck::cast;
    use pulp::x86::V3;

    use super::CropGeometry;
    use crate::frame::Frame;

    /// Fills `out` with crop row `y` up to a multiple of eight pixels and returns where it
    /// stopped (0 without AVX2).
    pub(super) fn sample_grey_row(
        frame: &Frame,
        geometry: &CropGeometry,
        y: usize,
        out: &mut [f32],
    ) -> usize {
        // Byte offsets are computed in i32 lanes.
        let len = frame.width as usize * frame.height as usize * 3;
        if len > i32::MAX as usize || frame.rgb.len() < len {
            return 0;
        }
        match V3::try_new() {
            Some(simd) => simd.vectorize(GreyRow {
                simd,
                frame,
                geometry,
                y,
                out,
            }),
            None => 0,
        }
    }

    struct GreyRow<'a> {
        simd: V3,
        frame: &'a Frame,
        geometry: &'a CropGeometry,
        y: usize,
        out: &'a mut [f32],
    }

    impl pulp::NullaryFnOnce for GreyRow<'_> {
        type Output = usize;

        // Inlined into pulp's target-feature function: that is what makes these AVX2 code.
        #[inline(always)]
        fn call(self) -> usize {
            let GreyRow {
                simd,
                frame,
                geometry,
                y,
                out,
            } = self;
            let (avx, avx2) = (simd.avx, simd.avx2);
            let (width, height) = (frame.width as i32, frame.height as i32);
            let axes = &geometry.axes;
            // The row's terms of `image_from_crop`, as it computes them.
            let down = (y as f32 - geometry.eye_mid_in_crop[1]) / geometry.scale;
            let (down_x, down_y) = (
                avx._mm256_set1_ps(down * axes.up[0]),
                avx._mm256_set1_ps(down * axes.up[1]),
            );
            let (eye_x, eye_y) = (
                avx._mm256_set1_ps(axes.eye_mid[0]),
                avx._mm256_set1_ps(axes.eye_mid[1]),
            );
            let (along_x, along_y) = (
                avx._mm256_set1_ps(axes.toward_left[0]),
                avx._mm256_set1_ps(axes.toward_left[1]),
            );
            let (mid_x, scale) = (
                avx._mm256_set1_ps(geometry.eye_mid_in_crop[0]),
                avx._mm256_set1_ps(geometry.scale),
            );
            let lanes = avx._mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
            let (half, one, zero) = (
                avx._mm256_set1_ps(0.5),
                avx._mm256_set1_ps(1.0),
                avx._mm256_set1_ps(0.0),
            );
            let (last_x, last_y) = (
                avx._mm256_set1_ps((width - 1) as f32),
                avx._mm256_set1_ps((height - 1) as f32),
            );
            let (last_col, last_row) = (
                avx._mm256_set1_epi32(width - 1),
                avx._mm256_set1_epi32(height - 1),
            );
            let width_v = avx._mm256_set1_epi32(width);
            let ones = avx._mm256_set1_epi32(1);
            let mut x = 0;
            while x + 8 <= out.len() {
                let cols = avx._mm256_add_ps(avx._mm256_set1_ps(x as f32), lanes);
                let along = avx._mm256_div_ps(avx._mm256_sub_ps(cols, mid_x), scale);
                let ix = avx._mm256_sub_ps(
                    avx._mm256_add_ps(eye_x, avx._mm256_mul_ps(along, along_x)),
                    down_x,
                );
                let iy = avx._mm256_sub_ps(
                    avx._mm256_add_ps(eye_y, avx._mm256_mul_ps(along, along_y)),
                    down_y,
                );
                // `sample_grey`: clamp to the image (finite values), floor, the next pixel.
                let sx =
                    avx._mm256_min_ps(avx._mm256_max_ps(avx._mm256_sub_ps(ix, half), zero), last_x);
                let sy =
                    avx._mm256_min_ps(avx._mm256_max_ps(avx._mm256_sub_ps(iy, half), zero), last_y);
                let (x0, y0) = (avx._mm256_cvttps_epi32(sx), avx._mm256_cvttps_epi32(sy));
                let x1 = avx2._mm256_min_epi32(avx2._mm256_add_epi32(x0, ones), last_col);
                let y1 = avx2._mm256_min_epi32(avx2._mm256_add_epi32(y0, ones), last_row);
                let fx = avx._mm256_sub_ps(sx, avx._mm256_cvtepi32_ps(x0));
                let fy = avx._mm256_sub_ps(sy, avx._mm256_cvtepi32_ps(y0));
                let corners = [
                    byte_offsets(simd, y0, x0, width_v),
                    byte_offsets(simd, y0, x1, width_v),
                    byte_offsets(simd, y1, x0, width_v),
                    byte_offsets(simd, y1, x1, width_v),
                ];
                // Each corner pixel as one word, R G B 0.
                let mut words = [[0u32; 8]; 4];
                for (corner, offsets) in words.iter_mut().zip(&corners) {
                    for (word, &at) in corner.iter_mut().zip(offsets) {
                        let at = at as usize;
                        let pixel = &frame.rgb[at..at + 3];
                        *word = u32::from_le_bytes([pixel[0], pixel[1], pixel[2], 0]);
                    }
                }
                let l00 = luma(simd, words[0]);
                let l10 = luma(simd, words[1]);
                let l01 = luma(simd, words[2]);
                let l11 = luma(simd, words[3]);
                let (gx, gy) = (avx._mm256_sub_ps(one, fx), avx._mm256_sub_ps(one, fy));
                let top = avx._mm256_add_ps(avx._mm256_mul_ps(l00, gx), avx._mm256_mul_ps(l10, fx));
                let bottom =
                    avx._mm256_add_ps(avx._mm256_mul_ps(l01, gx), avx._mm256_mul_ps(l11, fx));
                let value: __m256 =
                    avx._mm256_add_ps(avx._mm256_mul_ps(top, gy), avx._mm256_mul_ps(bottom, fy));
                out[x..x + 8].copy_from_slice(&cast::<__m256, [f32; 8]>(value));
                x += 8;
            }
            x
        }
    }

    /// `(row * width + col) * 3` per lane: the byte offset of a pixel.
    #[inline(always)]
    fn byte_offsets(simd: V3, row: __m256i, col: __m256i, width: __m256i) -> [i32; 8] {
        let avx2 = simd.avx2;
        let pixel = avx2._mm256_add_epi32(avx2._mm256_mullo_epi32(row, width), col);
        cast(avx2._mm256_mullo_epi32(pixel, simd.avx._mm256_set1_epi32(3)))
    }

    /// BT.601 luma of eight R G B 0 words, as `sample_grey` computes it.
    #[inline(always)]
    fn luma(simd: V3, words: [u32; 8]) -> __m256 {
        let (avx, avx2) = (simd.avx, simd.avx2);
        let words: __m256i = cast(words);
        let low_byte = avx._mm256_set1_epi32(0xff);
        let r = avx._mm256_cvtepi32_ps(avx2._mm256_and_si256(words, low_byte));
        let g = avx._mm256_cvtepi32_ps(
            avx2._mm256_and_si256(avx2._mm256_srli_epi32::<8>(words), low_byte),
        );
        let b = avx._mm256_cvtepi32_ps(avx2._mm256_srli_epi32::<16>(words));
        avx._mm256_add_ps(
            avx._mm256_add_ps(
                avx._mm256_mul_ps(avx._mm256_set1_ps(0.299), r),
                avx._mm256_mul_ps(avx._mm256_set1_ps(0.587), g),
            ),
            avx._mm256_mul_ps(avx._mm256_set1_ps(0.114), b),
        )
    }
}

/// Scratch buffers of one Lucas–Kanade window.
#[derive(Debug, Clone, Default)]
struct Window {
    template: Vec<f32>,
    grad_x: Vec<f32>,
    grad_y: Vec<f32>,
    current: Vec<f32>,
}

/// Pyramidal, bias-compensated Lucas–Kanade: where did the content at `point` (level-0 pixels of
/// `reference`) go in `current`? `None` when the window has too little texture or the
/// iteration runs away.
fn track_point(
    reference: &CropPyramid,
    current: &CropPyramid,
    point: [f32; 2],
    radius: usize,
    max_iterations: usize,
    max_displacement_px: f32,
    window: &mut Window,
) -> Option<[f32; 2]> {
    let side = 2 * radius + 1;
    let n = side * side;
    window.template.resize(n, 0.0);
    window.grad_x.resize(n, 0.0);
    window.grad_y.resize(n, 0.0);
    window.current.resize(n, 0.0);
    let r = radius as f32;
    let mut guess = [0.0f32; 2];
    let mut level_point = point;
    let mut level_points = [[0.0f32; 2]; LEVELS];
    for entry in level_points.iter_mut() {
        *entry = level_point;
        // Level l+1 pixel i averages level-l pixels 2i and 2i+1 (centre 2i + 0.5).
        level_point = [(level_point[0] - 0.5) * 0.5, (level_point[1] - 0.5) * 0.5];
    }
    for level in (0..LEVELS).rev() {
        let ref_level = &reference.levels[level];
        let cur_level = &current.levels[level];
        let p = level_points[level];
        let corner = [p[0] - r, p[1] - r];
        ref_level.sample_window(&ref_level.intensity, corner, side, &mut window.template);
        ref_level.sample_window(&ref_level.grad_x, corner, side, &mut window.grad_x);
        ref_level.sample_window(&ref_level.grad_y, corner, side, &mut window.grad_y);
        let (mut gxx, mut gxy, mut gyy, mut template_sum) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for ((t, gx), gy) in window
            .template
            .iter()
            .zip(&window.grad_x)
            .zip(&window.grad_y)
        {
            gxx += gx * gx;
            gxy += gx * gy;
            gyy += gy * gy;
            template_sum += t;
        }
        let half_trace = 0.5 * (gxx + gyy);
        let min_eigenvalue = half_trace - (0.25 * (gxx - gyy) * (gxx - gyy) + gxy * gxy).sqrt();
        if min_eigenvalue.is_nan() || min_eigenvalue < MIN_EIGENVALUE_PER_PIXEL * n as f32 {
            return None;
        }
        let determinant = gxx * gyy - gxy * gxy;
        let template_mean = template_sum / n as f32;
        let mut v = [0.0f32; 2];
        for _ in 0..max_iterations {
            let corner = [p[0] + guess[0] + v[0] - r, p[1] + guess[1] + v[1] - r];
            cur_level.sample_window(&cur_level.intensity, corner, side, &mut window.current);
            let current_sum: f32 = window.current.iter().sum();
            let bias = template_mean - current_sum / n as f32;
            let (mut bx, mut by) = (0.0f32, 0.0f32);
            for k in 0..n {
                let error = window.template[k] - window.current[k] - bias;
                bx += error * window.grad_x[k];
                by += error * window.grad_y[k];
            }
            let step = [
                (gyy * bx - gxy * by) / determinant,
                (gxx * by - gxy * bx) / determinant,
            ];
            v[0] += step[0];
            v[1] += step[1];
            if step[0] * step[0] + step[1] * step[1] < 1e-4 {
                break;
            }
        }
        guess = [guess[0] + v[0], guess[1] + v[1]];
        if level > 0 {
            guess = [guess[0] * 2.0, guess[1] * 2.0];
        }
        if !(guess[0].is_finite() && guess[1].is_finite()) {
            return None;
        }
    }
    if guess[0].hypot(guess[1]) > max_displacement_px {
        None
    } else {
        Some(guess)
    }
}

impl Default for RegionMotionEstimator {
    fn default() -> Self {
        RegionMotionEstimator::new(RegionMotionConfig::default())
    }
}

/// History and scratch of one tracked face.
#[derive(Debug, Default)]
struct TrackState {
    track: TrackId,
    last_pts_s: f64,
    history: VecDeque<CropPyramid>,
}

/// Computes [`RegionMotion`] for each tracked face, frame by frame (see the module doc).
///
/// Holds one history per [`TrackId`]; all buffers are reused once the history has filled, so
/// the per-frame path does not allocate in steady state.
#[derive(Debug)]
pub struct RegionMotionEstimator {
    config: RegionMotionConfig,
    tracks: Vec<TrackState>,
    /// Crops no longer needed, kept for reuse.
    spare: Vec<CropPyramid>,
    window: Window,
    displacements: Vec<Option<[f32; 2]>>,
}

impl RegionMotionEstimator {
    /// A new estimator with no history.
    pub fn new(config: RegionMotionConfig) -> Self {
        RegionMotionEstimator {
            config,
            tracks: Vec::new(),
            spare: Vec::new(),
            window: Window::default(),
            displacements: Vec::with_capacity(POINT_COUNT),
        }
    }

    /// The settings.
    pub fn config(&self) -> &RegionMotionConfig {
        &self.config
    }

    /// Forgets all history (e.g. after a seek).
    pub fn reset(&mut self) {
        for mut state in self.tracks.drain(..) {
            self.spare.extend(state.history.drain(..));
        }
    }

    /// Measures region motion of the face in `signals` (its landmarks, track and pts) on `frame`
    /// and sets `signals.region_motion`: `Some` once the track has a reference frame about
    /// `reference_lag_s` old, `None` without landmarks, at the start of a track or after a gap.
    pub fn update(&mut self, frame: &Frame, signals: &mut FaceSignals) {
        signals.region_motion = None;
        let frame_ok = frame.width > 0
            && frame.height > 0
            && frame.rgb.len() >= frame.width as usize * frame.height as usize * 3;
        let Some(axes) = FaceAxes::from_landmarks(&signals.landmarks_in_image) else {
            return;
        };
        if !frame_ok || !signals.pts_s.is_finite() {
            return;
        }
        let index = self.track_index(signals.track, signals.pts_s);
        let lag_s = self.config.reference_lag_s;

        let mut crop = self.spare.pop().unwrap_or_default();
        crop.fill(
            frame,
            signals.pts_s,
            &signals.landmarks_in_image,
            &axes,
            self.config.crop_iod_px,
        );

        let state = &mut self.tracks[index];
        // The history entry closest to `pts - lag` (at most half a lag off).
        let target_s = signals.pts_s - lag_s;
        let reference = state
            .history
            .iter()
            .filter(|entry| {
                entry.pts_s < signals.pts_s && (entry.pts_s - target_s).abs() <= 0.5 * lag_s
            })
            .min_by(|a, b| {
                (a.pts_s - target_s)
                    .abs()
                    .total_cmp(&(b.pts_s - target_s).abs())
            });
        if let Some(reference) = reference {
            signals.region_motion = measure(
                reference,
                &crop,
                &axes,
                &self.config,
                &mut self.window,
                &mut self.displacements,
            )
            .map(|motion| RegionMotion {
                lag_s: (signals.pts_s - reference.pts_s) as f32,
                ..motion
            });
        }

        // Keep what may still serve as a reference; recycle the rest.
        while state
            .history
            .front()
            .is_some_and(|entry| entry.pts_s < signals.pts_s - 1.5 * lag_s)
        {
            if let Some(old) = state.history.pop_front() {
                self.spare.push(old);
            }
        }
        state.history.push_back(crop);
        state.last_pts_s = signals.pts_s;
    }

    /// Index of the state of `track`, created (or restarted after a gap) as needed.
    fn track_index(&mut self, track: TrackId, pts_s: f64) -> usize {
        if let Some(index) = self.tracks.iter().position(|state| state.track == track) {
            let state = &mut self.tracks[index];
            let gap_s = pts_s - state.last_pts_s;
            if !(0.0..=self.config.max_gap_s).contains(&gap_s) || gap_s == 0.0 {
                self.spare.extend(state.history.drain(..));
            }
            return index;
        }
        if self.tracks.len() >= self.config.max_tracks.max(1) {
            // Drop the least recently seen track.
            let oldest = self
                .tracks
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.last_pts_s.total_cmp(&b.1.last_pts_s))
                .map(|(i, _)| i)
                .unwrap_or(0);
            let mut state = self.tracks.swap_remove(oldest);
            self.spare.extend(state.history.drain(..));
        }
        self.tracks.push(TrackState {
            track,
            last_pts_s: pts_s,
            history: VecDeque::new(),
        });
        self.tracks.len() - 1
    }
}

/// Tracks all points from `reference` to `current`, removes the rigid motion and returns each
/// region's median motion in IODs, image axes. `None` when the rigid reference fails.
fn measure(
    reference: &CropPyramid,
    current: &CropPyramid,
    axes: &FaceAxes,
    config: &RegionMotionConfig,
    window: &mut Window,
    displacements: &mut Vec<Option<[f32; 2]>>,
) -> Option<RegionMotion> {
    let max_displacement_px = MAX_DISPLACEMENT_IOD * config.crop_iod_px;
    displacements.clear();
    for (index, &point) in reference.points.iter().enumerate() {
        let radius = POINT_WINDOW_RADIUS_PX[index].map_or(config.window_radius_px, |cap| {
            cap.min(config.window_radius_px)
        });
        displacements.push(track_point(
            reference,
            current,
            point,
            radius,
            config.max_iterations,
            max_displacement_px,
            window,
        ));
    }
    let rigid = fit_similarity(
        &reference.points[..RIGID_LANDMARKS.len()],
        &displacements[..RIGID_LANDMARKS.len()],
    )?;

    let mut motion = RegionMotion::default();
    let mut start = RIGID_LANDMARKS.len();
    for (region, landmarks) in REGION_LANDMARKS.iter().enumerate() {
        let end = start + landmarks.len();
        let mut xs = [0.0f32; 4];
        let mut ys = [0.0f32; 4];
        let mut count = 0;
        for (point, displacement) in reference.points[start..end]
            .iter()
            .zip(&displacements[start..end])
        {
            if let Some(d) = displacement {
                let predicted = rigid.displacement_at(*point);
                xs[count] = d[0] - predicted[0];
                ys[count] = d[1] - predicted[1];
                count += 1;
            }
        }
        start = end;
        if count == 0 {
            continue;
        }
        let along = median(&mut xs[..count], EvenMedian::Mean).unwrap_or(0.0) / config.crop_iod_px;
        let down = median(&mut ys[..count], EvenMedian::Mean).unwrap_or(0.0) / config.crop_iod_px;
        // Crop x is `toward_left`, crop y is "down the face" (= -up).
        motion.values[region] = [
            along * axes.toward_left[0] - down * axes.up[0],
            along * axes.toward_left[1] - down * axes.up[1],
        ];
    }
    Some(motion)
}

/// A small similarity motion `d(p) = shift + [[a, -b], [b, a]] (p - centre)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Similarity {
    centre: [f32; 2],
    shift: [f32; 2],
    a: f32,
    b: f32,
}

impl Similarity {
    fn displacement_at(&self, p: [f32; 2]) -> [f32; 2] {
        let q = [p[0] - self.centre[0], p[1] - self.centre[1]];
        [
            self.shift[0] + self.a * q[0] - self.b * q[1],
            self.shift[1] + self.b * q[0] + self.a * q[1],
        ]
    }
}

/// Least-squares similarity motion of the tracked rigid points, refitted once without points
/// far off the first fit. `None` with fewer than 3 tracked points.
fn fit_similarity(points: &[[f32; 2]], displacements: &[Option<[f32; 2]>]) -> Option<Similarity> {
    let mut use_point = [false; RIGID_LANDMARKS.len()];
    for (flag, displacement) in use_point.iter_mut().zip(displacements) {
        *flag = displacement.is_some();
    }
    let mut fit = fit_similarity_subset(points, displacements, &use_point)?;
    let mut residuals = [0.0f32; RIGID_LANDMARKS.len()];
    let mut count = 0;
    for ((point, displacement), flag) in points.iter().zip(displacements).zip(&use_point) {
        if let (Some(d), true) = (displacement, flag) {
            let predicted = fit.displacement_at(*point);
            residuals[count] = (d[0] - predicted[0]).hypot(d[1] - predicted[1]);
            count += 1;
        }
    }
    let limit = (3.0 * median(&mut residuals[..count], EvenMedian::Mean).unwrap_or(0.0)).max(0.3);
    let mut changed = false;
    for ((point, displacement), flag) in points.iter().zip(displacements).zip(use_point.iter_mut())
    {
        if let (Some(d), true) = (displacement, *flag) {
            let predicted = fit.displacement_at(*point);
            if (d[0] - predicted[0]).hypot(d[1] - predicted[1]) > limit {
                *flag = false;
                changed = true;
            }
        }
    }
    if changed && let Some(refit) = fit_similarity_subset(points, displacements, &use_point) {
        fit = refit;
    }
    Some(fit)
}

fn fit_similarity_subset(
    points: &[[f32; 2]],
    displacements: &[Option<[f32; 2]>],
    use_point: &[bool],
) -> Option<Similarity> {
    let selected = || {
        points
            .iter()
            .zip(displacements)
            .zip(use_point)
            .filter_map(|((p, d), flag)| if *flag { d.map(|d| (*p, d)) } else { None })
    };
    let count = selected().count();
    if count < 3 {
        return None;
    }
    let n = count as f32;
    let (mut centre, mut shift) = ([0.0f32; 2], [0.0f32; 2]);
    for (p, d) in selected() {
        centre[0] += p[0] / n;
        centre[1] += p[1] / n;
        shift[0] += d[0] / n;
        shift[1] += d[1] / n;
    }
    let (mut spread, mut dot, mut cross) = (0.0f32, 0.0f32, 0.0f32);
    for (p, d) in selected() {
        let q = [p[0] - centre[0], p[1] - centre[1]];
        let e = [d[0] - shift[0], d[1] - shift[1]];
        spread += q[0] * q[0] + q[1] * q[1];
        dot += q[0] * e[0] + q[1] * e[1];
        cross += q[0] * e[1] - q[1] * e[0];
    }
    if spread <= f32::EPSILON {
        return None;
    }
    Some(Similarity {
        centre,
        shift,
        a: dot / spread,
        b: cross / spread,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::astronaut;
    use crate::warp::{WarpSpec, warp_frame};
    use microcue_core::{CueId, LANDMARK_COUNT, Side};

    /// A smooth, textured test image: sum of a few sinusoids.
    fn texture(width: u32, height: u32, shift: [f32; 2]) -> Frame {
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            for x in 0..width {
                let (fx, fy) = (x as f32 - shift[0], y as f32 - shift[1]);
                let v = 128.0
                    + 40.0 * (0.21 * fx + 0.05 * fy).sin()
                    + 30.0 * (0.13 * fy - 0.07 * fx).cos()
                    + 25.0 * (0.31 * fx * 0.7 + 0.27 * fy).sin();
                let g = v.clamp(0.0, 255.0) as u8;
                rgb.extend_from_slice(&[g, g, g]);
            }
        }
        Frame {
            pts_s: 0.0,
            index: 0,
            width,
            height,
            rgb,
        }
    }

    /// Shifts `src` by `shift` pixels (bilinear): content at p moves to p + shift.
    fn translate(src: &Frame, shift: [f32; 2]) -> Frame {
        let mut out = src.clone();
        let w = src.width as usize;
        let h = src.height as usize;
        for y in 0..h {
            for x in 0..w {
                let sx = (x as f32 - shift[0]).clamp(0.0, (w - 1) as f32);
                let sy = (y as f32 - shift[1]).clamp(0.0, (h - 1) as f32);
                let (x0, y0) = (sx as usize, sy as usize);
                let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
                let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
                for c in 0..3 {
                    let v = |xx: usize, yy: usize| src.rgb[(yy * w + xx) * 3 + c] as f32;
                    let top = v(x0, y0) * (1.0 - fx) + v(x1, y0) * fx;
                    let bottom = v(x0, y1) * (1.0 - fx) + v(x1, y1) * fx;
                    out.rgb[(y * w + x) * 3 + c] = (top * (1.0 - fy) + bottom * fy + 0.5) as u8;
                }
            }
        }
        out
    }

    /// A landmark set laid out like a face over a 200x200 image (only the points used here
    /// matter: eye corners and tracked points), for synthetic-texture tests.
    fn synthetic_landmarks(scale: f32, offset: [f32; 2]) -> Vec<[f32; 3]> {
        let mut landmarks = vec![[100.0, 110.0, 0.0]; LANDMARK_COUNT];
        let mut set = |i: usize, x: f32, y: f32| {
            landmarks[i] = [offset[0] + scale * x, offset[1] + scale * y, 0.0]
        };
        set(33, 60.0, 80.0);
        set(133, 85.0, 80.0);
        set(362, 115.0, 80.0);
        set(263, 140.0, 80.0);
        let mut k = 0;
        for &index in &POINT_LANDMARKS {
            if [33, 133, 362, 263].contains(&index) {
                continue;
            }
            // Spread the tracked points over the face area.
            let gx = 60.0 + 16.0 * (k % 6) as f32;
            let gy = 70.0 + 14.0 * (k / 6) as f32;
            set(index, gx, gy);
            k += 1;
        }
        set(133, 85.0, 80.0);
        set(362, 115.0, 80.0);
        landmarks
    }

    fn signals_at(pts_s: f64, landmarks: &[[f32; 3]]) -> FaceSignals {
        let mut signals = FaceSignals::neutral(TrackId(1), pts_s);
        signals.landmarks_in_image = landmarks.to_vec();
        signals
    }

    /// The grey crop (eight pixels at a time with AVX2 where the CPU has it) and its
    /// gradients give the same bits as the plain per-pixel definitions, also where the crop
    /// reaches past the image's edges and the face is turned.
    #[test]
    fn grey_crop_and_gradients_match_the_per_pixel_definitions_exactly() {
        let (width, height) = (150usize, 110usize);
        let mut state = 777u32;
        let rgb = (0..width * height * 3)
            .map(|_| {
                state = state.wrapping_mul(1664525).wrapping_add(1013904223);
                (state >> 24) as u8
            })
            .collect();
        let frame = Frame {
            width: width as u32,
            height: height as u32,
            rgb,
            ..Frame::default()
        };
        for (scale, offset, angle) in [
            (0.6f32, [10.0f32, 5.0], 0.0f32),
            (0.9, [-40.0, 30.0], 0.35),
            (1.3, [-50.0, -60.0], -2.8),
        ] {
            let (sin, cos) = angle.sin_cos();
            let landmarks: Vec<[f32; 3]> = synthetic_landmarks(scale, offset)
                .iter()
                .map(|p| {
                    let (dx, dy) = (p[0] - 75.0, p[1] - 55.0);
                    [75.0 + dx * cos - dy * sin, 55.0 + dx * sin + dy * cos, 0.0]
                })
                .collect();
            let axes = FaceAxes::from_landmarks(&landmarks).expect("axes");
            let mut crop = CropPyramid::default();
            crop.fill(&frame, 0.0, &landmarks, &axes, 60.0);
            let level = &crop.levels[0];
            let geometry = CropGeometry::new(&axes, 60.0, level.width);
            let (w, h) = (level.width, level.height);
            for y in 0..h {
                for x in 0..w {
                    let [ix, iy] = geometry.image_from_crop([x as f32, y as f32]);
                    let expected = sample_grey(&frame.rgb, width, height, ix - 0.5, iy - 0.5);
                    let i = y * w + x;
                    assert_eq!(
                        level.intensity[i].to_bits(),
                        expected.to_bits(),
                        "pixel {x},{y} at scale {scale}, angle {angle}"
                    );
                    let value = |x: usize, y: usize| level.intensity[y * w + x];
                    let grad_x =
                        0.5 * (value((x + 1).min(w - 1), y) - value(x.saturating_sub(1), y));
                    let grad_y =
                        0.5 * (value(x, (y + 1).min(h - 1)) - value(x, y.saturating_sub(1)));
                    assert_eq!(level.grad_x[i].to_bits(), grad_x.to_bits());
                    assert_eq!(level.grad_y[i].to_bits(), grad_y.to_bits());
                }
            }
        }
    }

    #[test]
    fn lucas_kanade_recovers_a_subpixel_shift() {
        let landmarks = synthetic_landmarks(1.0, [0.0, 0.0]);
        let axes = FaceAxes::from_landmarks(&landmarks).expect("axes");
        let mut reference = CropPyramid::default();
        let mut current = CropPyramid::default();
        let shift = [1.3f32, -0.7];
        reference.fill(&texture(200, 200, [0.0, 0.0]), 0.0, &landmarks, &axes, 40.0);
        current.fill(&texture(200, 200, shift), 0.1, &landmarks, &axes, 40.0);
        let crop_per_image = 40.0 / axes.iod_px;
        let mut window = Window::default();
        for &point in &[[40.0f32, 40.0], [60.0, 70.0], [25.0, 55.0]] {
            let d = track_point(&reference, &current, point, 7, 10, 20.0, &mut window)
                .expect("textured point tracks");
            let expected = [shift[0] * crop_per_image, shift[1] * crop_per_image];
            assert!(
                (d[0] - expected[0]).abs() < 0.05 && (d[1] - expected[1]).abs() < 0.05,
                "{d:?} vs {expected:?}"
            );
        }
        // A flat window does not track.
        let flat = Frame {
            width: 200,
            height: 200,
            rgb: vec![90; 200 * 200 * 3],
            ..Frame::default()
        };
        reference.fill(&flat, 0.0, &landmarks, &axes, 40.0);
        current.fill(&flat, 0.1, &landmarks, &axes, 40.0);
        assert!(
            track_point(&reference, &current, [40.0, 40.0], 7, 10, 20.0, &mut window).is_none()
        );
    }

    #[test]
    fn similarity_fit_recovers_shift_scale_and_rotation() {
        let points = [
            [10.0f32, 10.0],
            [30.0, 12.0],
            [20.0, 40.0],
            [25.0, 25.0],
            [5.0, 30.0],
        ];
        let truth = Similarity {
            centre: [18.0, 23.4],
            shift: [0.5, -0.25],
            a: 0.02,
            b: -0.01,
        };
        let displacements: Vec<Option<[f32; 2]>> = points
            .iter()
            .map(|p| Some(truth.displacement_at(*p)))
            .collect();
        let mut padded_points = [[0.0f32; 2]; RIGID_LANDMARKS.len()];
        let mut padded = [None; RIGID_LANDMARKS.len()];
        padded_points[..5].copy_from_slice(&points);
        padded[..5].copy_from_slice(&displacements);
        let fit = fit_similarity(&padded_points, &padded).expect("fit");
        for p in points {
            let a = fit.displacement_at(p);
            let b = truth.displacement_at(p);
            assert!((a[0] - b[0]).abs() < 1e-4 && (a[1] - b[1]).abs() < 1e-4);
        }
        assert!(fit_similarity(&padded_points, &[None; RIGID_LANDMARKS.len()]).is_none());
    }

    #[test]
    fn reference_is_chosen_by_time_and_gaps_restart_the_history() {
        let landmarks = synthetic_landmarks(1.0, [0.0, 0.0]);
        let frame = texture(200, 200, [0.0, 0.0]);
        let mut estimator = RegionMotionEstimator::new(RegionMotionConfig::default());
        let mut signals = signals_at(0.0, &landmarks);
        // 50 fps: nothing until a frame ~100 ms old exists (>= 50 ms with the half-lag tolerance).
        let mut first_some = None;
        for i in 0..20 {
            signals.pts_s = i as f64 * 0.02;
            estimator.update(&frame, &mut signals);
            if signals.region_motion.is_some() && first_some.is_none() {
                first_some = Some(i);
            }
        }
        assert_eq!(first_some, Some(3), "first reference at >= 50 ms back");
        let motion = signals.region_motion.expect("motion on a static texture");
        for value in motion.values {
            assert!(
                value[0].abs() < 1e-3 && value[1].abs() < 1e-3,
                "static image gives no motion: {value:?}"
            );
        }
        // A 1 s gap restarts the history.
        signals.pts_s += 1.0;
        estimator.update(&frame, &mut signals);
        assert!(signals.region_motion.is_none());
        // No landmarks, no motion.
        signals.pts_s += 0.02;
        signals.landmarks_in_image.clear();
        estimator.update(&frame, &mut signals);
        assert!(signals.region_motion.is_none());
    }

    /// Runs neutral frames for 200 ms at 30 fps, then `moved` at the next frame, and returns the
    /// motion reported for it.
    fn motion_after(
        neutral: &Frame,
        neutral_landmarks: &[[f32; 3]],
        moved: &Frame,
        moved_landmarks: &[[f32; 3]],
    ) -> RegionMotion {
        let mut estimator = RegionMotionEstimator::new(RegionMotionConfig::default());
        let mut signals = signals_at(0.0, neutral_landmarks);
        for i in 0..6 {
            signals.pts_s = i as f64 / 30.0;
            estimator.update(neutral, &mut signals);
        }
        let mut signals = signals_at(6.0 / 30.0, moved_landmarks);
        estimator.update(moved, &mut signals);
        signals.region_motion.expect("region motion")
    }

    #[test]
    fn astronaut_head_translation_is_removed() {
        let (frame, landmarks) = astronaut();
        let shift = [2.6f32, -1.7];
        let moved = translate(&frame, shift);
        let moved_landmarks: Vec<[f32; 3]> = landmarks
            .iter()
            .map(|p| [p[0] + shift[0], p[1] + shift[1], p[2]])
            .collect();
        // The small windows (inner brows, nose, mouth, lids) see more resampling noise than the
        // large ones (under 0.008 IOD; planted movements are 0.015-0.05).
        let limit = |index: usize, large_window: f32| {
            if REGION_WINDOW_RADIUS_PX[index].is_some() {
                0.008
            } else {
                large_window
            }
        };
        let motion = motion_after(&frame, &landmarks, &moved, &moved_landmarks);
        for (index, (region, value)) in Region::ALL.iter().zip(motion.values).enumerate() {
            let limit = limit(index, 0.004);
            assert!(
                value[0].abs() < limit && value[1].abs() < limit,
                "{region:?}: {value:?}"
            );
        }
        // Even with landmarks that did not follow the head (crop misplaced by the full shift),
        // the rigid fit removes the shift.
        // (A mouth corner, one point in a 5x5 window, shows 0.0063 IOD here.)
        let motion = motion_after(&frame, &landmarks, &moved, &landmarks);
        for (index, (region, value)) in Region::ALL.iter().zip(motion.values).enumerate() {
            let limit = limit(index, 0.006);
            assert!(
                value[0].abs() < limit && value[1].abs() < limit,
                "stale landmarks, {region:?}: {value:?}"
            );
        }
    }

    #[test]
    fn astronaut_injected_movements_show_in_their_regions() {
        let (frame, landmarks) = astronaut();
        let amplitude_iod = 0.04;
        let mut moved = Frame::default();

        let spec = WarpSpec {
            cue: CueId::EyebrowFlash,
            side: Side::Both,
            amplitude_iod,
        };
        warp_frame(&frame, &landmarks, &spec, 1.0, &mut moved);
        let motion = motion_after(&frame, &landmarks, &moved, &landmarks);
        for region in [Region::BrowLeft, Region::BrowRight, Region::BrowInner] {
            let [dx, dy] = motion.get(region);
            assert!(
                dy < -0.6 * amplitude_iod && dx.abs() < 0.25 * amplitude_iod,
                "eyebrow flash, {region:?}: {:?}",
                motion.get(region)
            );
        }
        for region in [
            Region::LowerLidLeft,
            Region::LowerLidRight,
            Region::NoseLeft,
            Region::NoseRight,
            Region::MouthCornerLeft,
            Region::MouthCornerRight,
            Region::UpperLip,
        ] {
            let [dx, dy] = motion.get(region);
            assert!(
                dx.abs() < 0.1 * amplitude_iod && dy.abs() < 0.1 * amplitude_iod,
                "eyebrow flash, {region:?} still: {:?}",
                motion.get(region)
            );
        }

        let flash_lids =
            [Region::UpperLidLeft, Region::UpperLidRight].map(|region| motion.get(region)[1]);
        let spec = WarpSpec {
            cue: CueId::MicroSurprise,
            side: Side::Both,
            amplitude_iod,
        };
        warp_frame(&frame, &landmarks, &spec, 1.0, &mut moved);
        let motion = motion_after(&frame, &landmarks, &moved, &landmarks);
        for (region, flash_dy) in [Region::UpperLidLeft, Region::UpperLidRight]
            .into_iter()
            .zip(flash_lids)
        {
            let [_, dy] = motion.get(region);
            // The surprise lifts the lid margin (0.6 of the amplitude at its centre); the flash
            // leaves it nearly still.
            assert!(
                dy < -0.3 * amplitude_iod && dy < 2.0 * flash_dy,
                "surprise lifts the upper lid, {region:?}: {dy} (flash {flash_dy})"
            );
        }

        let spec = WarpSpec {
            cue: CueId::MicroFrown,
            side: Side::Both,
            amplitude_iod,
        };
        warp_frame(&frame, &landmarks, &spec, 1.0, &mut moved);
        let motion = motion_after(&frame, &landmarks, &moved, &landmarks);
        assert!(
            motion.get(Region::BrowInner)[1] > 0.3 * amplitude_iod,
            "frown lowers the inner brows: {:?}",
            motion.get(Region::BrowInner)
        );

        let spec = WarpSpec {
            cue: CueId::UnilateralLipCorner,
            side: Side::Left,
            amplitude_iod,
        };
        warp_frame(&frame, &landmarks, &spec, 1.0, &mut moved);
        let motion = motion_after(&frame, &landmarks, &moved, &landmarks);
        let [dx, dy] = motion.get(Region::MouthCornerLeft);
        assert!(
            dx > 0.45 * amplitude_iod && dy < -0.35 * amplitude_iod,
            "subject's left corner up/out (image right): {dx} {dy}"
        );
        let [dx, dy] = motion.get(Region::MouthCornerRight);
        assert!(
            dx.abs() < 0.05 * amplitude_iod && dy.abs() < 0.05 * amplitude_iod,
            "other corner still: {dx} {dy}"
        );

        let spec = WarpSpec {
            cue: CueId::LipCompression,
            side: Side::Both,
            amplitude_iod,
        };
        warp_frame(&frame, &landmarks, &spec, 1.0, &mut moved);
        let motion = motion_after(&frame, &landmarks, &moved, &landmarks);
        assert!(
            motion.get(Region::UpperLip)[1] > 0.5 * amplitude_iod,
            "upper lip down: {:?}",
            motion.get(Region::UpperLip)
        );
        assert!(
            motion.get(Region::LowerLip)[1] < -0.3 * amplitude_iod,
            "lower lip up: {:?}",
            motion.get(Region::LowerLip)
        );

        let spec = WarpSpec {
            cue: CueId::NoseWrinkle,
            side: Side::Both,
            amplitude_iod,
        };
        warp_frame(&frame, &landmarks, &spec, 1.0, &mut moved);
        let motion = motion_after(&frame, &landmarks, &moved, &landmarks);
        for region in [Region::NoseLeft, Region::NoseRight, Region::UpperLip] {
            assert!(
                motion.get(region)[1] < -0.1 * amplitude_iod,
                "nose wrinkle raises {region:?}: {:?}",
                motion.get(region)
            );
        }

        let spec = WarpSpec {
            cue: CueId::GenuineSmile,
            side: Side::Both,
            amplitude_iod,
        };
        warp_frame(&frame, &landmarks, &spec, 1.0, &mut moved);
        let motion = motion_after(&frame, &landmarks, &moved, &landmarks);
        for region in [Region::LowerLidLeft, Region::LowerLidRight] {
            assert!(
                motion.get(region)[1] < -0.15 * amplitude_iod,
                "genuine smile lifts under the eyes, {region:?}: {:?}",
                motion.get(region)
            );
        }
        let polite = WarpSpec {
            cue: CueId::PoliteSmile,
            side: Side::Both,
            amplitude_iod,
        };
        warp_frame(&frame, &landmarks, &polite, 1.0, &mut moved);
        let motion = motion_after(&frame, &landmarks, &moved, &landmarks);
        for region in [Region::LowerLidLeft, Region::LowerLidRight] {
            assert!(
                motion.get(region)[1].abs() < 0.1 * amplitude_iod,
                "polite smile leaves the eyes, {region:?}: {:?}",
                motion.get(region)
            );
        }
    }

    /// Cost per frame (run in release: `cargo test --release -p microcue_vision --lib
    /// flow::tests::cost_per_frame -- --ignored --nocapture`).
    #[test]
    #[ignore = "timing; run in release"]
    fn cost_per_frame() {
        let (frame, landmarks) = astronaut();
        // Alternate between the photo and a shifted, warped copy so that Lucas–Kanade iterates.
        let mut moved = Frame::default();
        let spec = WarpSpec {
            cue: CueId::GenuineSmile,
            side: Side::Both,
            amplitude_iod: 0.04,
        };
        warp_frame(
            &translate(&frame, [0.7, -0.4]),
            &landmarks,
            &spec,
            1.0,
            &mut moved,
        );
        let mut estimator = RegionMotionEstimator::new(RegionMotionConfig::default());
        let mut signals = signals_at(0.0, &landmarks);
        let frames = 600;
        let start = std::time::Instant::now();
        for i in 0..frames {
            signals.pts_s = i as f64 / 30.0;
            let input = if (i / 2) % 2 == 0 { &frame } else { &moved };
            estimator.update(input, &mut signals);
        }
        let per_frame_ms = start.elapsed().as_secs_f64() * 1000.0 / frames as f64;
        eprintln!("region motion: {per_frame_ms:.3} ms per frame ({POINT_COUNT} points, 3 levels)");
        assert!(signals.region_motion.is_some());
    }
}
