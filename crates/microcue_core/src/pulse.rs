//! The pulse detector: brief movements seen in region motion (optical flow over ~100 ms).
//!
//! Region motion is a difference over a short lag `L` (see [`crate::RegionMotion`]): a region
//! that moves and comes back gives a **rise pulse** in its direction, then, within the movement's
//! duration, a **return pulse** the other way. For a movement shorter than `L` the rise pulse is
//! the movement itself and the return pulse is its copy `L` later; for a longer one the two are
//! adjacent. A movement that does not come back (a posture change, a held expression, speech that
//! moves on) has no return pulse and is not reported here. That pairing is what tells a brief
//! facial movement from the motion of a talking face, and the comparison over ~100 ms instead
//! of against a long baseline is what keeps slow natural drift out.
//!
//! One detector runs per [`ChannelRole::Pulse`] channel (both brows up; the inner brows down,
//! since AU4 moves the brows' heads and the rest of the brows hardly move; the nose wings up;
//! both mouth corners pulled; one corner pulled; the upper lip down or up; the lips closing), on
//! its normalised value `z = (x − level) / spread` from the person's baseline. The channels named
//! in [`PulseConfig::whitened`] (by default both brows up, the inner brows down, the nose wings
//! up, each mouth corner pulled and the lips closing) are measured on their whitened twin
//! instead: the same direction projected through the inverse of the person's running covariance
//! of all regions' motion, so that motion the cue does not share (the jaw and lips of speech) is
//! taken out. Each channel's `z` is then divided by its **local noise level**: the square root of
//! the root mean square of its own `z` over the last [`PulseConfig::local_window_s`] (leaving out
//! the most recent [`PulseConfig::local_guard_s`]) against [`PulseConfig::local_reference`], so
//! that a movement counts for less while the face around it is busy and for more while it is
//! still.
//! Stages:
//!
//! 1. idle → **rise** when `z ≥ z_low`; the rise counts if it peaks at `z_high` or more, or at
//!    `pair_min_z` or more with rise + return peaks reaching `pair_z`;
//! 2. → **await return** once `z < z_low`; gives up after `max_return_wait_s` or on a new rise;
//! 3. → **return** when `z ≤ −z_low`; it counts if it reaches `return_fraction` of the rise.
//!
//! Onset is where the rise crosses `max(z_low, boundary_fraction × peak)` going up; offset is
//! the later of where the rise falls back through that level and where the return ends minus the
//! lag. Mouth channels need `speech_gain` times the rise while the person talks (the spotter
//! passes how much the person talks), and a lip movement during which the jaw moved by more
//! than `max_jaw_change` is dropped: the jaw carried the lips (speech), they did not press.
//! Buffers are sized once; nothing is allocated per frame.

use std::collections::VecDeque;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::channels::{CHANNEL_COUNT, CHANNELS, Channel, ChannelRole, ChannelValues};
use crate::numeric::{crossing_time, raise_maxima};

/// Number of [`ChannelRole::Pulse`] channels: at most this many movements end in one frame.
pub(crate) const PULSE_CHANNEL_COUNT: usize = {
    let mut count = 0;
    let mut i = 0;
    while i < CHANNEL_COUNT {
        if matches!(CHANNELS[i].role, ChannelRole::Pulse) {
            count += 1;
        }
        i += 1;
    }
    count
};

