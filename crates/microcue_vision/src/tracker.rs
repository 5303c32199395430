//! The face tracker: frames in, one [`FaceSignals`] per tracked face out.
//!
//! It works like MediaPipe's Face Landmarker in VIDEO mode:
//!
//! 1. Every tracked face is cropped where its landmarks were in the previous frame (the crop
//!    of frame t comes from the landmarks of frame t-1: axis-aligned box of the 478 points,
//!    rotated so that the outer eye corners 33 -> 263 are level, square, x 1.5), and the mesh
//!    model runs on that crop. A face whose presence score falls below
//!    [`TrackerConfig::min_presence`] is dropped.
//! 2. The detector runs on the first frame, on any frame where a track was just lost, and
//!    every [`TrackerConfig::redetect_interval_s`] while fewer than
//!    [`TrackerConfig::max_faces`] faces are tracked. New faces (not overlapping a tracked one)
//!    start tracks, cropped from the detection (1.5 x the box, eyes level).
//! 3. The crop for the next frame is smoothed with a one-euro filter on its centre, size and
//!    rotation ([`CropSmoothing`]), so that crop jitter does not become landmark jitter that a
//!    spotter would read as movement. The landmarks themselves are not smoothed: brief real
//!    movements are the signal.
//! 4. Blendshapes and head pose are computed from each face's landmarks.
//!
//! [`TrackerConfig::mediapipe_video`] reproduces MediaPipe's VIDEO mode instead, for the peer
//! comparison (benches/mediapipe_peer): the crop comes from the raw landmarks (no crop
//! smoothing) and is sampled on MediaPipe's grid ([`SampleGrid::MediaPipe`]), and the landmarks
//! handed out (and the blendshapes and pose computed from them) are smoothed with MediaPipe's
//! own one-euro filter ([`LandmarkSmoothing::MEDIAPIPE`]). That filter damps brief small
//! movements (a still landmark moves by ~1 % of a change per frame), so it is not the default:
//! micro-expressions are exactly such movements.
//!
//! Track ids are stable: a face keeps its [`TrackId`] while it is tracked, a face lost and found
//! again at the same place within [`TrackerConfig::reacquire_window_s`] gets its id back, and an
//! id is never given to a different face within one tracker's life (ids only increase).
//!
//! # Left and right
//!
//! MediaPipe names sides from the **subject's** point of view. Checked on
//! `tests/data/reference/astronaut.png` (an unmirrored photo, `tests/vision.rs`): landmark 33
//! (outer corner of the subject's right eye) lies on the image's **left**, 263 on the right,
//! detector keypoint 0 ("right eye") on the left; and closing the eye on the image's left (by
//! moving its lid landmarks) raises `eyeBlinkRight`, not `eyeBlinkLeft`. So in an unmirrored
//! camera image `...Left` blendshapes describe the image's right half. A mirrored "selfie"
//! preview flips the image, not the naming: `...Left` is still the subject's left.
//!
//! # Cost
//!
//! Per tracked face and frame: one landmark run and one blendshape run (no detector). The
//! per-frame path reuses every buffer (model input tensors, landmark vectors, the caller's
//! `out` vector and its elements); only tract's own intermediate tensors are allocated.

use std::time::{Duration, Instant};

use microcue_core::{FaceSignals, LANDMARK_COUNT, TrackId};

use crate::blendshapes::BlendshapeModel;
use crate::crop::{RotatedRect, SampleGrid, check_frame, normalize_radians};
use crate::detector::{Detection, DetectorOptions, DetectorRange, FaceDetector};
use crate::error::VisionError;
use crate::frame::Frame;
use crate::landmarks::{LandmarkDetector, landmark_box, roi_from_landmarks};
use crate::models::FaceModels;
use crate::pose::head_pose;

/// One-euro filter settings for the landmark crop (see Casiez et al., CHI 2012).
///
/// Speeds are measured in crop sizes per second (and radians per second for the rotation), so
/// the same settings suit near and far faces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropSmoothing {
    /// Cut-off frequency when the face is still, Hz (lower = smoother, more lag).
    pub min_cutoff_hz: f32,
    /// How fast the cut-off rises with speed (per crop size per second).
    pub beta: f32,
    /// Cut-off of the speed estimate, Hz.
    pub derivative_cutoff_hz: f32,
}

