//! The per-track state machine: smoothing, baseline, the detectors, and the pending events
//! whose overlaps are resolved by priority before they are released.

use std::collections::VecDeque;

use super::SpotterStats;
use super::blink::BlinkDetector;
use super::config::SpotterConfig;
use super::decision::{Candidate, CandidateInput, Decision, DecisionModel, Features, PulseShape};
use super::segment::{EXPRESSION, GAZE, Phase, ScoreHistory, Segment, bounds};
use crate::baseline::Baseline;
use crate::channels::{
    CHANNEL_COUNT, CHANNELS, Channel, ChannelRole, ChannelValues, extract_channels,
};
use crate::cue::{CueId, Scale};
use crate::event::Event;
use crate::pulse::{PULSE_CHANNEL_COUNT, PulseCandidate, PulseDetector};
use crate::reader::{
    ApexSnapshot, GazeApex, Reading, pulse_excluded_cues, read_blink_cluster, read_expression,
    read_gaze,
};
use crate::signals::{BLENDSHAPE_COUNT, FaceSignals, TrackId};
use crate::whiten::MotionWhitener;

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
    Channel::MotionMouthCornersPull,
    Channel::MotionMouthCornerLeftPull,
    Channel::MotionMouthCornerRightPull,
    Channel::MotionLipsDown,
    Channel::MotionLipsUp,
    Channel::MotionNoseUp,
];
/// Time constant of the jaw's running mean, seconds.
const SPEECH_MEAN_S: f64 = 0.5;
/// Time constant of the speech activity (mean absolute jaw deviation), seconds.
const SPEECH_ACTIVITY_S: f64 = 0.7;