/// Settings of the pulse detector.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(default))]
pub struct PulseConfig {
    /// A rise counts when it peaks at this normalised motion or more ...
    pub z_high: f32,
    /// ... or when it peaks at `pair_min_z` or more and the rise and return peaks add up to
    /// `pair_z` (the two pulses are two looks at one movement: together they are less noisy).
    pub pair_z: f32,
    /// Smallest rise peak that can count through `pair_z`.
    pub pair_min_z: f32,
    /// Pulses open above (below −) and close below (above −) this normalised motion.
    pub z_low: f32,
    /// Onset and offset are where the pulses cross `max(z_low, boundary_fraction × peak)`.
    pub boundary_fraction: f32,
    /// The return pulse must reach this fraction of the rise's peak.
    pub return_fraction: f32,
    /// The return must start within this long after the rise ends, seconds.
    pub max_return_wait_s: f64,
    /// Longest movement reported, seconds.
    pub max_duration_s: f64,
    /// Shortest movement reported, milliseconds.
    pub min_duration_ms: f64,
    /// Lag of the region motion when the source does not record it, seconds.
    pub default_lag_s: f64,
    /// While the person talks, mouth channels need this many times their usual rise (phased
    /// in like the expression detector's `speech_gain`).
    pub speech_gain: f32,
    /// A movement during which the head turns faster than this (yaw + pitch change over the
    /// lag, degrees) is not reported: the nose-referenced motion of a turning head is not clean.
    pub max_head_turn_deg: f32,
    /// A lip movement during which `jawOpen` changes by more than this over the lag (blendshape
    /// units) is not reported: the jaw moved the lips (speech, chewing), they did not press.
    pub max_jaw_change: f32,
    /// Pulse channels (by name, e.g. `motion:lips_close`) that watch their whitened twin: the
    /// same direction with the person's usual co-motion of all regions removed (see
    /// [`Channel::whitened`]). The movement's label still reads the plain channels.
    pub whitened: Vec<String>,
    /// Window of the running region-motion covariance behind the whitened channels, seconds.
    pub whiten_window_s: f64,
    /// How far that covariance is always shrunk towards its diagonal (0: not at all, 1: the
    /// whitened channel is the plain one weighted by each region's noise).
    pub whiten_shrink: f32,
    /// A brow pulse near a blink (closing and opening lids drag the brows) is dropped unless
    /// its rise peaks at this many spreads or more: a brow movement that strong is the brows'
    /// own even when the person blinks with it (people often do). Measured against the
    /// baseline's spread alone: the local noise level would lift a blink's drag on a still
    /// face over it.
    pub blink_exempt_z: f32,
    /// Seconds of each channel's recent motion that set its **local noise level** (0: none).
    /// `z` is divided by `√(max(r / local_reference, local_floor))`, where `r` is the root
    /// mean square of the channel's `z` over that window (each frame's clipped to
    /// `local_clip`): the same movement counts for less while the face around it is busy
    /// (talking, laughing) and for more while it is still, which the baseline's spread over
    /// a minute cannot tell apart.
    pub local_window_s: f64,
    /// The most recent seconds are left out of the local window, so that the movement being
    /// measured does not raise its own bar.
    pub local_guard_s: f64,
    /// Root mean square of `z` over the window at which the local level leaves `z` as it is
    /// (about what the baseline's spread gives on an ordinary stretch of a talking face).
    pub local_reference: f32,
    /// Quietest local level counted, as a fraction of `local_reference`: a still stretch
    /// raises `z` by at most `1 / √local_floor`.
    pub local_floor: f32,
    /// A frame's `|z|` enters the local level clipped to this, so that one large movement does
    /// not mute the seconds after it.
    pub local_clip: f32,
}

impl Default for PulseConfig {
    fn default() -> Self {
        PulseConfig {
            z_high: 4.5,
            pair_z: 8.0,
            pair_min_z: 3.0,
            // Just under 2: a little more of each rise, no more natural events (see
            // docs/evaluation.md).
            z_low: 1.8,
            boundary_fraction: 0.3,
            return_fraction: 0.5,
            max_return_wait_s: 0.45,
            max_duration_s: 0.6,
            min_duration_ms: 20.0,
            default_lag_s: 0.095,
            speech_gain: 1.0,
            max_head_turn_deg: 4.0,
            max_jaw_change: 0.05,
            whitened: WHITENED_BY_DEFAULT
                .iter()
                .map(|c| c.name().to_string())
                .collect(),
            whiten_window_s: 60.0,
            // Little shrinking once the brows are whitened too, held on a seed set planted
            // after the choice (see docs/evaluation.md).
            whiten_shrink: 0.2,
            // Above the brow pulses that natural blinks leave (see docs/evaluation.md).
            blink_exempt_z: 6.0,
            // The local noise level's window, guard, reference, floor and clip were chosen
            // together (see docs/evaluation.md).
            local_window_s: 2.0,
            local_guard_s: 0.5,
            local_reference: 1.6,
            local_floor: 0.4,
            local_clip: 6.0,
        }
    }
}

