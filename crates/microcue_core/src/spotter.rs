//! The streaming spotter: finds brief facial movements against each person's own baseline.
//!
//! Feed [`FaceSignals`] in time order per track with [`Spotter::push`]; finished, labelled
//! [`Event`]s are appended to the caller's vector. [`Spotter::finish`] closes what is still open
//! at the end of the stream. [`analyze_all`] does both for a slice.
//!
//! Per track the spotter keeps:
//!
//! - the [channel values](crate::baseline::extract_channels) of each frame, lightly smoothed with
//!   a time-based exponential filter (`smoothing_tau_s`), so that 25 fps and 200 fps streams see
//!   the same noise level;
//! - a robust [`Baseline`] (running median / MAD, warm-up, quarantine so that it never learns
//!   from the events themselves);
//! - three detectors, each working in seconds, never frames:
//!   1. **expressions** — hysteresis on the largest normalised rise `z = (x − level) / spread`
//!      of the cue-signature channels (brows, mouth corners, lip press/roll, nose, upper lip).
//!      A segment opens above `z_low`, counts once above `z_high`, and closes below `z_low`.
//!      Onset and offset are where the score crosses `max(z_low, boundary_fraction × peak)`,
//!      interpolated between frames; the apex is the peak. Talking-mouth channels (jaw, funnel,
//!      pucker...) and eye channels never open a segment: speech and blinks are not cues.
//!      While the person talks (the jaw moves around its running mean), lip press/roll and
//!      upper-lip channels need `speech_gain` times their usual rise. A movement that falls below
//!      `boundary_fraction` of its peak without the face settling is closed there, and what
//!      follows counts only if it rises clearly (a lip press turning into a smile gives two
//!      events). A movement still on after `max_duration_s` is reported as macro and its
//!      channels are then *held*: deviations are measured over the held level until those
//!      channels return to baseline, so new movements elsewhere still count and the baseline
//!      does not learn the held expression (unless it lasts `adapt_after_s`).
//!   2. **blink clusters** — blinks (eyelid closures shorter than `max_blink_s`) chained with
//!      gaps of at most `max_interval_s`; a chain with at least `min_blinks` blinks within
//!      `window_s` and `rate_ratio` times more blinks than the person's own rate predicts is a
//!      `blink_cluster`. Single blinks are never events, and clusters do not count towards the
//!      person's rate.
//!   3. **gaze aversion** — a quick glance away: eye gaze or head yaw/pitch off the baseline and
//!      back within `min_duration_s..=max_duration_s`. MediaPipe's eyeLook channels follow a
//!      blink (the eyes seem to look down and jump sideways), so gaze is held at its pre-blink
//!      value while the lids are closed and for `blink_tail_s` after.
//!
//! Events of one track never overlap: when two detectors claim overlapping time, expressions
//! win over blink clusters, which win over gaze aversions. An event is released once no detector
//! can still produce an overlapping one. A gap in the stream longer than `max_gap_s`, or a frame
//! whose face presence is below `presence_min`, aborts whatever is open: no event spans a gap.
//!
//! Steady state allocates nothing per frame (ring buffers are sized at the first frame of a
//! track); events allocate their evidence list.
//!
//! ```
//! use microcue_core::{BlendshapeIndex as B, CueId, FaceSignals, Spotter, SpotterConfig, TrackId};
//!
//! let mut spotter = Spotter::new(SpotterConfig::default());
//! let mut events = Vec::new();
//! for i in 0..300 {
//!     let pts_s = f64::from(i) / 30.0;
//!     let mut frame = FaceSignals::neutral(TrackId(0), pts_s);
//!     // A 200 ms raise of both brows at 5 s, peaking at 5.1 s.
//!     let raise = (0.4 - 4.0 * (pts_s - 5.1).abs()).max(0.0) as f32;
//!     for brow in [B::BROW_INNER_UP, B::BROW_OUTER_UP_LEFT, B::BROW_OUTER_UP_RIGHT] {
//!         frame.blendshapes[brow.0] = raise;
//!     }
//!     spotter.push(&frame, &mut events);
//! }
//! spotter.finish(&mut events);
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].cue, CueId::EyebrowFlash);
//! assert!(events[0].onset_s < 5.1 && 5.1 < events[0].offset_s);
//! ```

use std::collections::VecDeque;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::baseline::{
    Baseline, BaselineConfig, CHANNEL_COUNT, CHANNELS, Channel, ChannelRole, ChannelValues,
    extract_channels,
};
use crate::cue::{CueId, Scale};
use crate::event::Event;
use crate::numeric::{crossing_time, raise_maxima};
use crate::pulse::{PULSE_CHANNEL_COUNT, PulseCandidate, PulseConfig, PulseDetector};
use crate::reader::{
    ApexSnapshot, BlinkClusterSummary, GazeApex, ReaderConfig, Reading, read_blink_cluster,
    read_expression, read_gaze,
};
use crate::signals::{BLENDSHAPE_COUNT, FaceSignals, TrackId};
use crate::whiten::MotionWhitener;

/// Hysteresis settings of the expression detector.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(default))]
pub struct ExpressionConfig {
    /// A segment counts once its score reaches this normalised deviation.
    pub z_high: f32,
    /// A segment opens above and closes below this normalised deviation.
    pub z_low: f32,
    /// Onset and offset are where the score crosses `max(z_low, boundary_fraction × peak)`.
    pub boundary_fraction: f32,
    /// Shorter movements are dropped.
    pub min_duration_ms: f64,
    /// A segment still active after this long is closed as a macro movement; the moved
    /// channels are then held (see the module docs).
    pub max_duration_s: f64,
    /// An expression held this long after such a close has become the new normal: the
    /// baseline adapts to it.
    pub adapt_after_s: f64,
    /// When a movement falls below `boundary_fraction` of its peak but the face does not settle
    /// (score still above `z_low`), the rest counts as a new movement only if it rises to
    /// `split_rise` × its starting score (and `z_high`).
    pub split_rise: f32,
    /// Speech activity (mean absolute deviation of `jawOpen` from its 0.5 s running mean)
    /// below which the person counts as silent...
    pub speech_quiet: f32,
    /// ... and above which as talking. In between, the factor below phases in.
    pub speech_talking: f32,
    /// While the person talks, lip press / roll / upper-lip channels need this many times
    /// their usual rise (speech presses the lips on every /p/, /b/, /m/).
    pub speech_gain: f32,
}

impl Default for ExpressionConfig {
    fn default() -> Self {
        ExpressionConfig {
            z_high: 6.0,
            z_low: 3.0,
            boundary_fraction: 0.2,
            min_duration_ms: 30.0,
            max_duration_s: 4.0,
            adapt_after_s: 8.0,
            split_rise: 2.0,
            speech_quiet: 0.01,
            speech_talking: 0.03,
            speech_gain: 2.5,
        }
    }
}

/// Settings of the gaze-aversion detector.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(default))]
pub struct GazeConfig {
    /// A glance counts once the largest normalised deviation of eye gaze / head angle reaches
    /// this value.
    pub z_high: f32,
    /// Opens above / closes below.
    pub z_low: f32,
    /// Onset and offset threshold as a fraction of the peak (at least `z_low`).
    pub boundary_fraction: f32,
    /// Shortest glance.
    pub min_duration_s: f64,
    /// Longest glance; looking away for longer is a change of attention, not a quick aversion.
    pub max_duration_s: f64,
    /// While the eyelids are closed by more than this over the baseline (eyeBlink units), gaze
    /// is not measured: MediaPipe's eyeLook channels follow the closing lids.
    pub blink_mask: f32,
    /// ... nor for this long after (the eyeLook channels settle more slowly than the lids).
    pub blink_tail_s: f64,
}

