//! Synthetic face-signal traces with injected cue events of known type, side and timing
//! (test support; also behind `microcue synth`). Feature `synth`.
//!
//! A trace imitates what the MediaPipe blendshape model produces for one person in front of a
//! camera:
//!
//! - a person-specific resting level per blendshape (e.g. `eyeSquint` 0.05–0.2, `cheekSquint`
//!   ≈ 0 as in MediaPipe);
//! - tracker noise: an Ornstein–Uhlenbeck process per channel (continuous-time AR(1), so the
//!   noise looks the same at 25 and 200 fps) plus white per-frame jitter;
//! - natural blinks (~15/min, ~250 ms, both eyes) with the couplings MediaPipe shows on a real
//!   talking face (measured on `talking_face_part1.mp4`): `eyeLookDown` rises almost as much as
//!   `eyeBlink` and settles later, `eyeSquint` rises ~0.35 per unit of closure, the in/out
//!   channels jump; never closer than 1.2 s apart;
//! - slow head drift (yaw/pitch/roll, a few degrees, periods of 8–30 s) with partial eye
//!   counter-rotation;
//! - talking (optional): bursts of speech with `jawOpen` and the other speech channels
//!   oscillating at 3–6 Hz, brief lip presses on bilabial sounds, small smile and brow
//!   movements for emphasis — the things a spotter must *not* report;
//! - injected events: a raised-cosine rise from onset to apex and fall to offset of the cue's
//!   blendshape signature (each event gets its own random variation of the channel weights).
//!   Gaze aversions are a saccade away, a hold and a saccade back; blink clusters are 3–8 blinks
//!   spread over the interval;
//! - region motion (optional): displacement of each facial region relative to ~100 ms earlier,
//!   in inter-ocular distances, as the optical-flow stage reports it.
//!
//! Landmarks stay empty. Everything is deterministic for a given seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::cue::{CueId, Side};
use crate::eval::TruthEvent;
use crate::signals::{
    BLENDSHAPE_COUNT, BlendshapeIndex as B, FaceSignals, HeadPose, Region, RegionMotion, TrackId,
};

/// Errors of the synthetic generator.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SynthError {
    /// A setting is out of range.
    #[error("invalid synthetic trace setting `{name}`: {problem}")]
    InvalidConfig { name: &'static str, problem: String },
    /// An injected event is malformed.
    #[error("injected event {index} ({cue}) is invalid: {problem}")]
    InvalidEvent {
        index: usize,
        cue: CueId,
        problem: String,
    },
    /// The requested events do not fit into the trace.
    #[error(
        "{count} events of up to {longest_s:.2} s with {gap_s:.1} s gaps do not fit between {start_s:.1} s and \
         {end_s:.1} s; hint: ask for fewer events or a longer trace"
    )]
    TooManyEvents {
        count: usize,
        longest_s: f64,
        gap_s: f64,
        start_s: f64,
        end_s: f64,
    },
}

/// Settings of a synthetic trace.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(default))]
pub struct SynthConfig {
    /// Nominal frame rate.
    pub fps: f64,
    /// Length of the trace, seconds.
    pub duration_s: f64,
    /// Seed of everything random about the person and the trace.
    pub seed: u64,
    /// Variable frame timing: each frame interval is `(1 + timing_jitter × u) / fps` with `u`
    /// uniform in [−1, 1]. 0 = constant rate; at most 0.9.
    pub timing_jitter: f64,
    /// Whether the person talks (speech bursts with pauses).
    pub talking: bool,
    /// Track id of the face.
    pub track: TrackId,
    /// Multiplies all tracker noise.
    pub noise_scale: f32,
    /// Natural blink rate, per minute.
    pub blink_rate_per_min: f64,
    /// Amplitude of the slow head drift, degrees.
    pub head_drift_deg: f32,
    /// Whether to fill [`FaceSignals::region_motion`].
    pub region_motion: bool,
    /// Cues [`random_events`] draws from (cycled so that each appears about equally often).
    pub event_cues: Vec<CueId>,
    /// Duration range of random expression events, milliseconds (log-uniform).
    pub event_duration_ms: [f64; 2],
    /// Amplitude range of random events: peak change of the main channel, blendshape units.
    pub event_amplitude: [f32; 2],
    /// No random event starts before this time (baseline warm-up).
    pub warmup_s: f64,
    /// Smallest gap between random events, seconds.
    pub min_event_gap_s: f64,
}

/// The eleven cues that the generator can express (all but `pupil_dilation`).
pub const SUPPORTED_CUES: [CueId; 11] = [
    CueId::GenuineSmile,
    CueId::PoliteSmile,
    CueId::EyebrowFlash,
    CueId::LipCompression,
    CueId::UnilateralLipCorner,
    CueId::NoseWrinkle,
    CueId::BlinkCluster,
    CueId::GazeAversion,
    CueId::MicroFrown,
    CueId::MicroAnger,
    CueId::MicroSurprise,
];

/// The nine facial-expression cues (no blink cluster, gaze aversion or pupil dilation).
pub const EXPRESSION_CUES: [CueId; 9] = [
    CueId::GenuineSmile,
    CueId::PoliteSmile,
    CueId::EyebrowFlash,
    CueId::LipCompression,
    CueId::UnilateralLipCorner,
    CueId::NoseWrinkle,
    CueId::MicroFrown,
    CueId::MicroAnger,
    CueId::MicroSurprise,
];

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            fps: 30.0,
            duration_s: 60.0,
            seed: 1,
            timing_jitter: 0.0,
            talking: true,
            track: TrackId(0),
            noise_scale: 1.0,
            blink_rate_per_min: 15.0,
            head_drift_deg: 3.0,
            region_motion: false,
            event_cues: SUPPORTED_CUES.to_vec(),
            event_duration_ms: [100.0, 500.0],
            event_amplitude: [0.25, 0.5],
            warmup_s: 3.0,
            min_event_gap_s: 1.0,
        }
    }
}

