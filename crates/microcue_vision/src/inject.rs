//! Ground truth by injection: plants brief movements of known cue, side, onset, apex, offset
//! and size into a real face video.
//!
//! No public micro-expression data set may be redistributed, so microcue makes its own truth.
//! [`inject_video`] works in two passes over the source:
//!
//! 1. **Track**: decode every frame, run the [`FaceTracker`] on it and keep each frame's
//!    landmarks. Then [`plan_events`] places the events (seeded, reproducible): cues drawn in
//!    balanced rounds from [`INJECTABLE_CUES`], durations log-uniform in 40–500 ms rounded to
//!    whole frames, amplitudes uniform in 1.5–5 % of the inter-ocular distance, only where the
//!    same face is tracked through the event and a margin around it, at least 1 s apart, none
//!    in the first 2 s (the spotter's baseline warm-up).
//! 2. **Write**: decode again and write every frame twice with the same [`Y4mWriter`] settings:
//!    untouched to `clean.y4m`, and warped ([`warp_frame`], envelope [`Envelope`]) during events
//!    to `injected.y4m`, with landmarks smoothed over ±2σ (σ = 50 ms) so the warp does not jitter.
//!    Frames outside events are identical in both files; `truth.csv` lists the events.
//!
//! That is the `warp` style ([`InjectStyle::Warp`]). [`InjectStyle::Au`] plans and renders
//! with [`crate::inject_au`] instead (an independent displacement model, time courses and
//! placement); the passes, outputs and truth timing are the same.
//!
//! Timing: both outputs are constant-rate Y4M at the source's nominal rate, so frame `i` is at
//! `i / fps` seconds, and the truth is expressed on that clock (what `microcue analyze` reads
//! from the Y4M files). An event covering frames `a..=b` has `onset_s = t_a - dt/2` and
//! `offset_s = t_b + dt/2` (`dt` = frame interval): its duration is a whole number of frames,
//! every frame in it is moved, and a one-frame event at 25 fps lasts 40 ms. `apex_s` is the time
//! of the frame with the largest envelope weight.
//!
//! ```no_run
//! use microcue_vision::inject::{InjectConfig, inject_video};
//! use microcue_vision::models::FaceModels;
//! use microcue_vision::source::SourceSpec;
//!
//! let models = FaceModels::load()?;
//! let config = InjectConfig { seed: 1, count: 10, ..InjectConfig::default() };
//! let report = inject_video(&SourceSpec::new("clip.mp4"), "out".as_ref(), &config, &models, &mut |_| {})?;
//! println!("{} events in {} frames", report.events.len(), report.frames);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use microcue_core::numeric::{EvenMedian, median};
use microcue_core::{CueId, FaceSignals, LANDMARK_COUNT, Side, TrackId};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::VisionError;
use crate::frame::Frame;
use crate::inject_au::{AuInjector, frame_contexts, plan_au_events, write_au_truth_csv};
use crate::models::FaceModels;
use crate::source::{FrameSource, SourceError, SourceSpec, Y4mWriter, open_source};
use crate::tracker::{FaceTracker, TrackerConfig};
use crate::warp::{Envelope, INJECTABLE_CUES, WarpSpec, warp_frame};

/// How the movements are made: two independent implementations, so that a spotter tuned on
/// one can be checked on the other (docs/evaluation.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InjectStyle {
    /// Kernel-blended control points ([`crate::warp`]) with one envelope shape, placed anywhere
    /// the face is tracked. The style the spotter's settings were chosen on.
    #[default]
    Warp,
    /// Per-action-unit bases on the landmark mesh, piecewise-affine, with asymmetric, held,
    /// partly returning and paired time courses, placed by what the face is doing
    /// ([`crate::inject_au`]).
    Au,
}

impl InjectStyle {
    /// Name on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            InjectStyle::Warp => "warp",
            InjectStyle::Au => "au",
        }
    }
}