impl Default for GazeConfig {
    fn default() -> Self {
        GazeConfig {
            z_high: 6.0,
            z_low: 3.0,
            boundary_fraction: 0.3,
            min_duration_s: 0.2,
            max_duration_s: 1.5,
            blink_mask: 0.15,
            blink_tail_s: 0.2,
        }
    }
}

/// Settings of the blink-cluster detector.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(default))]
pub struct BlinkConfig {
    /// A blink closes the eyes by at least this much over the baseline (eyeBlink units).
    pub min_delta: f32,
    /// ... and by at least this many spreads.
    pub z_high: f32,
    /// Longer closures are not blinks.
    pub max_blink_s: f64,
    /// Blinks chain into a cluster when each starts at most this long after the previous ended.
    pub max_interval_s: f64,
    /// Fewest blinks in a cluster.
    pub min_blinks: usize,
    /// ... within this window.
    pub window_s: f64,
    /// A cluster has at least this many times the blinks the person's rate predicts.
    pub rate_ratio: f32,
    /// Prior blink rate before the person's own is known (blinks per minute).
    pub prior_rate_per_min: f32,
    /// Weight of the prior, in seconds of observation.
    pub prior_weight_s: f64,
    /// The person's rate forgets with this time constant.
    pub rate_memory_s: f64,
}

impl Default for BlinkConfig {
    fn default() -> Self {
        BlinkConfig {
            min_delta: 0.25,
            z_high: 5.0,
            max_blink_s: 0.5,
            max_interval_s: 0.8,
            min_blinks: 3,
            window_s: 2.0,
            rate_ratio: 3.0,
            prior_rate_per_min: 15.0,
            prior_weight_s: 30.0,
            rate_memory_s: 300.0,
        }
    }
}

/// Settings of the [`Spotter`]. All times in seconds.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(default))]
pub struct SpotterConfig {
    /// Frames whose face presence is below this abort open segments and are skipped.
    pub presence_min: f32,
    /// A time gap longer than this between two frames of a track aborts open segments.
    pub max_gap_s: f64,
    /// After an interruption, no segment opens for this long.
    pub settle_s: f64,
    /// After a gap longer than this the baseline starts again (new warm-up).
    pub rewarm_after_gap_s: f64,
    /// Time constant of the per-channel smoothing filter.
    pub smoothing_tau_s: f64,
    /// Highest frame rate the score history is sized for; at higher rates the longest segment
    /// gets shorter.
    pub max_fps: f64,
    /// Baseline settings.
    pub baseline: BaselineConfig,
    /// Expression detector.
    pub expression: ExpressionConfig,
    /// Gaze-aversion detector.
    pub gaze: GazeConfig,
    /// Blink-cluster detector.
    pub blink: BlinkConfig,
    /// Pulse detector (brief movements in region motion).
    pub pulse: PulseConfig,
    /// Reader (labelling).
    pub reader: ReaderConfig,
    /// Cues the source cannot express (e.g. from an OpenFace import); never emitted.
    /// `pupil_dilation` is never emitted either way.
    pub unavailable_cues: Vec<CueId>,
}

impl Default for SpotterConfig {
    fn default() -> Self {
        SpotterConfig {
            presence_min: 0.5,
            max_gap_s: 0.5,
            settle_s: 0.2,
            rewarm_after_gap_s: 10.0,
            smoothing_tau_s: 0.02,
            max_fps: 240.0,
            baseline: BaselineConfig::default(),
            expression: ExpressionConfig::default(),
            gaze: GazeConfig::default(),
            blink: BlinkConfig::default(),
            pulse: PulseConfig::default(),
            reader: ReaderConfig::default(),
            unavailable_cues: Vec::new(),
        }
    }
}

impl SpotterConfig {
    /// Checks the settings; returns a description of the first problem.
    pub fn validate(&self) -> Result<(), String> {
        self.baseline.validate()?;
        self.reader.validate()?;
        self.pulse.validate()?;
        if !(0.0..=1.0).contains(&self.presence_min) {
            return Err(format!(
                "presence_min must be in [0, 1], got {}",
                self.presence_min
            ));
        }
        let positive_s = [
            ("max_gap_s", self.max_gap_s),
            ("rewarm_after_gap_s", self.rewarm_after_gap_s),
            ("max_fps", self.max_fps),
            ("expression.max_duration_s", self.expression.max_duration_s),
            ("gaze.max_duration_s", self.gaze.max_duration_s),
            ("blink.max_blink_s", self.blink.max_blink_s),
            ("blink.max_interval_s", self.blink.max_interval_s),
            ("blink.window_s", self.blink.window_s),
            ("blink.rate_memory_s", self.blink.rate_memory_s),
        ];
        for (name, value) in positive_s {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!("{name} must be a positive number, got {value}"));
            }
        }
        let non_negative_s = [
            ("settle_s", self.settle_s),
            ("smoothing_tau_s", self.smoothing_tau_s),
            (
                "expression.min_duration_ms",
                self.expression.min_duration_ms,
            ),
            ("gaze.min_duration_s", self.gaze.min_duration_s),
            ("expression.adapt_after_s", self.expression.adapt_after_s),
            ("gaze.blink_tail_s", self.gaze.blink_tail_s),
            ("blink.prior_weight_s", self.blink.prior_weight_s),
        ];
        for (name, value) in non_negative_s {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("{name} must be a number >= 0, got {value}"));
            }
        }
        for (name, low, high) in [
            ("expression", self.expression.z_low, self.expression.z_high),
            ("gaze", self.gaze.z_low, self.gaze.z_high),
        ] {
            if !(low.is_finite() && high.is_finite() && 0.0 < low && low <= high) {
                return Err(format!(
                    "{name}: need 0 < z_low <= z_high, got z_low {low}, z_high {high}"
                ));
            }
        }
        if !(self.expression.speech_gain.is_finite() && self.expression.speech_gain >= 1.0) {
            return Err(format!(
                "expression.speech_gain must be >= 1, got {}",
                self.expression.speech_gain
            ));
        }
        if !(0.0 <= self.expression.speech_quiet
            && self.expression.speech_quiet < self.expression.speech_talking)
        {
            return Err(format!(
                "expression: need 0 <= speech_quiet < speech_talking, got {} and {}",
                self.expression.speech_quiet, self.expression.speech_talking
            ));
        }
        if !(self.expression.split_rise.is_finite() && self.expression.split_rise >= 1.0) {
            return Err(format!(
                "expression.split_rise must be >= 1, got {}",
                self.expression.split_rise
            ));
        }
        for (name, value) in [
            (
                "expression.boundary_fraction",
                self.expression.boundary_fraction,
            ),
            ("gaze.boundary_fraction", self.gaze.boundary_fraction),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(format!("{name} must be in [0, 1), got {value}"));
            }
        }
        if self.gaze.min_duration_s > self.gaze.max_duration_s {
            return Err(format!(
                "gaze.min_duration_s ({}) exceeds gaze.max_duration_s ({})",
                self.gaze.min_duration_s, self.gaze.max_duration_s
            ));
        }
        if !(self.gaze.blink_mask.is_finite() && self.gaze.blink_mask >= 0.0) {
            return Err(format!(
                "gaze.blink_mask must be >= 0, got {}",
                self.gaze.blink_mask
            ));
        }
        if self.blink.min_blinks < 2 {
            return Err(format!(
                "blink.min_blinks must be at least 2, got {}",
                self.blink.min_blinks
            ));
        }
        Ok(())
    }
}

