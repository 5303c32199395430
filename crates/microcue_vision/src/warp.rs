//! Smooth, local image warping that injects a facial movement of known cue, side and size.
//!
//! The evaluation makes its own ground truth: it moves the brows, lids, mouth corners, lips or
//! nose wings of a real face by a small, known amount and checks whether the spotter finds it.
//! [`warp_frame`] applies one such movement to one frame:
//!
//! 1. Control points are taken from MediaPipe landmarks (the table in [`control_points`]), each
//!    with a displacement in face axes ("up" = from the mouth towards the brows, "outward" = away
//!    from the face's midline) in units of the movement's amplitude, and a support radius in
//!    units of the inter-ocular distance (IOD, between the eye centres).
//! 2. The dense displacement field is a Shepard blend of the control displacements, weighted by
//!    a Gaussian-shaped, compactly supported Wendland C2 kernel `w(r) = (1 - r/R)^4 (4r/R + 1)`,
//!    times the coverage `1 - Π(1 - w_i)`. Compact support means every pixel farther than `R`
//!    from all control points is left bit-exact (no seam, no global blur); the blend means
//!    neighbouring points that move together do not pile up (a brow moves by the amplitude, not
//!    by five times it), and zero-displacement anchors can pin a line (the lip seam).
//! 3. The image is resampled by backward mapping (`dst(p) = src(q)` with `q + D(q) = p`, solved
//!    by fixed-point iteration) with bilinear interpolation, inside the bounding box of the
//!    kernels' supports only. Everything else is copied.
//!
//! Conventions: landmarks are image pixels with pixel `i` covering `[i, i + 1)` (centre
//! `i + 0.5`), as MediaPipe's normalised coordinates times the image size. "Left"/"right" are the
//! **subject's**: the landmark groups follow MediaPipe's mesh, where landmark 263 (outer corner
//! of the eye on image right in a non-mirrored photo) is the subject's left eye and 33 the right
//! eye, matching the blendshapes' `...Left` = subject's left. A mirrored (selfie) video swaps
//! anatomical sides, exactly as it does for the blendshapes.
//!
//! The time course of an injected movement is an [`Envelope`]: raised-cosine rise from onset to
//! apex, a short hold, raised-cosine fall to offset.
//!
//! ```
//! use microcue_core::{CueId, Side};
//! use microcue_vision::warp::{Envelope, WarpSpec, warp_frame};
//! use microcue_vision::Frame;
//!
//! let src = Frame { width: 8, height: 8, rgb: vec![128; 8 * 8 * 3], ..Frame::default() };
//! let spec = WarpSpec { cue: CueId::EyebrowFlash, side: Side::Both, amplitude_iod: 0.03 };
//! let envelope = Envelope::new(1.0, 1.2);
//! let mut dst = Frame::default();
//! // Without landmarks there is no face to move: the frame is copied unchanged.
//! warp_frame(&src, &[], &spec, envelope.weight(1.1), &mut dst);
//! assert_eq!(dst, src);
//! ```

use microcue_core::{CueId, LANDMARK_COUNT, Side};

use crate::frame::Frame;

/// One injected movement: which cue, on which side, how large.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarpSpec {
    /// The cue to imitate; see [`INJECTABLE_CUES`].
    pub cue: CueId,
    /// Subject's side. `Both` moves both sides; `Left`/`Right` move that side's points (and
    /// midline points, if the cue has any).
    pub side: Side,
    /// Peak displacement of the cue's main control points, in inter-ocular distances
    /// (0.03 = 3 % of the IOD); at most [`MAX_AMPLITUDE_IOD`] for a fold-free warp.
    pub amplitude_iod: f32,
}

/// Cues that [`warp_frame`] can inject. Blinks, gaze shifts, anger and pupil size are not
/// plausible as a small local warp and are left out.
pub const INJECTABLE_CUES: [CueId; 8] = [
    CueId::EyebrowFlash,
    CueId::MicroFrown,
    CueId::LipCompression,
    CueId::UnilateralLipCorner,
    CueId::GenuineSmile,
    CueId::PoliteSmile,
    CueId::NoseWrinkle,
    CueId::MicroSurprise,
];

/// Largest amplitude the control tables are designed for, in inter-ocular distances: beyond
/// it the tightest fields (lip compression) start to fold the image.
pub const MAX_AMPLITUDE_IOD: f32 = 0.1;

/// Whether [`warp_frame`] has a control-point table for `cue`.
pub fn is_injectable(cue: CueId) -> bool {
    !control_points(cue).is_empty()
}

/// Which side of the face a control point belongs to (subject's view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointSide {
    Left,
    Right,
    Middle,
}

/// One control point of a cue's displacement field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControlPoint {
    /// MediaPipe landmark index.
    pub landmark: usize,
    /// Side of the face the landmark is on.
    pub side: PointSide,
    /// Displacement away from the midline, in units of the amplitude (negative = inward).
    /// Ignored for midline points.
    pub outward: f32,
    /// Displacement towards the brows, in units of the amplitude (negative = down).
    pub up: f32,
    /// Radius of the kernel's support, in inter-ocular distances.
    pub support_iod: f32,
}