impl Default for CropSmoothing {
    fn default() -> Self {
        CropSmoothing {
            min_cutoff_hz: 1.0,
            beta: 10.0,
            derivative_cutoff_hz: 1.0,
        }
    }
}

/// One-euro filter on every landmark coordinate, as MediaPipe's `LandmarksSmoothingCalculator`
/// applies it to the Face Landmarker's output in VIDEO mode (single face).
///
/// Coordinates are filtered in image pixels (z scaled like x), each on its own; speeds are
/// measured in face sizes per second (the face size being the mean of the width and height of
/// the landmarks' box), the sampling rate comes from the frame times (30 Hz until two frames
/// are known), and the filter restarts when the face is lost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LandmarkSmoothing {
    /// Cut-off frequency when the landmark is still, Hz.
    pub min_cutoff_hz: f64,
    /// How fast the cut-off rises with speed.
    pub beta: f64,
    /// Cut-off of the speed estimate, Hz.
    pub derivative_cutoff_hz: f64,
}

impl LandmarkSmoothing {
    /// The settings of MediaPipe's face landmarker (`ConfigureLandmarksSmoothingCalculator` in
    /// `face_landmarks_detector_graph.cc`): min cut-off 0.05 Hz, beta 80, derivative cut-off 1 Hz.
    pub const MEDIAPIPE: LandmarkSmoothing = LandmarkSmoothing {
        min_cutoff_hz: 0.05,
        beta: 80.0,
        derivative_cutoff_hz: 1.0,
    };
}

/// Settings of a [`FaceTracker`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerConfig {
    /// Most faces tracked at once (1 by default: the person facing the camera; 0 counts as 1).
    pub max_faces: usize,
    /// Use the full-range detector (small, far or several faces) instead of the short-range one.
    pub detect_full_range: bool,
    /// Detections scoring below this are ignored.
    pub min_detection_score: f32,
    /// A face whose mesh presence score falls below this is dropped (MediaPipe: 0.5).
    pub min_presence: f32,
    /// While fewer than `max_faces` are tracked, look for new faces this often, seconds.
    pub redetect_interval_s: f64,
    /// A lost face found again at the same place within this time keeps its id, seconds.
    pub reacquire_window_s: f64,
    /// Crop smoothing; `None` uses each frame's raw landmark crop.
    pub smoothing: Option<CropSmoothing>,
    /// Smoothing of the landmarks handed out (and of the blendshapes and pose computed from
    /// them); `None` (the default) hands out the landmark model's own output.
    pub landmark_smoothing: Option<LandmarkSmoothing>,
    /// Where the landmark crop's samples fall ([`SampleGrid::PixelCenters`] by default).
    pub sample_grid: SampleGrid,
}

impl TrackerConfig {
    /// MediaPipe's VIDEO mode for one face: raw landmark crops sampled on MediaPipe's grid,
    /// output landmarks smoothed with [`LandmarkSmoothing::MEDIAPIPE`]. For comparing with
    /// MediaPipe, not for spotting.
    pub fn mediapipe_video() -> Self {
        TrackerConfig {
            smoothing: None,
            landmark_smoothing: Some(LandmarkSmoothing::MEDIAPIPE),
            sample_grid: SampleGrid::MediaPipe,
            ..TrackerConfig::default()
        }
    }
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            max_faces: 1,
            detect_full_range: false,
            min_detection_score: 0.5,
            min_presence: 0.5,
            redetect_interval_s: 1.0,
            reacquire_window_s: 1.0,
            smoothing: Some(CropSmoothing::default()),
            landmark_smoothing: None,
            sample_grid: SampleGrid::PixelCenters,
        }
    }
}

/// Time per stage of the last [`FaceTracker::process`] call (summed over faces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackerTimings {
    /// The face detector (zero on frames where it did not run).
    pub detection: Duration,
    /// Cropping the landmark model's input.
    pub crop: Duration,
    /// The landmark model itself, and mapping its output to the image.
    pub landmarks: Duration,
    /// The blendshape model.
    pub blendshapes: Duration,
    /// Head pose, landmark smoothing and bookkeeping: the rest.
    pub other: Duration,
}

