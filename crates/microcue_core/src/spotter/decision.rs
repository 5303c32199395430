//! The learned decision (issue 17): accept or reject each candidate movement by a small
//! logistic model over what is known of it by the end of its decision (about one lag after
//! the movement ends), instead of the hand-set gates.
//!
//! With [`Decision::Learned`] the pulse and expression detectors run with their gates off and
//! their thresholds low ([`candidate_settings`]); every movement they find becomes a
//! candidate with the [`FEATURE_NAMES`] features, and the [`DecisionModel`] gives the
//! probability that it is a brief facial movement of its cue and not speech, a blink, a head
//! movement or noise. A candidate counts when that probability reaches the threshold of the
//! sensitivity ([`DecisionModel::threshold_at`]); of overlapping candidates the more probable
//! stays. Blink clusters and gaze aversions keep their own rules.
//!
//! The model is trained by [`train`] (Newton's method on the L2-penalised log-likelihood:
//! deterministic, no random start) on candidates of the tuning side of the split
//! (eval/decision/, docs/evaluation.md); the built-in weights are `decision_weights.rs`,
//! written by `microcue eval train-decision`, and a test retrains them from the committed CSV.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use super::config::SpotterConfig;
use crate::channels::{Channel, ChannelValues};
use crate::cue::CueId;

mod weights {
    include!("decision_weights.rs");
}

/// Which decision turns candidate movements into events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Decision {
    /// The hand-set gates and thresholds of each detector.
    #[default]
    Rules,
    /// Candidates at low thresholds with the gates off, judged by the learned model.
    Learned,
}

/// Number of features of a candidate.
pub const FEATURE_COUNT: usize = 42;

/// The features of a candidate, in the order of [`Features`] (column names of the training
/// CSV).
pub const FEATURE_NAMES: [&str; FEATURE_COUNT] = [
    "pulse",
    "ln_peak_z",
    "ln_baseline_peak_z",
    "local_scale",
    "return_ratio",
    "duration_s",
    "ln_duration_ms",
    "rise_s",
    "fall_s",
    "talking",
    "jaw_change",
    "head_turn_deg",
    "head_z",
    "blink_near",
    "since_blink_s",
    "co_motion",
    "brow_motion_z",
    "eye_motion_z",
    "nose_motion_z",
    "corner_motion_z",
    "lip_motion_z",
    "brow_shape_z",
    "mouth_shape_z",
    "jaw_z",
    "blink_z",
    "confidence",
    "intensity",
    "cue_brows",
    "cue_frown",
    "cue_nose",
    "cue_press",
    "cue_corner",
    "cue_smile",
    "ch_brows_up",
    "ch_inner_brows_down",
    "ch_nose_up",
    "ch_corners_pull",
    "ch_corner_one",
    "ch_lips",
    "talking_x_mouth",
    "blink_x_brow",
    "head_x_pulse",
];

/// One candidate's features (see [`FEATURE_NAMES`]).
pub type Features = [f32; FEATURE_COUNT];

/// A candidate movement with its features and the model's probability (recorded by
/// [`super::Spotter::record_candidates`] for training and evaluation).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The movement as it would be reported.
    pub event: crate::event::Event,
    /// `pulse` (region motion) or `expression` (blendshapes).
    pub detector: &'static str,
    /// The pulse channel's name, or `blendshapes`.
    pub channel: &'static str,
    /// What the model sees.
    pub features: Features,
    /// The model's probability that it is a brief facial movement.
    pub probability: f32,
}

/// Pulse-only facts about a candidate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PulseShape {
    pub channel: Channel,
    pub baseline_peak_z: f32,
    pub return_peak_z: f32,
    pub head_turn_deg: f32,
    pub jaw_change: f32,
}

/// What the track knows of a candidate when it is decided.
pub(crate) struct CandidateInput<'a> {
    pub pulse: Option<PulseShape>,
    pub peak_z: f32,
    pub onset_s: f64,
    pub apex_s: f64,
    pub offset_s: f64,
    pub apex_deltas: &'a ChannelValues,
    pub spreads: &'a ChannelValues,
    /// 0 (silent) .. 1 (talking), from the jaw's recent movement.
    pub talking: f32,
    /// Onset minus the last time the lids were closed (large when never).
    pub since_blink_s: f64,
    pub cue: CueId,
    pub confidence: f32,
    pub intensity: f32,
}