const fn cp(
    landmark: usize,
    side: PointSide,
    outward: f32,
    up: f32,
    support_iod: f32,
) -> ControlPoint {
    ControlPoint {
        landmark,
        side,
        outward,
        up,
        support_iod,
    }
}

use PointSide::{Left as L, Middle as M, Right as R};

/// Brows, subject's right (image left in a non-mirrored video) then left: outer to inner.
const BROW_SUPPORT_IOD: f32 = 0.4;
/// AU1+AU2: brows up, the forehead above them up a little less (frontalis lifts the skin up to
/// the hairline, most at the brows).
const EYEBROW_FLASH: [ControlPoint; 22] = [
    cp(70, R, 0.0, 1.0, BROW_SUPPORT_IOD),
    cp(63, R, 0.0, 1.0, BROW_SUPPORT_IOD),
    cp(105, R, 0.0, 1.0, BROW_SUPPORT_IOD),
    cp(66, R, 0.0, 1.0, BROW_SUPPORT_IOD),
    cp(107, R, 0.0, 1.0, BROW_SUPPORT_IOD),
    cp(300, L, 0.0, 1.0, BROW_SUPPORT_IOD),
    cp(293, L, 0.0, 1.0, BROW_SUPPORT_IOD),
    cp(334, L, 0.0, 1.0, BROW_SUPPORT_IOD),
    cp(296, L, 0.0, 1.0, BROW_SUPPORT_IOD),
    cp(336, L, 0.0, 1.0, BROW_SUPPORT_IOD),
    cp(104, R, 0.0, 0.8, BROW_SUPPORT_IOD),
    cp(69, R, 0.0, 0.8, BROW_SUPPORT_IOD),
    cp(108, R, 0.0, 0.8, BROW_SUPPORT_IOD),
    cp(333, L, 0.0, 0.8, BROW_SUPPORT_IOD),
    cp(299, L, 0.0, 0.8, BROW_SUPPORT_IOD),
    cp(337, L, 0.0, 0.8, BROW_SUPPORT_IOD),
    cp(103, R, 0.0, 0.5, BROW_SUPPORT_IOD),
    cp(67, R, 0.0, 0.5, BROW_SUPPORT_IOD),
    cp(109, R, 0.0, 0.5, BROW_SUPPORT_IOD),
    cp(332, L, 0.0, 0.5, BROW_SUPPORT_IOD),
    cp(297, L, 0.0, 0.5, BROW_SUPPORT_IOD),
    cp(338, L, 0.0, 0.5, BROW_SUPPORT_IOD),
];

/// AU4: the inner half of each brow down and together (its head most).
const FROWN_SUPPORT_IOD: f32 = 0.35;
const MICRO_FROWN: [ControlPoint; 10] = [
    cp(107, R, -0.6, -0.8, FROWN_SUPPORT_IOD),
    cp(55, R, -0.6, -0.8, FROWN_SUPPORT_IOD),
    cp(66, R, -0.4, -0.6, FROWN_SUPPORT_IOD),
    cp(65, R, -0.4, -0.6, FROWN_SUPPORT_IOD),
    cp(105, R, -0.1, -0.3, FROWN_SUPPORT_IOD),
    cp(336, L, -0.6, -0.8, FROWN_SUPPORT_IOD),
    cp(285, L, -0.6, -0.8, FROWN_SUPPORT_IOD),
    cp(296, L, -0.4, -0.6, FROWN_SUPPORT_IOD),
    cp(295, L, -0.4, -0.6, FROWN_SUPPORT_IOD),
    cp(334, L, -0.1, -0.3, FROWN_SUPPORT_IOD),
];

/// AU24: both lips move towards the lip seam, their outer edges more than the seam itself: the
/// red of the lips thins and the mouth closes tighter. The corners stay.
const LIP_COMPRESSION: [ControlPoint; 10] = [
    cp(0, M, 0.0, -1.0, 0.25),
    cp(37, R, 0.0, -0.8, 0.25),
    cp(267, L, 0.0, -0.8, 0.25),
    cp(17, M, 0.0, 1.0, 0.25),
    cp(84, R, 0.0, 0.8, 0.25),
    cp(314, L, 0.0, 0.8, 0.25),
    cp(13, M, 0.0, -0.4, 0.12),
    cp(14, M, 0.0, 0.4, 0.12),
    cp(61, R, 0.0, 0.0, 0.1),
    cp(291, L, 0.0, 0.0, 0.1),
];

/// AU12: mouth corners up and out (both for smiles; one for the unilateral cue).
const MOUTH_CORNER_SUPPORT_IOD: f32 = 0.35;
const MOUTH_CORNERS: [ControlPoint; 2] = [
    cp(61, R, 0.8, 0.6, MOUTH_CORNER_SUPPORT_IOD),
    cp(291, L, 0.8, 0.6, MOUTH_CORNER_SUPPORT_IOD),
];