/// Counters of model runs, for tests and performance reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackerStats {
    /// Frames processed.
    pub frames: u64,
    /// Detector runs.
    pub detector_runs: u64,
    /// Landmark model runs.
    pub landmark_runs: u64,
    /// Tracks started (new ids and re-acquired ones).
    pub tracks_started: u64,
    /// Tracks lost (presence below threshold).
    pub tracks_lost: u64,
}

/// Overlap above which a detection or track is taken to be an already tracked face:
/// intersection over the smaller box (detector boxes are tighter than landmark boxes).
const SAME_FACE_OVERLAP: f32 = 0.5;

/// Scalar one-euro filter state.
#[derive(Debug, Clone, Copy, Default)]
struct OneEuro {
    value: f32,
    derivative: f32,
}

fn smoothing_factor(cutoff_hz: f32, dt_s: f32) -> f32 {
    let tau = 1.0 / (2.0 * std::f32::consts::PI * cutoff_hz.max(1e-3));
    1.0 / (1.0 + tau / dt_s)
}

impl OneEuro {
    fn new(value: f32) -> Self {
        OneEuro {
            value,
            derivative: 0.0,
        }
    }

    /// Filters `raw`; `scale` converts the speed into the units of `beta`.
    fn update(&mut self, raw: f32, dt_s: f32, scale: f32, settings: &CropSmoothing) -> f32 {
        let raw_derivative = (raw - self.value) / dt_s;
        let a_d = smoothing_factor(settings.derivative_cutoff_hz, dt_s);
        self.derivative += a_d * (raw_derivative - self.derivative);
        let cutoff = settings.min_cutoff_hz + settings.beta * self.derivative.abs() / scale;
        self.value += smoothing_factor(cutoff, dt_s) * (raw - self.value);
        self.value
    }
}

/// One-euro filters on the crop's centre, side and rotation.
#[derive(Debug, Clone, Copy, Default)]
struct RoiFilter {
    center_x: OneEuro,
    center_y: OneEuro,
    side: OneEuro,
    rotation: OneEuro,
}

impl RoiFilter {
    fn new(roi: &RotatedRect) -> Self {
        RoiFilter {
            center_x: OneEuro::new(roi.center_x_px),
            center_y: OneEuro::new(roi.center_y_px),
            side: OneEuro::new(roi.width_px),
            rotation: OneEuro::new(roi.rotation_rad),
        }
    }

    fn update(&mut self, raw: &RotatedRect, dt_s: f32, settings: &CropSmoothing) -> RotatedRect {
        use std::f32::consts::{PI, TAU};
        let scale = self.side.value.max(1.0);
        let center_x_px = self.center_x.update(raw.center_x_px, dt_s, scale, settings);
        let center_y_px = self.center_y.update(raw.center_y_px, dt_s, scale, settings);
        let side_px = self.side.update(raw.width_px, dt_s, scale, settings);
        // Unwrap the raw angle next to the filtered one so that +-pi is not a jump.
        let mut rotation = raw.rotation_rad;
        while rotation - self.rotation.value > PI {
            rotation -= TAU;
        }
        while rotation - self.rotation.value < -PI {
            rotation += TAU;
        }
        let rotation_rad = normalize_radians(self.rotation.update(rotation, dt_s, 1.0, settings));
        RotatedRect {
            center_x_px,
            center_y_px,
            width_px: side_px,
            height_px: side_px,
            rotation_rad,
        }
    }
}

/// First-order low-pass filter state of one value (MediaPipe's `LowPassFilter`).
#[derive(Debug, Clone, Copy, Default)]
struct LowPass {
    started: bool,
    raw: f64,
    value: f64,
}

impl LowPass {
    fn apply(&mut self, raw: f64, alpha: f64) -> f64 {
        self.value = if self.started {
            alpha * raw + (1.0 - alpha) * self.value
        } else {
            raw
        };
        self.started = true;
        self.raw = raw;
        self.value
    }
}

/// One-euro filter of one coordinate: the value and its speed.
#[derive(Debug, Clone, Copy, Default)]
struct CoordinateFilter {
    value: LowPass,
    speed: LowPass,
}

/// [`LandmarkSmoothing`] state of one face: a filter per coordinate and the clock they share.
#[derive(Debug, Clone)]
struct LandmarkFilter {
    coordinates: Vec<[CoordinateFilter; 3]>,
    /// Time of the last filtered frame, microseconds (0: none yet).
    last_us: i64,
    /// Sampling rate, Hz.
    rate_hz: f64,
}