const BROW_MOTION: [Channel; 6] = [
    Channel::MotionBrowLeftUp,
    Channel::MotionBrowRightUp,
    Channel::MotionBrowInnerUp,
    Channel::MotionBrowLeftDown,
    Channel::MotionBrowRightDown,
    Channel::MotionBrowInnerDown,
];
const EYE_MOTION: [Channel; 4] = [
    Channel::MotionEyeLeftUp,
    Channel::MotionEyeRightUp,
    Channel::MotionLidLeftUp,
    Channel::MotionLidRightUp,
];
const NOSE_MOTION: [Channel; 2] = [Channel::MotionNoseLeftUp, Channel::MotionNoseRightUp];
const CORNER_MOTION: [Channel; 4] = [
    Channel::MotionMouthCornerLeftUp,
    Channel::MotionMouthCornerRightUp,
    Channel::MotionMouthCornerLeftOut,
    Channel::MotionMouthCornerRightOut,
];
const LIP_MOTION: [Channel; 3] = [
    Channel::MotionLipsDown,
    Channel::MotionLipsUp,
    Channel::MotionLipsClose,
];
const BROW_SHAPES: [Channel; 5] = [
    Channel::BrowDownLeft,
    Channel::BrowDownRight,
    Channel::BrowInnerUp,
    Channel::BrowOuterUpLeft,
    Channel::BrowOuterUpRight,
];
const MOUTH_SHAPES: [Channel; 12] = [
    Channel::MouthSmileLeft,
    Channel::MouthSmileRight,
    Channel::MouthDimpleLeft,
    Channel::MouthDimpleRight,
    Channel::MouthPressLeft,
    Channel::MouthPressRight,
    Channel::MouthRollLower,
    Channel::MouthRollUpper,
    Channel::MouthUpperUpLeft,
    Channel::MouthUpperUpRight,
    Channel::NoseSneerLeft,
    Channel::NoseSneerRight,
];
/// A region moving by this many spreads at the apex counts towards `co_motion`.
const CO_MOTION_Z: f32 = 3.0;

impl CandidateInput<'_> {
    /// |delta| / spread of one channel at the apex (0 when the source has no such value).
    fn z(&self, channel: Channel) -> f32 {
        let index = channel.index();
        let z = self.apex_deltas[index] / self.spreads[index].max(1e-9);
        if z.is_finite() { z } else { 0.0 }
    }

    fn max_abs_z(&self, channels: &[Channel]) -> f32 {
        channels
            .iter()
            .map(|&c| self.z(c).abs())
            .fold(0.0, f32::max)
    }

    fn max_rise_z(&self, channels: &[Channel]) -> f32 {
        channels.iter().map(|&c| self.z(c)).fold(0.0, f32::max)
    }

    /// The features (see [`FEATURE_NAMES`]).
    pub fn features(&self) -> Features {
        let ln = |x: f32| x.max(0.0).ln_1p();
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let duration_s = (self.offset_s - self.onset_s).max(0.0);
        let rise_s = (self.apex_s - self.onset_s).max(0.0);
        let fall_s = (self.offset_s - self.apex_s).max(0.0);
        let (baseline_peak_z, return_ratio, head_turn_deg, jaw_change) = match self.pulse {
            Some(p) => (
                p.baseline_peak_z,
                p.return_peak_z / self.peak_z.max(1e-6),
                p.head_turn_deg,
                p.jaw_change,
            ),
            None => (self.peak_z, 0.0, 0.0, 0.0),
        };
        let local_scale = if self.pulse.is_some() {
            baseline_peak_z / self.peak_z.max(1e-6)
        } else {
            1.0
        };
        let head_z = self
            .z(Channel::HeadYawDeg)
            .abs()
            .max(self.z(Channel::HeadPitchDeg).abs());
        let since_blink_s = self.since_blink_s.clamp(-1.0, 3.0) as f32;
        let blink_near = since_blink_s <= 0.3;
        let all_motion = [
            &BROW_MOTION[..],
            &EYE_MOTION[..],
            &NOSE_MOTION[..],
            &CORNER_MOTION[..],
            &LIP_MOTION[..],
        ];
        let (moved, total) = all_motion
            .iter()
            .flat_map(|group| group.iter())
            .fold((0u32, 0u32), |(moved, total), &c| {
                (moved + u32::from(self.z(c).abs() >= CO_MOTION_Z), total + 1)
            });
        let cue_brows = matches!(self.cue, CueId::EyebrowFlash | CueId::MicroSurprise);
        let cue_frown = matches!(self.cue, CueId::MicroFrown | CueId::MicroAnger);
        let cue_press = self.cue == CueId::LipCompression;
        let cue_corner = self.cue == CueId::UnilateralLipCorner;
        let cue_smile = matches!(self.cue, CueId::GenuineSmile | CueId::PoliteSmile);
        let mouth = cue_press || cue_corner || cue_smile;
        let channel = self.pulse.map(|p| p.channel);
        let is = |options: &[Channel]| channel.is_some_and(|c| options.contains(&c));
        let talking = self.talking.clamp(0.0, 1.0);
        let blink_z = self
            .z(Channel::EyeBlinkLeft)
            .max(self.z(Channel::EyeBlinkRight));
        [
            flag(self.pulse.is_some()),
            ln(self.peak_z),
            ln(baseline_peak_z),
            local_scale,
            return_ratio.min(5.0),
            duration_s as f32,
            ((duration_s * 1000.0).max(1.0) as f32).ln(),
            rise_s as f32,
            fall_s as f32,
            talking,
            jaw_change.min(0.5),
            head_turn_deg.min(20.0),
            ln(head_z.min(50.0)),
            flag(blink_near),
            since_blink_s,
            moved as f32 / total as f32,
            ln(self.max_abs_z(&BROW_MOTION)),
            ln(self.max_abs_z(&EYE_MOTION)),
            ln(self.max_abs_z(&NOSE_MOTION)),
            ln(self.max_abs_z(&CORNER_MOTION)),
            ln(self.max_abs_z(&LIP_MOTION)),
            ln(self.max_rise_z(&BROW_SHAPES)),
            ln(self.max_rise_z(&MOUTH_SHAPES)),
            ln(self.z(Channel::JawOpen).abs()),
            ln(blink_z),
            self.confidence,
            self.intensity,
            flag(cue_brows),
            flag(cue_frown),
            flag(self.cue == CueId::NoseWrinkle),
            flag(cue_press),
            flag(cue_corner),
            flag(cue_smile),
            flag(is(&[Channel::MotionBrowsUp])),
            flag(is(&[Channel::MotionInnerBrowsDown])),
            flag(is(&[Channel::MotionNoseUp])),
            flag(is(&[Channel::MotionMouthCornersPull])),
            flag(is(&[
                Channel::MotionMouthCornerLeftPull,
                Channel::MotionMouthCornerRightPull,
            ])),
            flag(is(&LIP_MOTION)),
            talking * flag(mouth),
            flag(blink_near && cue_brows),
            head_turn_deg.min(20.0) * flag(self.pulse.is_some()),
        ]
    }
}