impl PulseConfig {
    /// Checks the values; the error names the bad field.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("pulse.z_high", f64::from(self.z_high)),
            ("pulse.z_low", f64::from(self.z_low)),
            ("pulse.pair_z", f64::from(self.pair_z)),
            ("pulse.pair_min_z", f64::from(self.pair_min_z)),
            ("pulse.max_return_wait_s", self.max_return_wait_s),
            ("pulse.max_duration_s", self.max_duration_s),
            ("pulse.default_lag_s", self.default_lag_s),
            ("pulse.speech_gain", f64::from(self.speech_gain)),
            ("pulse.max_head_turn_deg", f64::from(self.max_head_turn_deg)),
            ("pulse.max_jaw_change", f64::from(self.max_jaw_change)),
            ("pulse.whiten_window_s", self.whiten_window_s),
            ("pulse.blink_exempt_z", f64::from(self.blink_exempt_z)),
            ("pulse.local_reference", f64::from(self.local_reference)),
            ("pulse.local_clip", f64::from(self.local_clip)),
        ];
        for (name, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!("{name} must be a positive number, got {value}"));
            }
        }
        if self.z_low > self.z_high {
            return Err(format!(
                "pulse.z_low ({}) must not exceed pulse.z_high ({})",
                self.z_low, self.z_high
            ));
        }
        for (name, value) in [
            ("pulse.boundary_fraction", self.boundary_fraction),
            ("pulse.return_fraction", self.return_fraction),
            ("pulse.whiten_shrink", self.whiten_shrink),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("{name} must be in [0, 1], got {value}"));
            }
        }
        for name in &self.whitened {
            let known = CHANNELS.iter().any(|spec| {
                spec.role == ChannelRole::Pulse
                    && spec.name == name.as_str()
                    && spec.channel.whitened().is_some()
            });
            if !known {
                let names: Vec<&str> = CHANNELS
                    .iter()
                    .filter(|spec| spec.role == ChannelRole::Pulse)
                    .map(|spec| spec.name)
                    .collect();
                return Err(format!(
                    "pulse.whitened: {name:?} is not a pulse channel (one of {})",
                    names.join(", ")
                ));
            }
        }
        for (name, value) in [
            ("pulse.local_window_s", self.local_window_s),
            ("pulse.local_guard_s", self.local_guard_s),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("{name} must be >= 0 seconds, got {value}"));
            }
        }
        if !(self.local_floor > 0.0 && self.local_floor <= 1.0) {
            return Err(format!(
                "pulse.local_floor must be in (0, 1], got {}",
                self.local_floor
            ));
        }
        if !(self.min_duration_ms.is_finite() && self.min_duration_ms >= 0.0) {
            return Err(format!(
                "pulse.min_duration_ms must be >= 0, got {}",
                self.min_duration_ms
            ));
        }
        Ok(())
    }
}

/// Pulse channels that watch their whitened twin unless configured otherwise (the choice of
/// each: docs/evaluation.md).
const WHITENED_BY_DEFAULT: [Channel; 7] = [
    Channel::MotionBrowsUp,
    Channel::MotionInnerBrowsDown,
    Channel::MotionNoseUp,
    Channel::MotionMouthCornersPull,
    Channel::MotionMouthCornerLeftPull,
    Channel::MotionMouthCornerRightPull,
    Channel::MotionLipsClose,
];

/// Mouth channels: speech moves them, so they need a larger rise while the person talks.
const SPEECH_PULSES: [Channel; 6] = [
    Channel::MotionMouthCornersPull,
    Channel::MotionMouthCornerLeftPull,
    Channel::MotionMouthCornerRightPull,
    Channel::MotionLipsDown,
    Channel::MotionLipsUp,
    Channel::MotionLipsClose,
];

/// Lip channels: the jaw carries the lips, so a movement with the jaw is not theirs.
const JAW_GATED_PULSES: [Channel; 3] = [
    Channel::MotionLipsDown,
    Channel::MotionLipsUp,
    Channel::MotionLipsClose,
];

/// A brief movement found by one pulse channel.
#[derive(Debug, Clone)]
pub(crate) struct PulseCandidate {
    pub channel: Channel,
    pub onset_s: f64,
    pub apex_s: f64,
    pub offset_s: f64,
    pub peak_z: f32,
    /// The same peak against the baseline's spread alone, without the local noise level.
    pub baseline_peak_z: f32,
    /// Peak of the return pulse (locally normalised, positive).
    pub return_peak_z: f32,
    /// Fastest head turn during the movement, degrees per lag.
    pub head_turn_deg: f32,
    /// Largest `jawOpen` change over the lag during the movement.
    pub jaw_change: f32,
    /// Channel deltas at the rise's peak.
    pub apex_deltas: ChannelValues,
    /// Largest delta of each channel during the rise.
    pub segment_max: ChannelValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Idle,
    Rise,
    AwaitReturn,
    Return,
}

#[derive(Debug, Clone)]
struct PulseChannel {
    channel: Channel,
    /// The channel whose deviation is watched: the pulse channel or its whitened twin.
    watched: usize,
    speech: bool,
    jaw_gated: bool,
    /// Recent (pts, z), oldest first.
    samples: VecDeque<(f64, f32)>,
    stage: Stage,
    rise_start_s: f64,
    rise_peak_s: f64,
    rise_peak_z: f32,
    /// The local noise level's divisor at the rise's peak.
    rise_peak_scale: f32,
    deadline_s: f64,
    return_peak_s: f64,
    return_peak_z: f32,
    apex_deltas: ChannelValues,
    segment_max: ChannelValues,
    /// Fastest head turn since the rise began, degrees per lag.
    head_turn_deg: f32,
    /// Largest `jawOpen` change over the lag since the rise began.
    jaw_change: f32,
    local: LocalLevel,
}

/// A channel's local noise level: its recent `z²` (clipped) over a window that ends a guard
/// interval before the current frame. Fixed capacity, nothing allocated per frame.
#[derive(Debug, Clone)]
struct LocalLevel {
    /// (pts, clipped z²) within the guard interval, not counted yet, oldest first.
    recent: VecDeque<(f64, f32)>,
    /// (pts, clipped z²) inside the window, counted in `sum`, oldest first.
    window: VecDeque<(f64, f32)>,
    sum: f64,
}