/// Sampling rate assumed until two frame times are known (MediaPipe's default).
const DEFAULT_RATE_HZ: f64 = 30.0;

fn low_pass_alpha(cutoff_hz: f64, rate_hz: f64) -> f64 {
    let tau = 1.0 / (2.0 * std::f64::consts::PI * cutoff_hz);
    1.0 / (1.0 + tau * rate_hz)
}

impl Default for LandmarkFilter {
    fn default() -> Self {
        LandmarkFilter {
            coordinates: Vec::new(),
            last_us: 0,
            rate_hz: DEFAULT_RATE_HZ,
        }
    }
}

impl LandmarkFilter {
    fn reset(&mut self) {
        self.coordinates.clear();
        self.last_us = 0;
        self.rate_hz = DEFAULT_RATE_HZ;
    }

    /// Filters `raw` (image pixels) at time `pts_s` into `out` (same length).
    fn apply(
        &mut self,
        raw: &[[f32; 3]],
        pts_s: f64,
        settings: &LandmarkSmoothing,
        out: &mut Vec<[f32; 3]>,
    ) {
        out.clear();
        out.extend_from_slice(raw);
        let face_size = {
            let [_, _, width, height] = landmark_box(raw);
            f64::from(width + height) / 2.0
        };
        // Frame times as MediaPipe's filter sees them (whole microseconds); a frame that is not
        // later than the last one is passed through unfiltered, as there.
        let now_us = (pts_s * 1e6).round() as i64;
        if face_size < 1e-6 || now_us <= self.last_us {
            return;
        }
        if self.coordinates.len() != raw.len() {
            self.coordinates.clear();
            self.coordinates.resize(raw.len(), Default::default());
        }
        if self.last_us != 0 && now_us != 0 {
            self.rate_hz = 1e6 / (now_us - self.last_us) as f64;
        }
        self.last_us = now_us;
        let speed_scale = self.rate_hz / face_size;
        let speed_alpha = low_pass_alpha(settings.derivative_cutoff_hz, self.rate_hz);
        for (filters, point) in self.coordinates.iter_mut().zip(out.iter_mut()) {
            for (filter, coordinate) in filters.iter_mut().zip(point.iter_mut()) {
                let raw = f64::from(*coordinate);
                let speed = if filter.value.started {
                    (raw - filter.value.raw) * speed_scale
                } else {
                    0.0
                };
                let speed = filter.speed.apply(speed, speed_alpha);
                let cutoff = settings.min_cutoff_hz + settings.beta * speed.abs();
                *coordinate = filter
                    .value
                    .apply(raw, low_pass_alpha(cutoff, self.rate_hz))
                    as f32;
            }
        }
    }
}

/// One tracked face.
#[derive(Debug, Clone)]
struct Track {
    id: TrackId,
    /// Crop for the next frame.
    roi: RotatedRect,
    filter: RoiFilter,
    /// This frame's landmarks, image pixels.
    landmarks_in_image: Vec<[f32; 3]>,
    /// The same, smoothed (with [`TrackerConfig::landmark_smoothing`] only).
    smoothed_landmarks: Vec<[f32; 3]>,
    landmark_filter: LandmarkFilter,
    presence: f32,
    /// `[center_x, center_y, width, height]` of this frame's landmarks.
    box_in_image: [f32; 4],
    last_pts_s: f64,
}

impl Track {
    fn empty() -> Self {
        Track {
            id: TrackId(0),
            roi: RotatedRect::default(),
            filter: RoiFilter::default(),
            landmarks_in_image: Vec::with_capacity(LANDMARK_COUNT),
            smoothed_landmarks: Vec::new(),
            landmark_filter: LandmarkFilter::default(),
            presence: 0.0,
            box_in_image: [0.0; 4],
            last_pts_s: 0.0,
        }
    }

    /// Filters this frame's landmarks (at `last_pts_s`) into `smoothed_landmarks`, when
    /// smoothing is on.
    fn smooth_landmarks(&mut self, settings: Option<&LandmarkSmoothing>) {
        if let Some(settings) = settings {
            self.landmark_filter.apply(
                &self.landmarks_in_image,
                self.last_pts_s,
                settings,
                &mut self.smoothed_landmarks,
            );
        }
    }
}