/// Settings of an injection run.
#[derive(Debug, Clone, PartialEq)]
pub struct InjectConfig {
    /// How the movements are made.
    pub style: InjectStyle,
    /// Seed of the event plan (same seed + same clip = same events).
    pub seed: u64,
    /// Number of events wanted (fewer are placed when the clip has no room; see the report).
    pub count: usize,
    /// Use only the first `max_seconds` of the source.
    pub max_seconds: Option<f64>,
    /// Shortest and longest event, milliseconds (drawn log-uniform, then whole frames).
    pub min_duration_ms: f64,
    pub max_duration_ms: f64,
    /// Smallest and largest amplitude, inter-ocular distances (drawn uniform).
    pub min_amplitude_iod: f32,
    pub max_amplitude_iod: f32,
    /// No event starts before this time (the spotter's baseline warm-up), seconds.
    pub warmup_s: f64,
    /// Least time between one event's offset and the next one's onset, seconds.
    pub min_gap_s: f64,
    /// The face must be tracked this long before the onset and after the offset, seconds.
    pub margin_s: f64,
    /// Cues to inject (each must be in [`INJECTABLE_CUES`]).
    pub cues: Vec<CueId>,
    /// Standard deviation of the Gaussian that smooths landmarks over time, seconds.
    pub landmark_smoothing_s: f64,
    /// Face tracking settings for the first pass (one face).
    pub tracker: TrackerConfig,
}

impl Default for InjectConfig {
    fn default() -> Self {
        InjectConfig {
            style: InjectStyle::Warp,
            seed: 1,
            count: 10,
            max_seconds: None,
            min_duration_ms: 40.0,
            max_duration_ms: 500.0,
            min_amplitude_iod: 0.015,
            max_amplitude_iod: 0.05,
            warmup_s: 2.0,
            min_gap_s: 1.0,
            margin_s: 0.3,
            cues: INJECTABLE_CUES.to_vec(),
            landmark_smoothing_s: 0.05,
            tracker: TrackerConfig::default(),
        }
    }
}

/// One planted movement: a row of `truth.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InjectedEvent {
    /// The imitated cue.
    pub cue: CueId,
    /// Subject's side (`both` for symmetric cues).
    pub side: Side,
    /// Start, seconds on the output clock (half a frame before the first moved frame).
    pub onset_s: f64,
    /// Time of the frame of largest displacement, seconds.
    pub apex_s: f64,
    /// End, seconds (half a frame after the last moved frame).
    pub offset_s: f64,
    /// `(offset_s - onset_s) * 1000`, a whole number of frames.
    pub duration_ms: f64,
    /// Peak displacement of the main control points, inter-ocular distances.
    pub amplitude_iod: f32,
    /// First and last moved frame (output frame indices).
    pub first_frame: u64,
    pub last_frame: u64,
}

impl InjectedEvent {
    /// The warp of this event.
    pub fn warp_spec(&self) -> WarpSpec {
        WarpSpec {
            cue: self.cue,
            side: self.side,
            amplitude_iod: self.amplitude_iod,
        }
    }

    /// The envelope of this event.
    pub fn envelope(&self) -> Envelope {
        Envelope::new(self.onset_s, self.offset_s)
    }
}

/// The header of `truth.csv`.
pub const TRUTH_CSV_HEADER: &str = "cue,side,onset_s,apex_s,offset_s,duration_ms,amplitude_iod";

/// Writes `truth.csv` rows (with the header) for `events`.
pub fn write_truth_csv(mut out: impl Write, events: &[InjectedEvent]) -> std::io::Result<()> {
    writeln!(out, "{TRUTH_CSV_HEADER}")?;
    for event in events {
        writeln!(
            out,
            "{},{},{:.6},{:.6},{:.6},{:.3},{:.5}",
            event.cue,
            event.side.as_str(),
            event.onset_s,
            event.apex_s,
            event.offset_s,
            event.duration_ms,
            event.amplitude_iod
        )?;
    }
    out.flush()
}

/// Errors of an injection run.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// The source could not be opened or decoded.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Face tracking failed.
    #[error(transparent)]
    Vision(#[from] VisionError),
    /// An output file could not be written.
    #[error("cannot write `{path}`")]
    Write {
        /// The output file or folder.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A frame has a different size from the first one (Y4M needs one size).
    #[error(
        "frame {frame_index} of `{path}` is {width}x{height}, the first frame was {first_width}x{first_height}\n\
         hint: injection needs a constant frame size; re-encode the clip to one size first"
    )]
    FrameSizeChanged {
        path: PathBuf,
        frame_index: u64,
        width: u32,
        height: u32,
        first_width: u32,
        first_height: u32,
    },
    /// The source yields no frames (or none within `--max-seconds`).
    #[error("`{path}` has no frames to inject into")]
    NoFrames { path: PathBuf },
    /// The frame rate is unknown and cannot be measured (a single frame).
    #[error("cannot tell the frame rate of `{path}`\nhint: use a video with at least two frames")]
    UnknownFrameRate { path: PathBuf },
    /// The second decoding pass gave fewer frames than the first.
    #[error(
        "`{path}` gave {second_pass} frames on the second pass but {first_pass} on the first\n\
         hint: the file changed during the run or decodes non-deterministically; try again or re-encode it"
    )]
    PassMismatch {
        path: PathBuf,
        first_pass: u64,
        second_pass: u64,
    },
    /// No event fits: too short, or too little time with a tracked face.
    #[error(
        "no room for any event in `{path}`: a face is tracked in {frames_with_face} of {frames} frames \
         ({duration_s:.1} s); each event needs the face tracked through it and {margin_s} s around it, \
         after the first {warmup_s} s\nhint: use a longer clip with a clearly visible face"
    )]
    NoRoom {
        path: PathBuf,
        frames: u64,
        frames_with_face: u64,
        duration_s: f64,
        margin_s: f64,
        warmup_s: f64,
    },
    /// A cue in the configuration cannot be injected.
    #[error("cannot inject `{cue}`: only {} can be warped into a face", INJECTABLE_CUES.map(|c| c.as_str()).join(", "))]
    UnsupportedCue { cue: CueId },
}

