//! BlazeFace face detection (MediaPipe short- and full-range models).
//!
//! The frame is letterboxed into the model's square input (RGB in [-1, 1], black padding), the
//! model scores a fixed grid of SSD anchors and regresses a box and six keypoints relative to each
//! anchor. Decoding follows MediaPipe's `TensorsToDetectionsCalculator` (sigmoid scores clipped
//! at +-100 logits, anchors of fixed size 1, coordinates scaled by the input size) and overlapping
//! candidates are merged by MediaPipe's *weighted* non-maximum suppression (IoU > 0.3: the box and
//! keypoints become the score-weighted mean of the cluster, the score stays the best one).
//!
//! | model | input | anchors |
//! |---|---|---|
//! | short range (faces within ~2 m) | 128 x 128 | 16x16 grid x 2 + 8x8 grid x 6 = 896 |
//! | full range (small, far or several faces) | 192 x 192 | 48x48 grid x 1 = 2304 |
//!
//! Keypoints ([`keypoint`]) are named from the subject's point of view, as in MediaPipe.

use crate::crop::{
    RotatedRect, SampleGrid, check_frame, normalize_radians, sample_rotated_rect_in_layout,
};
use crate::error::VisionError;
use crate::frame::Frame;
use crate::models::{FaceModels, ModelRunner};

/// Indices into [`Detection::keypoints_in_image`] (subject's left/right, as in MediaPipe).
pub mod keypoint {
    /// Centre of the subject's right eye (image left in an unmirrored frontal view).
    pub const RIGHT_EYE: usize = 0;
    /// Centre of the subject's left eye.
    pub const LEFT_EYE: usize = 1;
    /// Nose tip.
    pub const NOSE_TIP: usize = 2;
    /// Mouth centre.
    pub const MOUTH_CENTER: usize = 3;
    /// Subject's right ear tragion.
    pub const RIGHT_EAR_TRAGION: usize = 4;
    /// Subject's left ear tragion.
    pub const LEFT_EAR_TRAGION: usize = 5;
}

/// Number of keypoints per detection.
pub const KEYPOINT_COUNT: usize = 6;

/// How much larger than the detected box the landmark model's crop is (MediaPipe: 1.5).
pub const ROI_SCALE: f32 = 1.5;

/// Which BlazeFace model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DetectorRange {
    /// 128x128 input, faces that fill a good part of the frame (webcam distance).
    #[default]
    Short,
    /// 192x192 input, small or far faces and groups.
    Full,
}

impl DetectorRange {
    /// Side of the model's square input, pixels.
    pub fn input_size_px(self) -> usize {
        match self {
            DetectorRange::Short => 128,
            DetectorRange::Full => 192,
        }
    }

    /// Number of anchors (rows of the model's outputs).
    pub fn anchor_count(self) -> usize {
        match self {
            DetectorRange::Short => 896,
            DetectorRange::Full => 2304,
        }
    }
}

/// Decoding and suppression thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorOptions {
    /// Candidates scoring below this are ignored (MediaPipe default 0.5).
    pub min_score: f32,
    /// Candidates overlapping a better one by more than this IoU are merged into it (0.3).
    pub nms_iou: f32,
    /// At most this many faces are returned.
    pub max_detections: usize,
}

impl Default for DetectorOptions {
    fn default() -> Self {
        DetectorOptions {
            min_score: 0.5,
            nms_iou: 0.3,
            max_detections: 16,
        }
    }
}

/// One detected face, in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Detection {
    /// Detection confidence in [0, 1].
    pub score: f32,
    /// Axis-aligned box centre x, image pixels.
    pub center_x_px: f32,
    /// Box centre y, image pixels.
    pub center_y_px: f32,
    /// Box width, pixels.
    pub width_px: f32,
    /// Box height, pixels.
    pub height_px: f32,
    /// The six keypoints (see [`keypoint`]), (x, y) image pixels.
    pub keypoints_in_image: [[f32; 2]; KEYPOINT_COUNT],
}