/// AU6+AU12: mouth corners up and out, lower lids and the skin under the eyes up (the eye
/// crinkle that tells a genuine smile from a polite one).
const GENUINE_SMILE: [ControlPoint; 8] = [
    cp(61, R, 0.8, 0.6, MOUTH_CORNER_SUPPORT_IOD),
    cp(291, L, 0.8, 0.6, MOUTH_CORNER_SUPPORT_IOD),
    cp(145, R, 0.0, 0.5, 0.15),
    cp(374, L, 0.0, 0.5, 0.15),
    cp(119, R, 0.0, 0.7, 0.25),
    cp(348, L, 0.0, 0.7, 0.25),
    cp(101, R, 0.1, 0.6, 0.3),
    cp(330, L, 0.1, 0.6, 0.3),
];

/// AU9/AU10: nose wings up (a little inward), upper lip up.
const NOSE_WRINKLE: [ControlPoint; 7] = [
    cp(48, R, -0.2, 0.98, 0.3),
    cp(278, L, -0.2, 0.98, 0.3),
    cp(0, M, 0.0, 0.5, 0.2),
    cp(37, R, 0.0, 0.6, 0.2),
    cp(267, L, 0.0, 0.6, 0.2),
    cp(13, M, 0.0, 0.2, 0.1),
    cp(14, M, 0.0, 0.0, 0.1),
];

/// AU1+AU2+AU5: brows and forehead up as in the eyebrow flash, and the upper lids up.
const MICRO_SURPRISE: [ControlPoint; 24] = {
    let mut points = [cp(159, R, 0.0, 0.6, 0.15); 24];
    let mut i = 0;
    while i < EYEBROW_FLASH.len() {
        points[i] = EYEBROW_FLASH[i];
        i += 1;
    }
    points[23] = cp(386, L, 0.0, 0.6, 0.15);
    points
};

/// The control points of a cue (empty for cues that cannot be injected by warping).
pub fn control_points(cue: CueId) -> &'static [ControlPoint] {
    match cue {
        CueId::EyebrowFlash => &EYEBROW_FLASH,
        CueId::MicroFrown => &MICRO_FROWN,
        CueId::LipCompression => &LIP_COMPRESSION,
        CueId::UnilateralLipCorner | CueId::PoliteSmile => &MOUTH_CORNERS,
        CueId::GenuineSmile => &GENUINE_SMILE,
        CueId::NoseWrinkle => &NOSE_WRINKLE,
        CueId::MicroSurprise => &MICRO_SURPRISE,
        CueId::BlinkCluster | CueId::GazeAversion | CueId::PupilDilation | CueId::MicroAnger => &[],
    }
}

/// Eye centres, axes and scale of a face, from its landmarks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceAxes {
    /// Midpoint between the eye centres, image pixels.
    pub eye_mid: [f32; 2],
    /// Unit vector from the subject's right eye to their left eye (image right when upright
    /// and not mirrored).
    pub toward_left: [f32; 2],
    /// Unit vector "up the face" (from the mouth towards the brows), perpendicular to
    /// `toward_left`.
    pub up: [f32; 2],
    /// Inter-ocular distance in pixels (between the eye centres, each the mean of its two
    /// corners: 33/133 and 263/362).
    pub iod_px: f32,
}

impl FaceAxes {
    /// Smallest inter-ocular distance accepted, pixels.
    pub const MIN_IOD_PX: f32 = 4.0;

    /// The axes of a face from its 478 landmarks; `None` for a missing or degenerate face.
    pub fn from_landmarks(landmarks_in_image: &[[f32; 3]]) -> Option<FaceAxes> {
        if landmarks_in_image.len() < LANDMARK_COUNT {
            return None;
        }
        let mean = |a: usize, b: usize| {
            [
                0.5 * (landmarks_in_image[a][0] + landmarks_in_image[b][0]),
                0.5 * (landmarks_in_image[a][1] + landmarks_in_image[b][1]),
            ]
        };
        let right_eye = mean(33, 133);
        let left_eye = mean(263, 362);
        let delta = [left_eye[0] - right_eye[0], left_eye[1] - right_eye[1]];
        let iod_px = (delta[0] * delta[0] + delta[1] * delta[1]).sqrt();
        if !iod_px.is_finite() || iod_px < Self::MIN_IOD_PX {
            return None;
        }
        let toward_left = [delta[0] / iod_px, delta[1] / iod_px];
        Some(FaceAxes {
            eye_mid: [
                0.5 * (left_eye[0] + right_eye[0]),
                0.5 * (left_eye[1] + right_eye[1]),
            ],
            toward_left,
            up: [toward_left[1], -toward_left[0]],
            iod_px,
        })
    }
}

/// Most control points of any cue.
const MAX_POINTS: usize = 24;

#[derive(Debug, Clone, Copy, Default)]
struct ResolvedPoint {
    position: [f32; 2],
    displacement: [f32; 2],
    support_px: f32,
    inv_support_px: f32,
}

/// The dense displacement field of one movement at one instant, in image pixels.
///
/// `at(p)` is how far the content at `p` moves (forward displacement). Exactly zero farther
/// than the support radius from every control point.
#[derive(Debug, Clone)]
pub struct DisplacementField {
    points: [ResolvedPoint; MAX_POINTS],
    count: usize,
    /// Bounding box of all supports: `[x_min, y_min, x_max, y_max]`, image pixels.
    bounds: [f32; 4],
}