/// Counters of what the spotter did (for diagnostics; never logged per frame).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct SpotterStats {
    /// Frames pushed.
    pub frames: u64,
    /// Frames that reached the detectors.
    pub frames_used: u64,
    /// Frames not later than the previous frame of their track (dropped).
    pub frames_out_of_order: u64,
    /// Frames whose presence was below `presence_min`.
    pub frames_low_presence: u64,
    /// Frames with non-finite values or not 52 blendshapes (dropped, like a lost face).
    pub frames_invalid: u64,
    /// Time gaps longer than `max_gap_s`.
    pub gaps: u64,
    /// Open segments aborted by a gap or a lost face.
    pub segments_aborted: u64,
    /// Segments dropped as shorter than the minimum duration.
    pub segments_too_short: u64,
    /// Segments whose movement matched no available cue.
    pub segments_unlabelled: u64,
    /// Glances shorter or longer than the gaze-aversion window.
    pub glances_out_of_range: u64,
    /// Events dropped because a higher-priority event of the same track overlapped them.
    pub events_overlapped: u64,
    /// Events emitted.
    pub events: u64,
}

/// Streaming spotter over any number of tracks. See the module documentation.
#[derive(Debug, Clone)]
pub struct Spotter {
    config: SpotterConfig,
    tracks: Vec<TrackState>,
    stats: SpotterStats,
}

impl Spotter {
    /// A spotter with no tracks yet. `config` should have passed [`SpotterConfig::validate`].
    pub fn new(config: SpotterConfig) -> Self {
        Spotter {
            config,
            tracks: Vec::new(),
            stats: SpotterStats::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &SpotterConfig {
        &self.config
    }

    /// What the spotter did so far.
    pub fn stats(&self) -> SpotterStats {
        self.stats
    }

    /// Processes one frame of one track; appends finished, labelled events to `events_out`.
    /// Frames must come in time order per track; a frame not later than the previous frame of
    /// its track is dropped (counted in [`SpotterStats::frames_out_of_order`]).
    pub fn push(&mut self, signals: &FaceSignals, events_out: &mut Vec<Event>) {
        let index = match self.tracks.iter().position(|t| t.track == signals.track) {
            Some(index) => index,
            None => {
                self.tracks
                    .push(TrackState::new(signals.track, &self.config));
                self.tracks.len() - 1
            }
        };
        self.tracks[index].push(signals, &self.config, &mut self.stats, events_out);
    }

    /// Processes a slice of frames (same as calling [`Spotter::push`] for each).
    pub fn push_all(&mut self, signals: &[FaceSignals], events_out: &mut Vec<Event>) {
        for frame in signals {
            self.push(frame, events_out);
        }
    }

    /// End of stream: closes open segments (an open movement ends at the last frame), emits
    /// what is pending, and forgets all tracks.
    pub fn finish(&mut self, events_out: &mut Vec<Event>) {
        for track in self.tracks.iter_mut() {
            track.finish(&self.config, &mut self.stats, events_out);
        }
        self.tracks.clear();
    }
}

/// Runs a fresh [`Spotter`] over all `signals` and returns its events (in release order).
pub fn analyze_all(signals: &[FaceSignals], config: &SpotterConfig) -> Vec<Event> {
    let mut spotter = Spotter::new(config.clone());
    let mut events = Vec::new();
    spotter.push_all(signals, &mut events);
    spotter.finish(&mut events);
    events
}

// ---------------------------------------------------------------------------------------------
// Per-track state
// ---------------------------------------------------------------------------------------------

/// Region motion compares a frame with one about this long before it (plus a blink's length):
/// a blink this long before a segment still shows in its eye-region motion.
const EYE_MOTION_REFERENCE_S: f64 = 0.3;

/// Lip channels that move with speech (bilabial closures, lip rounding).
const SPEECH_CHANNELS: [Channel; 12] = [
    Channel::MouthPressLeft,
    Channel::MouthPressRight,
    Channel::MouthRollLower,
    Channel::MouthRollUpper,
    Channel::MouthUpperUpLeft,
    Channel::MouthUpperUpRight,
    Channel::MoveCornersPull,
    Channel::MoveCornerLeftPull,
    Channel::MoveCornerRightPull,
    Channel::MoveLipsDown,
    Channel::MoveLipsUp,
    Channel::MoveNoseUp,
];
/// Time constant of the jaw's running mean, seconds.
const SPEECH_MEAN_S: f64 = 0.5;
/// Time constant of the speech activity (mean absolute jaw deviation), seconds.
const SPEECH_ACTIVITY_S: f64 = 0.7;

/// The channels of the gaze detector.
const GAZE_CHANNELS: [Channel; 4] = [
    Channel::GazeHorizontal,
    Channel::GazeVertical,
    Channel::HeadYaw,
    Channel::HeadPitch,
];

const EXPRESSION: usize = 0;
const GAZE: usize = 1;

/// Ring of recent frames: time and the detector scores.
#[derive(Debug, Clone)]
struct ScoreHistory {
    times: Vec<f64>,
    scores: Vec<[f32; 2]>,
    /// Frame number of the next push.
    next_frame: u64,
    /// Number of valid entries (≤ capacity).
    len: usize,
}

impl ScoreHistory {
    fn new(capacity: usize) -> Self {
        ScoreHistory {
            times: vec![0.0; capacity],
            scores: vec![[0.0; 2]; capacity],
            next_frame: 0,
            len: 0,
        }
    }

    fn capacity(&self) -> usize {
        self.times.len()
    }

    fn push(&mut self, pts_s: f64, scores: [f32; 2]) -> u64 {
        let frame = self.next_frame;
        let slot = (frame % self.capacity() as u64) as usize;
        self.times[slot] = pts_s;
        self.scores[slot] = scores;
        self.next_frame += 1;
        self.len = (self.len + 1).min(self.capacity());
        frame
    }

    fn oldest_frame(&self) -> u64 {
        self.next_frame - self.len as u64
    }

    fn get(&self, frame: u64, score: usize) -> Option<(f64, f32)> {
        if frame >= self.next_frame || frame < self.oldest_frame() {
            return None;
        }
        let slot = (frame % self.capacity() as u64) as usize;
        Some((self.times[slot], self.scores[slot][score]))
    }

    /// Forgets all entries (frame numbers keep increasing).
    fn clear(&mut self) {
        self.len = 0;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    /// Above `z_low`, not yet above `z_high`.
    Candidate,
    /// Above `z_high` at least once: will become an event if it closes properly.
    Active,
    /// Gaze only: away for too long (a change of attention); waits for the score to fall below
    /// `z_low`.
    Suppressed,
}

/// One hysteresis segment (expression or gaze).
#[derive(Debug, Clone)]
struct Segment {
    phase: Phase,
    start_frame: u64,
    start_s: f64,
    peak_z: f32,
    peak_frame: u64,
    peak_s: f64,
    apex_deltas: ChannelValues,
    segment_max: ChannelValues,
    /// Score at which the candidate becomes active.
    activation_z: f32,
    /// The segment began in the unsettled tail of a previous movement.
    tail: bool,
    /// When the segment became active.
    active_since_s: f64,
}

impl Segment {
    fn new() -> Self {
        Segment {
            phase: Phase::Idle,
            start_frame: 0,
            start_s: 0.0,
            peak_z: 0.0,
            peak_frame: 0,
            peak_s: 0.0,
            apex_deltas: [0.0; CHANNEL_COUNT],
            segment_max: [f32::NEG_INFINITY; CHANNEL_COUNT],
            activation_z: f32::INFINITY,
            tail: false,
            active_since_s: f64::NEG_INFINITY,
        }
    }

    fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Candidate | Phase::Active)
    }

    fn open(&mut self, frame: u64, pts_s: f64, z: f32, deltas: &ChannelValues) {
        self.phase = Phase::Candidate;
        self.tail = false;
        self.start_frame = frame;
        self.start_s = pts_s;
        self.peak_z = z;
        self.peak_frame = frame;
        self.peak_s = pts_s;
        self.apex_deltas = *deltas;
        self.segment_max = *deltas;
    }

    fn track_peak(&mut self, frame: u64, pts_s: f64, z: f32, deltas: &ChannelValues) {
        if z > self.peak_z {
            self.peak_z = z;
            self.peak_frame = frame;
            self.peak_s = pts_s;
            self.apex_deltas = *deltas;
        }
        raise_maxima(&mut self.segment_max, deltas);
    }

    /// Earliest onset this segment can still report (the frame before its start).
    fn earliest_onset(&self, history: &ScoreHistory) -> Option<f64> {
        if !self.is_open() {
            return None;
        }
        let before = self
            .start_frame
            .checked_sub(1)
            .and_then(|f| history.get(f, 0))
            .map(|(t, _)| t);
        Some(before.unwrap_or(self.start_s))
    }
}

/// One finished blink.
#[derive(Debug, Clone, Copy, Default)]
struct Blink {
    onset_s: f64,
    peak_s: f64,
    offset_s: f64,
    peak_delta: f32,
}

const MAX_CHAIN: usize = 16;

#[derive(Debug, Clone)]
struct BlinkDetector {
    in_blink: bool,
    too_long: bool,
    onset_s: f64,
    /// Time of the frame before the blink started (bound for onsets still to come).
    before_onset_s: f64,
    peak_s: f64,
    peak_delta: f32,
    previous: Option<(f64, f32)>,
    chain: [Blink; MAX_CHAIN],
    chain_len: usize,
    /// Decayed count of natural blinks and decayed observation time.
    rate_blinks: f64,
    rate_time_s: f64,
}

impl BlinkDetector {
    fn new() -> Self {
        BlinkDetector {
            in_blink: false,
            too_long: false,
            onset_s: 0.0,
            before_onset_s: 0.0,
            peak_s: 0.0,
            peak_delta: 0.0,
            previous: None,
            chain: [Blink::default(); MAX_CHAIN],
            chain_len: 0,
            rate_blinks: 0.0,
            rate_time_s: 0.0,
        }
    }

