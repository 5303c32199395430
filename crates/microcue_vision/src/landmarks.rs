//! The 478-point face mesh (MediaPipe Face Landmarker v2, with iris).
//!
//! Input: a square crop of the face ([`crate::crop::RotatedRect`], normally 1.5 x the face size,
//! rotated so the eyes are level), resampled to 256 x 256 RGB in [0, 1]. Output: 478 points
//! (x, y, z) in crop pixels and a face-presence logit. [`LandmarkDetector::run`] maps the points
//! back to image pixels (`z` is scaled like `x`, smaller = closer to the camera) and returns the
//! presence as a probability.
//!
//! Landmark indices are MediaPipe's canonical mesh indices. Landmark 33 is the outer corner of the
//! subject's **right** eye, 263 the outer corner of the subject's **left** eye; in an unmirrored
//! frontal view 33 is on the image's left (checked on `astronaut.png` in `tests/vision.rs`).

use std::time::{Duration, Instant};

use microcue_core::LANDMARK_COUNT;

use crate::crop::{
    RotatedRect, SampleGrid, check_frame, normalize_radians, sample_rotated_rect_in_layout,
};
use crate::detector::ROI_SCALE;
use crate::error::VisionError;
use crate::frame::Frame;
use crate::models::{FaceModels, ModelRunner};

/// Side of the landmark model's square input, pixels.
pub const LANDMARK_INPUT_SIZE_PX: usize = 256;

/// Named landmark indices used by the tracker and head pose (subject's left/right).
pub mod landmark {
    /// Outer corner of the subject's right eye (image left in an unmirrored frontal view).
    pub const RIGHT_EYE_OUTER: usize = 33;
    /// Outer corner of the subject's left eye.
    pub const LEFT_EYE_OUTER: usize = 263;
    /// Inner corner of the subject's right eye.
    pub const RIGHT_EYE_INNER: usize = 133;
    /// Inner corner of the subject's left eye.
    pub const LEFT_EYE_INNER: usize = 362;
    /// Nose tip.
    pub const NOSE_TIP: usize = 1;
    /// Top of the forehead, on the midline.
    pub const FOREHEAD_TOP: usize = 10;
    /// Between the eyes (nasion area).
    pub const BETWEEN_EYES: usize = 168;
    /// Bottom of the chin.
    pub const CHIN: usize = 152;
    /// Right mouth corner (subject's right).
    pub const MOUTH_RIGHT: usize = 61;
    /// Left mouth corner (subject's left).
    pub const MOUTH_LEFT: usize = 291;
    /// Centre of the subject's right iris.
    pub const RIGHT_IRIS_CENTER: usize = 468;
    /// Centre of the subject's left iris.
    pub const LEFT_IRIS_CENTER: usize = 473;
}

/// The landmark model with its input tensor: create once, call [`LandmarkDetector::run`] per
/// face per frame.
#[derive(Debug)]
pub struct LandmarkDetector {
    runner: ModelRunner,
    grid: SampleGrid,
    last_crop_time: Duration,
}

impl LandmarkDetector {
    /// A detector using the loaded landmark model.
    pub fn new(models: &FaceModels) -> Result<Self, VisionError> {
        Ok(LandmarkDetector {
            runner: ModelRunner::new(&models.landmarks)?,
            grid: SampleGrid::PixelCenters,
            last_crop_time: Duration::ZERO,
        })
    }

    /// Time the last [`LandmarkDetector::run`] spent cropping (the rest was the model).
    pub fn last_crop_time(&self) -> Duration {
        self.last_crop_time
    }

    /// Samples the crop on `grid` from now on ([`SampleGrid::PixelCenters`] by default).
    pub fn set_sample_grid(&mut self, grid: SampleGrid) {
        self.grid = grid;
    }

    /// The model runner (raw tensors in and out), e.g. for checks against reference outputs.
    pub fn runner_mut(&mut self) -> &mut ModelRunner {
        &mut self.runner
    }