impl LocalLevel {
    fn new(config: &PulseConfig, max_fps: f64) -> Self {
        let frames = |seconds: f64| {
            ((seconds * max_fps).ceil() as usize)
                .saturating_add(2)
                .clamp(4, 1 << 16)
        };
        LocalLevel {
            recent: VecDeque::with_capacity(frames(config.local_guard_s)),
            window: VecDeque::with_capacity(frames(config.local_window_s)),
            sum: 0.0,
        }
    }

    fn clear(&mut self) {
        self.recent.clear();
        self.window.clear();
        self.sum = 0.0;
    }

    fn count(&mut self, sample: (f64, f32)) {
        if self.window.len() == self.window.capacity()
            && let Some((_, old)) = self.window.pop_front()
        {
            self.sum -= f64::from(old);
        }
        self.sum += f64::from(sample.1);
        self.window.push_back(sample);
    }

    /// Adds this frame's `z` and returns the divisor for it (1 until the window is half full).
    fn update(&mut self, pts_s: f64, z: f32, config: &PulseConfig) -> f32 {
        if config.local_window_s <= 0.0 {
            return 1.0;
        }
        let clipped = z.abs().min(config.local_clip);
        if self.recent.len() == self.recent.capacity()
            && let Some(oldest) = self.recent.pop_front()
        {
            self.count(oldest);
        }
        self.recent.push_back((pts_s, clipped * clipped));
        let guard_start = pts_s - config.local_guard_s;
        while let Some(&sample) = self.recent.front().filter(|&&(t, _)| t < guard_start) {
            self.recent.pop_front();
            self.count(sample);
        }
        let window_start = guard_start - config.local_window_s;
        while let Some(&(_, old)) = self.window.front().filter(|&&(t, _)| t < window_start) {
            self.window.pop_front();
            self.sum -= f64::from(old);
        }
        let half_full = self
            .window
            .front()
            .is_some_and(|&(t, _)| t <= guard_start - 0.5 * config.local_window_s);
        if !half_full {
            return 1.0;
        }
        let rms = (self.sum.max(0.0) / self.window.len() as f64).sqrt() as f32;
        (rms / config.local_reference)
            .max(config.local_floor)
            .sqrt()
    }
}

/// All pulse channels of one track.
#[derive(Debug, Clone)]
pub(crate) struct PulseDetector {
    channels: Vec<PulseChannel>,
    /// Seconds of samples kept.
    memory_s: f64,
    found: Vec<PulseCandidate>,
    /// Recent (pts, [yaw, pitch, jawOpen delta]), for the head's turning speed and the jaw's
    /// movement over the lag.
    head: VecDeque<(f64, [f32; 3])>,
}

impl PulseDetector {
    /// Buffers sized for `max_fps`.
    pub fn new(config: &PulseConfig, max_fps: f64) -> Self {
        let memory_s = config.max_duration_s + config.max_return_wait_s + 0.5;
        let capacity = ((memory_s * max_fps).ceil() as usize).clamp(16, 1 << 16);
        let channels = CHANNELS
            .iter()
            .filter(|spec| spec.role == ChannelRole::Pulse)
            .map(|spec| PulseChannel {
                channel: spec.channel,
                watched: spec
                    .channel
                    .whitened()
                    .filter(|_| config.whitened.iter().any(|name| name == spec.name))
                    .unwrap_or(spec.channel)
                    .index(),
                speech: SPEECH_PULSES.contains(&spec.channel),
                jaw_gated: JAW_GATED_PULSES.contains(&spec.channel),
                samples: VecDeque::with_capacity(capacity),
                stage: Stage::Idle,
                rise_start_s: 0.0,
                rise_peak_s: 0.0,
                rise_peak_z: 0.0,
                rise_peak_scale: 1.0,
                deadline_s: 0.0,
                return_peak_s: 0.0,
                return_peak_z: 0.0,
                apex_deltas: [0.0; CHANNEL_COUNT],
                segment_max: [f32::NEG_INFINITY; CHANNEL_COUNT],
                head_turn_deg: 0.0,
                jaw_change: 0.0,
                local: LocalLevel::new(config, max_fps),
            })
            .collect::<Vec<_>>();
        let found = Vec::with_capacity(channels.len());
        PulseDetector {
            channels,
            memory_s,
            found,
            head: VecDeque::with_capacity(capacity),
        }
    }

    /// Forgets everything (a gap or a lost face).
    pub fn reset(&mut self) {
        for channel in &mut self.channels {
            channel.samples.clear();
            channel.stage = Stage::Idle;
            channel.local.clear();
        }
        self.found.clear();
        self.head.clear();
    }