    fn abort(&mut self) {
        self.in_blink = false;
        self.too_long = false;
        self.previous = None;
        self.chain_len = 0;
    }

    fn earliest_onset(&self) -> Option<f64> {
        if self.chain_len > 0 {
            Some(self.chain[0].onset_s)
        } else if self.in_blink {
            Some(self.before_onset_s)
        } else {
            None
        }
    }

    fn rate_per_s(&self, config: &BlinkConfig) -> f64 {
        let prior = f64::from(config.prior_rate_per_min) / 60.0;
        (self.rate_blinks + prior * config.prior_weight_s)
            / (self.rate_time_s + config.prior_weight_s).max(1e-9)
    }

    /// One frame. Returns a finished cluster, if any.
    fn update(
        &mut self,
        pts_s: f64,
        dt_s: f64,
        delta: f32,
        spread: f32,
        config: &BlinkConfig,
    ) -> Option<(Blink, Blink, BlinkClusterSummary)> {
        let decay = (-dt_s / config.rate_memory_s).exp();
        self.rate_blinks *= decay;
        self.rate_time_s = self.rate_time_s * decay + dt_s;

        let threshold = config.min_delta.max(config.z_high * spread);
        let low = 0.5 * threshold;
        let mut finished = None;
        if !self.in_blink {
            if delta >= low {
                self.in_blink = true;
                self.too_long = false;
                let (previous_s, previous_delta) = self.previous.unwrap_or((pts_s, delta));
                self.before_onset_s = previous_s;
                self.onset_s = crossing_time((previous_s, previous_delta), (pts_s, delta), low)
                    .unwrap_or(pts_s);
                self.peak_s = pts_s;
                self.peak_delta = delta;
            }
        } else if delta >= low {
            if delta > self.peak_delta {
                self.peak_delta = delta;
                self.peak_s = pts_s;
            }
            if pts_s - self.onset_s > config.max_blink_s {
                self.too_long = true;
            }
        } else {
            self.in_blink = false;
            let (previous_s, previous_delta) = self.previous.unwrap_or((pts_s, delta));
            let offset_s = crossing_time((pts_s, delta), (previous_s, previous_delta), low)
                .unwrap_or(previous_s);
            if !self.too_long
                && self.peak_delta >= threshold
                && offset_s - self.onset_s <= config.max_blink_s
            {
                finished = Some(Blink {
                    onset_s: self.onset_s,
                    peak_s: self.peak_s,
                    offset_s,
                    peak_delta: self.peak_delta,
                });
            }
        }
        self.previous = Some((pts_s, delta));

        let mut cluster = None;
        if let Some(blink) = finished {
            if self.chain_len > 0
                && blink.onset_s - self.chain[self.chain_len - 1].offset_s > config.max_interval_s
            {
                cluster = self.close_chain(config);
            }
            if self.chain_len == MAX_CHAIN {
                cluster = cluster.or(self.close_chain(config));
            }
            self.chain[self.chain_len] = blink;
            self.chain_len += 1;
        } else if self.chain_len > 0
            && !self.in_blink
            && pts_s - self.chain[self.chain_len - 1].offset_s > config.max_interval_s
        {
            cluster = self.close_chain(config);
        }
        cluster
    }

    /// Ends the current chain; a cluster when it is dense enough, else natural blinks.
    fn close_chain(&mut self, config: &BlinkConfig) -> Option<(Blink, Blink, BlinkClusterSummary)> {
        let chain = &self.chain[..self.chain_len];
        self.chain_len = 0;
        let (first, last) = (*chain.first()?, *chain.last()?);
        let densest = (0..chain.len())
            .map(|i| {
                chain[i..]
                    .iter()
                    .take_while(|b| b.onset_s - chain[i].onset_s <= config.window_s)
                    .count()
            })
            .max()
            .unwrap_or(0);
        let span_s = (last.offset_s - first.onset_s).max(config.window_s);
        let expected = self.rate_per_s(config) * span_s;
        let blinks = chain.len();
        if densest >= config.min_blinks && blinks as f64 >= f64::from(config.rate_ratio) * expected
        {
            let middle = chain[blinks / 2];
            let mean_peak_delta = chain.iter().map(|b| b.peak_delta).sum::<f32>() / blinks as f32;
            Some((
                first,
                Blink {
                    peak_s: middle.peak_s,
                    ..last
                },
                BlinkClusterSummary {
                    blinks,
                    expected_blinks: expected as f32,
                    mean_peak_delta,
                },
            ))
        } else {
            // Natural blinks: they teach the person's rate.
            self.rate_blinks += blinks as f64;
            None
        }
    }
}

/// Which detector made an event; higher wins an overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Priority {
    Gaze = 0,
    BlinkCluster = 1,
    Expression = 2,
    /// Brief movements in region motion: timed more precisely than blendshape segments.
    Pulse = 3,
}

#[derive(Debug, Clone)]
struct TrackState {
    track: TrackId,
    baseline: Baseline,
    history: ScoreHistory,
    last_pts_s: Option<f64>,
    raw: ChannelValues,
    smoothed: ChannelValues,
    smoothed_valid: bool,
    deltas: ChannelValues,
    settle_until_s: f64,
    expression: Segment,
    gaze: Segment,
    blinks: BlinkDetector,
    pending: Vec<(Priority, Event)>,
    /// Last time the eyelids were closed well over the baseline.
    eyes_closed_s: f64,
    /// Running mean of the jaw opening and the mean absolute deviation from it (speech).
    jaw_mean: f32,
    speech_activity: f32,
    /// Rise of each trigger channel held since a long expression was closed (0: none); deltas
    /// are measured over it until the channel is back near its baseline.
    held: ChannelValues,
    /// Whether any channel is held, and since when.
    holding: bool,
    held_since_s: f64,
    /// Gaze is held (not measured) until then: the eyes blinked.
    gaze_hold_until_s: f64,
    /// Gaze deltas and score from before the blink.
    held_gaze: [f32; 4],
    held_gaze_z: f32,
    /// Frames seen while the baseline warms up, scored once it is ready (bounded).
    warmup: VecDeque<WarmupFrame>,
    /// Brief movements in region motion.
    pulses: PulseDetector,
    /// The person's region-motion covariance, for the whitened channels.
    whitener: MotionWhitener,
}