/// A logistic model over standardised features.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct DecisionModel {
    /// Feature means of the training data (subtracted first).
    pub mean: Vec<f64>,
    /// Feature standard deviations (divided by next; 1 for a constant feature).
    pub scale: Vec<f64>,
    /// One weight per standardised feature.
    pub weights: Vec<f64>,
    /// The intercept.
    pub bias: f64,
    /// The L2 penalty it was trained with.
    pub l2: f64,
    /// Probability a candidate needs at the default sensitivity.
    pub threshold: f64,
}

/// How far the sensitivity moves the threshold: log-odds `SENSITIVITY_SPAN × (0.5 − S)` on
/// the default's.
pub const SENSITIVITY_SPAN: f64 = 6.0;

impl DecisionModel {
    /// The model built into microcue (`decision_weights.rs`).
    pub fn builtin() -> DecisionModel {
        DecisionModel {
            mean: weights::MEAN.to_vec(),
            scale: weights::SCALE.to_vec(),
            weights: weights::WEIGHTS.to_vec(),
            bias: weights::BIAS,
            l2: weights::L2,
            threshold: weights::THRESHOLD,
        }
    }

    /// Checks the sizes and values; returns a description of the first problem.
    pub fn validate(&self) -> Result<(), String> {
        for (name, values) in [
            ("mean", &self.mean),
            ("scale", &self.scale),
            ("weights", &self.weights),
        ] {
            if values.len() != FEATURE_COUNT {
                return Err(format!(
                    "decision_model.{name}: {} values, need {FEATURE_COUNT} (one per feature)",
                    values.len()
                ));
            }
            if values.iter().any(|v| !v.is_finite()) {
                return Err(format!("decision_model.{name}: values must be finite"));
            }
        }
        if self.scale.iter().any(|&s| s <= 0.0) {
            return Err("decision_model.scale: values must be positive".into());
        }
        if !(self.bias.is_finite() && 0.0 < self.threshold && self.threshold < 1.0) {
            return Err(format!(
                "decision_model: need a finite bias and 0 < threshold < 1, got {} and {}",
                self.bias, self.threshold
            ));
        }
        Ok(())
    }