    /// Earliest onset an open pulse could still report.
    pub fn earliest_onset(&self) -> Option<f64> {
        self.channels
            .iter()
            .filter(|channel| channel.stage != Stage::Idle)
            .map(|channel| {
                // The onset may be interpolated back to the sample before the rise.
                channel
                    .samples
                    .iter()
                    .rev()
                    .find(|&&(t, _)| t < channel.rise_start_s)
                    .map_or(channel.rise_start_s, |&(t, _)| t)
            })
            .min_by(f64::total_cmp)
    }

    /// Feeds one frame (deltas and spreads from the baseline; `talking` in [0, 1], how much the
    /// person is talking; the head's yaw and pitch in degrees). Returns the movements that ended
    /// at this frame.
    #[expect(
        clippy::too_many_arguments,
        reason = "one frame's inputs, each from a different stage of the track"
    )]
    pub fn update(
        &mut self,
        pts_s: f64,
        deltas: &ChannelValues,
        spreads: &ChannelValues,
        talking: f32,
        head_deg: [f32; 2],
        lag_s: f64,
        config: &PulseConfig,
    ) -> &[PulseCandidate] {
        self.found.clear();
        let speech_factor = 1.0 + (config.speech_gain - 1.0) * talking.clamp(0.0, 1.0);
        // Head turn over the lag: against the oldest sample at least `lag_s` back.
        while self.head.get(1).is_some_and(|&(t, _)| t <= pts_s - lag_s) {
            self.head.pop_front();
        }
        let jaw = deltas[Channel::JawOpen.index()];
        let (head_turn_deg, jaw_change) = match self.head.front() {
            Some(&(_, [yaw, pitch, jaw_before])) => {
                let turn = if head_deg.iter().all(|v| v.is_finite()) {
                    (head_deg[0] - yaw).abs() + (head_deg[1] - pitch).abs()
                } else {
                    0.0
                };
                let jaw_change = if jaw.is_finite() && jaw_before.is_finite() {
                    (jaw - jaw_before).abs()
                } else {
                    0.0
                };
                (turn, jaw_change)
            }
            None => (0.0, 0.0),
        };
        if self.head.len() == self.head.capacity() {
            self.head.pop_front();
        }
        self.head
            .push_back((pts_s, [head_deg[0], head_deg[1], jaw]));
        for channel in &mut self.channels {
            let index = channel.watched;
            let delta = deltas[index];
            if !delta.is_finite() {
                // No region motion in this frame: nothing open survives it.
                channel.stage = Stage::Idle;
                channel.samples.clear();
                continue;
            }
            let factor = if channel.speech { speech_factor } else { 1.0 };
            let z = delta / (spreads[index] * factor).max(1e-9);
            let scale = channel.local.update(pts_s, z, config);
            let z = z / scale;
            while channel
                .samples
                .front()
                .is_some_and(|&(t, _)| t < pts_s - self.memory_s)
            {
                channel.samples.pop_front();
            }
            if channel.samples.len() == channel.samples.capacity() {
                channel.samples.pop_front();
            }
            channel.samples.push_back((pts_s, z));
            if channel.stage != Stage::Idle {
                channel.head_turn_deg = channel.head_turn_deg.max(head_turn_deg);
                channel.jaw_change = channel.jaw_change.max(jaw_change);
            }
            if let Some(candidate) = channel.step(pts_s, z, scale, deltas, lag_s, config) {
                self.found.push(candidate);
            }
            if channel.stage == Stage::Rise && channel.rise_start_s == pts_s {
                channel.head_turn_deg = head_turn_deg;
                channel.jaw_change = jaw_change;
            }
        }
        &self.found
    }
}

impl PulseChannel {
    fn start_rise(&mut self, pts_s: f64, z: f32, scale: f32, deltas: &ChannelValues) {
        self.stage = Stage::Rise;
        self.rise_start_s = pts_s;
        self.rise_peak_s = pts_s;
        self.rise_peak_z = z;
        self.rise_peak_scale = scale;
        self.apex_deltas = *deltas;
        self.segment_max = *deltas;
    }