/// Runs the landmark model on `roi`, adding the crop's and the model's time to `timings`.
fn timed_landmarks(
    landmarks: &mut LandmarkDetector,
    timings: &mut TrackerTimings,
    frame: &Frame,
    roi: &RotatedRect,
    landmarks_in_image: &mut Vec<[f32; 3]>,
) -> Result<f32, VisionError> {
    let start = Instant::now();
    let presence = landmarks.run(frame, roi, landmarks_in_image)?;
    let crop = landmarks.last_crop_time();
    timings.crop += crop;
    timings.landmarks += start.elapsed().saturating_sub(crop);
    Ok(presence)
}

/// A face lost recently, remembered so that it can get its id back.
#[derive(Debug, Clone, Copy)]
struct LostTrack {
    id: TrackId,
    box_in_image: [f32; 4],
    lost_at_s: f64,
}

/// Intersection of two `[center_x, center_y, width, height]` boxes over the smaller one's area.
fn overlap_of_smaller(a: [f32; 4], b: [f32; 4]) -> f32 {
    let overlap = |ca: f32, sa: f32, cb: f32, sb: f32| {
        ((ca + sa / 2.0).min(cb + sb / 2.0) - (ca - sa / 2.0).max(cb - sb / 2.0)).max(0.0)
    };
    let intersection = overlap(a[0], a[2], b[0], b[2]) * overlap(a[1], a[3], b[1], b[3]);
    let smaller = (a[2] * a[3]).min(b[2] * b[3]);
    if smaller > 0.0 {
        intersection / smaller
    } else {
        0.0
    }
}

fn detection_box(detection: &Detection) -> [f32; 4] {
    [
        detection.center_x_px,
        detection.center_y_px,
        detection.width_px,
        detection.height_px,
    ]
}

/// Tracks faces through a sequence of frames. Create one per source (it holds per-run state).
///
/// ```
/// use microcue_vision::{FaceModels, FaceTracker, Frame, TrackerConfig};
///
/// let models = FaceModels::load()?; // once per process
/// let mut tracker = FaceTracker::new(&models, TrackerConfig::default())?;
/// let mut frame = Frame::default();
/// frame.resize(320, 240); // a black frame
/// let mut faces = Vec::new();
/// tracker.process(&frame, &mut faces)?;
/// assert!(faces.is_empty()); // no face is a normal outcome, not an error
/// # Ok::<(), microcue_vision::VisionError>(())
/// ```
#[derive(Debug)]
pub struct FaceTracker {
    config: TrackerConfig,
    detector: FaceDetector,
    landmarks: LandmarkDetector,
    blendshapes: BlendshapeModel,
    /// Whether [`FaceTracker::process`] runs the blendshape model itself.
    run_blendshapes: bool,
    tracks: Vec<Track>,
    spare_tracks: Vec<Track>,
    lost: Vec<LostTrack>,
    detections: Vec<Detection>,
    next_id: u32,
    last_detection_s: Option<f64>,
    stats: TrackerStats,
    timings: TrackerTimings,
}

impl FaceTracker {
    /// A tracker using the loaded models (cheap: the models are shared, only state is created).
    pub fn new(models: &FaceModels, config: TrackerConfig) -> Result<Self, VisionError> {
        let range = if config.detect_full_range {
            DetectorRange::Full
        } else {
            DetectorRange::Short
        };
        let options = DetectorOptions {
            min_score: config.min_detection_score,
            max_detections: config.max_faces.max(1) * 2,
            ..DetectorOptions::default()
        };
        let max_faces = config.max_faces.max(1);
        let mut landmarks = LandmarkDetector::new(models)?;
        landmarks.set_sample_grid(config.sample_grid);
        Ok(FaceTracker {
            config,
            detector: FaceDetector::new(models, range, options)?,
            landmarks,
            blendshapes: BlendshapeModel::new(models)?,
            run_blendshapes: true,
            tracks: Vec::with_capacity(max_faces),
            spare_tracks: (0..max_faces + 1).map(|_| Track::empty()).collect(),
            lost: Vec::with_capacity(max_faces * 2),
            detections: Vec::with_capacity(options.max_detections),
            next_id: 0,
            last_detection_s: None,
            stats: TrackerStats::default(),
            timings: TrackerTimings::default(),
        })
    }