impl DisplacementField {
    /// The field of `spec` scaled by `weight` (the envelope value, 0..1) for a face with these
    /// landmarks; `None` when the face is missing or degenerate, the cue is not injectable,
    /// or nothing moves (weight or amplitude 0).
    pub fn new(landmarks_in_image: &[[f32; 3]], spec: &WarpSpec, weight: f32) -> Option<Self> {
        let axes = FaceAxes::from_landmarks(landmarks_in_image)?;
        let scale_px = spec.amplitude_iod * weight * axes.iod_px;
        if !scale_px.is_finite() || scale_px == 0.0 {
            return None;
        }
        let mut field = DisplacementField {
            points: [ResolvedPoint::default(); MAX_POINTS],
            count: 0,
            bounds: [
                f32::INFINITY,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
            ],
        };
        for point in control_points(spec.cue) {
            let included = match (spec.side, point.side) {
                (Side::Both, _) | (_, PointSide::Middle) => true,
                (Side::Left, side) => side == PointSide::Left,
                (Side::Right, side) => side == PointSide::Right,
            };
            if !included || field.count == MAX_POINTS {
                continue;
            }
            let landmark = landmarks_in_image[point.landmark];
            if !landmark[0].is_finite() || !landmark[1].is_finite() {
                return None;
            }
            let outward_sign = match point.side {
                PointSide::Left => 1.0,
                PointSide::Right => -1.0,
                PointSide::Middle => 0.0,
            };
            let outward = point.outward * outward_sign;
            let displacement = [
                scale_px * (outward * axes.toward_left[0] + point.up * axes.up[0]),
                scale_px * (outward * axes.toward_left[1] + point.up * axes.up[1]),
            ];
            let support_px = point.support_iod * axes.iod_px;
            field.points[field.count] = ResolvedPoint {
                position: [landmark[0], landmark[1]],
                displacement,
                support_px,
                inv_support_px: 1.0 / support_px,
            };
            field.count += 1;
            field.bounds[0] = field.bounds[0].min(landmark[0] - support_px);
            field.bounds[1] = field.bounds[1].min(landmark[1] - support_px);
            field.bounds[2] = field.bounds[2].max(landmark[0] + support_px);
            field.bounds[3] = field.bounds[3].max(landmark[1] + support_px);
        }
        if field.count == 0 { None } else { Some(field) }
    }

    /// Forward displacement at image point `p` (pixels).
    pub fn at(&self, p: [f32; 2]) -> [f32; 2] {
        let mut weight_sum = 0.0f32;
        let mut weighted = [0.0f32; 2];
        let mut uncovered = 1.0f32;
        for point in &self.points[..self.count] {
            let dx = p[0] - point.position[0];
            let dy = p[1] - point.position[1];
            let r2 = dx * dx + dy * dy;
            if r2 >= point.support_px * point.support_px {
                continue;
            }
            let w = wendland_c2(r2.sqrt() * point.inv_support_px);
            weight_sum += w;
            weighted[0] += w * point.displacement[0];
            weighted[1] += w * point.displacement[1];
            uncovered *= 1.0 - w;
        }
        if weight_sum <= 0.0 {
            return [0.0, 0.0];
        }
        let coverage = 1.0 - uncovered;
        [
            weighted[0] / weight_sum * coverage,
            weighted[1] / weight_sum * coverage,
        ]
    }

    /// Bounding box of the supports, `[x_min, y_min, x_max, y_max]` in image pixels.
    pub fn bounds(&self) -> [f32; 4] {
        self.bounds
    }

    /// The source point `q` whose content lands on `p` (`q + D(q) = p`), by Newton's method
    /// with a finite-difference Jacobian (a damped fixed-point step where the Jacobian is
    /// degenerate). Exactly `p` where the field is zero.
    pub fn source_of(&self, p: [f32; 2]) -> [f32; 2] {
        let mut q = p;
        for _ in 0..INVERSE_ITERATIONS {
            let d = self.at(q);
            let residual = [q[0] + d[0] - p[0], q[1] + d[1] - p[1]];
            if residual[0].abs() < INVERSE_TOLERANCE_PX && residual[1].abs() < INVERSE_TOLERANCE_PX
            {
                break;
            }
            let dx = self.at([q[0] + JACOBIAN_STEP_PX, q[1]]);
            let dy = self.at([q[0], q[1] + JACOBIAN_STEP_PX]);
            // Jacobian of q -> q + D(q).
            let j00 = 1.0 + (dx[0] - d[0]) / JACOBIAN_STEP_PX;
            let j01 = (dy[0] - d[0]) / JACOBIAN_STEP_PX;
            let j10 = (dx[1] - d[1]) / JACOBIAN_STEP_PX;
            let j11 = 1.0 + (dy[1] - d[1]) / JACOBIAN_STEP_PX;
            let determinant = j00 * j11 - j01 * j10;
            if determinant > 0.05 {
                q[0] -= (j11 * residual[0] - j01 * residual[1]) / determinant;
                q[1] -= (j00 * residual[1] - j10 * residual[0]) / determinant;
            } else {
                q = [q[0] - 0.5 * residual[0], q[1] - 0.5 * residual[1]];
            }
        }
        q
    }
}