/// A frame kept during the baseline warm-up.
#[derive(Debug, Clone)]
struct WarmupFrame {
    pts_s: f64,
    dt_s: Option<f64>,
    lag_s: f64,
    smoothed: ChannelValues,
}

impl TrackState {
    fn new(track: TrackId, config: &SpotterConfig) -> Self {
        // A candidate and then an active segment may each last up to `max_duration_s`.
        let longest_s = config
            .expression
            .max_duration_s
            .max(config.gaze.max_duration_s);
        let seconds = 2.0 * longest_s + 1.0;
        let capacity = ((seconds * config.max_fps).ceil() as usize).clamp(64, 1 << 20);
        // The baseline is ready `warmup_s` after its samples are committed, `commit_delay_s`
        // after they arrive (a little more when learning pauses: the oldest frames are dropped).
        let warmup_seconds = config.baseline.warmup_s + config.baseline.commit_delay_s + 0.5;
        let warmup_capacity =
            ((warmup_seconds * config.max_fps).ceil() as usize).clamp(16, capacity);
        TrackState {
            track,
            baseline: Baseline::new(config.baseline.clone()),
            history: ScoreHistory::new(capacity),
            last_pts_s: None,
            raw: [0.0; CHANNEL_COUNT],
            smoothed: [0.0; CHANNEL_COUNT],
            smoothed_valid: false,
            deltas: [0.0; CHANNEL_COUNT],
            settle_until_s: f64::NEG_INFINITY,
            expression: Segment::new(),
            gaze: Segment::new(),
            blinks: BlinkDetector::new(),
            pending: Vec::with_capacity(8),
            eyes_closed_s: f64::NEG_INFINITY,
            jaw_mean: 0.0,
            speech_activity: 0.0,
            held: [0.0; CHANNEL_COUNT],
            holding: false,
            held_since_s: f64::NEG_INFINITY,
            gaze_hold_until_s: f64::NEG_INFINITY,
            held_gaze: [0.0; 4],
            held_gaze_z: 0.0,
            warmup: VecDeque::with_capacity(warmup_capacity),
            pulses: PulseDetector::new(&config.pulse, config.max_fps),
            whitener: MotionWhitener::new(&config.pulse.whitened),
        }
    }

    fn push(
        &mut self,
        signals: &FaceSignals,
        config: &SpotterConfig,
        stats: &mut SpotterStats,
        out: &mut Vec<Event>,
    ) {
        stats.frames += 1;
        let pts_s = signals.pts_s;
        if !pts_s.is_finite() {
            stats.frames_invalid += 1;
            return;
        }
        let mut dt_s = None;
        if let Some(last) = self.last_pts_s {
            if pts_s <= last {
                stats.frames_out_of_order += 1;
                return;
            }
            if pts_s - last > config.max_gap_s {
                stats.gaps += 1;
                self.interrupt(
                    pts_s,
                    pts_s - last > config.rewarm_after_gap_s,
                    config,
                    stats,
                    out,
                );
            } else {
                dt_s = Some(pts_s - last);
            }
        }
        self.last_pts_s = Some(pts_s);

        // NaN presence counts as no face.
        if signals.presence.is_nan() || signals.presence < config.presence_min {
            stats.frames_low_presence += 1;
            self.interrupt(pts_s, false, config, stats, out);
            return;
        }
        extract_channels(signals, &mut self.raw);
        let valid = signals.blendshapes.len() == BLENDSHAPE_COUNT
            && self
                .raw
                .iter()
                .zip(CHANNELS.iter())
                .all(|(value, spec)| value.is_finite() || spec.source.is_region());
        if !valid {
            stats.frames_invalid += 1;
            self.interrupt(pts_s, false, config, stats, out);
            return;
        }
        // A frame the spotter rejects does not teach the whitener either.
        self.whitener.fill(
            signals,
            dt_s,
            config.pulse.whiten_window_s,
            config.pulse.whiten_shrink,
            &mut self.raw,
        );
        if !self.smoothed_valid {
            dt_s = None;
        }
        stats.frames_used += 1;

        // Smoothing (time-based, so every frame rate sees the same filter).
        match dt_s {
            Some(dt_s) if config.smoothing_tau_s > 0.0 => {
                let alpha = (1.0 - (-dt_s / config.smoothing_tau_s).exp()) as f32;
                for (smoothed, &raw) in self.smoothed.iter_mut().zip(self.raw.iter()) {
                    if raw.is_finite() && smoothed.is_finite() {
                        *smoothed += alpha * (raw - *smoothed);
                    } else {
                        *smoothed = raw;
                    }
                }
            }
            _ => self.smoothed = self.raw,
        }
        self.smoothed_valid = true;

        // The baseline learns only from a settled face: not during a movement, not from the
        // unsettled tail of one, and not while a long expression is held (unless it is held so
        // long that it has become the new normal).
        let held_briefly =
            self.holding && pts_s - self.held_since_s < config.expression.adapt_after_s;
        let learning = self.expression.phase != Phase::Active
            && !(self.expression.tail && self.expression.is_open())
            && !held_briefly
            && self.gaze.phase != Phase::Active;
        self.baseline.observe(pts_s, &self.smoothed, learning);
        let lag_s = match &signals.region_motion {
            Some(motion) if motion.lag_s > 0.0 => f64::from(motion.lag_s),
            _ => config.pulse.default_lag_s,
        };
        if !self.baseline.is_ready() {
            // Kept until the baseline is ready, then scored against it: a movement that starts
            // during the warm-up is found with its true onset.
            if self.warmup.len() == self.warmup.capacity() {
                self.warmup.pop_front();
            }
            self.warmup.push_back(WarmupFrame {
                pts_s,
                dt_s,
                lag_s,
                smoothed: self.smoothed,
            });
            return;
        }
        if !self.warmup.is_empty() {
            let current = self.smoothed;
            let warmup = std::mem::take(&mut self.warmup);
            for frame in &warmup {
                self.smoothed = frame.smoothed;
                self.evaluate(frame.pts_s, frame.dt_s, frame.lag_s, config, stats, out);
            }
            self.warmup = warmup;
            self.warmup.clear();
            self.smoothed = current;
        }
        self.evaluate(pts_s, dt_s, lag_s, config, stats, out);
    }