    /// One frame: `z` locally normalised, `scale` the local divisor it was normalised by.
    fn step(
        &mut self,
        pts_s: f64,
        z: f32,
        scale: f32,
        deltas: &ChannelValues,
        lag_s: f64,
        config: &PulseConfig,
    ) -> Option<PulseCandidate> {
        if self.stage != Stage::Idle && pts_s - self.rise_start_s > config.max_duration_s + lag_s {
            self.stage = Stage::Idle;
        }
        match self.stage {
            Stage::Idle => {
                if z >= config.z_low {
                    self.start_rise(pts_s, z, scale, deltas);
                }
                None
            }
            Stage::Rise => {
                if z >= config.z_low {
                    if z > self.rise_peak_z {
                        self.rise_peak_z = z;
                        self.rise_peak_scale = scale;
                        self.rise_peak_s = pts_s;
                        self.apex_deltas = *deltas;
                    }
                    raise_maxima(&mut self.segment_max, deltas);
                    return None;
                }
                if self.rise_peak_z < config.z_high.min(config.pair_min_z) {
                    self.stage = Stage::Idle;
                    return None;
                }
                self.deadline_s = pts_s + config.max_return_wait_s;
                self.stage = Stage::AwaitReturn;
                self.await_return(pts_s, z, scale, deltas, config)
            }
            Stage::AwaitReturn => self.await_return(pts_s, z, scale, deltas, config),
            Stage::Return => {
                if z <= -config.z_low {
                    if -z > self.return_peak_z {
                        self.return_peak_z = -z;
                        self.return_peak_s = pts_s;
                    }
                    return None;
                }
                self.stage = Stage::Idle;
                let candidate = self.finish(lag_s, config);
                if z >= config.z_low {
                    self.start_rise(pts_s, z, scale, deltas);
                }
                candidate
            }
        }
    }

    fn await_return(
        &mut self,
        pts_s: f64,
        z: f32,
        scale: f32,
        deltas: &ChannelValues,
        config: &PulseConfig,
    ) -> Option<PulseCandidate> {
        if z <= -config.z_low {
            self.stage = Stage::Return;
            self.return_peak_s = pts_s;
            self.return_peak_z = -z;
        } else if z >= config.z_low {
            // A new rise before any return: the first one did not come back.
            self.start_rise(pts_s, z, scale, deltas);
        } else if pts_s > self.deadline_s {
            self.stage = Stage::Idle;
        }
        None
    }

    /// The movement of a finished rise + return, if it is one.
    fn finish(&self, lag_s: f64, config: &PulseConfig) -> Option<PulseCandidate> {
        if self.return_peak_z < config.return_fraction * self.rise_peak_z {
            return None;
        }
        if self.head_turn_deg > config.max_head_turn_deg {
            return None;
        }
        if self.jaw_gated && self.jaw_change > config.max_jaw_change {
            return None;
        }
        let strong = self.rise_peak_z >= config.z_high
            || (self.rise_peak_z >= config.pair_min_z
                && self.rise_peak_z + self.return_peak_z >= config.pair_z);
        if !strong {
            return None;
        }
        let rise_level = config
            .z_low
            .max(config.boundary_fraction * self.rise_peak_z);
        let return_level = config
            .z_low
            .max(config.boundary_fraction * self.return_peak_z);
        let onset_s = crossing_before(&self.samples, self.rise_peak_s, rise_level, 1.0)?;
        let rise_end_s = crossing_after(&self.samples, self.rise_peak_s, rise_level, 1.0)?;
        let return_end_s = crossing_after(&self.samples, self.return_peak_s, return_level, -1.0)?;
        let offset_s = rise_end_s.max(return_end_s - lag_s);
        let duration_s = offset_s - onset_s;
        if duration_s * 1000.0 < config.min_duration_ms || duration_s > config.max_duration_s {
            return None;
        }
        Some(PulseCandidate {
            channel: self.channel,
            onset_s,
            apex_s: self.rise_peak_s.clamp(onset_s, offset_s),
            offset_s,
            peak_z: self.rise_peak_z,
            baseline_peak_z: self.rise_peak_z * self.rise_peak_scale,
            return_peak_z: self.return_peak_z,
            head_turn_deg: self.head_turn_deg,
            jaw_change: self.jaw_change,
            apex_deltas: self.apex_deltas,
            segment_max: self.segment_max,
        })
    }
}

/// Where `sign × z` last rose through `level` before `peak_s`, interpolated between samples.
fn crossing_before(
    samples: &VecDeque<(f64, f32)>,
    peak_s: f64,
    level: f32,
    sign: f32,
) -> Option<f64> {
    let peak = samples.iter().rposition(|&(t, _)| t <= peak_s)?;
    let mut later = samples[peak];
    for &earlier in samples.range(..peak).rev() {
        if sign * earlier.1 < level {
            let rising = |(t, z): (f64, f32)| (t, sign * z);
            return Some(between(rising(earlier), rising(later), level));
        }
        later = earlier;
    }
    Some(later.0)
}

/// Where `sign × z` first fell through `level` after `peak_s`, interpolated between samples.
fn crossing_after(
    samples: &VecDeque<(f64, f32)>,
    peak_s: f64,
    level: f32,
    sign: f32,
) -> Option<f64> {
    let peak = samples.iter().position(|&(t, _)| t >= peak_s)?;
    let mut earlier = samples[peak];
    for &later in samples.range(peak + 1..) {
        if sign * later.1 < level {
            // Falling through `level` forwards is rising through `-level` in `-sign × z`.
            let rising = |(t, z): (f64, f32)| (t, -sign * z);
            return Some(between(rising(earlier), rising(later), -level));
        }
        earlier = later;
    }
    Some(earlier.0)
}