/// Wendland's C2 kernel on `[0, 1]`: 1 at 0, 0 with zero slope and curvature at 1.
fn wendland_c2(t: f32) -> f32 {
    if t >= 1.0 {
        return 0.0;
    }
    let s = 1.0 - t;
    let s2 = s * s;
    s2 * s2 * (4.0 * t + 1.0)
}

/// Newton iterations used to invert the displacement field, at most.
const INVERSE_ITERATIONS: usize = 8;
/// Inversion stops when `q + D(q)` is this close to the target, pixels.
const INVERSE_TOLERANCE_PX: f32 = 1e-3;
/// Finite-difference step for the field's Jacobian, pixels.
const JACOBIAN_STEP_PX: f32 = 0.25;

/// Writes `src` with the movement `spec` at envelope `weight` (0..1) into `dst`.
///
/// `dst` is resized to `src` (its buffer is reused) and receives `src`'s pts and index. Pixels
/// outside the supports of the control points are copied exactly; with `weight` 0, fewer than
/// 478 landmarks, or a cue without a control table, `dst` is an exact copy of `src`.
pub fn warp_frame(
    src: &Frame,
    landmarks_in_image: &[[f32; 3]],
    spec: &WarpSpec,
    weight: f32,
    dst: &mut Frame,
) {
    dst.pts_s = src.pts_s;
    dst.index = src.index;
    dst.resize(src.width, src.height);
    dst.rgb.copy_from_slice(&src.rgb);
    if weight.is_nan() || weight <= 0.0 || src.width == 0 || src.height == 0 {
        return;
    }
    let Some(field) = DisplacementField::new(landmarks_in_image, spec, weight) else {
        return;
    };
    let width = src.width as usize;
    let height = src.height as usize;
    if src.rgb.len() < width * height * 3 {
        return;
    }
    let [x_min, y_min, x_max, y_max] = field.bounds();
    // Pixel x has its centre at x + 0.5; include every pixel whose centre may be displaced.
    let x_start = (x_min - 0.5).floor().max(0.0) as usize;
    let y_start = (y_min - 0.5).floor().max(0.0) as usize;
    let x_end = ((x_max - 0.5).ceil() + 1.0).clamp(0.0, width as f32) as usize;
    let y_end = ((y_max - 0.5).ceil() + 1.0).clamp(0.0, height as f32) as usize;
    for y in y_start..y_end {
        for x in x_start..x_end {
            let p = [x as f32 + 0.5, y as f32 + 0.5];
            let q = field.source_of(p);
            if q == p {
                continue;
            }
            let out = (y * width + x) * 3;
            let sample = sample_bilinear_rgb(&src.rgb, width, height, q[0] - 0.5, q[1] - 0.5);
            dst.rgb[out..out + 3].copy_from_slice(&sample);
        }
    }
}

/// Bilinear RGB sample at pixel coordinates (pixel centres at integers), clamped to the edge.
pub(crate) fn sample_bilinear_rgb(
    rgb: &[u8],
    width: usize,
    height: usize,
    x: f32,
    y: f32,
) -> [u8; 3] {
    let x = x.clamp(0.0, (width - 1) as f32);
    let y = y.clamp(0.0, (height - 1) as f32);
    let x0 = x.floor() as usize;
    let y0 = y.floor() as usize;
    let x1 = (x0 + 1).min(width - 1);
    let y1 = (y0 + 1).min(height - 1);
    let fx = x - x0 as f32;
    let fy = y - y0 as f32;
    let i00 = (y0 * width + x0) * 3;
    let i01 = (y0 * width + x1) * 3;
    let i10 = (y1 * width + x0) * 3;
    let i11 = (y1 * width + x1) * 3;
    let mut out = [0u8; 3];
    for (c, value) in out.iter_mut().enumerate() {
        let top = rgb[i00 + c] as f32 * (1.0 - fx) + rgb[i01 + c] as f32 * fx;
        let bottom = rgb[i10 + c] as f32 * (1.0 - fx) + rgb[i11 + c] as f32 * fx;
        *value = (top * (1.0 - fy) + bottom * fy + 0.5).clamp(0.0, 255.0) as u8;
    }
    out
}

/// Time course of one injected movement: raised-cosine rise from onset to the start of the
/// hold, hold at full strength, raised-cosine fall to offset. Zero outside `(onset, offset)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Envelope {
    /// Start of the movement, seconds.
    pub onset_s: f64,
    /// End of the rise (start of the hold), seconds.
    pub hold_start_s: f64,
    /// End of the hold (start of the fall), seconds.
    pub hold_end_s: f64,
    /// End of the movement, seconds.
    pub offset_s: f64,
}

impl Envelope {
    /// Share of the duration spent rising.
    pub const RISE_FRACTION: f64 = 0.35;
    /// Share of the duration held at full strength.
    pub const HOLD_FRACTION: f64 = 0.15;