    /// Scores one frame (`self.smoothed`, at `pts_s`) against the ready baseline and runs the
    /// detectors on it.
    fn evaluate(
        &mut self,
        pts_s: f64,
        dt_s: Option<f64>,
        lag_s: f64,
        config: &SpotterConfig,
        stats: &mut SpotterStats,
        out: &mut Vec<Event>,
    ) {
        // Deviations over the baseline.
        let level = *self.baseline.level();
        let spread = *self.baseline.spread();
        let mut expression_z = 0.0f32;
        let mut gaze_z = 0.0f32;
        // Speech: how much the jaw moves around its recent mean. While the person talks, the
        // lips press and roll on every /p/, /b/, /m/: those channels need a larger rise.
        let jaw = self.smoothed[Channel::JawOpen.index()];
        if let Some(dt_s) = dt_s {
            let slow = (1.0 - (-dt_s / SPEECH_MEAN_S).exp()) as f32;
            let activity = (1.0 - (-dt_s / SPEECH_ACTIVITY_S).exp()) as f32;
            self.jaw_mean += slow * (jaw - self.jaw_mean);
            self.speech_activity += activity * ((jaw - self.jaw_mean).abs() - self.speech_activity);
        } else {
            self.jaw_mean = jaw;
            self.speech_activity = 0.0;
        }
        let talking = ((self.speech_activity - config.expression.speech_quiet)
            / (config.expression.speech_talking - config.expression.speech_quiet).max(1e-6))
        .clamp(0.0, 1.0);
        let speech_factor = 1.0 + (config.expression.speech_gain - 1.0) * talking;

        self.holding = false;
        for (index, spec) in CHANNELS.iter().enumerate() {
            let mut delta = self.smoothed[index] - level[index];
            if !delta.is_finite() {
                self.deltas[index] = delta;
                continue;
            }
            // A long expression that is still held: measure change relative to it, until the
            // channel is back near its baseline.
            let held = &mut self.held[index];
            if *held > 0.0 {
                if delta < config.expression.z_low * spread[index] {
                    *held = 0.0;
                } else {
                    *held = held.max(delta);
                    delta -= *held;
                    self.holding = true;
                }
            }
            self.deltas[index] = delta;
            match spec.role {
                ChannelRole::Trigger => {
                    let factor = if SPEECH_CHANNELS.contains(&spec.channel) {
                        speech_factor
                    } else {
                        1.0
                    };
                    expression_z = expression_z.max(delta / (spread[index] * factor));
                }
                ChannelRole::Gaze => gaze_z = gaze_z.max(delta.abs() / spread[index]),
                _ => {}
            }
        }

        // Blinks move MediaPipe's eyeLook channels (eyes "look down" as the lids close, and
        // in/out jump): while the eyes blink, and shortly after, gaze is not measured — the
        // gaze channels keep their values from before the blink.
        let blink_delta = 0.5
            * (self.deltas[Channel::EyeBlinkLeft.index()]
                + self.deltas[Channel::EyeBlinkRight.index()]);
        if blink_delta > config.gaze.blink_mask {
            self.gaze_hold_until_s = pts_s + config.gaze.blink_tail_s;
        }
        if pts_s <= self.gaze_hold_until_s {
            for (slot, channel) in GAZE_CHANNELS.iter().enumerate() {
                self.deltas[channel.index()] = self.held_gaze[slot];
            }
            gaze_z = self.held_gaze_z;
        } else {
            for (slot, channel) in GAZE_CHANNELS.iter().enumerate() {
                self.held_gaze[slot] = self.deltas[channel.index()];
            }
            self.held_gaze_z = gaze_z;
        }

        let frame = self.history.push(pts_s, [expression_z, gaze_z]);
        let may_open = pts_s >= self.settle_until_s;

        self.update_expression(frame, pts_s, expression_z, may_open, config, stats);
        self.update_gaze(frame, pts_s, gaze_z, may_open, config, stats);

        let blink_spread =
            0.5 * (spread[Channel::EyeBlinkLeft.index()] + spread[Channel::EyeBlinkRight.index()]);
        if blink_delta > config.reader.blink_masks_eye_motion {
            self.eyes_closed_s = pts_s;
        }
        if let Some((first, last, summary)) = self.blinks.update(
            pts_s,
            dt_s.unwrap_or(0.0),
            blink_delta,
            blink_spread,
            &config.blink,
        ) {
            let reading = read_blink_cluster(&summary);
            let event = self.make_event(first.onset_s, last.peak_s, last.offset_s, reading);
            self.offer(Priority::BlinkCluster, event, config, stats);
        }

        if may_open {
            let head_deg = [
                self.smoothed[Channel::HeadYaw.index()],
                self.smoothed[Channel::HeadPitch.index()],
            ];
            let found = self.pulses.update(
                pts_s,
                &self.deltas,
                &spread,
                talking,
                head_deg,
                lag_s,
                &config.pulse,
            );
            // At most one per pulse channel; moved out to offer them.
            let mut candidates = [const { None }; PULSE_CHANNEL_COUNT];
            for (slot, candidate) in candidates.iter_mut().zip(found) {
                *slot = Some(candidate.clone());
            }
            for candidate in candidates.into_iter().flatten() {
                self.offer_pulse(&candidate, config, stats);
            }
        }

        self.release(pts_s, out, stats);
    }

    /// Labels a pulse movement (only with the cues its channel can show) and offers it.
    fn offer_pulse(
        &mut self,
        candidate: &PulseCandidate,
        config: &SpotterConfig,
        stats: &mut SpotterStats,
    ) {
        let blink_near = self.eyes_closed_s >= candidate.onset_s - EYE_MOTION_REFERENCE_S;
        if blink_near
            && candidate.baseline_peak_z < config.pulse.blink_exempt_z
            && matches!(
                candidate.channel,
                Channel::MoveBrowsUp | Channel::MoveBrowsDown
            )
        {
            // Closing and opening lids drag the brows: not a brow movement of its own, unless
            // it is stronger than a blink's drag (in the baseline's spreads: the local noise
            // level would lift a drag on a still face over the exemption).
            stats.segments_unlabelled += 1;
            return;
        }
        let snapshot = ApexSnapshot {
            deltas: &candidate.apex_deltas,
            spreads: self.baseline.spread(),
            segment_max: &candidate.segment_max,
            peak_z: candidate.peak_z,
            blink_near,
            pulse: Some(candidate.channel),
        };
        let excluded = pulse_excluded_cues(candidate.channel);
        let mut unavailable = [CueId::PupilDilation; CueId::ALL.len() * 2];
        let mut count = 0;
        for &cue in excluded.iter().chain(config.unavailable_cues.iter()) {
            if count < unavailable.len() {
                unavailable[count] = cue;
                count += 1;
            }
        }
        let Some(reading) = read_expression(&snapshot, &config.reader, &unavailable[..count])
        else {
            stats.segments_unlabelled += 1;
            return;
        };
        let event = self.make_event(
            candidate.onset_s,
            candidate.apex_s,
            candidate.offset_s,
            reading,
        );
        self.offer(Priority::Pulse, event, config, stats);
    }

    fn update_expression(
        &mut self,
        frame: u64,
        pts_s: f64,
        z: f32,
        may_open: bool,
        config: &SpotterConfig,
        stats: &mut SpotterStats,
    ) {
        let settings = &config.expression;
        match self.expression.phase {
            Phase::Idle => {
                if z >= settings.z_low && may_open {
                    self.expression.open(frame, pts_s, z, &self.deltas);
                    self.expression.activation_z = settings.z_high;
                    if z >= settings.z_high {
                        self.activate_expression(pts_s, config);
                    }
                }
            }
            // Long expressions are held instead (see `hold_moved_channels`).
            Phase::Suppressed => self.expression.phase = Phase::Idle,
            Phase::Candidate | Phase::Active => {
                let lobe_over = self.expression.phase == Phase::Active
                    && z < settings.boundary_fraction * self.expression.peak_z;
                if z >= settings.z_low && lobe_over {
                    // The movement has returned most of the way but the face has not settled:
                    // close it here and watch the rest as a possible new movement (a lip press
                    // turning into a smile). The rest must rise clearly to count.
                    self.close_expression(frame, config, stats);
                    self.expression.open(frame, pts_s, z, &self.deltas);
                    self.expression.activation_z = settings.z_high.max(settings.split_rise * z);
                    self.expression.tail = true;
                    return;
                }
                if z >= settings.z_low {
                    self.expression.track_peak(frame, pts_s, z, &self.deltas);
                    if self.expression.phase == Phase::Candidate
                        && z >= self.expression.activation_z
                    {
                        self.activate_expression(pts_s, config);
                    }
                    let out_of_history =
                        frame - self.expression.start_frame + 2 >= self.history.capacity() as u64;
                    match self.expression.phase {
                        Phase::Active
                            if out_of_history
                                || pts_s - self.expression.active_since_s
                                    > settings.max_duration_s =>
                        {
                            // A long movement: report it as macro, then hold the moved channels
                            // as they are, so that only new movements count until they settle.
                            self.close_expression(frame, config, stats);
                            self.hold_moved_channels(pts_s, config);
                            self.expression.phase = Phase::Idle;
                        }
                        Phase::Candidate
                            if out_of_history
                                || pts_s - self.expression.start_s > settings.max_duration_s =>
                        {
                            // Hovering below the activation level for long: start afresh here.
                            let (activation_z, tail) =
                                (self.expression.activation_z, self.expression.tail);
                            self.expression.open(frame, pts_s, z, &self.deltas);
                            self.expression.activation_z = activation_z;
                            self.expression.tail = tail;
                        }
                        _ => {}
                    }
                } else {
                    if self.expression.phase == Phase::Active {
                        self.close_expression(frame, config, stats);
                    }
                    if self.expression.phase == Phase::Active || self.expression.tail {
                        self.baseline.block_until(pts_s + config.baseline.guard_s);
                    }
                    self.expression.phase = Phase::Idle;
                }
            }
        }
    }