impl SynthConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), SynthError> {
        let invalid =
            |name: &'static str, problem: String| Err(SynthError::InvalidConfig { name, problem });
        if !(self.fps.is_finite() && (1.0..=1000.0).contains(&self.fps)) {
            return invalid(
                "fps",
                format!("must be between 1 and 1000, got {}", self.fps),
            );
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0 && self.duration_s <= 86_400.0) {
            return invalid(
                "duration_s",
                format!("must be in (0, 86400] seconds, got {}", self.duration_s),
            );
        }
        if !(0.0..=0.9).contains(&self.timing_jitter) {
            return invalid(
                "timing_jitter",
                format!("must be in [0, 0.9], got {}", self.timing_jitter),
            );
        }
        if !(self.noise_scale.is_finite() && self.noise_scale >= 0.0) {
            return invalid(
                "noise_scale",
                format!("must be >= 0, got {}", self.noise_scale),
            );
        }
        if !(self.blink_rate_per_min.is_finite() && (0.0..=40.0).contains(&self.blink_rate_per_min))
        {
            return invalid(
                "blink_rate_per_min",
                format!("must be in [0, 40], got {}", self.blink_rate_per_min),
            );
        }
        if !(self.head_drift_deg.is_finite() && (0.0..=30.0).contains(&self.head_drift_deg)) {
            return invalid(
                "head_drift_deg",
                format!("must be in [0, 30], got {}", self.head_drift_deg),
            );
        }
        let [shortest, longest] = self.event_duration_ms;
        if !(shortest.is_finite() && longest.is_finite() && 10.0 <= shortest && shortest <= longest)
        {
            return invalid(
                "event_duration_ms",
                format!("need 10 <= min <= max, got {shortest}..{longest}"),
            );
        }
        let [weakest, strongest] = self.event_amplitude;
        if !(0.0 < weakest && weakest <= strongest && strongest <= 1.0) {
            return invalid(
                "event_amplitude",
                format!("need 0 < min <= max <= 1, got {weakest}..{strongest}"),
            );
        }
        if let Some(cue) = self.event_cues.iter().find(|c| !c.is_supported()) {
            return invalid(
                "event_cues",
                format!("{cue} cannot be synthesised (not measurable from video)"),
            );
        }
        if !(self.warmup_s.is_finite() && self.warmup_s >= 0.0) {
            return invalid("warmup_s", format!("must be >= 0, got {}", self.warmup_s));
        }
        if !(self.min_event_gap_s.is_finite() && self.min_event_gap_s >= 0.0) {
            return invalid(
                "min_event_gap_s",
                format!("must be >= 0, got {}", self.min_event_gap_s),
            );
        }
        Ok(())
    }
}

/// One injected movement: its truth.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct InjectedEvent {
    pub cue: CueId,
    /// Side from the subject's view. `unilateral_lip_corner` needs `left` or `right`; for gaze
    /// aversion `left`/`right` is a sideways glance and `both` a downward one; for other cues a
    /// side makes the movement one-sided.
    pub side: Side,
    pub onset_s: f64,
    pub apex_s: f64,
    pub offset_s: f64,
    /// Peak change of the cue's main channel (blendshape units; eye-gaze units for gaze
    /// aversion; blink depth − 0.4 for blink clusters).
    pub amplitude: f32,
}

impl InjectedEvent {
    /// The event as ground truth for [`crate::eval::evaluate`].
    pub fn truth(&self) -> TruthEvent {
        TruthEvent {
            cue: self.cue,
            side: self.side,
            onset_s: self.onset_s,
            apex_s: self.apex_s,
            offset_s: self.offset_s,
            amplitude_iod: None,
        }
    }

    fn validate(&self, index: usize) -> Result<(), SynthError> {
        let invalid = |problem: String| {
            Err(SynthError::InvalidEvent {
                index,
                cue: self.cue,
                problem,
            })
        };
        if !self.cue.is_supported() {
            return invalid(
                "this cue is not measurable from video and cannot be synthesised".to_string(),
            );
        }
        let times = [self.onset_s, self.apex_s, self.offset_s];
        if times.iter().any(|t| !t.is_finite())
            || !(self.onset_s <= self.apex_s && self.apex_s <= self.offset_s)
        {
            return invalid(format!(
                "need finite onset_s <= apex_s <= offset_s, got {times:?}"
            ));
        }
        if self.offset_s - self.onset_s < 0.01 {
            return invalid("shorter than 10 ms".to_string());
        }
        if !(self.amplitude.is_finite() && (0.0..=1.0).contains(&self.amplitude)) {
            return invalid(format!(
                "amplitude must be in [0, 1], got {}",
                self.amplitude
            ));
        }
        if self.cue == CueId::BlinkCluster && self.offset_s - self.onset_s < 0.6 {
            return invalid("a blink cluster needs at least 0.6 s for three blinks".to_string());
        }
        Ok(())
    }
}