/// The channels of the gaze detector.
const GAZE_CHANNELS: [Channel; 4] = [
    Channel::GazeHorizontal,
    Channel::GazeVertical,
    Channel::HeadYawDeg,
    Channel::HeadPitchDeg,
];

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
pub(super) struct TrackState {
    pub(super) track: TrackId,
    pub(super) baseline: Baseline,
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
    /// Finished events not released yet, with their priority and the key that breaks ties
    /// within it (a pulse's confidence, or a learned candidate's probability).
    pending: Vec<(Priority, f32, Event)>,
    /// Last time the eyelids were closed well over the baseline.
    eyes_closed_s: f64,
    /// Running mean of the jaw opening and the mean absolute deviation from it (speech).
    jaw_mean: f32,
    speech_activity: f32,
    /// How much the person talks (0..1), from `speech_activity`.
    talking: f32,
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
    /// The learned decision's model and the probability a candidate needs (`None`: rules).
    judge: Option<(DecisionModel, f64)>,
    /// Whether judged candidates are kept in `recorded`.
    pub(super) record: bool,
    pub(super) recorded: Vec<Candidate>,
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
    pub(super) fn new(track: TrackId, config: &SpotterConfig) -> Self {
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
            talking: 0.0,
            held: [0.0; CHANNEL_COUNT],
            holding: false,
            held_since_s: f64::NEG_INFINITY,
            gaze_hold_until_s: f64::NEG_INFINITY,
            held_gaze: [0.0; 4],
            held_gaze_z: 0.0,
            warmup: VecDeque::with_capacity(warmup_capacity),
            pulses: PulseDetector::new(&config.pulse, config.max_fps),
            whitener: MotionWhitener::new(&config.pulse.whitened),
            judge: (config.decision == Decision::Learned).then(|| {
                let model = config
                    .decision_model
                    .clone()
                    .unwrap_or_else(DecisionModel::builtin);
                let threshold = model.threshold_at(config.sensitivity);
                (model, threshold)
            }),
            record: false,
            recorded: Vec::new(),
        }
    }

    pub(super) fn push(
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
        self.talking = talking;
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
            let reading = read_blink_cluster(&summary, &config.reader);
            let event = self.make_event(first.onset_s, last.peak_s, last.offset_s, reading);
            self.offer(Priority::BlinkCluster, 0.0, event, config, stats);
        }

        if may_open {
            let head_deg = [
                self.smoothed[Channel::HeadYawDeg.index()],
                self.smoothed[Channel::HeadPitchDeg.index()],
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
                Channel::MotionBrowsUp | Channel::MotionInnerBrowsDown
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
        if self.judge.is_none() {
            let confidence = event.confidence;
            self.offer(Priority::Pulse, confidence, event, config, stats);
            return;
        }
        let pulse = PulseShape {
            channel: candidate.channel,
            baseline_peak_z: candidate.baseline_peak_z,
            return_peak_z: candidate.return_peak_z,
            head_turn_deg: candidate.head_turn_deg,
            jaw_change: candidate.jaw_change,
        };
        let features = self.candidate_features(
            Some(pulse),
            candidate.peak_z,
            &candidate.apex_deltas,
            &event,
        );
        self.judge_and_offer(
            features,
            event,
            "pulse",
            candidate.channel.name(),
            config,
            stats,
        );
    }

    /// The learned decision's features of a candidate decided now.
    fn candidate_features(
        &self,
        pulse: Option<PulseShape>,
        peak_z: f32,
        apex_deltas: &ChannelValues,
        event: &Event,
    ) -> Features {
        CandidateInput {
            pulse,
            peak_z,
            onset_s: event.onset_s,
            apex_s: event.apex_s,
            offset_s: event.offset_s,
            apex_deltas,
            spreads: self.baseline.spread(),
            talking: self.talking,
            since_blink_s: event.onset_s - self.eyes_closed_s,
            cue: event.cue,
            confidence: event.confidence,
            intensity: event.intensity,
        }
        .features()
    }

    /// The learned decision: offers the candidate if the model finds it probable enough
    /// (keeping it for the recording either way).
    fn judge_and_offer(
        &mut self,
        features: Features,
        event: Event,
        detector: &'static str,
        channel: &'static str,
        config: &SpotterConfig,
        stats: &mut SpotterStats,
    ) {
        let Some((model, threshold)) = &self.judge else {
            return;
        };
        let probability = model.probability(&features);
        let accepted = probability >= *threshold;
        if self.record {
            self.recorded.push(Candidate {
                event: event.clone(),
                detector,
                channel,
                features,
                probability: probability as f32,
            });
        }
        if !accepted {
            stats.candidates_rejected += 1;
            return;
        }
        // One class for both detectors: of overlapping candidates the more probable stays.
        self.offer(Priority::Pulse, probability as f32, event, config, stats);
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
        if self.judge.is_none() {
            self.offer(Priority::Expression, 0.0, event, config, stats);
            return;
        }
        let features = self.candidate_features(None, segment.peak_z, &segment.apex_deltas, &event);
        self.judge_and_offer(features, event, "expression", "blendshapes", config, stats);
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
            yaw_deg: d(Channel::HeadYawDeg),
            pitch_deg: d(Channel::HeadPitchDeg),
            spreads: [
                s(Channel::GazeHorizontal),
                s(Channel::GazeVertical),
                s(Channel::HeadYawDeg),
                s(Channel::HeadPitchDeg),
            ],
            peak_z: segment.peak_z,
        };
        let event = self.make_event(
            onset_s,
            segment.peak_s,
            offset_s,
            read_gaze(&apex, &config.reader),
        );
        self.offer(Priority::Gaze, 0.0, event, config, stats);
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
        key: f32,
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
        // confident reading (or the more probable candidate) stays.
        let beats = |p: Priority, k: f32| {
            p > priority || (p == priority && (p != Priority::Pulse || k >= key))
        };
        if self
            .pending
            .iter()
            .any(|(p, k, other)| beats(*p, *k) && overlaps(other))
        {
            stats.events_overlapped += 1;
            return;
        }
        let before = self.pending.len();
        self.pending
            .retain(|(p, k, other)| beats(*p, *k) || !overlaps(other));
        stats.events_overlapped += (before - self.pending.len()) as u64;
        let at = self
            .pending
            .iter()
            .position(|(_, _, other)| other.onset_s > event.onset_s)
            .unwrap_or(self.pending.len());
        self.pending.insert(at, (priority, key, event));
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
            .take_while(|(_, _, event)| event.offset_s <= horizon_s)
            .count();
        for (_, _, event) in self.pending.drain(..ready) {
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

    pub(super) fn finish(
        &mut self,
        config: &SpotterConfig,
        stats: &mut SpotterStats,
        out: &mut Vec<Event>,
    ) {
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
                read_blink_cluster(&summary, &config.reader),
            );
            self.offer(Priority::BlinkCluster, 0.0, event, config, stats);
        }
        self.release_until(f64::INFINITY, out, stats);
    }
}