/// Which pass a progress report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectPass {
    /// Decoding and tracking.
    Track,
    /// Decoding, warping and writing.
    Write,
}

/// Progress of [`inject_video`], reported after every frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InjectProgress {
    pub pass: InjectPass,
    /// Frames done in this pass.
    pub frames_done: u64,
    /// Frames in this pass, when known.
    pub frames_total: Option<u64>,
}

/// What an injection run did.
#[derive(Debug, Clone, PartialEq)]
pub struct InjectReport {
    /// The planted events, by onset.
    pub events: Vec<InjectedEvent>,
    /// Events asked for.
    pub requested: usize,
    /// Frames written to each output.
    pub frames: u64,
    /// Frames with a tracked face.
    pub frames_with_face: u64,
    /// Output frame rate as a ratio (`numerator / denominator` frames per second).
    pub fps_numerator: u32,
    pub fps_denominator: u32,
    /// Output files.
    pub injected_path: PathBuf,
    pub clean_path: PathBuf,
    pub truth_path: PathBuf,
}

impl InjectReport {
    /// Output frame rate, frames per second.
    pub fn fps(&self) -> f64 {
        f64::from(self.fps_numerator) / f64::from(self.fps_denominator)
    }
}

/// Per-frame result of the tracking pass: which face (if any) and its landmarks.
#[derive(Debug, Default)]
struct TrackedFrames {
    /// Track of the face used in each frame, `None` without a face.
    tracks: Vec<Option<TrackId>>,
    /// `LANDMARK_COUNT` landmarks per frame (zeros where no face), flat.
    landmarks: Vec<[f32; 3]>,
}

impl TrackedFrames {
    fn landmarks_of(&self, frame: usize) -> &[[f32; 3]] {
        &self.landmarks[frame * LANDMARK_COUNT..(frame + 1) * LANDMARK_COUNT]
    }
}