    /// Turns the blendshape model off (`false`) or on (the default). Off, the signals' blendshapes
    /// are left as they were, for a caller that scores each face's `landmarks_in_image` with a
    /// [`BlendshapeModel`] of its own (the pipeline does, on another thread).
    pub fn set_blendshapes(&mut self, on: bool) {
        self.run_blendshapes = on;
    }

    /// The settings in use.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// Model-run counters since creation.
    pub fn stats(&self) -> TrackerStats {
        self.stats
    }

    /// Time per stage of the last [`FaceTracker::process`] call.
    pub fn last_timings(&self) -> TrackerTimings {
        self.timings
    }

    /// Forgets all faces (e.g. at a cut or a new source). Ids keep increasing: a face seen
    /// after a reset gets a new id.
    pub fn reset(&mut self) {
        self.spare_tracks.append(&mut self.tracks);
        self.lost.clear();
        self.last_detection_s = None;
    }

    /// Processes one frame: clears `out` and fills it with one [`FaceSignals`] per tracked face,
    /// ordered by track id (empty when there is no face). The elements of `out` are reused from
    /// call to call, so keep passing the same vector.
    pub fn process(
        &mut self,
        frame: &Frame,
        out: &mut Vec<FaceSignals>,
    ) -> Result<(), VisionError> {
        check_frame(frame)?;
        let start = Instant::now();
        self.timings = TrackerTimings::default();
        let pts_s = frame.pts_s;
        self.stats.frames += 1;
        let lost_any = self.follow_tracks(frame)?;
        self.drop_duplicate_tracks();
        let max_faces = self.config.max_faces.max(1);
        let detection_due = match self.last_detection_s {
            None => true,
            Some(last_s) => {
                let elapsed_s = pts_s - last_s;
                !(0.0..self.config.redetect_interval_s).contains(&elapsed_s)
            }
        };
        if self.tracks.len() < max_faces && (self.tracks.is_empty() || lost_any || detection_due) {
            self.detect_new_faces(frame)?;
        }
        self.lost.retain(|lost| {
            let age_s = pts_s - lost.lost_at_s;
            (0.0..=self.config.reacquire_window_s).contains(&age_s)
        });
        self.tracks.sort_unstable_by_key(|track| track.id);
        self.write_signals(pts_s, out)?;
        let timings = &mut self.timings;
        let measured = timings.detection + timings.crop + timings.landmarks + timings.blendshapes;
        timings.other = start.elapsed().saturating_sub(measured);
        Ok(())
    }

    /// Runs the mesh on every track's predicted crop; drops faces that are gone. Returns whether
    /// one was lost.
    fn follow_tracks(&mut self, frame: &Frame) -> Result<bool, VisionError> {
        let mut lost_any = false;
        let mut index = 0;
        while index < self.tracks.len() {
            let track = &mut self.tracks[index];
            let presence = timed_landmarks(
                &mut self.landmarks,
                &mut self.timings,
                frame,
                &track.roi,
                &mut track.landmarks_in_image,
            )?;
            self.stats.landmark_runs += 1;
            let raw_roi = roi_from_landmarks(&track.landmarks_in_image);
            match raw_roi {
                Some(raw_roi) if presence >= self.config.min_presence => {
                    track.presence = presence;
                    track.box_in_image = landmark_box(&track.landmarks_in_image);
                    let dt_s = frame.pts_s - track.last_pts_s;
                    track.roi = match &self.config.smoothing {
                        Some(settings) if dt_s > 0.0 && dt_s < 1.0 => {
                            track.filter.update(&raw_roi, dt_s as f32, settings)
                        }
                        _ => {
                            track.filter = RoiFilter::new(&raw_roi);
                            raw_roi
                        }
                    };
                    track.last_pts_s = frame.pts_s;
                    track.smooth_landmarks(self.config.landmark_smoothing.as_ref());
                    index += 1;
                }
                _ => {
                    let track = self.tracks.swap_remove(index);
                    self.remember_lost(&track, frame.pts_s);
                    self.spare_tracks.push(track);
                    self.stats.tracks_lost += 1;
                    lost_any = true;
                }
            }
        }
        Ok(lost_any)
    }

    fn remember_lost(&mut self, track: &Track, pts_s: f64) {
        self.lost.push(LostTrack {
            id: track.id,
            box_in_image: track.box_in_image,
            lost_at_s: pts_s,
        });
    }