/// Where a score rising from `from` to `to` passes `level`; halfway when it does not rise.
fn between(from: (f64, f32), to: (f64, f32), level: f32) -> f64 {
    crossing_time(from, to, level).unwrap_or(0.5 * (from.0 + to.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds z values of the brows-up channel at 25 fps; returns what was found. Every channel
    /// watches its plain value here (whitening has its own test).
    fn run(zs: &[f32], lag_s: f64) -> Vec<PulseCandidate> {
        let config = PulseConfig {
            whitened: Vec::new(),
            ..PulseConfig::default()
        };
        run_with(zs, lag_s, &config)
    }

    /// As `run`, with other settings.
    fn run_with(zs: &[f32], lag_s: f64, config: &PulseConfig) -> Vec<PulseCandidate> {
        let mut detector = PulseDetector::new(config, 240.0);
        let spreads = [1.0; CHANNEL_COUNT];
        let mut found = Vec::new();
        for (i, &z) in zs.iter().enumerate() {
            let mut deltas = [0.0; CHANNEL_COUNT];
            deltas[Channel::MotionBrowsUp.index()] = z;
            deltas[Channel::MotionInnerBrowsDown.index()] = -z;
            let pts_s = i as f64 * 0.04;
            found.extend_from_slice(detector.update(
                pts_s,
                &deltas,
                &spreads,
                0.0,
                [0.0, 0.0],
                lag_s,
                config,
            ));
        }
        found
    }

    /// Three seconds of motion alternating at `level` spreads, 0.32 s still, then a one-frame
    /// movement of `rise` spreads and its return three frames later.
    fn after(level: f32, rise: f32) -> Vec<f32> {
        let mut zs: Vec<f32> = (0..75)
            .map(|i| if i % 2 == 0 { level } else { -level })
            .collect();
        zs.extend([0.0; 8]);
        zs.extend([rise, 0.0, 0.0, -rise]);
        zs.extend([0.0; 30]);
        zs
    }

    #[test]
    fn the_face_around_a_movement_sets_its_bar() {
        let local = PulseConfig {
            whitened: Vec::new(),
            ..PulseConfig::default()
        };
        let plain = PulseConfig {
            local_window_s: 0.0,
            ..local.clone()
        };
        // After a still stretch: 3.6 + 3.6 spreads reach neither `z_high` nor `pair_z`, but a
        // still face lowers the bar (by 1 / sqrt(local_floor)).
        assert!(run_with(&after(0.3, 3.6), 0.12, &plain).is_empty());
        let found = run_with(&after(0.3, 3.6), 0.12, &local);
        assert_eq!(found.len(), 1, "{found:?}");
        let expected = 3.6 / local.local_floor.sqrt();
        assert!((found[0].peak_z - expected).abs() < 0.01, "{found:?}");
        assert!((found[0].baseline_peak_z - 3.6).abs() < 0.01, "{found:?}");
        // After a busy stretch (motion of 3 spreads at every frame): 5 spreads pass `z_high`
        // for the plain detector but not against the face's local motion.
        assert_eq!(run_with(&after(3.0, 5.0), 0.12, &plain).len(), 1);
        assert!(run_with(&after(3.0, 5.0), 0.12, &local).is_empty());
    }

    #[test]
    fn local_level_settings_are_checked() {
        let bad = [
            PulseConfig {
                local_window_s: -1.0,
                ..PulseConfig::default()
            },
            PulseConfig {
                local_guard_s: f64::NAN,
                ..PulseConfig::default()
            },
            PulseConfig {
                local_floor: 0.0,
                ..PulseConfig::default()
            },
            PulseConfig {
                local_reference: 0.0,
                ..PulseConfig::default()
            },
        ];
        for (config, field) in bad.iter().zip(["window", "guard", "floor", "reference"]) {
            let error = config.validate().unwrap_err();
            assert!(error.contains(&format!("pulse.local_{field}")), "{error}");
        }
        // No local window at all is allowed: `z` is then the baseline's alone.
        let off = PulseConfig {
            local_window_s: 0.0,
            ..PulseConfig::default()
        };
        assert!(off.validate().is_ok());
    }

    #[test]
    fn one_large_movement_does_not_mute_the_seconds_after_it() {
        // A still face with one huge movement (100 spreads) 1.3 s before a small one.
        let mut zs = after(0.3, 3.6);
        zs[50] = 100.0;
        zs[53] = -100.0;
        let config = PulseConfig {
            whitened: Vec::new(),
            ..PulseConfig::default()
        };
        assert_eq!(run_with(&zs, 0.12, &config).len(), 2);
        // Unclipped, it would have counted 10^4 in the local mean square.
        let unclipped = PulseConfig {
            local_clip: 1.0e6,
            ..config
        };
        assert_eq!(run_with(&zs, 0.12, &unclipped).len(), 1);
    }

    #[test]
    fn a_rise_with_its_return_is_one_movement_of_the_right_direction() {
        // A one-frame brow raise at frame 10 (0.4 s), seen again as a return 3 frames later.
        let mut zs = vec![0.0f32; 30];
        zs[10] = 8.0;
        zs[13] = -8.0;
        let found = run(&zs, 0.12);
        assert_eq!(found.len(), 1, "{found:?}");
        let pulse = &found[0];
        assert_eq!(pulse.channel, Channel::MotionBrowsUp);
        assert!((pulse.onset_s - 0.37).abs() < 0.02, "{pulse:?}");
        assert!((pulse.offset_s - 0.43).abs() < 0.03, "{pulse:?}");
    }

    #[test]
    fn a_movement_that_does_not_come_back_or_is_too_weak_is_not_reported() {
        let mut zs = vec![0.0f32; 40];
        zs[10] = 8.0;
        assert!(run(&zs, 0.1).is_empty());
        // A rise below z_high whose return does not make up for it (4 + 3 < pair_z).
        let mut zs = vec![0.0f32; 40];
        zs[10] = 4.0;
        zs[13] = -3.0;
        assert!(run(&zs, 0.1).is_empty());
        // The same rise with a clear return counts as a pair (4 + 4.5 >= pair_z) ...
        zs[13] = -4.5;
        assert_eq!(run(&zs, 0.1).len(), 1);
        // ... but not below pair_min_z.
        zs[10] = 2.8;
        zs[13] = -6.0;
        assert!(run(&zs, 0.1).is_empty());
        // A return far too weak for its rise.
        let mut zs = vec![0.0f32; 40];
        zs[10] = 10.0;
        zs[13] = -2.5;
        assert!(run(&zs, 0.1).is_empty());
    }

    #[test]
    fn whitened_channels_must_be_pulse_channels() {
        let mut config = PulseConfig::default();
        assert!(config.validate().is_ok());
        config.whitened = vec!["motion:lips_close".into(), "motion:brows_up".into()];
        assert!(config.validate().is_ok());
        config.whitened.push("mouthSmileLeft".into());
        let error = config.validate().unwrap_err();
        assert!(
            error.contains("mouthSmileLeft") && error.contains("motion:nose_up"),
            "{error}"
        );
        config.whitened.clear();
        config.whiten_shrink = 1.5;
        assert!(config.validate().unwrap_err().contains("whiten_shrink"));
    }

    #[test]
    fn a_whitened_channel_watches_its_twin() {
        // A pulse of 8 spreads in the whitened brows-up channel, 0.5 in the plain one.
        let run = |whitened: Vec<String>| {
            let config = PulseConfig {
                whitened,
                ..PulseConfig::default()
            };
            let mut detector = PulseDetector::new(&config, 240.0);
            let spreads = [1.0; CHANNEL_COUNT];
            let mut found = Vec::new();
            for i in 0..32 {
                let z = match i {
                    3 => 8.0,
                    6 => -8.0,
                    _ => 0.0,
                };
                let mut deltas = [0.0; CHANNEL_COUNT];
                deltas[Channel::WhiteBrowsUp.index()] = z;
                deltas[Channel::MotionBrowsUp.index()] = z / 16.0;
                found.extend_from_slice(detector.update(
                    f64::from(i) * 0.04,
                    &deltas,
                    &spreads,
                    0.0,
                    [0.0, 0.0],
                    0.12,
                    &config,
                ));
            }
            found
        };
        let found = run(vec!["motion:brows_up".into()]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].channel, Channel::MotionBrowsUp);
        assert!(run(Vec::new()).is_empty());
    }

    #[test]
    fn a_longer_movement_ends_where_its_return_ends_minus_the_lag() {
        // 300 ms movement: rise for 4 frames, then an adjacent return for 4 frames.
        let zs: Vec<f32> = [
            0.0, 0.0, 3.0, 7.0, 9.0, 6.0, -3.0, -7.0, -8.0, -4.0, 0.0, 0.0,
        ]
        .into_iter()
        .chain(std::iter::repeat_n(0.0, 20))
        .collect();
        let found = run(&zs, 0.1);
        assert_eq!(found.len(), 1, "{found:?}");
        let pulse = &found[0];
        // Return ends between frames 9 and 10 (0.36-0.40 s); minus the lag: ~0.28 s.
        assert!(pulse.offset_s > 0.25 && pulse.offset_s < 0.32, "{pulse:?}");
        assert!(pulse.onset_s > 0.04 && pulse.onset_s < 0.12, "{pulse:?}");
    }
}