impl Detection {
    /// Intersection over union of the two axis-aligned boxes.
    pub fn iou(&self, other: &Detection) -> f32 {
        box_iou(
            [
                self.center_x_px,
                self.center_y_px,
                self.width_px,
                self.height_px,
            ],
            [
                other.center_x_px,
                other.center_y_px,
                other.width_px,
                other.height_px,
            ],
        )
    }

    /// The landmark model's crop for this face, as in MediaPipe: centred on the box, square of
    /// side [`ROI_SCALE`] x the longer box side, rotated so that the eyes are level.
    pub fn landmark_roi(&self) -> RotatedRect {
        let [right_eye_x, right_eye_y] = self.keypoints_in_image[keypoint::RIGHT_EYE];
        let [left_eye_x, left_eye_y] = self.keypoints_in_image[keypoint::LEFT_EYE];
        let rotation_rad =
            normalize_radians((left_eye_y - right_eye_y).atan2(left_eye_x - right_eye_x));
        let side_px = self.width_px.max(self.height_px) * ROI_SCALE;
        RotatedRect {
            center_x_px: self.center_x_px,
            center_y_px: self.center_y_px,
            width_px: side_px,
            height_px: side_px,
            rotation_rad,
        }
    }
}

/// IoU of two axis-aligned boxes given as `[center_x, center_y, width, height]` (same units).
pub fn box_iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let overlap = |ca: f32, sa: f32, cb: f32, sb: f32| {
        ((ca + sa / 2.0).min(cb + sb / 2.0) - (ca - sa / 2.0).max(cb - sb / 2.0)).max(0.0)
    };
    let intersection = overlap(a[0], a[2], b[0], b[2]) * overlap(a[1], a[3], b[1], b[3]);
    let union = a[2] * a[3] + b[2] * b[3] - intersection;
    if union > 0.0 {
        intersection / union
    } else {
        0.0
    }
}

/// SSD anchor centres, normalised to [0, 1], in the models' output order.
pub fn anchors(range: DetectorRange) -> Vec<[f32; 2]> {
    // (feature map side, anchors per cell)
    let layers: &[(usize, usize)] = match range {
        DetectorRange::Short => &[(16, 2), (8, 6)],
        DetectorRange::Full => &[(48, 1)],
    };
    let mut centers = Vec::with_capacity(range.anchor_count());
    for &(side, per_cell) in layers {
        for y in 0..side {
            for x in 0..side {
                let center = [
                    (x as f32 + 0.5) / side as f32,
                    (y as f32 + 0.5) / side as f32,
                ];
                centers.extend(std::iter::repeat_n(center, per_cell));
            }
        }
    }
    centers
}

fn sigmoid(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit.clamp(-100.0, 100.0)).exp())
}

/// A BlazeFace detector with its buffers: create once, call [`FaceDetector::detect`] per frame.
#[derive(Debug)]
pub struct FaceDetector {
    range: DetectorRange,
    options: DetectorOptions,
    runner: ModelRunner,
    anchors: Vec<[f32; 2]>,
    candidates: Vec<Detection>,
    remaining: Vec<usize>,
    next_remaining: Vec<usize>,
}

impl FaceDetector {
    /// A detector using one of the loaded models.
    pub fn new(
        models: &FaceModels,
        range: DetectorRange,
        options: DetectorOptions,
    ) -> Result<Self, VisionError> {
        let model = match range {
            DetectorRange::Short => &models.detector_short_range,
            DetectorRange::Full => &models.detector_full_range,
        };
        Ok(FaceDetector {
            range,
            options,
            runner: ModelRunner::new(model)?,
            anchors: anchors(range),
            candidates: Vec::with_capacity(64),
            remaining: Vec::with_capacity(64),
            next_remaining: Vec::with_capacity(64),
        })
    }