    /// Remembers the current rise of every moved trigger channel (see [`Self::held`]).
    fn hold_moved_channels(&mut self, pts_s: f64, config: &SpotterConfig) {
        let spread = self.baseline.spread();
        if !self.holding {
            self.held_since_s = pts_s;
        }
        for (index, spec) in CHANNELS.iter().enumerate() {
            let delta = self.deltas[index];
            if spec.role == ChannelRole::Trigger
                && delta.is_finite()
                && delta >= config.expression.z_low * spread[index]
            {
                self.held[index] += delta;
                self.holding = true;
            }
        }
    }

    fn activate_expression(&mut self, pts_s: f64, config: &SpotterConfig) {
        self.expression.phase = Phase::Active;
        self.expression.active_since_s = pts_s;
        self.baseline
            .discard_pending_since(self.expression.start_s - config.baseline.guard_s);
    }

    /// Emits the expression segment that ends at `end_frame` (the first frame back below
    /// `z_low`, or the last frame when forced).
    fn close_expression(
        &mut self,
        end_frame: u64,
        config: &SpotterConfig,
        stats: &mut SpotterStats,
    ) {
        let settings = &config.expression;
        let segment = &self.expression;
        let boundary = settings
            .z_low
            .max(settings.boundary_fraction * segment.peak_z);
        let (onset_s, offset_s) = bounds(&self.history, EXPRESSION, segment, end_frame, boundary);
        if (offset_s - onset_s) * 1000.0 < settings.min_duration_ms {
            stats.segments_too_short += 1;
            return;
        }
        let snapshot = ApexSnapshot {
            deltas: &segment.apex_deltas,
            spreads: self.baseline.spread(),
            segment_max: &segment.segment_max,
            peak_z: segment.peak_z,
            blink_near: self.eyes_closed_s >= segment.start_s - EYE_MOTION_REFERENCE_S,
            pulse: None,
        };
        let Some(reading) = read_expression(&snapshot, &config.reader, &config.unavailable_cues)
        else {
            stats.segments_unlabelled += 1;
            return;
        };
        let event = self.make_event(onset_s, segment.peak_s, offset_s, reading);
        self.offer(Priority::Expression, event, config, stats);
    }

    fn update_gaze(
        &mut self,
        frame: u64,
        pts_s: f64,
        z: f32,
        may_open: bool,
        config: &SpotterConfig,
        stats: &mut SpotterStats,
    ) {
        let settings = &config.gaze;
        match self.gaze.phase {
            Phase::Idle => {
                if z >= settings.z_low && may_open {
                    self.gaze.open(frame, pts_s, z, &self.deltas);
                    if z >= settings.z_high {
                        self.activate_gaze(config);
                    }
                }
            }
            Phase::Suppressed => {
                if z < settings.z_low {
                    self.gaze.phase = Phase::Idle;
                }
            }
            Phase::Candidate | Phase::Active => {
                if z >= settings.z_low {
                    self.gaze.track_peak(frame, pts_s, z, &self.deltas);
                    if self.gaze.phase == Phase::Candidate && z >= settings.z_high {
                        self.activate_gaze(config);
                    }
                    // Still away well after the longest glance: a change of attention.
                    if pts_s - self.gaze.start_s > settings.max_duration_s + 0.5 {
                        if self.gaze.phase == Phase::Active {
                            stats.glances_out_of_range += 1;
                        }
                        self.gaze.phase = Phase::Suppressed;
                    }
                } else {
                    if self.gaze.phase == Phase::Active {
                        self.close_gaze(frame, config, stats);
                        self.baseline.block_until(pts_s + config.baseline.guard_s);
                    }
                    self.gaze.phase = Phase::Idle;
                }
            }
        }
    }

    fn activate_gaze(&mut self, config: &SpotterConfig) {
        self.gaze.phase = Phase::Active;
        self.baseline
            .discard_pending_since(self.gaze.start_s - config.baseline.guard_s);
    }

    fn close_gaze(&mut self, end_frame: u64, config: &SpotterConfig, stats: &mut SpotterStats) {
        let settings = &config.gaze;
        let segment = &self.gaze;
        let boundary = settings
            .z_low
            .max(settings.boundary_fraction * segment.peak_z);
        let (onset_s, offset_s) = bounds(&self.history, GAZE, segment, end_frame, boundary);
        let duration_s = offset_s - onset_s;
        if duration_s < settings.min_duration_s || duration_s > settings.max_duration_s {
            stats.glances_out_of_range += 1;
            return;
        }
        let spread = self.baseline.spread();
        let d = |channel: Channel| segment.apex_deltas[channel.index()];
        let s = |channel: Channel| spread[channel.index()];
        let apex = GazeApex {
            horizontal: d(Channel::GazeHorizontal),
            vertical: d(Channel::GazeVertical),
            yaw_deg: d(Channel::HeadYaw),
            pitch_deg: d(Channel::HeadPitch),
            spreads: [
                s(Channel::GazeHorizontal),
                s(Channel::GazeVertical),
                s(Channel::HeadYaw),
                s(Channel::HeadPitch),
            ],
            peak_z: segment.peak_z,
        };
        let event = self.make_event(onset_s, segment.peak_s, offset_s, read_gaze(&apex));
        self.offer(Priority::Gaze, event, config, stats);
    }

    fn make_event(&self, onset_s: f64, apex_s: f64, offset_s: f64, reading: Reading) -> Event {
        let apex_s = apex_s.clamp(onset_s, offset_s);
        let duration_ms = (offset_s - onset_s) * 1000.0;
        Event {
            track: self.track,
            onset_s,
            apex_s,
            offset_s,
            duration_ms,
            scale: Scale::of_duration_ms(duration_ms),
            cue: reading.cue,
            side: reading.side,
            intensity: reading.intensity,
            confidence: reading.confidence,
            valence: reading.valence,
            evidence: reading.evidence,
        }
    }

    /// Adds a finished event to the pending list, resolving overlaps by priority.
    fn offer(
        &mut self,
        priority: Priority,
        event: Event,
        config: &SpotterConfig,
        stats: &mut SpotterStats,
    ) {
        if !event.cue.is_supported() || config.unavailable_cues.contains(&event.cue) {
            stats.segments_unlabelled += 1;
            return;
        }
        let overlaps =
            |other: &Event| other.onset_s < event.offset_s && event.onset_s < other.offset_s;
        // Two pulse channels seeing one movement (both corners, and the left one): the more
        // confident reading stays.
        let beats = |p: Priority, other: &Event| {
            p > priority
                || (p == priority && (p != Priority::Pulse || other.confidence >= event.confidence))
        };
        if self
            .pending
            .iter()
            .any(|(p, other)| beats(*p, other) && overlaps(other))
        {
            stats.events_overlapped += 1;
            return;
        }
        let before = self.pending.len();
        self.pending
            .retain(|(p, other)| beats(*p, other) || !overlaps(other));
        stats.events_overlapped += (before - self.pending.len()) as u64;
        let at = self
            .pending
            .iter()
            .position(|(_, other)| other.onset_s > event.onset_s)
            .unwrap_or(self.pending.len());
        self.pending.insert(at, (priority, event));
    }