    /// Two tracks that converged on one face: keep the older (lower id).
    fn drop_duplicate_tracks(&mut self) {
        let mut index = 0;
        while index < self.tracks.len() {
            let duplicate_of_older = self.tracks.iter().any(|other| {
                other.id < self.tracks[index].id
                    && overlap_of_smaller(other.box_in_image, self.tracks[index].box_in_image)
                        > SAME_FACE_OVERLAP
            });
            if duplicate_of_older {
                let track = self.tracks.swap_remove(index);
                self.spare_tracks.push(track);
            } else {
                index += 1;
            }
        }
    }

    /// Runs the detector and starts a track for each new face, up to `max_faces`.
    fn detect_new_faces(&mut self, frame: &Frame) -> Result<(), VisionError> {
        let pts_s = frame.pts_s;
        let start = Instant::now();
        self.detector.detect(frame, &mut self.detections)?;
        self.timings.detection += start.elapsed();
        self.stats.detector_runs += 1;
        self.last_detection_s = Some(pts_s);
        let max_faces = self.config.max_faces.max(1);
        for detection_index in 0..self.detections.len() {
            if self.tracks.len() >= max_faces {
                break;
            }
            let detection = self.detections[detection_index];
            let candidate_box = detection_box(&detection);
            if self.tracks.iter().any(|track| {
                overlap_of_smaller(track.box_in_image, candidate_box) > SAME_FACE_OVERLAP
            }) {
                continue;
            }
            let mut track = self.spare_tracks.pop().unwrap_or_else(Track::empty);
            let roi = detection.landmark_roi();
            let presence = timed_landmarks(
                &mut self.landmarks,
                &mut self.timings,
                frame,
                &roi,
                &mut track.landmarks_in_image,
            )?;
            self.stats.landmark_runs += 1;
            let raw_roi = roi_from_landmarks(&track.landmarks_in_image);
            let face_box = landmark_box(&track.landmarks_in_image);
            let duplicate = self
                .tracks
                .iter()
                .any(|other| overlap_of_smaller(other.box_in_image, face_box) > SAME_FACE_OVERLAP);
            let Some(raw_roi) =
                raw_roi.filter(|_| presence >= self.config.min_presence && !duplicate)
            else {
                self.spare_tracks.push(track);
                continue;
            };
            let reacquired = self.lost.iter().position(|lost| {
                overlap_of_smaller(lost.box_in_image, face_box) > SAME_FACE_OVERLAP
            });
            track.id = match reacquired {
                Some(lost_index) => self.lost.swap_remove(lost_index).id,
                None => {
                    let id = TrackId(self.next_id);
                    self.next_id += 1;
                    id
                }
            };
            track.presence = presence;
            track.box_in_image = face_box;
            track.roi = raw_roi;
            track.filter = RoiFilter::new(&raw_roi);
            track.last_pts_s = pts_s;
            track.landmark_filter.reset();
            track.smooth_landmarks(self.config.landmark_smoothing.as_ref());
            self.tracks.push(track);
            self.stats.tracks_started += 1;
        }
        Ok(())
    }