    /// Crops `roi` out of `frame`, runs the mesh and writes the 478 landmarks in image pixels
    /// into `landmarks_in_image` (cleared first, capacity reused). Returns the face presence in
    /// [0, 1].
    pub fn run(
        &mut self,
        frame: &Frame,
        roi: &RotatedRect,
        landmarks_in_image: &mut Vec<[f32; 3]>,
    ) -> Result<f32, VisionError> {
        check_frame(frame)?;
        let layout = self.runner.input_layout();
        let crop_start = Instant::now();
        self.runner.fill_input(|input| {
            sample_rotated_rect_in_layout(
                frame,
                roi,
                LANDMARK_INPUT_SIZE_PX,
                1.0 / 255.0,
                0.0,
                layout,
                self.grid,
                input,
            )
        })?;
        self.last_crop_time = crop_start.elapsed();
        self.runner.run()?;
        self.read_outputs(roi, landmarks_in_image)
    }

    /// Maps the last run's outputs through `roi` (the crop the input was taken from).
    pub fn read_outputs(
        &self,
        roi: &RotatedRect,
        landmarks_in_image: &mut Vec<[f32; 3]>,
    ) -> Result<f32, VisionError> {
        let points_in_crop = self.runner.output_checked(0, LANDMARK_COUNT * 3)?;
        let presence_logit = self.runner.output_checked(1, 1)?[0];
        landmarks_in_image.clear();
        let inverse_size = 1.0 / LANDMARK_INPUT_SIZE_PX as f32;
        landmarks_in_image.extend(points_in_crop.chunks_exact(3).map(|point| {
            let [x_px, y_px] =
                roi.image_from_crop(point[0] * inverse_size, point[1] * inverse_size);
            [x_px, y_px, point[2] * inverse_size * roi.width_px]
        }));
        Ok(1.0 / (1.0 + (-presence_logit.clamp(-100.0, 100.0)).exp()))
    }
}

/// Axis-aligned bounding box of landmarks, `[center_x, center_y, width, height]` image pixels.
pub fn landmark_box(landmarks_in_image: &[[f32; 3]]) -> [f32; 4] {
    let mut min = [f32::INFINITY; 2];
    let mut max = [f32::NEG_INFINITY; 2];
    for point in landmarks_in_image {
        for axis in 0..2 {
            min[axis] = min[axis].min(point[axis]);
            max[axis] = max[axis].max(point[axis]);
        }
    }
    if landmarks_in_image.is_empty() {
        return [0.0; 4];
    }
    [
        (min[0] + max[0]) / 2.0,
        (min[1] + max[1]) / 2.0,
        max[0] - min[0],
        max[1] - min[1],
    ]
}

/// The next frame's crop from this frame's landmarks, as MediaPipe's face landmarker does it in
/// video mode: the axis-aligned box of all landmarks, rotated so that the line from landmark 33
/// to 263 (outer eye corners) is level, made square on its longer side and scaled by 1.5.
pub fn roi_from_landmarks(landmarks_in_image: &[[f32; 3]]) -> Option<RotatedRect> {
    if landmarks_in_image.len() != LANDMARK_COUNT {
        return None;
    }
    let [center_x_px, center_y_px, width_px, height_px] = landmark_box(landmarks_in_image);
    let start = landmarks_in_image[landmark::RIGHT_EYE_OUTER];
    let end = landmarks_in_image[landmark::LEFT_EYE_OUTER];
    let rotation_rad = normalize_radians((end[1] - start[1]).atan2(end[0] - start[0]));
    let side_px = width_px.max(height_px) * ROI_SCALE;
    (side_px.is_finite() && side_px > 0.0).then_some(RotatedRect {
        center_x_px,
        center_y_px,
        width_px: side_px,
        height_px: side_px,
        rotation_rad,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_from_level_landmarks_is_square_and_level() {
        let mut points = vec![[50.0, 50.0, 0.0]; LANDMARK_COUNT];
        points[0] = [30.0, 40.0, 0.0];
        points[1] = [70.0, 100.0, 0.0];
        points[landmark::RIGHT_EYE_OUTER] = [40.0, 60.0, 0.0];
        points[landmark::LEFT_EYE_OUTER] = [60.0, 60.0, 0.0];
        let roi = roi_from_landmarks(&points).unwrap();
        assert_eq!([roi.center_x_px, roi.center_y_px], [50.0, 70.0]);
        assert!((roi.width_px - 90.0).abs() < 1e-4 && roi.width_px == roi.height_px);
        assert_eq!(roi.rotation_rad, 0.0);
        assert!(roi_from_landmarks(&points[..10]).is_none());
    }
}