    /// Emits pending events that no open detector can overlap any more.
    fn release(&mut self, now_s: f64, out: &mut Vec<Event>, stats: &mut SpotterStats) {
        if self.pending.is_empty() {
            return;
        }
        let mut horizon = now_s;
        for onset in [
            self.expression.earliest_onset(&self.history),
            self.gaze.earliest_onset(&self.history),
            self.blinks.earliest_onset(),
            self.pulses.earliest_onset(),
        ]
        .into_iter()
        .flatten()
        {
            horizon = horizon.min(onset);
        }
        self.release_until(horizon, out, stats);
    }

    fn release_until(&mut self, horizon_s: f64, out: &mut Vec<Event>, stats: &mut SpotterStats) {
        let ready = self
            .pending
            .iter()
            .take_while(|(_, event)| event.offset_s <= horizon_s)
            .count();
        for (_, event) in self.pending.drain(..ready) {
            stats.events += 1;
            out.push(event);
        }
    }

    /// A gap or a lost face: aborts open segments, forgets the recent history.
    fn interrupt(
        &mut self,
        pts_s: f64,
        rewarm: bool,
        config: &SpotterConfig,
        stats: &mut SpotterStats,
        out: &mut Vec<Event>,
    ) {
        for segment in [&mut self.expression, &mut self.gaze] {
            if segment.phase == Phase::Active {
                stats.segments_aborted += 1;
            }
            segment.phase = Phase::Idle;
        }
        self.blinks.abort();
        self.history.clear();
        self.warmup.clear();
        self.pulses.reset();
        self.smoothed_valid = false;
        self.held = [0.0; CHANNEL_COUNT];
        self.holding = false;
        self.gaze_hold_until_s = f64::NEG_INFINITY;
        self.held_gaze = [0.0; 4];
        self.held_gaze_z = 0.0;
        self.settle_until_s = pts_s + config.settle_s;
        if rewarm {
            self.baseline.reset();
            self.whitener.reset();
        }
        // Nothing open any more: everything pending is final.
        self.release_until(f64::INFINITY, out, stats);
    }

    fn finish(&mut self, config: &SpotterConfig, stats: &mut SpotterStats, out: &mut Vec<Event>) {
        let last_frame = self.history.next_frame.checked_sub(1);
        if let Some(last_frame) = last_frame {
            if self.expression.phase == Phase::Active {
                self.close_expression(last_frame, config, stats);
            }
            if self.gaze.phase == Phase::Active {
                self.close_gaze(last_frame, config, stats);
            }
        }
        self.expression.phase = Phase::Idle;
        self.gaze.phase = Phase::Idle;
        if let Some((first, last, summary)) = self.blinks.close_chain(&config.blink) {
            let event = self.make_event(
                first.onset_s,
                last.peak_s,
                last.offset_s,
                read_blink_cluster(&summary),
            );
            self.offer(Priority::BlinkCluster, event, config, stats);
        }
        self.release_until(f64::INFINITY, out, stats);
    }
}

/// Cues a pulse channel cannot show (the reader chooses among the others).
pub(crate) fn pulse_excluded_cues(channel: Channel) -> &'static [CueId] {
    use CueId as C;
    match channel {
        Channel::MoveBrowsUp => &[
            C::GenuineSmile,
            C::PoliteSmile,
            C::LipCompression,
            C::UnilateralLipCorner,
            C::NoseWrinkle,
            C::MicroFrown,
            C::MicroAnger,
        ],
        Channel::MoveBrowsDown => &[
            C::GenuineSmile,
            C::PoliteSmile,
            C::LipCompression,
            C::UnilateralLipCorner,
            C::NoseWrinkle,
            C::EyebrowFlash,
            C::MicroSurprise,
        ],
        Channel::MoveNoseUp | Channel::MoveLipsUp => &[
            C::GenuineSmile,
            C::PoliteSmile,
            C::LipCompression,
            C::UnilateralLipCorner,
            C::EyebrowFlash,
            C::MicroSurprise,
            C::MicroFrown,
            C::MicroAnger,
        ],
        Channel::MoveCornersPull | Channel::MoveCornerLeftPull | Channel::MoveCornerRightPull => &[
            C::LipCompression,
            C::NoseWrinkle,
            C::EyebrowFlash,
            C::MicroSurprise,
            C::MicroFrown,
            C::MicroAnger,
        ],
        Channel::MoveLipsDown | Channel::MoveLipsClose => &[
            C::GenuineSmile,
            C::PoliteSmile,
            C::UnilateralLipCorner,
            C::NoseWrinkle,
            C::EyebrowFlash,
            C::MicroSurprise,
            C::MicroFrown,
        ],
        _ => &[],
    }
}

/// Onset and offset of the lobe around the segment's peak: where the score crosses `boundary`,
/// interpolated between frames. The search stays within the segment (and the frame before it).
fn bounds(
    history: &ScoreHistory,
    score: usize,
    segment: &Segment,
    end_frame: u64,
    boundary: f32,
) -> (f64, f64) {
    let first_frame = segment
        .start_frame
        .saturating_sub(1)
        .max(history.oldest_frame());
    let Some((peak_s, peak_z)) = history.get(segment.peak_frame, score) else {
        return (segment.start_s, segment.peak_s);
    };

    let mut onset_s = peak_s;
    let (mut t_in, mut z_in) = (peak_s, peak_z);
    let mut frame = segment.peak_frame;
    while frame > first_frame {
        let Some((t, z)) = history.get(frame - 1, score) else {
            break;
        };
        if z < boundary {
            onset_s = crossing_time((t, z), (t_in, z_in), boundary).unwrap_or(t_in);
            break;
        }
        frame -= 1;
        (t_in, z_in) = (t, z);
        onset_s = t;
    }

    let mut offset_s = peak_s;
    let (mut t_in, mut z_in) = (peak_s, peak_z);
    let mut frame = segment.peak_frame;
    while frame < end_frame {
        let Some((t, z)) = history.get(frame + 1, score) else {
            break;
        };
        if z < boundary {
            offset_s = crossing_time((t, z), (t_in, z_in), boundary).unwrap_or(t_in);
            break;
        }
        frame += 1;
        (t_in, z_in) = (t, z);
        offset_s = t;
    }
    (onset_s, offset_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid_and_bad_values_are_named() {
        assert_eq!(SpotterConfig::default().validate(), Ok(()));
        let mut config = SpotterConfig::default();
        config.expression.z_low = 9.0;
        assert!(config.validate().unwrap_err().contains("z_low"));
        let mut config = SpotterConfig::default();
        config.baseline.sample_interval_s = 0.0;
        assert!(config.validate().unwrap_err().contains("sample_interval_s"));
    }

    #[test]
    fn score_history_forgets_the_oldest_frames() {
        let mut history = ScoreHistory::new(4);
        for i in 0..6 {
            history.push(f64::from(i), [i as f32, 0.0]);
        }
        assert_eq!(history.get(1, 0), None);
        assert_eq!(history.get(2, 0), Some((2.0, 2.0)));
        assert_eq!(history.get(5, 0), Some((5.0, 5.0)));
        assert_eq!(history.get(6, 0), None);
        history.clear();
        assert_eq!(history.get(5, 0), None);
    }
}