/// Draws `count` random, non-overlapping events (see [`SynthConfig`]'s `event_*` fields),
/// sorted by onset. Expression events last `event_duration_ms` (log-uniform) with the apex at
/// 30–60 % of the interval; gaze aversions 0.3–1.2 s; blink clusters 3–5 blinks.
pub fn random_events(
    config: &SynthConfig,
    count: usize,
    seed: u64,
) -> Result<Vec<InjectedEvent>, SynthError> {
    config.validate()?;
    if count == 0 {
        return Ok(Vec::new());
    }
    if config.event_cues.is_empty() {
        return Err(SynthError::InvalidConfig {
            name: "event_cues",
            problem: "is empty".to_string(),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_e7e7);
    // Balanced cue sequence: repeat the list, shuffle.
    let mut cues: Vec<CueId> = (0..count)
        .map(|i| config.event_cues[i % config.event_cues.len()])
        .collect();
    for i in (1..cues.len()).rev() {
        let j = rng.random_range(0..=i);
        cues.swap(i, j);
    }
    let [shortest_ms, longest_ms] = config.event_duration_ms;
    let [weakest, strongest] = config.event_amplitude;
    let mut drafts: Vec<(CueId, Side, f64, f64, f32)> = Vec::with_capacity(count);
    for cue in cues {
        let (duration_s, apex_fraction, side) = match cue {
            CueId::GazeAversion => {
                let side = [Side::Left, Side::Right, Side::Both][rng.random_range(0..3)];
                (rng.random_range(0.3..=1.2), 0.5, side)
            }
            CueId::BlinkCluster => {
                let blinks = rng.random_range(3..=5u32);
                let spacing = rng.random_range(0.3..=0.45);
                (0.15 + f64::from(blinks - 1) * spacing, 0.5, Side::Both)
            }
            _ => {
                let log_ms = rng.random_range(shortest_ms.ln()..=longest_ms.ln());
                let side = if cue == CueId::UnilateralLipCorner {
                    if rng.random_bool(0.5) {
                        Side::Left
                    } else {
                        Side::Right
                    }
                } else {
                    Side::Both
                };
                (log_ms.exp() / 1000.0, rng.random_range(0.3..=0.6), side)
            }
        };
        let amplitude = if weakest < strongest {
            rng.random_range(weakest..=strongest)
        } else {
            weakest
        };
        drafts.push((cue, side, duration_s, apex_fraction, amplitude));
    }

    let start_s = config.warmup_s;
    let end_s = config.duration_s - 0.5;
    let total_s: f64 =
        drafts.iter().map(|d| d.2).sum::<f64>() + config.min_event_gap_s * count as f64;
    let free_s = end_s - start_s - total_s;
    if free_s < 0.0 {
        let longest_s = drafts.iter().map(|d| d.2).fold(0.0, f64::max);
        return Err(SynthError::TooManyEvents {
            count,
            longest_s,
            gap_s: config.min_event_gap_s,
            start_s,
            end_s,
        });
    }
    let mut cuts: Vec<f64> = (0..count).map(|_| rng.random_range(0.0..=free_s)).collect();
    cuts.sort_by(f64::total_cmp);
    let mut events = Vec::with_capacity(count);
    let mut used_s = 0.0;
    for ((cue, side, duration_s, apex_fraction, amplitude), cut) in drafts.into_iter().zip(cuts) {
        let onset_s = start_s + used_s + cut + 0.5 * config.min_event_gap_s;
        used_s += duration_s + config.min_event_gap_s;
        events.push(InjectedEvent {
            cue,
            side,
            onset_s,
            apex_s: onset_s + apex_fraction * duration_s,
            offset_s: onset_s + duration_s,
            amplitude,
        });
    }
    Ok(events)
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

/// Standard normal sample (Box–Muller; `rand_distr` is not a dependency).
fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// Raised-cosine rise from 0 at `u = 0` to 1 at `u = 1`.
fn raised_cosine(u: f64) -> f64 {
    let u = u.clamp(0.0, 1.0);
    0.5 - 0.5 * (std::f64::consts::PI * u).cos()
}

/// Rise onset→apex and fall apex→offset, raised-cosine.
fn envelope(t: f64, onset_s: f64, apex_s: f64, offset_s: f64) -> f64 {
    if t <= onset_s || t >= offset_s {
        0.0
    } else if t <= apex_s {
        if apex_s > onset_s {
            raised_cosine((t - onset_s) / (apex_s - onset_s))
        } else {
            1.0
        }
    } else if offset_s > apex_s {
        raised_cosine((offset_s - t) / (offset_s - apex_s))
    } else {
        1.0
    }
}

/// Saccade away, hold, saccade back.
fn plateau(t: f64, onset_s: f64, offset_s: f64) -> f64 {
    let ramp_s = (0.25 * (offset_s - onset_s)).min(0.06);
    if t <= onset_s || t >= offset_s {
        0.0
    } else if t < onset_s + ramp_s {
        raised_cosine((t - onset_s) / ramp_s)
    } else if t > offset_s - ramp_s {
        raised_cosine((offset_s - t) / ramp_s)
    } else {
        1.0
    }
}

/// Blink eyelid closure at `t` for a blink starting at `start_s` (70 ms closing, 90 ms opening).
fn blink_shape(t: f64, start_s: f64) -> f64 {
    envelope(
        t,
        start_s,
        start_s + BLINK_CLOSE_S,
        start_s + BLINK_CLOSE_S + BLINK_OPEN_S,
    )
}

/// MediaPipe's eyeLook channels follow a blink and settle more slowly than the lids.
fn blink_look_shape(t: f64, start_s: f64) -> f64 {
    envelope(
        t,
        start_s,
        start_s + BLINK_CLOSE_S,
        start_s + BLINK_CLOSE_S + 1.6 * BLINK_OPEN_S,
    )
}

/// Blink timing as MediaPipe reports it at 25 fps on a talking face (~250 ms in all).
const BLINK_CLOSE_S: f64 = 0.08;
const BLINK_OPEN_S: f64 = 0.17;
/// Longest time a blink affects any channel.
const BLINK_SPAN_S: f64 = BLINK_CLOSE_S + 1.6 * BLINK_OPEN_S;

/// One injected event, prepared: its channel weights with per-event variation.
struct Prepared {
    event: InjectedEvent,
    weights: Vec<(B, f32)>,
    /// Blink start times (blink clusters only).
    blink_starts: Vec<f64>,
    /// Region displacement at full envelope: (region, [dx, dy]) in inter-ocular distances.
    regions: Vec<(Region, [f32; 2])>,
}

/// A cue's blendshape signature: (channel, weight relative to the amplitude).
fn signature(cue: CueId, side: Side) -> Vec<(B, f32)> {
    let (left, right) = match side {
        Side::Left => (1.0, 0.15),
        Side::Right => (0.15, 1.0),
        Side::Both => (1.0, 1.0),
    };
    let pair = |l: B, r: B, weight: f32| [(l, weight * left), (r, weight * right)];
    let mut weights = Vec::new();
    match cue {
        CueId::GenuineSmile => {
            weights.extend(pair(B::MOUTH_SMILE_LEFT, B::MOUTH_SMILE_RIGHT, 1.0));
            weights.extend(pair(B::EYE_SQUINT_LEFT, B::EYE_SQUINT_RIGHT, 0.5));
            weights.extend(pair(B::MOUTH_DIMPLE_LEFT, B::MOUTH_DIMPLE_RIGHT, 0.1));
            // MediaPipe's cheekSquint barely responds to real smiles.
            weights.extend(pair(B::CHEEK_SQUINT_LEFT, B::CHEEK_SQUINT_RIGHT, 0.002));
        }
        CueId::PoliteSmile => {
            weights.extend(pair(B::MOUTH_SMILE_LEFT, B::MOUTH_SMILE_RIGHT, 1.0));
            weights.extend(pair(B::MOUTH_DIMPLE_LEFT, B::MOUTH_DIMPLE_RIGHT, 0.1));
            // The lifted cheeks of any smile narrow the eyes a little.
            weights.extend(pair(B::EYE_SQUINT_LEFT, B::EYE_SQUINT_RIGHT, 0.07));
        }
        CueId::UnilateralLipCorner => {
            let (strong, weak) = match side {
                Side::Right => (
                    (B::MOUTH_SMILE_RIGHT, B::MOUTH_DIMPLE_RIGHT),
                    (B::MOUTH_SMILE_LEFT, B::MOUTH_DIMPLE_LEFT),
                ),
                _ => (
                    (B::MOUTH_SMILE_LEFT, B::MOUTH_DIMPLE_LEFT),
                    (B::MOUTH_SMILE_RIGHT, B::MOUTH_DIMPLE_RIGHT),
                ),
            };
            weights.extend([
                (strong.0, 1.0),
                (strong.1, 0.4),
                (weak.0, 0.05),
                (weak.1, 0.02),
            ]);
            weights.push((
                if side == Side::Right {
                    B::MOUTH_RIGHT
                } else {
                    B::MOUTH_LEFT
                },
                0.2,
            ));
        }
        CueId::EyebrowFlash => {
            weights.push((B::BROW_INNER_UP, 1.0 * left.max(right)));
            weights.extend(pair(B::BROW_OUTER_UP_LEFT, B::BROW_OUTER_UP_RIGHT, 0.8));
            weights.extend(pair(B::EYE_WIDE_LEFT, B::EYE_WIDE_RIGHT, 0.08));
        }
        CueId::MicroSurprise => {
            weights.push((B::BROW_INNER_UP, 1.0));
            weights.extend(pair(B::BROW_OUTER_UP_LEFT, B::BROW_OUTER_UP_RIGHT, 0.8));
            weights.extend(pair(B::EYE_WIDE_LEFT, B::EYE_WIDE_RIGHT, 0.8));
            weights.push((B::JAW_OPEN, 0.3));
        }
        CueId::MicroFrown => {
            weights.extend(pair(B::BROW_DOWN_LEFT, B::BROW_DOWN_RIGHT, 1.0));
            weights.extend(pair(B::EYE_SQUINT_LEFT, B::EYE_SQUINT_RIGHT, 0.08));
        }
        CueId::MicroAnger => {
            weights.extend(pair(B::BROW_DOWN_LEFT, B::BROW_DOWN_RIGHT, 1.0));
            weights.extend(pair(B::EYE_SQUINT_LEFT, B::EYE_SQUINT_RIGHT, 0.5));
            weights.extend(pair(B::MOUTH_PRESS_LEFT, B::MOUTH_PRESS_RIGHT, 0.7));
            weights.push((B::MOUTH_ROLL_LOWER, 0.2));
        }
        CueId::LipCompression => {
            weights.extend(pair(B::MOUTH_PRESS_LEFT, B::MOUTH_PRESS_RIGHT, 1.0));
            weights.push((B::MOUTH_ROLL_LOWER, 0.5));
            weights.push((B::MOUTH_ROLL_UPPER, 0.4));
            weights.push((B::MOUTH_CLOSE, 0.1));
        }
        CueId::NoseWrinkle => {
            weights.extend(pair(B::NOSE_SNEER_LEFT, B::NOSE_SNEER_RIGHT, 1.0));
            weights.extend(pair(B::MOUTH_UPPER_UP_LEFT, B::MOUTH_UPPER_UP_RIGHT, 0.6));
            weights.extend(pair(B::BROW_DOWN_LEFT, B::BROW_DOWN_RIGHT, 0.12));
            weights.extend(pair(B::EYE_SQUINT_LEFT, B::EYE_SQUINT_RIGHT, 0.15));
        }
        CueId::GazeAversion => {
            // Eye look channels; the head part is added separately.
            match side {
                Side::Left => {
                    weights.extend([(B::EYE_LOOK_OUT_LEFT, 1.0), (B::EYE_LOOK_IN_RIGHT, 1.0)])
                }
                Side::Right => {
                    weights.extend([(B::EYE_LOOK_IN_LEFT, 1.0), (B::EYE_LOOK_OUT_RIGHT, 1.0)])
                }
                Side::Both => {
                    weights.extend([(B::EYE_LOOK_DOWN_LEFT, 1.0), (B::EYE_LOOK_DOWN_RIGHT, 1.0)])
                }
            }
        }
        CueId::BlinkCluster | CueId::PupilDilation => {}
    }
    weights
}

/// Region displacement of a cue at full envelope per unit amplitude (inter-ocular distances).
fn region_signature(cue: CueId, side: Side) -> Vec<(Region, [f32; 2])> {
    // 0.4 blendshape units of the main channel ≈ 3 % of the inter-ocular distance.
    const K: f32 = 0.075;
    let (left, right) = match side {
        Side::Left => (1.0, 0.15),
        Side::Right => (0.15, 1.0),
        Side::Both => (1.0, 1.0),
    };
    // Subject's left is image right (+x) in a non-mirrored image; up is −y.
    let corners = |up: f32, out: f32| {
        vec![
            (Region::MouthCornerLeft, [out * K * left, -up * K * left]),
            (
                Region::MouthCornerRight,
                [-out * K * right, -up * K * right],
            ),
        ]
    };
    match cue {
        CueId::GenuineSmile => {
            let mut r = corners(0.6, 0.6);
            r.push((Region::LowerLidLeft, [0.0, -0.3 * K]));
            r.push((Region::LowerLidRight, [0.0, -0.3 * K]));
            r
        }
        CueId::PoliteSmile => corners(0.6, 0.6),
        CueId::UnilateralLipCorner => {
            let one = if side == Side::Right {
                Side::Right
            } else {
                Side::Left
            };
            let (l, r) = if one == Side::Left {
                (1.0, 0.05)
            } else {
                (0.05, 1.0)
            };
            vec![
                (Region::MouthCornerLeft, [0.6 * K * l, -0.6 * K * l]),
                (Region::MouthCornerRight, [-0.6 * K * r, -0.6 * K * r]),
            ]
        }
        CueId::EyebrowFlash => vec![
            (Region::BrowLeft, [0.0, -K * left]),
            (Region::BrowRight, [0.0, -K * right]),
            (Region::BrowInner, [0.0, -K]),
        ],
        CueId::MicroSurprise => vec![
            (Region::BrowLeft, [0.0, -K]),
            (Region::BrowRight, [0.0, -K]),
            (Region::BrowInner, [0.0, -K]),
            (Region::LowerLidLeft, [0.0, -0.5 * K]),
            (Region::LowerLidRight, [0.0, -0.5 * K]),
            (Region::UpperLidLeft, [0.0, -0.6 * K]),
            (Region::UpperLidRight, [0.0, -0.6 * K]),
        ],
        CueId::MicroFrown | CueId::MicroAnger => {
            let mut r = vec![
                (Region::BrowLeft, [-0.4 * K, 0.5 * K]),
                (Region::BrowRight, [0.4 * K, 0.5 * K]),
                (Region::BrowInner, [0.0, 0.7 * K]),
            ];
            if cue == CueId::MicroAnger {
                r.push((Region::UpperLip, [0.0, 0.3 * K]));
                r.push((Region::LowerLip, [0.0, -0.3 * K]));
            }
            r
        }
        CueId::LipCompression => vec![
            (Region::UpperLip, [0.0, 0.4 * K]),
            (Region::LowerLip, [0.0, -0.4 * K]),
        ],
        CueId::NoseWrinkle => vec![
            (Region::NoseLeft, [0.0, -0.5 * K]),
            (Region::NoseRight, [0.0, -0.5 * K]),
            (Region::UpperLip, [0.0, -0.3 * K]),
        ],
        CueId::GazeAversion | CueId::BlinkCluster | CueId::PupilDilation => Vec::new(),
    }
}

/// Speech: bursts of syllables.
struct Burst {
    start_s: f64,
    end_s: f64,
    syllable_hz: f64,
    amplitude: f32,
    phase: f64,
}

/// Everything random about the person and the trace, drawn once.
struct Scene {
    rest: [f32; BLENDSHAPE_COUNT],
    /// Per-channel noise multiplier.
    noise_gain: [f32; BLENDSHAPE_COUNT],
    blinks: Vec<(f64, f32)>,
    bursts: Vec<Burst>,
    /// Lip presses on bilabial sounds: (time, amplitude).
    bilabials: Vec<(f64, f32)>,
    /// Emphasis: brow raise or small smile (time, amplitude, is_brow).
    emphases: Vec<(f64, f32, bool)>,
    /// Head drift components per axis: (amplitude deg, period s, phase).
    head: [[(f32, f64, f64); 2]; 3],
    prepared: Vec<Prepared>,
}

impl Scene {
    fn new(config: &SynthConfig, injected: &[InjectedEvent], rng: &mut ChaCha8Rng) -> Scene {
        let mut rest = [0.0f32; BLENDSHAPE_COUNT];
        for value in rest.iter_mut() {
            *value = rng.random_range(0.0..0.04);
        }
        let mut set = |index: B, low: f32, high: f32, rng: &mut ChaCha8Rng| {
            rest[index.0] = rng.random_range(low..high)
        };
        for (index, low, high) in [
            (B::BROW_DOWN_LEFT, 0.02, 0.1),
            (B::BROW_DOWN_RIGHT, 0.02, 0.1),
            (B::BROW_INNER_UP, 0.02, 0.12),
            (B::EYE_SQUINT_LEFT, 0.05, 0.2),
            (B::EYE_SQUINT_RIGHT, 0.05, 0.2),
            (B::EYE_BLINK_LEFT, 0.05, 0.15),
            (B::EYE_BLINK_RIGHT, 0.05, 0.15),
            (B::EYE_LOOK_DOWN_LEFT, 0.05, 0.15),
            (B::EYE_LOOK_DOWN_RIGHT, 0.05, 0.15),
            (B::EYE_LOOK_IN_LEFT, 0.03, 0.1),
            (B::EYE_LOOK_IN_RIGHT, 0.03, 0.1),
            (B::EYE_LOOK_OUT_LEFT, 0.03, 0.1),
            (B::EYE_LOOK_OUT_RIGHT, 0.03, 0.1),
            (B::MOUTH_SMILE_LEFT, 0.0, 0.08),
            (B::MOUTH_SMILE_RIGHT, 0.0, 0.08),
            (B::MOUTH_PRESS_LEFT, 0.02, 0.08),
            (B::MOUTH_PRESS_RIGHT, 0.02, 0.08),
            (B::MOUTH_SHRUG_LOWER, 0.05, 0.15),
            (B::MOUTH_SHRUG_UPPER, 0.03, 0.1),
            (B::JAW_OPEN, 0.0, 0.04),
        ] {
            set(index, low, high, rng);
        }
        rest[B::NEUTRAL.0] = rng.random_range(0.6..0.9);
        rest[B::CHEEK_SQUINT_LEFT.0] = 1e-6;
        rest[B::CHEEK_SQUINT_RIGHT.0] = 1e-6;
        let same = rest[B::MOUTH_SMILE_LEFT.0];
        rest[B::MOUTH_SMILE_RIGHT.0] = same + rng.random_range(-0.01..0.01f32).max(-same);

        let mut noise_gain = [1.0f32; BLENDSHAPE_COUNT];
        for index in [
            B::EYE_LOOK_DOWN_LEFT,
            B::EYE_LOOK_DOWN_RIGHT,
            B::EYE_LOOK_IN_LEFT,
            B::EYE_LOOK_IN_RIGHT,
            B::EYE_LOOK_OUT_LEFT,
            B::EYE_LOOK_OUT_RIGHT,
            B::EYE_LOOK_UP_LEFT,
            B::EYE_LOOK_UP_RIGHT,
        ] {
            noise_gain[index.0] = 1.5;
        }
        noise_gain[B::CHEEK_SQUINT_LEFT.0] = 0.0;
        noise_gain[B::CHEEK_SQUINT_RIGHT.0] = 0.0;

        // Natural blinks: renewal process, at least 1.2 s apart, kept away from injected clusters.
        let clusters: Vec<(f64, f64)> = injected
            .iter()
            .filter(|e| e.cue == CueId::BlinkCluster)
            .map(|e| (e.onset_s - 1.2, e.offset_s + 1.2))
            .collect();
        let mut blinks = Vec::new();
        if config.blink_rate_per_min > 0.0 {
            let mean_interval_s = 60.0 / config.blink_rate_per_min;
            let min_interval_s = 1.2f64.min(0.5 * mean_interval_s);
            let mut t = rng.random_range(0.0..mean_interval_s);
            while t < config.duration_s {
                if !clusters.iter().any(|&(a, b)| t >= a && t <= b) {
                    blinks.push((t, rng.random_range(0.5..0.85f32)));
                }
                let u: f64 = rng.random_range(f64::EPSILON..1.0);
                t += min_interval_s - (mean_interval_s - min_interval_s) * u.ln();
            }
        }

        // Talking: bursts of 2-8 s with 1-4 s pauses.
        let mut bursts = Vec::new();
        let mut bilabials = Vec::new();
        let mut emphases = Vec::new();
        if config.talking {
            let mut t = rng.random_range(0.0..2.0);
            while t < config.duration_s {
                let length_s = rng.random_range(2.0..8.0);
                let burst = Burst {
                    start_s: t,
                    end_s: t + length_s,
                    syllable_hz: rng.random_range(3.0..6.0),
                    amplitude: rng.random_range(0.12..0.35),
                    phase: rng.random_range(0.0..std::f64::consts::TAU),
                };
                let mut s = t + rng.random_range(0.2..1.0);
                while s < burst.end_s {
                    bilabials.push((s, rng.random_range(0.03..0.08)));
                    s += rng.random_range(0.4..1.4);
                }
                let mut s = t + rng.random_range(0.5..3.0);
                while s < burst.end_s {
                    emphases.push((s, rng.random_range(0.015..0.04), rng.random_bool(0.5)));
                    s += rng.random_range(2.0..6.0);
                }
                bursts.push(burst);
                t += length_s + rng.random_range(1.0..4.0);
            }
        }

        let mut head = [[(0.0f32, 1.0f64, 0.0f64); 2]; 3];
        for (axis, components) in head.iter_mut().enumerate() {
            let scale = [1.0, 0.6, 0.4][axis] * config.head_drift_deg;
            for component in components.iter_mut() {
                *component = (
                    scale * rng.random_range(0.3..0.7f32),
                    rng.random_range(8.0..30.0),
                    rng.random_range(0.0..std::f64::consts::TAU),
                );
            }
        }

        let prepared = injected
            .iter()
            .map(|event| {
                let weights = signature(event.cue, event.side)
                    .into_iter()
                    .map(|(channel, weight)| (channel, weight * rng.random_range(0.8..1.2f32)))
                    .collect();
                let mut blink_starts = Vec::new();
                if event.cue == CueId::BlinkCluster {
                    let span_s = event.offset_s - event.onset_s;
                    let count = ((span_s + 0.25) / 0.4).round().clamp(3.0, 8.0) as usize;
                    let spacing_s = (span_s - 0.16) / (count - 1) as f64;
                    blink_starts = (0..count)
                        .map(|i| event.onset_s + i as f64 * spacing_s)
                        .collect();
                }
                Prepared {
                    event: event.clone(),
                    weights,
                    blink_starts,
                    regions: region_signature(event.cue, event.side),
                }
            })
            .collect();

        Scene {
            rest,
            noise_gain,
            blinks,
            bursts,
            bilabials,
            emphases,
            head,
            prepared,
        }
    }

    /// Speech state at `t`: (jaw opening, vowel rounding), both 0 outside bursts.
    fn speech(&self, t: f64) -> (f32, f32) {
        for burst in &self.bursts {
            if t >= burst.start_s && t < burst.end_s {
                let taper = ((t - burst.start_s).min(burst.end_s - t) / 0.15).min(1.0);
                let modulation = 0.6 + 0.4 * (std::f64::consts::TAU * 0.9 * t + burst.phase).sin();
                let syllable = 0.5
                    - 0.5 * (std::f64::consts::TAU * burst.syllable_hz * (t - burst.start_s)).cos();
                let rounding = 0.5
                    + 0.5
                        * (std::f64::consts::TAU * 0.5 * burst.syllable_hz * t + burst.phase).sin();
                let jaw = (f64::from(burst.amplitude) * taper * modulation * syllable) as f32;
                return (jaw, (f64::from(burst.amplitude) * taper * rounding) as f32);
            }
        }
        (0.0, 0.0)
    }

    /// Natural and injected eyelid closure at `t` (0..1), and the (slower) eyeLook coupling
    /// with its horizontal jump (signed).
    fn blink(&self, t: f64) -> (f32, f32, f32) {
        let (mut closure, mut look, mut sideways) = (0.0f32, 0.0f32, 0.0f32);
        let mut add = |start_s: f64, depth: f32| {
            closure = closure.max(depth * blink_shape(t, start_s) as f32);
            let l = depth * blink_look_shape(t, start_s) as f32;
            if l > look {
                look = l;
                // The eyeLook in/out channels jump one way or the other during a blink.
                sideways = if (start_s * 1000.0) as i64 % 2 == 0 {
                    0.2 * l
                } else {
                    -0.2 * l
                };
            }
        };
        for &(start_s, depth) in &self.blinks {
            if start_s > t {
                break;
            }
            if t - start_s < BLINK_SPAN_S {
                add(start_s, depth);
            }
        }
        for p in &self.prepared {
            if p.event.cue == CueId::BlinkCluster
                && t >= p.event.onset_s
                && t <= p.event.offset_s + BLINK_SPAN_S
            {
                let depth = (0.4 + p.event.amplitude).min(0.95);
                for &start_s in &p.blink_starts {
                    if t >= start_s && t - start_s < BLINK_SPAN_S {
                        add(start_s, depth);
                    }
                }
            }
        }
        (closure, look, sideways)
    }

    /// Displacement of every region at `t` (inter-ocular distances), without noise.
    fn displacement(&self, t: f64, out: &mut [[f32; 2]; Region::COUNT]) {
        *out = [[0.0; 2]; Region::COUNT];
        for p in &self.prepared {
            let e = envelope(t, p.event.onset_s, p.event.apex_s, p.event.offset_s) as f32;
            if e <= 0.0 {
                continue;
            }
            for &(region, [dx, dy]) in &p.regions {
                let scale = e * p.event.amplitude;
                out[region as usize][0] += dx * scale;
                out[region as usize][1] += dy * scale;
            }
        }
        let (jaw, _) = self.speech(t);
        out[Region::UpperLip as usize][1] += 0.08 * jaw;
        out[Region::LowerLip as usize][1] += 0.2 * jaw;
        out[Region::MouthCornerLeft as usize][1] += 0.02 * jaw;
        out[Region::MouthCornerRight as usize][1] += 0.02 * jaw;
        let (blink, _, _) = self.blink(t);
        out[Region::LowerLidLeft as usize][1] += 0.04 * blink;
        out[Region::LowerLidRight as usize][1] += 0.04 * blink;
        out[Region::UpperLidLeft as usize][1] += 0.15 * blink;
        out[Region::UpperLidRight as usize][1] += 0.15 * blink;
    }
}

/// Generates a trace: one [`FaceSignals`] per frame, with the `injected` events.
pub fn generate(
    config: &SynthConfig,
    injected: &[InjectedEvent],
) -> Result<Vec<FaceSignals>, SynthError> {
    config.validate()?;
    for (index, event) in injected.iter().enumerate() {
        event.validate(index)?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let scene = Scene::new(config, injected, &mut rng);

    const OU_TAU_S: f64 = 0.25;
    let ou_sigma = 0.008 * config.noise_scale;
    let white_sigma = 0.005 * config.noise_scale;
    let head_sigma = 0.3 * config.noise_scale;
    let motion_sigma = 0.0008 * config.noise_scale;
    let frame_s = 1.0 / config.fps;

    let mut ou = [0.0f32; BLENDSHAPE_COUNT];
    for value in ou.iter_mut() {
        *value = ou_sigma * normal(&mut rng);
    }
    let mut head_ou = [0.0f32; 3];
    let mut frames = Vec::with_capacity((config.duration_s * config.fps * 1.1) as usize + 1);
    let mut displacement_now = [[0.0f32; 2]; Region::COUNT];
    let mut displacement_before = [[0.0f32; 2]; Region::COUNT];
    let mut t = 0.0f64;
    let mut previous_t: Option<f64> = None;
    while t < config.duration_s {
        let dt = previous_t.map_or(frame_s, |p| t - p);
        let a = (-dt / OU_TAU_S).exp() as f32;
        let innovation = (1.0 - a * a).sqrt();
        let mut values = scene.rest;
        for (index, value) in values.iter_mut().enumerate() {
            ou[index] = a * ou[index] + innovation * ou_sigma * normal(&mut rng);
            *value += scene.noise_gain[index] * (ou[index] + white_sigma * normal(&mut rng));
        }

        // Head drift with partial eye counter-rotation.
        let mut angles = [0.0f32; 3];
        for (axis, components) in scene.head.iter().enumerate() {
            let drift: f64 = components
                .iter()
                .map(|&(amplitude, period_s, phase)| {
                    f64::from(amplitude) * (std::f64::consts::TAU * t / period_s + phase).sin()
                })
                .sum();
            head_ou[axis] = a * head_ou[axis] + innovation * head_sigma * normal(&mut rng);
            angles[axis] = drift as f32 + head_ou[axis];
        }
        let counter = -0.5 * angles[0] / 30.0;
        add_horizontal_gaze(&mut values, counter);

        // Blinks, with the couplings MediaPipe shows on a real talking face: the eyes seem to
        // look down as the lids close (and settle later), eyeSquint rises ~0.35 per unit of
        // closure, and the in/out channels jump.
        let (blink, look, sideways) = scene.blink(t);
        values[B::EYE_BLINK_LEFT.0] += blink;
        values[B::EYE_BLINK_RIGHT.0] += blink * 0.95;
        for index in [B::EYE_SQUINT_LEFT, B::EYE_SQUINT_RIGHT] {
            values[index.0] += 0.35 * blink;
        }
        for index in [B::EYE_LOOK_DOWN_LEFT, B::EYE_LOOK_DOWN_RIGHT] {
            values[index.0] += 0.95 * look;
        }
        for index in [B::EYE_LOOK_UP_LEFT, B::EYE_LOOK_UP_RIGHT] {
            values[index.0] -= 0.08 * look;
        }
        add_horizontal_gaze(&mut values, sideways);

        // Talking.
        let (jaw, rounding) = scene.speech(t);
        if jaw > 0.0 || rounding > 0.0 {
            values[B::JAW_OPEN.0] += jaw;
            values[B::MOUTH_LOWER_DOWN_LEFT.0] += 0.6 * jaw;
            values[B::MOUTH_LOWER_DOWN_RIGHT.0] += 0.6 * jaw;
            values[B::MOUTH_UPPER_UP_LEFT.0] += 0.04 * jaw;
            values[B::MOUTH_UPPER_UP_RIGHT.0] += 0.04 * jaw;
            values[B::MOUTH_STRETCH_LEFT.0] += 0.15 * jaw;
            values[B::MOUTH_STRETCH_RIGHT.0] += 0.15 * jaw;
            values[B::MOUTH_FUNNEL.0] += 0.3 * rounding;
            values[B::MOUTH_PUCKER.0] += 0.4 * rounding;
            values[B::MOUTH_CLOSE.0] += 0.1 * (rounding - jaw).max(0.0);
            values[B::MOUTH_SHRUG_LOWER.0] += 0.2 * rounding;
            values[B::MOUTH_SMILE_LEFT.0] += 0.02 * (rounding - 0.5 * jaw);
            values[B::MOUTH_SMILE_RIGHT.0] += 0.02 * (rounding - 0.5 * jaw);
        }
        for &(at_s, amplitude) in &scene.bilabials {
            let e = envelope(t, at_s - 0.04, at_s, at_s + 0.05) as f32;
            if e > 0.0 {
                values[B::MOUTH_PRESS_LEFT.0] += amplitude * e;
                values[B::MOUTH_PRESS_RIGHT.0] += amplitude * e;
                values[B::MOUTH_ROLL_LOWER.0] += 0.6 * amplitude * e;
                values[B::JAW_OPEN.0] -= jaw * e;
            }
        }
        for &(at_s, amplitude, brow) in &scene.emphases {
            let e = envelope(t, at_s - 0.15, at_s, at_s + 0.2) as f32;
            if e > 0.0 {
                if brow {
                    values[B::BROW_INNER_UP.0] += amplitude * e;
                    values[B::BROW_OUTER_UP_LEFT.0] += 0.7 * amplitude * e;
                    values[B::BROW_OUTER_UP_RIGHT.0] += 0.7 * amplitude * e;
                } else {
                    values[B::MOUTH_SMILE_LEFT.0] += amplitude * e;
                    values[B::MOUTH_SMILE_RIGHT.0] += amplitude * e;
                }
            }
        }

        // Injected events.
        for p in &scene.prepared {
            let e = &p.event;
            if t <= e.onset_s || t >= e.offset_s {
                continue;
            }
            let weight = match e.cue {
                CueId::GazeAversion => plateau(t, e.onset_s, e.offset_s),
                _ => envelope(t, e.onset_s, e.apex_s, e.offset_s),
            } as f32;
            for &(channel, channel_weight) in &p.weights {
                values[channel.0] += e.amplitude * channel_weight * weight;
            }
            if e.cue == CueId::GazeAversion {
                // The head follows a glance a little.
                match e.side {
                    Side::Left => angles[0] += 12.0 * e.amplitude * weight,
                    Side::Right => angles[0] -= 12.0 * e.amplitude * weight,
                    Side::Both => angles[1] -= 8.0 * e.amplitude * weight,
                }
            }
        }

        for value in values.iter_mut() {
            *value = value.clamp(0.0, 1.0);
        }

        let region_motion = config.region_motion.then(|| {
            scene.displacement(t, &mut displacement_now);
            scene.displacement(t - 0.1, &mut displacement_before);
            let mut motion = RegionMotion {
                lag_s: 0.1,
                ..RegionMotion::default()
            };
            for (index, value) in motion.values.iter_mut().enumerate() {
                for axis in 0..2 {
                    value[axis] = displacement_now[index][axis] - displacement_before[index][axis]
                        + motion_sigma * normal(&mut rng);
                }
            }
            motion
        });

        frames.push(FaceSignals {
            pts_s: t,
            track: config.track,
            presence: 1.0,
            landmarks_in_image: Vec::new(),
            blendshapes: values.to_vec(),
            head_pose: HeadPose {
                yaw_deg: angles[0],
                pitch_deg: angles[1],
                roll_deg: angles[2],
            },
            region_motion,
        });

        previous_t = Some(t);
        let jitter = if config.timing_jitter > 0.0 {
            rng.random_range(-1.0..=1.0) * config.timing_jitter
        } else {
            0.0
        };
        t += frame_s * (1.0 + jitter);
    }
    Ok(frames)
}

/// Adds a horizontal gaze shift (+: towards the subject's left) to the eyeLook channels.
fn add_horizontal_gaze(values: &mut [f32; BLENDSHAPE_COUNT], shift: f32) {
    if shift >= 0.0 {
        values[B::EYE_LOOK_OUT_LEFT.0] += shift;
        values[B::EYE_LOOK_IN_RIGHT.0] += shift;
    } else {
        values[B::EYE_LOOK_IN_LEFT.0] -= shift;
        values[B::EYE_LOOK_OUT_RIGHT.0] -= shift;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_trace_and_valid_frames() {
        let config = SynthConfig {
            duration_s: 5.0,
            timing_jitter: 0.3,
            region_motion: true,
            ..SynthConfig::default()
        };
        let events = random_events(
            &SynthConfig {
                duration_s: 5.0,
                warmup_s: 1.0,
                ..config.clone()
            },
            2,
            7,
        )
        .unwrap();
        let a = generate(&config, &events).unwrap();
        let b = generate(&config, &events).unwrap();
        assert_eq!(a, b);
        assert!(a.len() > 100 && a.len() < 200, "{} frames", a.len());
        for pair in a.windows(2) {
            assert!(pair[1].pts_s > pair[0].pts_s);
        }
        for frame in &a {
            frame.validate().unwrap();
            assert!(frame.region_motion.is_some());
        }
        let other = generate(&SynthConfig { seed: 2, ..config }, &events).unwrap();
        assert_ne!(a, other);
    }

    #[test]
    fn injected_signature_shows_at_the_apex() {
        let config = SynthConfig {
            talking: false,
            blink_rate_per_min: 0.0,
            duration_s: 4.0,
            ..SynthConfig::default()
        };
        let event = InjectedEvent {
            cue: CueId::UnilateralLipCorner,
            side: Side::Right,
            onset_s: 2.0,
            apex_s: 2.1,
            offset_s: 2.3,
            amplitude: 0.4,
        };
        let frames = generate(&config, std::slice::from_ref(&event)).unwrap();
        let before = frames.iter().find(|f| f.pts_s > 1.5).unwrap();
        let apex = frames
            .iter()
            .min_by(|a, b| (a.pts_s - 2.1).abs().total_cmp(&(b.pts_s - 2.1).abs()))
            .unwrap();
        let rise = |index: B| apex.blendshape(index) - before.blendshape(index);
        assert!(
            rise(B::MOUTH_SMILE_RIGHT) > 0.25,
            "{}",
            rise(B::MOUTH_SMILE_RIGHT)
        );
        assert!(rise(B::MOUTH_SMILE_LEFT) < 0.1);
    }

    #[test]
    fn random_events_do_not_overlap_and_respect_the_warmup() {
        let config = SynthConfig {
            duration_s: 120.0,
            ..SynthConfig::default()
        };
        let events = random_events(&config, 40, 3).unwrap();
        assert_eq!(events.len(), 40);
        assert!(events[0].onset_s >= config.warmup_s);
        for pair in events.windows(2) {
            assert!(pair[1].onset_s - pair[0].offset_s >= config.min_event_gap_s - 1e-9);
        }
        for event in &events {
            assert!(event.onset_s <= event.apex_s && event.apex_s <= event.offset_s);
            event.validate(0).unwrap();
        }
        for cue in SUPPORTED_CUES {
            assert!(events.iter().any(|e| e.cue == cue), "{cue} missing");
        }
        let error = random_events(
            &SynthConfig {
                duration_s: 10.0,
                ..config
            },
            40,
            3,
        )
        .unwrap_err();
        assert!(matches!(error, SynthError::TooManyEvents { .. }));
        assert!(error.to_string().contains("hint"));
    }

    #[test]
    fn bad_settings_and_events_are_explained() {
        let error = generate(
            &SynthConfig {
                fps: 0.0,
                ..SynthConfig::default()
            },
            &[],
        )
        .unwrap_err();
        assert!(error.to_string().contains("fps"));
        let event = InjectedEvent {
            cue: CueId::PupilDilation,
            side: Side::Both,
            onset_s: 1.0,
            apex_s: 1.1,
            offset_s: 1.2,
            amplitude: 0.3,
        };
        let error = generate(&SynthConfig::default(), &[event]).unwrap_err();
        assert!(error.to_string().contains("pupil_dilation"), "{error}");
    }
}