    /// Which model this detector runs.
    pub fn range(&self) -> DetectorRange {
        self.range
    }

    /// The thresholds in use.
    pub fn options(&self) -> DetectorOptions {
        self.options
    }

    /// The model runner (raw tensors in and out), e.g. for checks against reference outputs.
    pub fn runner_mut(&mut self) -> &mut ModelRunner {
        &mut self.runner
    }

    /// Detects faces in `frame`; clears `out` and fills it best first.
    pub fn detect(&mut self, frame: &Frame, out: &mut Vec<Detection>) -> Result<(), VisionError> {
        check_frame(frame)?;
        let letterbox = RotatedRect::letterbox(frame.width, frame.height);
        let size_px = self.range.input_size_px();
        let layout = self.runner.input_layout();
        self.runner.fill_input(|input| {
            sample_rotated_rect_in_layout(
                frame,
                &letterbox,
                size_px,
                1.0 / 127.5,
                -1.0,
                layout,
                SampleGrid::PixelCenters,
                input,
            )
        })?;
        self.runner.run()?;
        self.decode(&letterbox)?;
        self.suppress(out);
        Ok(())
    }

    /// The single best-scoring anchor of the last run, without suppression (what the reference
    /// pipeline uses), mapped through `letterbox`; `None` when no anchor reaches `min_score`.
    pub fn best_raw_candidate(
        &self,
        letterbox: &RotatedRect,
    ) -> Result<Option<Detection>, VisionError> {
        let (regressors, logits) = self.outputs()?;
        let best = logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(index, _)| index);
        Ok(best.and_then(|index| {
            let detection = self.decode_anchor(regressors, logits, index, letterbox);
            (detection.score >= self.options.min_score).then_some(detection)
        }))
    }

    fn outputs(&self) -> Result<(&[f32], &[f32]), VisionError> {
        let count = self.range.anchor_count();
        let regressors = self.runner.output_checked(0, count * 16)?;
        let logits = self.runner.output_checked(1, count)?;
        Ok((regressors, logits))
    }

    fn decode_anchor(
        &self,
        regressors: &[f32],
        logits: &[f32],
        index: usize,
        letterbox: &RotatedRect,
    ) -> Detection {
        let scale = 1.0 / self.range.input_size_px() as f32;
        let row = &regressors[index * 16..(index + 1) * 16];
        let [anchor_x, anchor_y] = self.anchors[index];
        let to_image = |x_norm: f32, y_norm: f32| letterbox.image_from_crop(x_norm, y_norm);
        let [center_x_px, center_y_px] =
            to_image(row[0] * scale + anchor_x, row[1] * scale + anchor_y);
        let mut keypoints_in_image = [[0.0; 2]; KEYPOINT_COUNT];
        for (k, keypoint) in keypoints_in_image.iter_mut().enumerate() {
            *keypoint = to_image(
                row[4 + 2 * k] * scale + anchor_x,
                row[5 + 2 * k] * scale + anchor_y,
            );
        }
        Detection {
            score: sigmoid(logits[index]),
            center_x_px,
            center_y_px,
            width_px: row[2] * scale * letterbox.width_px,
            height_px: row[3] * scale * letterbox.height_px,
            keypoints_in_image,
        }
    }

    /// Fills `self.candidates` with every anchor scoring at least `min_score`.
    fn decode(&mut self, letterbox: &RotatedRect) -> Result<(), VisionError> {
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        let min_logit = (self.options.min_score / (1.0 - self.options.min_score)).ln();
        let result = self.outputs().map(|(regressors, logits)| {
            for (index, &logit) in logits.iter().enumerate() {
                if logit >= min_logit {
                    let detection = self.decode_anchor(regressors, logits, index, letterbox);
                    if detection.score >= self.options.min_score {
                        candidates.push(detection);
                    }
                }
            }
        });
        self.candidates = candidates;
        result
    }

    /// MediaPipe's weighted non-maximum suppression of `self.candidates` into `out`.
    fn suppress(&mut self, out: &mut Vec<Detection>) {
        out.clear();
        let candidates = &self.candidates;
        self.remaining.clear();
        self.remaining.extend(0..candidates.len());
        self.remaining
            .sort_by(|&a, &b| candidates[b].score.total_cmp(&candidates[a].score));
        while let Some(&best_index) = self.remaining.first() {
            if out.len() >= self.options.max_detections {
                break;
            }
            let best = candidates[best_index];
            self.next_remaining.clear();
            let mut total_weight = 0.0f32;
            let mut bounds = [0.0f32; 4]; // weighted x_min, y_min, x_max, y_max
            let mut keypoints = [[0.0f32; 2]; KEYPOINT_COUNT];
            for &index in &self.remaining {
                let candidate = &candidates[index];
                if candidate.iou(&best) > self.options.nms_iou {
                    let weight = candidate.score;
                    total_weight += weight;
                    bounds[0] += (candidate.center_x_px - candidate.width_px / 2.0) * weight;
                    bounds[1] += (candidate.center_y_px - candidate.height_px / 2.0) * weight;
                    bounds[2] += (candidate.center_x_px + candidate.width_px / 2.0) * weight;
                    bounds[3] += (candidate.center_y_px + candidate.height_px / 2.0) * weight;
                    for (sum, point) in keypoints.iter_mut().zip(candidate.keypoints_in_image) {
                        sum[0] += point[0] * weight;
                        sum[1] += point[1] * weight;
                    }
                } else {
                    self.next_remaining.push(index);
                }
            }
            let mut merged = best;
            if total_weight > 0.0 {
                let [x_min, y_min, x_max, y_max] = bounds.map(|b| b / total_weight);
                merged.center_x_px = (x_min + x_max) / 2.0;
                merged.center_y_px = (y_min + y_max) / 2.0;
                merged.width_px = x_max - x_min;
                merged.height_px = y_max - y_min;
                merged.keypoints_in_image =
                    keypoints.map(|[x, y]| [x / total_weight, y / total_weight]);
            }
            out.push(merged);
            if self.next_remaining.len() == self.remaining.len() {
                // The best box did not even match itself (degenerate size): stop.
                break;
            }
            std::mem::swap(&mut self.remaining, &mut self.next_remaining);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_grids_match_the_models() {
        let short = anchors(DetectorRange::Short);
        assert_eq!(short.len(), 896);
        assert_eq!(short[0], [0.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(short[1], short[0]);
        assert_eq!(short[512], [0.5 / 8.0, 0.5 / 8.0]);
        let full = anchors(DetectorRange::Full);
        assert_eq!(full.len(), 2304);
        assert_eq!(full[48], [0.5 / 48.0, 1.5 / 48.0]);
    }

    #[test]
    fn iou_of_boxes() {
        assert!((box_iou([0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]) - 1.0).abs() < 1e-6);
        assert_eq!(box_iou([0.0, 0.0, 2.0, 2.0], [5.0, 0.0, 2.0, 2.0]), 0.0);
        // Half overlap along x: intersection 2, union 6.
        assert!((box_iou([0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 2.0, 2.0]) - 1.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn roi_is_level_with_the_eyes() {
        let mut detection = Detection {
            score: 0.9,
            center_x_px: 100.0,
            center_y_px: 80.0,
            width_px: 40.0,
            height_px: 38.0,
            ..Default::default()
        };
        detection.keypoints_in_image[keypoint::RIGHT_EYE] = [90.0, 70.0];
        detection.keypoints_in_image[keypoint::LEFT_EYE] = [110.0, 80.0];
        let roi = detection.landmark_roi();
        assert!((roi.width_px - 60.0).abs() < 1e-4);
        // The subject's left eye is lower on screen: the head is tilted clockwise.
        assert!((roi.rotation_rad - 0.5f32.atan()).abs() < 1e-6);
    }
}