    /// The standard envelope between `onset_s` and `offset_s`: 35 % rise, 15 % hold, 50 % fall
    /// (facial movements release more slowly than they start).
    pub fn new(onset_s: f64, offset_s: f64) -> Self {
        let duration_s = (offset_s - onset_s).max(0.0);
        let hold_start_s = onset_s + Self::RISE_FRACTION * duration_s;
        Envelope {
            onset_s,
            hold_start_s,
            hold_end_s: hold_start_s + Self::HOLD_FRACTION * duration_s,
            offset_s,
        }
    }

    /// Strength of the movement at time `t_s`, in `[0, 1]`.
    pub fn weight(&self, t_s: f64) -> f32 {
        let value = if t_s <= self.onset_s || t_s >= self.offset_s {
            0.0
        } else if t_s < self.hold_start_s {
            let phase = (t_s - self.onset_s) / (self.hold_start_s - self.onset_s);
            0.5 - 0.5 * (std::f64::consts::PI * phase).cos()
        } else if t_s <= self.hold_end_s {
            1.0
        } else {
            let phase = (t_s - self.hold_end_s) / (self.offset_s - self.hold_end_s);
            0.5 + 0.5 * (std::f64::consts::PI * phase).cos()
        };
        value as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::astronaut;

    fn max_abs_diff_in_disc(a: &Frame, b: &Frame, centre: [f32; 2], radius: f32) -> u8 {
        let mut max = 0u8;
        for y in 0..a.height {
            for x in 0..a.width {
                let dx = x as f32 + 0.5 - centre[0];
                let dy = y as f32 + 0.5 - centre[1];
                if dx * dx + dy * dy > radius * radius {
                    continue;
                }
                let pa = a.pixel(x, y);
                let pb = b.pixel(x, y);
                for c in 0..3 {
                    max = max.max(pa[c].abs_diff(pb[c]));
                }
            }
        }
        max
    }

    #[test]
    fn envelope_rises_holds_and_falls() {
        let envelope = Envelope::new(1.0, 2.0);
        assert_eq!(envelope.weight(0.5), 0.0);
        assert_eq!(envelope.weight(1.0), 0.0);
        assert_eq!(envelope.weight(2.0), 0.0);
        assert_eq!(envelope.weight(1.4), 1.0);
        assert!((envelope.weight(1.175) - 0.5).abs() < 1e-6);
        assert!((envelope.weight(1.75) - 0.5).abs() < 1e-6);
        let mut previous = 0.0;
        for step in 0..=35 {
            let w = envelope.weight(1.0 + step as f64 * 0.01);
            assert!(w >= previous, "rise must be monotonic");
            previous = w;
        }
    }

    #[test]
    fn kernel_is_one_at_centre_and_zero_at_support() {
        assert_eq!(wendland_c2(0.0), 1.0);
        assert_eq!(wendland_c2(1.0), 0.0);
        assert_eq!(wendland_c2(1.5), 0.0);
        assert!(wendland_c2(0.5) > 0.1 && wendland_c2(0.5) < 0.3);
    }

    #[test]
    fn every_injectable_cue_has_control_points_within_the_limit() {
        for cue in INJECTABLE_CUES {
            let points = control_points(cue);
            assert!(!points.is_empty(), "{cue}");
            assert!(points.len() <= MAX_POINTS, "{cue}");
            let largest = points
                .iter()
                .map(|p| p.outward.hypot(p.up))
                .fold(0.0f32, f32::max);
            assert!(
                (largest - 1.0).abs() < 1e-3,
                "{cue}: the main points move by the amplitude, got {largest}"
            );
        }
        assert!(!is_injectable(CueId::BlinkCluster));
        assert!(is_injectable(CueId::MicroSurprise));
    }

    #[test]
    fn without_landmarks_or_weight_the_frame_is_copied() {
        let src = Frame {
            pts_s: 1.5,
            index: 7,
            width: 4,
            height: 3,
            rgb: (0..36).collect(),
        };
        let spec = WarpSpec {
            cue: CueId::EyebrowFlash,
            side: Side::Both,
            amplitude_iod: 0.05,
        };
        let mut dst = Frame::default();
        warp_frame(&src, &[], &spec, 1.0, &mut dst);
        assert_eq!(dst, src);
        warp_frame(
            &src,
            &[[1.0, 1.0, 0.0]; LANDMARK_COUNT],
            &spec,
            1.0,
            &mut dst,
        );
        assert_eq!(dst, src, "degenerate face (all landmarks at one point)");
    }

    #[test]
    fn astronaut_control_points_move_by_the_amplitude_and_far_pixels_stay_exact() {
        let (src, landmarks) = astronaut();
        let axes = FaceAxes::from_landmarks(&landmarks).expect("face axes");
        assert!(
            axes.iod_px > 35.0 && axes.iod_px < 50.0,
            "IOD {}",
            axes.iod_px
        );
        assert!(
            axes.toward_left[0] > 0.9,
            "subject's left eye (263) is on image right: {:?}",
            axes.toward_left
        );
        let mut dst = Frame::default();
        for cue in INJECTABLE_CUES {
            let side = if cue.is_one_sided() {
                Side::Left
            } else {
                Side::Both
            };
            let spec = WarpSpec {
                cue,
                side,
                amplitude_iod: 0.05,
            };

            // Weight 0 is the identity.
            warp_frame(&src, &landmarks, &spec, 0.0, &mut dst);
            assert!(dst == src, "{cue}: weight 0 must be the identity");

            warp_frame(&src, &landmarks, &spec, 1.0, &mut dst);
            let field = DisplacementField::new(&landmarks, &spec, 1.0).expect("field");
            // Pixels outside the supports are bit-exact.
            let [x_min, y_min, x_max, y_max] = field.bounds();
            let mut changed_inside = 0usize;
            for y in 0..src.height {
                for x in 0..src.width {
                    let (cx, cy) = (x as f32 + 0.5, y as f32 + 0.5);
                    let outside = cx < x_min || cx > x_max || cy < y_min || cy > y_max;
                    if outside {
                        assert_eq!(
                            src.pixel(x, y),
                            dst.pixel(x, y),
                            "{cue}: pixel ({x}, {y}) outside the warp box changed"
                        );
                    } else if src.pixel(x, y) != dst.pixel(x, y) {
                        changed_inside += 1;
                    }
                }
            }
            assert!(
                changed_inside > 30,
                "{cue}: only {changed_inside} pixels changed"
            );
            // The box stays within the face (the astronaut's face box is ~92 px wide).
            assert!(
                x_max - x_min < 3.0 * axes.iod_px && y_max - y_min < 3.0 * axes.iod_px,
                "{cue}: box {:?}",
                field.bounds()
            );
            // Main control points move by about the amplitude (the blend with neighbours and
            // anchors only shrinks it a little).
            let main = control_points(cue)
                .iter()
                .filter(|p| spec.side == Side::Both || p.side == PointSide::Left)
                .max_by(|a, b| a.outward.hypot(a.up).total_cmp(&b.outward.hypot(b.up)))
                .expect("a main point");
            let at = landmarks[main.landmark];
            let d = field.at([at[0], at[1]]);
            let moved_iod = d[0].hypot(d[1]) / axes.iod_px;
            assert!(
                (0.035..=0.0501).contains(&moved_iod),
                "{cue}: landmark {} moves {moved_iod} IOD",
                main.landmark
            );
        }
    }

    #[test]
    fn astronaut_eyebrow_flash_moves_brows_up_and_leaves_the_mouth() {
        let (src, landmarks) = astronaut();
        let spec = WarpSpec {
            cue: CueId::EyebrowFlash,
            side: Side::Both,
            amplitude_iod: 0.05,
        };
        let field = DisplacementField::new(&landmarks, &spec, 1.0).expect("field");
        let brow = landmarks[105];
        let d = field.at([brow[0], brow[1]]);
        assert!(d[1] < -1.5 && d[0].abs() < 0.5, "brow moves up: {d:?}");
        for index in [61, 291, 0, 17, 1] {
            let p = landmarks[index];
            assert_eq!(
                field.at([p[0], p[1]]),
                [0.0, 0.0],
                "landmark {index} must not move"
            );
        }
        let mut dst = Frame::default();
        warp_frame(&src, &landmarks, &spec, 1.0, &mut dst);
        let mouth = [landmarks[13][0], landmarks[13][1]];
        assert_eq!(
            max_abs_diff_in_disc(&src, &dst, mouth, 10.0),
            0,
            "mouth untouched"
        );
        assert!(
            max_abs_diff_in_disc(&src, &dst, [brow[0], brow[1]], 6.0) > 5,
            "brow region changes"
        );
    }

    #[test]
    fn unilateral_lip_corner_moves_only_the_chosen_side() {
        let (_, landmarks) = astronaut();
        let spec = WarpSpec {
            cue: CueId::UnilateralLipCorner,
            side: Side::Left,
            amplitude_iod: 0.04,
        };
        let field = DisplacementField::new(&landmarks, &spec, 1.0).expect("field");
        let left = landmarks[291];
        let right = landmarks[61];
        let d_left = field.at([left[0], left[1]]);
        assert!(
            d_left[0] > 0.5 && d_left[1] < -0.5,
            "subject's left corner (image right) up and out: {d_left:?}"
        );
        assert_eq!(field.at([right[0], right[1]]), [0.0, 0.0]);
        let spec_right = WarpSpec {
            side: Side::Right,
            ..spec
        };
        let field = DisplacementField::new(&landmarks, &spec_right, 1.0).expect("field");
        let d_right = field.at([right[0], right[1]]);
        assert!(
            d_right[0] < -0.5 && d_right[1] < -0.5,
            "subject's right corner (image left) up and out: {d_right:?}"
        );
        assert_eq!(field.at([left[0], left[1]]), [0.0, 0.0]);
    }

    #[test]
    fn the_inverse_mapping_lands_on_the_source_point() {
        let (_, landmarks) = astronaut();
        let spec = WarpSpec {
            cue: CueId::LipCompression,
            side: Side::Both,
            amplitude_iod: 0.05,
        };
        let field = DisplacementField::new(&landmarks, &spec, 1.0).expect("field");
        // For a grid of points q, p = q + D(q); the fixed point of q' = p - D(q') must be q.
        let [x_min, y_min, x_max, y_max] = field.bounds();
        let mut worst = 0.0f32;
        for iy in 0..40 {
            for ix in 0..40 {
                let q = [
                    x_min + (x_max - x_min) * ix as f32 / 39.0,
                    y_min + (y_max - y_min) * iy as f32 / 39.0,
                ];
                let d = field.at(q);
                let p = [q[0] + d[0], q[1] + d[1]];
                let estimate = field.source_of(p);
                worst = worst.max((estimate[0] - q[0]).hypot(estimate[1] - q[1]));
            }
        }
        assert!(worst < 0.01, "inverse error {worst} px");
    }

    /// Smallest Jacobian determinant of the forward map `p -> p + D(p)` over the field's box.
    /// Positive everywhere = no fold (no tearing, no pixels swapped); small = strong squeeze.
    fn min_jacobian_determinant(field: &DisplacementField) -> f32 {
        let [x_min, y_min, x_max, y_max] = field.bounds();
        let h = 0.05f32;
        let mut worst = f32::MAX;
        let mut y = y_min;
        while y < y_max {
            let mut x = x_min;
            while x < x_max {
                let d = field.at([x, y]);
                let dx = field.at([x + h, y]);
                let dy = field.at([x, y + h]);
                let j00 = 1.0 + (dx[0] - d[0]) / h;
                let j01 = (dy[0] - d[0]) / h;
                let j10 = (dx[1] - d[1]) / h;
                let j11 = 1.0 + (dy[1] - d[1]) / h;
                worst = worst.min(j00 * j11 - j01 * j10);
                x += 0.25;
            }
            y += 0.25;
        }
        worst
    }

    #[test]
    fn astronaut_warps_never_fold_up_to_twice_the_largest_amplitude() {
        let (_, landmarks) = astronaut();
        for cue in INJECTABLE_CUES {
            let side = if cue.is_one_sided() {
                Side::Right
            } else {
                Side::Both
            };
            let at = |amplitude_iod| {
                let spec = WarpSpec {
                    cue,
                    side,
                    amplitude_iod,
                };
                min_jacobian_determinant(
                    &DisplacementField::new(&landmarks, &spec, 1.0).expect("field"),
                )
            };
            let largest = at(0.05);
            assert!(largest > 0.45, "{cue} at 0.05 IOD squeezes to {largest}");
            let double = at(MAX_AMPLITUDE_IOD);
            assert!(
                double > 0.0,
                "{cue} folds at {MAX_AMPLITUDE_IOD} IOD: {double}"
            );
        }
    }

    /// Renders before / after / amplified-difference PNGs of every cue on astronaut.png into
    /// /tmp/microcue_warp for a look by eye (not run by default: it writes images).
    #[test]
    #[ignore = "writes PNGs to /tmp for visual inspection"]
    fn render_warp_examples() {
        let (src, landmarks) = astronaut();
        let out_dir = std::path::Path::new("/tmp/microcue_warp");
        std::fs::create_dir_all(out_dir).expect("create /tmp/microcue_warp");
        let axes = FaceAxes::from_landmarks(&landmarks).expect("axes");
        let (cx, cy) = (axes.eye_mid[0], axes.eye_mid[1] + 0.5 * axes.iod_px);
        let half = (1.6 * axes.iod_px) as i64;
        let zoom = 4u32;
        let crop = |frame: &Frame| {
            let side = (2 * half) as u32;
            image::RgbImage::from_fn(side * zoom, side * zoom, |x, y| {
                let sx =
                    (cx as i64 - half + (x / zoom) as i64).clamp(0, frame.width as i64 - 1) as u32;
                let sy =
                    (cy as i64 - half + (y / zoom) as i64).clamp(0, frame.height as i64 - 1) as u32;
                image::Rgb(frame.pixel(sx, sy))
            })
        };
        let mut dst = Frame::default();
        for cue in INJECTABLE_CUES {
            let side = if cue.is_one_sided() {
                Side::Left
            } else {
                Side::Both
            };
            // Twice the largest amplitude used in evaluation, so the shape is easier to see.
            let spec = WarpSpec {
                cue,
                side,
                amplitude_iod: MAX_AMPLITUDE_IOD,
            };
            warp_frame(&src, &landmarks, &spec, 1.0, &mut dst);
            let before = crop(&src);
            let after = crop(&dst);
            let mut sheet = image::RgbImage::new(before.width() * 3, before.height());
            image::imageops::replace(&mut sheet, &before, 0, 0);
            image::imageops::replace(&mut sheet, &after, before.width() as i64, 0);
            let difference = image::RgbImage::from_fn(before.width(), before.height(), |x, y| {
                let a = before.get_pixel(x, y).0;
                let b = after.get_pixel(x, y).0;
                let d = (0..3)
                    .map(|c| a[c].abs_diff(b[c]) as u32)
                    .max()
                    .unwrap_or(0);
                let v = (d * 8).min(255) as u8;
                image::Rgb([v, v, v])
            });
            image::imageops::replace(&mut sheet, &difference, 2 * before.width() as i64, 0);
            sheet
                .save(out_dir.join(format!("{cue}.png")))
                .expect("save PNG");
        }
    }
}