    /// Fills `out` from the tracks (blendshapes and head pose computed here).
    fn write_signals(&mut self, pts_s: f64, out: &mut Vec<FaceSignals>) -> Result<(), VisionError> {
        out.truncate(self.tracks.len());
        for (index, track) in self.tracks.iter().enumerate() {
            if index == out.len() {
                out.push(FaceSignals::neutral(track.id, pts_s));
            }
            let signals = &mut out[index];
            signals.pts_s = pts_s;
            signals.track = track.id;
            signals.presence = track.presence.clamp(0.0, 1.0);
            let landmarks = if self.config.landmark_smoothing.is_some() {
                &track.smoothed_landmarks
            } else {
                &track.landmarks_in_image
            };
            signals.landmarks_in_image.clone_from(landmarks);
            if self.run_blendshapes {
                let start = Instant::now();
                self.blendshapes.run(landmarks, &mut signals.blendshapes)?;
                self.timings.blendshapes += start.elapsed();
            }
            signals.head_pose = head_pose(landmarks).unwrap_or_default();
            signals.region_motion = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_euro_is_smooth_when_still_and_follows_motion() {
        let settings = CropSmoothing::default();
        let mut filter = OneEuro::new(100.0);
        // Jitter of +-1 px around 100 on a 200 px crop, 30 fps.
        let mut max_deviation = 0.0f32;
        for frame in 0..60 {
            let raw = if frame % 2 == 0 { 101.0 } else { 99.0 };
            max_deviation =
                max_deviation.max((filter.update(raw, 1.0 / 30.0, 200.0, &settings) - 100.0).abs());
        }
        assert!(
            max_deviation < 0.5,
            "still jitter passed through: {max_deviation}"
        );
        // A steady move of 2 crop sizes per second is followed with a small lag.
        let mut raw = 100.0;
        let mut filtered = 100.0;
        for _ in 0..30 {
            raw += 400.0 / 30.0;
            filtered = filter.update(raw, 1.0 / 30.0, 200.0, &settings);
        }
        assert!(
            (raw - filtered).abs() < 0.15 * 200.0,
            "lag {} px",
            raw - filtered
        );
    }

    /// MediaPipe's filter by hand: the first frame passes through, the second moves a point by
    /// alpha(cutoff) of its change, at the rate of the frame times (25 Hz here).
    #[test]
    fn landmark_smoothing_follows_mediapipe_one_euro() {
        let settings = LandmarkSmoothing::MEDIAPIPE;
        let mut filter = LandmarkFilter::default();
        let mut out = Vec::new();
        // A 100 x 50 px face, then 103 x 50: the face size is taken from the frame being
        // filtered, (103 + 50) / 2 px.
        let first = vec![[0.0, 0.0, 0.0], [100.0, 50.0, 10.0]];
        filter.apply(&first, 0.5, &settings, &mut out);
        assert_eq!(out, first, "the first frame passes through");
        let mut second = first.clone();
        second[1][0] = 103.0;
        filter.apply(&second, 0.54, &settings, &mut out);
        let rate = 25.0;
        let speed = 3.0 * rate / 76.5;
        let speed = low_pass_alpha(1.0, rate) * speed;
        let alpha = low_pass_alpha(0.05 + 80.0 * speed, rate);
        let expected = 100.0 + alpha * 3.0;
        assert!(
            (f64::from(out[1][0]) - expected).abs() < 1e-4,
            "{} vs {expected}",
            out[1][0]
        );
        assert_eq!(out[0], first[0], "a still coordinate stays");
        assert_eq!(out[1][1], 50.0);
        // A coordinate that was still (speed estimate 0) moves by 1 px: face size (103 + 51) / 2.
        let mut third = second.clone();
        third[1][1] = 51.0;
        filter.apply(&third, 0.58, &settings, &mut out);
        assert!((filter.rate_hz - 25.0).abs() < 1e-9);
        let speed = low_pass_alpha(1.0, rate) * (rate / 77.0);
        let expected = 50.0 + low_pass_alpha(0.05 + 80.0 * speed, rate);
        assert!(
            (f64::from(out[1][1]) - expected).abs() < 1e-4,
            "{} vs {expected}",
            out[1][1]
        );
        // A frame that is not later than the last passes through and changes nothing.
        let before = filter.last_us;
        filter.apply(&first, 0.58, &settings, &mut out);
        assert_eq!(out, first);
        assert_eq!(filter.last_us, before);
    }

    #[test]
    fn overlap_is_relative_to_the_smaller_box() {
        let big = [50.0, 50.0, 100.0, 100.0];
        let small_inside = [50.0, 50.0, 40.0, 40.0];
        assert!((overlap_of_smaller(big, small_inside) - 1.0).abs() < 1e-6);
        assert_eq!(overlap_of_smaller(big, [300.0, 50.0, 40.0, 40.0]), 0.0);
    }

    #[test]
    fn rotation_filter_does_not_jump_across_pi() {
        use std::f32::consts::PI;
        let settings = CropSmoothing::default();
        let start = RotatedRect {
            width_px: 100.0,
            height_px: 100.0,
            rotation_rad: PI - 0.01,
            ..Default::default()
        };
        let mut filter = RoiFilter::new(&start);
        let next = RotatedRect {
            rotation_rad: -PI + 0.01,
            ..start
        };
        let smoothed = filter.update(&next, 1.0 / 30.0, &settings);
        assert!(
            (smoothed.rotation_rad.sin() - (PI - 0.01).sin()).abs() < 0.05,
            "{smoothed:?}"
        );
        assert!(smoothed.rotation_rad.cos() < -0.99);
    }
}