/// Runs the whole injection on `source` (see the module doc) and writes `injected.y4m`,
/// `clean.y4m` and `truth.csv` into `out_dir` (created if needed; existing files are replaced).
pub fn inject_video(
    source: &SourceSpec,
    out_dir: &Path,
    config: &InjectConfig,
    models: &FaceModels,
    progress: &mut dyn FnMut(InjectProgress),
) -> Result<InjectReport, InjectError> {
    if let Some(&cue) = config
        .cues
        .iter()
        .find(|cue| !INJECTABLE_CUES.contains(cue))
    {
        return Err(InjectError::UnsupportedCue { cue });
    }
    let path = source.input.clone();

    // Pass 1: decode and track.
    let mut input = open_source(source)?;
    let frames_hint = input.info().frame_count;
    let nominal_fps = input.info().nominal_fps;
    let mut tracker = FaceTracker::new(
        models,
        TrackerConfig {
            max_faces: 1,
            ..config.tracker
        },
    )?;
    let mut faces: Vec<FaceSignals> = Vec::new();
    let mut frame = Frame::default();
    let mut tracked = TrackedFrames::default();
    let mut source_pts: Vec<f64> = Vec::new();
    let mut size: Option<(u32, u32)> = None;
    let mut frames_with_face = 0u64;
    while next_frame_within(
        &mut input,
        &mut frame,
        config.max_seconds,
        source_pts.first().copied(),
    )? {
        check_size(&path, &frame, &mut size)?;
        tracker.process(&frame, &mut faces)?;
        let face = faces
            .iter()
            .find(|face| face.landmarks_in_image.len() == LANDMARK_COUNT);
        match face {
            Some(face) => {
                frames_with_face += 1;
                tracked.tracks.push(Some(face.track));
                tracked
                    .landmarks
                    .extend_from_slice(&face.landmarks_in_image);
            }
            None => {
                tracked.tracks.push(None);
                tracked
                    .landmarks
                    .extend(std::iter::repeat_n([0.0f32; 3], LANDMARK_COUNT));
            }
        }
        source_pts.push(frame.pts_s);
        progress(InjectProgress {
            pass: InjectPass::Track,
            frames_done: source_pts.len() as u64,
            frames_total: frames_hint,
        });
    }
    let frames = source_pts.len() as u64;
    let Some((width, height)) = size else {
        return Err(InjectError::NoFrames { path });
    };
    let fps = nominal_fps
        .filter(|fps| fps.is_finite() && *fps > 0.0)
        .or_else(|| median_interval_s(&source_pts).map(|dt| 1.0 / dt))
        .ok_or_else(|| InjectError::UnknownFrameRate { path: path.clone() })?;
    let (fps_numerator, fps_denominator) = frame_rate_ratio(fps);
    let frame_interval_s = f64::from(fps_denominator) / f64::from(fps_numerator);

    let mut au = match config.style {
        InjectStyle::Warp => None,
        InjectStyle::Au => {
            let contexts = frame_contexts(&tracked.tracks, &tracked.landmarks, frame_interval_s);
            Some(AuInjector::new(plan_au_events(
                &tracked.tracks,
                &contexts,
                frame_interval_s,
                config,
            )))
        }
    };
    let events = match &au {
        None => plan_events(&tracked.tracks, frame_interval_s, config),
        Some(au) => au.events().iter().map(|e| e.event).collect(),
    };
    if events.is_empty() && config.count > 0 {
        return Err(InjectError::NoRoom {
            path,
            frames,
            frames_with_face,
            duration_s: frames as f64 * frame_interval_s,
            margin_s: config.margin_s,
            warmup_s: config.warmup_s,
        });
    }

    // Pass 2: decode again, write clean and injected frames.
    std::fs::create_dir_all(out_dir).map_err(|source| InjectError::Write {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let injected_path = out_dir.join("injected.y4m");
    let clean_path = out_dir.join("clean.y4m");
    let truth_path = out_dir.join("truth.csv");
    let mut injected = create_y4m(
        &injected_path,
        width,
        height,
        fps_numerator,
        fps_denominator,
    )?;
    let mut clean = create_y4m(&clean_path, width, height, fps_numerator, fps_denominator)?;
    let mut input = open_source(source)?;
    let mut warped = Frame::default();
    let mut smoothed: Vec<[f32; 3]> = vec![[0.0; 3]; LANDMARK_COUNT];
    let smoothing_frames = (config.landmark_smoothing_s / frame_interval_s).max(0.0);
    let mut next_event = 0usize;
    for index in 0..frames {
        if !input.next_frame(&mut frame)? {
            return Err(InjectError::PassMismatch {
                path,
                first_pass: frames,
                second_pass: index,
            });
        }
        check_size(&path, &frame, &mut size)?;
        clean
            .write_frame(&frame)
            .map_err(|source| InjectError::Write {
                path: clean_path.clone(),
                source,
            })?;
        while next_event < events.len() && events[next_event].last_frame < index {
            next_event += 1;
        }
        let active = events
            .get(next_event)
            .filter(|event| event.first_frame <= index);
        let output = match (&mut au, active) {
            (Some(au), _) => {
                if au.active(index) {
                    smooth_landmarks(&tracked, index as usize, smoothing_frames, &mut smoothed);
                    au.render(
                        index,
                        index as f64 * frame_interval_s,
                        &frame,
                        &smoothed,
                        &mut warped,
                    );
                    &warped
                } else {
                    &frame
                }
            }
            (None, Some(event)) => {
                let t_s = index as f64 * frame_interval_s;
                let weight = event.envelope().weight(t_s);
                smooth_landmarks(&tracked, index as usize, smoothing_frames, &mut smoothed);
                warp_frame(&frame, &smoothed, &event.warp_spec(), weight, &mut warped);
                &warped
            }
            (None, None) => &frame,
        };
        injected
            .write_frame(output)
            .map_err(|source| InjectError::Write {
                path: injected_path.clone(),
                source,
            })?;
        progress(InjectProgress {
            pass: InjectPass::Write,
            frames_done: index + 1,
            frames_total: Some(frames),
        });
    }
    injected
        .finish()
        .and_then(|mut w| w.flush())
        .map_err(|source| InjectError::Write {
            path: injected_path.clone(),
            source,
        })?;
    clean
        .finish()
        .and_then(|mut w| w.flush())
        .map_err(|source| InjectError::Write {
            path: clean_path.clone(),
            source,
        })?;
    let truth_file = File::create(&truth_path).map_err(|source| InjectError::Write {
        path: truth_path.clone(),
        source,
    })?;
    let written = match &au {
        None => write_truth_csv(BufWriter::new(truth_file), &events),
        Some(au) => write_au_truth_csv(BufWriter::new(truth_file), au.events()),
    };
    written.map_err(|source| InjectError::Write {
        path: truth_path.clone(),
        source,
    })?;

    Ok(InjectReport {
        events,
        requested: config.count,
        frames,
        frames_with_face,
        fps_numerator,
        fps_denominator,
        injected_path,
        clean_path,
        truth_path,
    })
}

/// Next frame, or `false` at the end or past `max_seconds` after the first frame.
fn next_frame_within(
    input: &mut Box<dyn FrameSource>,
    frame: &mut Frame,
    max_seconds: Option<f64>,
    first_pts_s: Option<f64>,
) -> Result<bool, SourceError> {
    if !input.next_frame(frame)? {
        return Ok(false);
    }
    Ok(match (max_seconds, first_pts_s) {
        (Some(max_s), Some(first_s)) => frame.pts_s - first_s < max_s,
        (Some(max_s), None) => max_s > 0.0,
        _ => true,
    })
}

fn check_size(
    path: &Path,
    frame: &Frame,
    size: &mut Option<(u32, u32)>,
) -> Result<(), InjectError> {
    match *size {
        None => {
            *size = Some((frame.width, frame.height));
            Ok(())
        }
        Some((first_width, first_height))
            if (first_width, first_height) != (frame.width, frame.height) =>
        {
            Err(InjectError::FrameSizeChanged {
                path: path.to_path_buf(),
                frame_index: frame.index,
                width: frame.width,
                height: frame.height,
                first_width,
                first_height,
            })
        }
        Some(_) => Ok(()),
    }
}

fn create_y4m(
    path: &Path,
    width: u32,
    height: u32,
    numerator: u32,
    denominator: u32,
) -> Result<Y4mWriter<BufWriter<File>>, InjectError> {
    let file = File::create(path).map_err(|source| InjectError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Y4mWriter::new(
        BufWriter::with_capacity(1 << 20, file),
        width,
        height,
        numerator,
        denominator,
    )
    .map_err(|source| InjectError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Median of the positive intervals between consecutive timestamps.
fn median_interval_s(pts_s: &[f64]) -> Option<f64> {
    let mut intervals: Vec<f64> = pts_s
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0 && d.is_finite())
        .collect();
    median(&mut intervals, EvenMedian::Upper)
}

/// A rational close to `fps`: integers as `n:1`, NTSC rates as `n*1000:1001`, else millihertz.
pub fn frame_rate_ratio(fps: f64) -> (u32, u32) {
    let fps = fps.clamp(0.001, 100_000.0);
    if (fps - fps.round()).abs() < 1e-3 {
        return (fps.round() as u32, 1);
    }
    let ntsc = fps * 1.001;
    if (ntsc - ntsc.round()).abs() < 1e-2 {
        return (ntsc.round() as u32 * 1000, 1001);
    }
    ((fps * 1000.0).round() as u32, 1000)
}

/// Gaussian-weighted average of the landmarks of `frame` and its neighbours of the same track
/// (σ = `sigma_frames`, ±2σ), into `out`.
fn smooth_landmarks(
    tracked: &TrackedFrames,
    frame: usize,
    sigma_frames: f64,
    out: &mut [[f32; 3]],
) {
    out.copy_from_slice(tracked.landmarks_of(frame));
    let Some(track) = tracked.tracks.get(frame).copied().flatten() else {
        return;
    };
    let reach = (2.0 * sigma_frames).floor() as usize;
    if reach == 0 {
        return;
    }
    let first = frame.saturating_sub(reach);
    let last = (frame + reach).min(tracked.tracks.len() - 1);
    let mut total_weight = 0.0f32;
    for point in out.iter_mut() {
        *point = [0.0; 3];
    }
    for neighbour in first..=last {
        if tracked.tracks[neighbour] != Some(track) {
            continue;
        }
        let offset = neighbour as f64 - frame as f64;
        let weight = (-0.5 * (offset / sigma_frames).powi(2)).exp() as f32;
        total_weight += weight;
        for (point, source) in out.iter_mut().zip(tracked.landmarks_of(neighbour)) {
            point[0] += weight * source[0];
            point[1] += weight * source[1];
            point[2] += weight * source[2];
        }
    }
    for point in out.iter_mut() {
        point[0] /= total_weight;
        point[1] /= total_weight;
        point[2] /= total_weight;
    }
}

/// Length of the run of frames tracked with the same face, ending at each frame (0 without a
/// face).
pub(crate) fn same_face_run_lengths(tracks: &[Option<TrackId>]) -> Vec<usize> {
    let mut run_end_at = vec![0usize; tracks.len()];
    for i in 0..tracks.len() {
        run_end_at[i] = match tracks[i] {
            None => 0,
            Some(track) if i > 0 && tracks[i - 1] == Some(track) => run_end_at[i - 1] + 1,
            Some(_) => 1,
        };
    }
    run_end_at
}

/// Attempts to place one event before giving up on it.
const PLACEMENT_ATTEMPTS: usize = 2000;

/// Plans up to `config.count` events on frames `0..tracks.len()` spaced `frame_interval_s`
/// apart (see the module doc for the rules). Deterministic for a given seed. Returns the events
/// sorted by onset; fewer than asked when the clip has no more room.
pub fn plan_events(
    tracks: &[Option<TrackId>],
    frame_interval_s: f64,
    config: &InjectConfig,
) -> Vec<InjectedEvent> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let frame_count = tracks.len();
    let mut events: Vec<InjectedEvent> = Vec::with_capacity(config.count);
    if frame_count == 0
        || config.cues.is_empty()
        || frame_interval_s.is_nan()
        || frame_interval_s <= 0.0
    {
        return events;
    }
    let dt = frame_interval_s;
    let run_end_at = same_face_run_lengths(tracks);
    let margin_frames = (config.margin_s / dt).ceil() as usize;
    let min_frames = ((config.min_duration_ms / 1000.0 / dt) - 1e-9)
        .ceil()
        .max(1.0) as usize;
    let max_frames = ((config.max_duration_ms / 1000.0 / dt) + 1e-9)
        .floor()
        .max(min_frames as f64) as usize;
    // First frame whose onset (t - dt/2) is at or after the warm-up.
    let first_allowed = ((config.warmup_s / dt) + 0.5).ceil() as usize;

    let mut cue_deck: Vec<CueId> = Vec::new();
    for _ in 0..config.count {
        if cue_deck.is_empty() {
            cue_deck = config.cues.clone();
            cue_deck.shuffle(&mut rng);
        }
        let cue = cue_deck.pop().unwrap_or(CueId::EyebrowFlash);
        let side = if cue.is_one_sided() {
            if rng.random_bool(0.5) {
                Side::Left
            } else {
                Side::Right
            }
        } else {
            Side::Both
        };
        let log_duration =
            rng.random_range(config.min_duration_ms.ln()..=config.max_duration_ms.ln());
        let frames_long =
            ((log_duration.exp() / 1000.0 / dt).round() as usize).clamp(min_frames, max_frames);
        let amplitude_iod = rng.random_range(config.min_amplitude_iod..=config.max_amplitude_iod);

        let lowest = first_allowed.max(margin_frames);
        let Some(highest) = frame_count.checked_sub(frames_long + margin_frames) else {
            continue;
        };
        if highest < lowest {
            continue;
        }
        for _ in 0..PLACEMENT_ATTEMPTS {
            let first_frame = rng.random_range(lowest..=highest);
            let last_frame = first_frame + frames_long - 1;
            // Tracked, same face, from margin before to margin after.
            let span_end = last_frame + margin_frames;
            if span_end >= frame_count || run_end_at[span_end] < frames_long + 2 * margin_frames {
                continue;
            }
            let onset_s = (first_frame as f64 - 0.5) * dt;
            let offset_s = (last_frame as f64 + 0.5) * dt;
            let clashes = events.iter().any(|other| {
                onset_s < other.offset_s + config.min_gap_s
                    && other.onset_s < offset_s + config.min_gap_s
            });
            if clashes {
                continue;
            }
            let envelope = Envelope::new(onset_s, offset_s);
            let apex_frame = (first_frame..=last_frame)
                .max_by(|a, b| {
                    envelope
                        .weight(*a as f64 * dt)
                        .total_cmp(&envelope.weight(*b as f64 * dt))
                })
                .unwrap_or(first_frame);
            events.push(InjectedEvent {
                cue,
                side,
                onset_s,
                apex_s: apex_frame as f64 * dt,
                offset_s,
                duration_ms: frames_long as f64 * dt * 1000.0,
                amplitude_iod,
                first_frame: first_frame as u64,
                last_frame: last_frame as u64,
            });
            break;
        }
    }
    events.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_tracked(frames: usize) -> Vec<Option<TrackId>> {
        vec![Some(TrackId(0)); frames]
    }

    #[test]
    fn plans_are_reproducible_and_follow_the_rules() {
        let config = InjectConfig {
            seed: 7,
            count: 20,
            ..InjectConfig::default()
        };
        let dt = 1.0 / 30.0;
        let tracks = all_tracked(30 * 60);
        let events = plan_events(&tracks, dt, &config);
        assert_eq!(
            events,
            plan_events(&tracks, dt, &config),
            "same seed, same plan"
        );
        assert_ne!(
            events,
            plan_events(
                &tracks,
                dt,
                &InjectConfig {
                    seed: 8,
                    ..config.clone()
                }
            )
        );
        assert_eq!(events.len(), 20);
        for (i, event) in events.iter().enumerate() {
            assert!(event.onset_s >= config.warmup_s, "{event:?}");
            assert!(
                event.onset_s < event.apex_s && event.apex_s < event.offset_s,
                "{event:?}"
            );
            let frames = (event.last_frame - event.first_frame + 1) as f64;
            assert!((event.duration_ms - frames * dt * 1000.0).abs() < 1e-6);
            assert!((event.offset_s - event.onset_s - frames * dt).abs() < 1e-9);
            assert!(
                event.duration_ms >= 40.0 && event.duration_ms <= 500.0 + 1e-6,
                "{event:?}"
            );
            assert!((0.015..=0.05).contains(&event.amplitude_iod));
            assert_eq!(
                event.side == Side::Both,
                event.cue != CueId::UnilateralLipCorner
            );
            if i > 0 {
                assert!(
                    event.onset_s - events[i - 1].offset_s >= config.min_gap_s - 1e-9,
                    "gap before {event:?}"
                );
            }
        }
        // Balanced cues: 20 events over 8 cues gives each cue 2 or 3.
        for cue in INJECTABLE_CUES {
            let n = events.iter().filter(|e| e.cue == cue).count();
            assert!((2..=3).contains(&n), "{cue}: {n}");
        }
        // All three duration buckets appear.
        assert!(events.iter().any(|e| e.duration_ms < 100.0));
        assert!(
            events
                .iter()
                .any(|e| (100.0..200.0).contains(&e.duration_ms))
        );
        assert!(events.iter().any(|e| e.duration_ms >= 200.0));
    }

    #[test]
    fn one_frame_events_at_25_fps_last_40_ms() {
        let config = InjectConfig {
            count: 5,
            min_duration_ms: 40.0,
            max_duration_ms: 40.0,
            ..InjectConfig::default()
        };
        let events = plan_events(&all_tracked(25 * 20), 0.04, &config);
        assert_eq!(events.len(), 5);
        for event in events {
            assert_eq!(event.first_frame, event.last_frame);
            assert!((event.duration_ms - 40.0).abs() < 1e-9);
            assert!((event.apex_s - event.first_frame as f64 * 0.04).abs() < 1e-12);
            // The one moved frame is at full strength.
            assert_eq!(event.envelope().weight(event.apex_s), 1.0);
        }
        // At 30 fps the shortest whole-frame event of at least 40 ms is 2 frames (66.7 ms).
        let events = plan_events(&all_tracked(30 * 20), 1.0 / 30.0, &config);
        assert!(events.iter().all(|e| e.last_frame == e.first_frame + 1));
    }

    #[test]
    fn events_only_where_the_same_face_is_tracked() {
        let dt = 0.04;
        // Face from 0 to 6 s, none 6-8 s, another track 8-12 s, none after.
        let mut tracks = vec![None; 25 * 14];
        for (i, track) in tracks.iter_mut().enumerate() {
            let t = i as f64 * dt;
            if t < 6.0 {
                *track = Some(TrackId(0));
            } else if (8.0..12.0).contains(&t) {
                *track = Some(TrackId(1));
            }
        }
        let config = InjectConfig {
            count: 30,
            seed: 3,
            ..InjectConfig::default()
        };
        let events = plan_events(&tracks, dt, &config);
        assert!(
            !events.is_empty() && events.len() < 30,
            "limited room: {}",
            events.len()
        );
        for event in &events {
            let first = event.first_frame as usize - 8;
            let last = event.last_frame as usize + 8;
            let track = tracks[first];
            assert!(track.is_some());
            assert!(
                tracks[first..=last].iter().all(|t| *t == track),
                "{event:?}"
            );
        }
        assert!(plan_events(&vec![None; 500], dt, &config).is_empty());
        assert!(
            plan_events(&all_tracked(40), dt, &config).is_empty(),
            "shorter than the warm-up"
        );
    }

    #[test]
    fn truth_csv_has_the_documented_columns() {
        let event = InjectedEvent {
            cue: CueId::UnilateralLipCorner,
            side: Side::Left,
            onset_s: 2.02,
            apex_s: 2.08,
            offset_s: 2.18,
            duration_ms: 160.0,
            amplitude_iod: 0.031,
            first_frame: 51,
            last_frame: 54,
        };
        let mut out = Vec::new();
        write_truth_csv(&mut out, &[event]).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(TRUTH_CSV_HEADER));
        assert_eq!(
            lines.next(),
            Some("unilateral_lip_corner,left,2.020000,2.080000,2.180000,160.000,0.03100")
        );
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn frame_rates_become_exact_ratios() {
        assert_eq!(frame_rate_ratio(25.0), (25, 1));
        assert_eq!(frame_rate_ratio(30.0), (30, 1));
        assert_eq!(frame_rate_ratio(29.97), (30000, 1001));
        assert_eq!(frame_rate_ratio(23.976), (24000, 1001));
        assert_eq!(frame_rate_ratio(12.5), (12500, 1000));
    }

    #[test]
    fn smoothing_averages_only_the_same_track() {
        let mut tracked = TrackedFrames::default();
        for (i, track) in [
            Some(TrackId(0)),
            Some(TrackId(0)),
            Some(TrackId(0)),
            Some(TrackId(1)),
            None,
        ]
        .iter()
        .enumerate()
        {
            tracked.tracks.push(*track);
            tracked
                .landmarks
                .extend(std::iter::repeat_n([i as f32, 0.0, 0.0], LANDMARK_COUNT));
        }
        let mut out = vec![[0.0f32; 3]; LANDMARK_COUNT];
        smooth_landmarks(&tracked, 1, 1.0, &mut out);
        assert!(
            (out[0][0] - 1.0).abs() < 1e-6,
            "symmetric neighbours average to the centre"
        );
        smooth_landmarks(&tracked, 2, 1.0, &mut out);
        assert!(
            out[0][0] < 2.0 && out[0][0] > 1.0,
            "frame 3 (another track) is not mixed in: {}",
            out[0][0]
        );
        smooth_landmarks(&tracked, 3, 0.0, &mut out);
        assert_eq!(out[0][0], 3.0, "no smoothing");
    }

    /// The whole injection on a real clip (runs the face models on seven seconds of video).
    #[test]
    fn injects_into_a_real_clip() {
        let clip = crate::test_support::fixture("faces/cap13_edit2.mp4");
        let models = FaceModels::load().expect("models load");
        let out_dir = tempfile::tempdir().expect("tempdir");
        let config = InjectConfig {
            seed: 5,
            count: 3,
            max_seconds: Some(7.0),
            ..InjectConfig::default()
        };
        let mut last_progress = None;
        let report = inject_video(
            &SourceSpec::new(clip),
            out_dir.path(),
            &config,
            &models,
            &mut |p| last_progress = Some(p),
        )
        .expect("injection runs");
        assert_eq!(report.fps_numerator, 25);
        assert_eq!(report.frames, 175);
        assert!(
            report.frames_with_face > 150,
            "face tracked in {} frames",
            report.frames_with_face
        );
        assert_eq!(report.events.len(), 3);
        assert_eq!(last_progress.map(|p| p.pass), Some(InjectPass::Write));

        // Both outputs decode to the same number of frames; they differ only inside events.
        let mut clean = open_source(&SourceSpec::new(&report.clean_path)).expect("clean.y4m opens");
        let mut injected =
            open_source(&SourceSpec::new(&report.injected_path)).expect("injected.y4m opens");
        let (mut a, mut b) = (Frame::default(), Frame::default());
        let mut index = 0u64;
        while clean.next_frame(&mut a).expect("clean decodes") {
            assert!(injected.next_frame(&mut b).expect("injected decodes"));
            let inside = report
                .events
                .iter()
                .any(|e| (e.first_frame..=e.last_frame).contains(&index));
            let differs = a.rgb != b.rgb;
            if !inside {
                assert!(!differs, "frame {index} is outside every event but differs");
            }
            index += 1;
        }
        assert_eq!(index, 175);
        assert!(!injected.next_frame(&mut b).expect("end"));
        let truth = std::fs::read_to_string(&report.truth_path).expect("truth.csv");
        assert_eq!(truth.lines().count(), 4);
        assert!(truth.starts_with(TRUTH_CSV_HEADER));
    }
}