    /// Probability that the candidate with these features is a brief facial movement.
    pub fn probability(&self, features: &Features) -> f64 {
        let mut logit = self.bias;
        for (i, &x) in features.iter().enumerate() {
            logit += self.weights[i] * ((f64::from(x) - self.mean[i]) / self.scale[i]);
        }
        sigmoid(logit)
    }

    /// Probability a candidate needs at `sensitivity` (0..1): the trained threshold at 0.5,
    /// its log-odds moved by [`SENSITIVITY_SPAN`] × (0.5 − sensitivity).
    pub fn threshold_at(&self, sensitivity: f32) -> f64 {
        let t = self.threshold.clamp(1e-6, 1.0 - 1e-6);
        let logit = (t / (1.0 - t)).ln()
            + SENSITIVITY_SPAN * (f64::from(super::DEFAULT_SENSITIVITY) - f64::from(sensitivity));
        sigmoid(logit)
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The detector settings of the learned decision: every gate the model replaces off, the
/// thresholds at the lowest the detectors can still tell from noise (the "every gate off and
/// thresholds lowest" row of docs/evaluation.md). Blink clusters and gaze are unchanged.
pub fn candidate_settings(config: &SpotterConfig) -> SpotterConfig {
    let mut open = config.clone();
    let pulse = &mut open.pulse;
    pulse.z_high = 2.2;
    pulse.pair_z = 4.0;
    pulse.pair_min_z = 1.9;
    pulse.return_fraction = 0.0;
    pulse.max_return_wait_s = 1.0;
    pulse.max_head_turn_deg = 1000.0;
    pulse.max_jaw_change = 1000.0;
    pulse.blink_exempt_z = 0.001;
    pulse.max_duration_s = 1.2;
    open.expression.z_high = 3.2;
    open.expression.speech_gain = 1.0;
    open.reader.min_signature_match = 0.0;
    open.reader.strong_pulse_match = 0.0;
    open
}

/// Trains a model on `rows` (features) and `labels` (true: a brief facial movement): the
/// features are standardised, then Newton's method maximises the log-likelihood minus
/// `l2 / 2 × |w|²` (the intercept is not penalised). Deterministic: the same rows in the same
/// order give the same model. `threshold` is stored as given.
pub fn train(rows: &[Features], labels: &[bool], l2: f64, threshold: f64) -> DecisionModel {
    use nalgebra::{DMatrix, DVector};
    let n = rows.len().max(1) as f64;
    let mut mean = vec![0.0f64; FEATURE_COUNT];
    for row in rows {
        for (m, &x) in mean.iter_mut().zip(row.iter()) {
            *m += f64::from(x);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut scale = vec![0.0f64; FEATURE_COUNT];
    for row in rows {
        for ((s, &x), m) in scale.iter_mut().zip(row.iter()).zip(&mean) {
            *s += (f64::from(x) - m).powi(2);
        }
    }
    for s in scale.iter_mut() {
        *s = (*s / n).sqrt();
        if *s < 1e-9 {
            *s = 1.0;
        }
    }
    let dim = FEATURE_COUNT + 1;
    let x = DMatrix::from_fn(rows.len(), dim, |r, c| {
        if c == FEATURE_COUNT {
            1.0
        } else {
            (f64::from(rows[r][c]) - mean[c]) / scale[c]
        }
    });
    let y = DVector::from_fn(rows.len(), |r, _| if labels[r] { 1.0 } else { 0.0 });
    let mut w = DVector::<f64>::zeros(dim);
    for _ in 0..100 {
        let p = (&x * &w).map(sigmoid);
        let mut gradient = x.transpose() * (&p - &y);
        let weights = p.map(|p| (p * (1.0 - p)).max(1e-12));
        let weighted = DMatrix::from_fn(rows.len(), dim, |r, c| x[(r, c)] * weights[r]);
        let mut hessian = x.transpose() * weighted;
        for i in 0..FEATURE_COUNT {
            gradient[i] += l2 * w[i];
            hessian[(i, i)] += l2;
        }
        // A tiny ridge keeps the intercept's system solvable when one class is absent.
        hessian[(FEATURE_COUNT, FEATURE_COUNT)] += 1e-9;
        let Some(cholesky) = hessian.cholesky() else {
            break;
        };
        let step = cholesky.solve(&gradient);
        w -= &step;
        if step.amax() < 1e-10 {
            break;
        }
    }
    DecisionModel {
        mean,
        scale,
        weights: w.rows(0, FEATURE_COUNT).iter().copied().collect(),
        bias: w[FEATURE_COUNT],
        l2,
        threshold,
    }
}

/// The model as the Rust source of `decision_weights.rs` (what `microcue eval
/// train-decision` writes; the test compares a retrained model's with the committed file).
pub fn weights_source(model: &DecisionModel) -> String {
    let list = |values: &[f64]| {
        values
            .iter()
            .map(|v| format!("{v:e}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "// Written by `microcue eval train-decision` from eval/decision/candidates.csv; do not edit.\n\
         pub(super) const MEAN: [f64; {n}] = [{mean}];\n\
         pub(super) const SCALE: [f64; {n}] = [{scale}];\n\
         pub(super) const WEIGHTS: [f64; {n}] = [{weights}];\n\
         pub(super) const BIAS: f64 = {bias:e};\n\
         pub(super) const L2: f64 = {l2:e};\n\
         pub(super) const THRESHOLD: f64 = {threshold:e};\n",
        n = FEATURE_COUNT,
        mean = list(&model.mean),
        scale = list(&model.scale),
        weights = list(&model.weights),
        bias = model.bias,
        l2 = model.l2,
        threshold = model.threshold,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_model_is_valid_and_the_threshold_follows_the_sensitivity() {
        let model = DecisionModel::builtin();
        assert_eq!(model.validate(), Ok(()));
        assert!((model.threshold_at(0.5) - model.threshold).abs() < 1e-12);
        assert!(model.threshold_at(0.0) > model.threshold_at(0.3));
        assert!(model.threshold_at(0.7) > model.threshold_at(1.0));
    }

    /// A 200 ms raise of both brows at 5 s in 10 s of an otherwise still face.
    fn brow_raise() -> Vec<crate::FaceSignals> {
        use crate::{BlendshapeIndex as B, FaceSignals, TrackId};
        (0..300)
            .map(|i| {
                let pts_s = f64::from(i) / 30.0;
                let mut frame = FaceSignals::neutral(TrackId(0), pts_s);
                let raise = (0.4 - 4.0 * (pts_s - 5.1).abs()).max(0.0) as f32;
                for brow in [
                    B::BROW_INNER_UP,
                    B::BROW_OUTER_UP_LEFT,
                    B::BROW_OUTER_UP_RIGHT,
                ] {
                    frame.blendshapes[brow.0] = raise;
                }
                frame
            })
            .collect()
    }

    #[test]
    fn the_learned_decision_reports_the_candidates_it_accepts() {
        let config = SpotterConfig {
            decision: Decision::Learned,
            ..SpotterConfig::default()
        };
        let signals = brow_raise();
        let candidates = super::super::candidates_all(&signals, &config);
        assert!(
            candidates
                .iter()
                .any(|c| c.event.onset_s < 5.1 && 5.1 < c.event.offset_s),
            "{candidates:?}"
        );
        let threshold = DecisionModel::builtin().threshold_at(config.sensitivity);
        let events = super::super::analyze_all(&signals, &config);
        for event in &events {
            assert!(
                candidates
                    .iter()
                    .any(|c| &c.event == event && f64::from(c.probability) >= threshold - 1e-6),
                "{event:?} was not an accepted candidate"
            );
        }
        // Fed frame by frame or all at once: the same events.
        let mut spotter = super::super::Spotter::new(config.clone());
        let mut streamed = Vec::new();
        for frame in &signals {
            spotter.push(frame, &mut streamed);
        }
        spotter.finish(&mut streamed);
        assert_eq!(streamed, events);
        // Rules: nothing is judged.
        assert!(super::super::candidates_all(&signals, &SpotterConfig::default()).is_empty());
        // At sensitivity 1 at least as much is reported as at 0.
        let at = |sensitivity| {
            super::super::analyze_all(
                &signals,
                &SpotterConfig {
                    sensitivity,
                    ..config.clone()
                },
            )
            .len()
        };
        assert!(at(1.0) >= at(0.0));
    }

    #[test]
    fn training_separates_a_separable_feature_and_is_deterministic() {
        let rows: Vec<Features> = (0..200)
            .map(|i| {
                let mut row = [0.0f32; FEATURE_COUNT];
                row[1] = (i % 20) as f32 / 4.0;
                row[9] = ((i * 7) % 13) as f32 / 13.0;
                row
            })
            .collect();
        let labels: Vec<bool> = rows.iter().map(|r| r[1] > 2.4).collect();
        let model = train(&rows, &labels, 1.0, 0.5);
        assert_eq!(model, train(&rows, &labels, 1.0, 0.5));
        assert!(model.weights[1] > 1.0, "{:?}", model.weights);
        let mut high = [0.0f32; FEATURE_COUNT];
        high[1] = 4.5;
        assert!(model.probability(&high) > 0.9);
        assert!(model.probability(&[0.0; FEATURE_COUNT]) < 0.1);
    }
}
