//! The streaming spotter: finds brief facial movements against each person's own baseline.
//!
//! Feed [`FaceSignals`] in time order per track with [`Spotter::push`]; finished, labelled
//! [`Event`]s are appended to the caller's vector. [`Spotter::finish`] closes what is still open
//! at the end of the stream. [`analyze_all`] does both for a slice.
//!
//! Per track the spotter keeps:
//!
//! - the [channel values](crate::channels::extract_channels) of each frame, lightly smoothed with
//!   a time-based exponential filter (`smoothing_tau_s`), so that 25 fps and 200 fps streams see
//!   the same noise level;
//! - a robust [`Baseline`](crate::Baseline) (running median / MAD, warm-up, quarantine so that
//!   it never learns from the events themselves);
//! - four detectors, each working in seconds, never frames:
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
//!   4. **pulses** — a brief movement in region motion, a rise and a return of the same regions
//!      ([`crate::pulse`]); read only with the cues its regions can show, and a brow pulse at a
//!      blink only when it is stronger than a blink's drag (`pulse.blink_exempt_z`).
//!
//! Events of one track never overlap: when two detectors claim overlapping time, pulses win over
//! expressions, which win over blink clusters, which win over gaze aversions; of two pulses, the
//! more confident reading stays. An event is released once no detector can still produce an
//! overlapping one. A gap in the stream longer than `max_gap_s`, or a frame
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

mod blink;
mod config;
pub mod decision;
mod segment;
mod track;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

pub use config::{BlinkConfig, DEFAULT_SENSITIVITY, ExpressionConfig, GazeConfig, SpotterConfig};
pub use decision::{Candidate, Decision, DecisionModel};
use track::TrackState;

use crate::event::Event;
use crate::signals::{FaceSignals, TrackId};

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
    /// Candidates the learned decision rejected.
    #[cfg_attr(feature = "serde", serde(default))]
    pub candidates_rejected: u64,
}

/// Streaming spotter over any number of tracks. See the module documentation.
#[derive(Debug, Clone)]
pub struct Spotter {
    config: SpotterConfig,
    /// `config` with its sensitivity applied: what the detectors run with.
    applied: SpotterConfig,
    tracks: Vec<TrackState>,
    stats: SpotterStats,
    /// Whether every candidate is kept for [`Spotter::take_candidates`].
    record: bool,
    /// Candidates of tracks that have finished.
    recorded: Vec<Candidate>,
}

impl Spotter {
    /// A spotter with no tracks yet. `config` should have passed [`SpotterConfig::validate`].
    pub fn new(config: SpotterConfig) -> Self {
        Spotter {
            applied: config.applied(),
            config,
            tracks: Vec::new(),
            stats: SpotterStats::default(),
            record: false,
            recorded: Vec::new(),
        }
    }

    /// Keeps every candidate the learned decision judges, accepted or not, with its features
    /// and probability, for [`Spotter::take_candidates`] (training data and evaluation; off
    /// by default: it allocates per candidate).
    pub fn record_candidates(&mut self, record: bool) {
        self.record = record;
        for track in &mut self.tracks {
            track.record = record;
        }
    }

    /// The candidates recorded so far (see [`Spotter::record_candidates`]), in decision order
    /// per track.
    pub fn take_candidates(&mut self) -> Vec<Candidate> {
        let mut all = std::mem::take(&mut self.recorded);
        for track in &mut self.tracks {
            all.append(&mut track.recorded);
        }
        all
    }

    /// The settings.
    pub fn config(&self) -> &SpotterConfig {
        &self.config
    }

    /// What the spotter did so far.
    pub fn stats(&self) -> SpotterStats {
        self.stats
    }

    /// Whether `track`'s baseline has finished its warm-up (`None`: no frame of it yet). A
    /// live display shows the warm-up with it.
    pub fn baseline_ready(&self, track: TrackId) -> Option<bool> {
        self.tracks
            .iter()
            .find(|state| state.track == track)
            .map(|state| state.baseline.is_ready())
    }

    /// Processes one frame of one track; appends finished, labelled events to `events_out`.
    /// Frames must come in time order per track; a frame not later than the previous frame of
    /// its track is dropped (counted in [`SpotterStats::frames_out_of_order`]).
    pub fn push(&mut self, signals: &FaceSignals, events_out: &mut Vec<Event>) {
        let index = match self.tracks.iter().position(|t| t.track == signals.track) {
            Some(index) => index,
            None => {
                let mut track = TrackState::new(signals.track, &self.applied);
                track.record = self.record;
                self.tracks.push(track);
                self.tracks.len() - 1
            }
        };
        self.tracks[index].push(signals, &self.applied, &mut self.stats, events_out);
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
            track.finish(&self.applied, &mut self.stats, events_out);
            self.recorded.append(&mut track.recorded);
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

/// Runs a fresh [`Spotter`] over all `signals` and returns every candidate its decision
/// judged (see [`Spotter::record_candidates`]): with the learned decision, every movement the
/// open detectors found; with the rules, none.
pub fn candidates_all(signals: &[FaceSignals], config: &SpotterConfig) -> Vec<Candidate> {
    let mut spotter = Spotter::new(config.clone());
    spotter.record_candidates(true);
    let mut events = Vec::new();
    spotter.push_all(signals, &mut events);
    spotter.finish(&mut events);
    spotter.take_candidates()
}
