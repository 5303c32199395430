//! Settings of the spotter and of its detectors.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use super::decision::{Decision, DecisionModel, candidate_settings};
use crate::baseline::BaselineConfig;
use crate::cue::CueId;
use crate::pulse::PulseConfig;
use crate::reader::ReaderConfig;

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

/// Settings of the [`Spotter`](super::Spotter). All times in seconds.
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
    /// How readily a movement is reported, from 0 (only the clearest) to 1 (the faintest the
    /// detectors can still tell from noise); 0.5 is the settings as they are. The one number
    /// for users: it scales every detector's decision threshold together (see
    /// [`SpotterConfig::decision_scale`]), trading found movements against natural false
    /// alarms along the operating curve of docs/evaluation.md. With the learned decision it
    /// sets the probability a candidate needs instead
    /// ([`DecisionModel::threshold_at`](super::DecisionModel::threshold_at)).
    pub sensitivity: f32,
    /// What turns the detectors' candidates into events: the hand-set rules, or the learned
    /// model over candidates found with the gates off (see [`super::decision`]).
    pub decision: Decision,
    /// A model to use instead of the built-in one (trained by `microcue eval
    /// train-decision --json`; for cross-validation). Only read with the learned decision.
    pub decision_model: Option<DecisionModel>,
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
            sensitivity: DEFAULT_SENSITIVITY,
            decision: Decision::Rules,
            decision_model: None,
        }
    }
}

/// The sensitivity at which the settings apply as written.
pub const DEFAULT_SENSITIVITY: f32 = 0.5;

impl SpotterConfig {
    /// The factor the sensitivity puts on the decision thresholds: 1 at the default, 2 at 0,
    /// 1/2 at 1 (halving or doubling the deviation a movement needs, geometrically in between).
    pub fn decision_scale(&self) -> f32 {
        if self.sensitivity == DEFAULT_SENSITIVITY {
            // Exactly the written settings: events at the default stay byte for byte the same.
            return 1.0;
        }
        2.0_f32.powf(2.0 * (DEFAULT_SENSITIVITY - self.sensitivity))
    }

    /// The settings the detectors run with: the decision thresholds (the level at which an
    /// expression, a glance or a pulse counts) scaled by [`Self::decision_scale`], never below
    /// the level at which their segments open.
    pub fn applied(&self) -> SpotterConfig {
        if self.decision == Decision::Learned {
            // The model's threshold takes the sensitivity; only the glance threshold scales.
            let mut config = candidate_settings(self);
            let gaze = &mut config.gaze;
            gaze.z_high = (gaze.z_high * self.decision_scale()).max(gaze.z_low);
            return config;
        }
        let mut config = self.clone();
        let scale = self.decision_scale();
        if scale == 1.0 {
            return config;
        }
        let expression = &mut config.expression;
        expression.z_high = (expression.z_high * scale).max(expression.z_low);
        let gaze = &mut config.gaze;
        gaze.z_high = (gaze.z_high * scale).max(gaze.z_low);
        let pulse = &mut config.pulse;
        pulse.z_high = (pulse.z_high * scale).max(pulse.z_low);
        pulse.pair_min_z = (pulse.pair_min_z * scale).max(pulse.z_low);
        pulse.pair_z = (pulse.pair_z * scale).max(2.0 * pulse.z_low);
        config
    }
}

impl SpotterConfig {
    /// Checks the settings; returns a description of the first problem.
    pub fn validate(&self) -> Result<(), String> {
        self.baseline.validate()?;
        self.reader.validate()?;
        self.pulse.validate()?;
        if let Some(model) = &self.decision_model {
            model.validate()?;
        }
        if !(0.0..=1.0).contains(&self.sensitivity) {
            return Err(format!(
                "sensitivity must be in [0, 1] (0.5 is the default), got {}",
                self.sensitivity
            ));
        }
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
        for bad in [-0.1, 1.5, f32::NAN] {
            let config = SpotterConfig {
                sensitivity: bad,
                ..SpotterConfig::default()
            };
            assert!(config.validate().unwrap_err().contains("sensitivity"));
        }
    }

    #[test]
    fn sensitivity_scales_the_decision_thresholds_only() {
        let default = SpotterConfig::default();
        assert_eq!(default.applied(), default);
        let at = |sensitivity| {
            SpotterConfig {
                sensitivity,
                ..SpotterConfig::default()
            }
            .applied()
        };
        let (strict, keen) = (at(0.0), at(1.0));
        assert_eq!(strict.pulse.z_high, 2.0 * default.pulse.z_high);
        assert_eq!(strict.expression.z_high, 2.0 * default.expression.z_high);
        assert_eq!(keen.pulse.pair_z, 0.5 * default.pulse.pair_z);
        assert_eq!(keen.expression.z_high, default.expression.z_low);
        for config in [&strict, &keen, &at(0.3), &at(0.8)] {
            assert_eq!(config.validate(), Ok(()));
            assert_eq!(config.pulse.z_low, default.pulse.z_low);
            assert_eq!(config.expression.z_low, default.expression.z_low);
            assert_eq!(config.reader, default.reader);
        }
        assert!(at(0.3).pulse.z_high > default.pulse.z_high);
        assert!(at(0.8).pulse.z_high < default.pulse.z_high);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn settings_files_without_the_confidence_numbers_keep_their_meaning() {
        let old: SpotterConfig =
            serde_json::from_str(r#"{"reader": {"noise_multiple": 2.5}, "pulse": {"z_low": 2.0}}"#)
                .unwrap();
        let mut expected = SpotterConfig::default();
        expected.reader.noise_multiple = 2.5;
        expected.pulse.z_low = 2.0;
        assert_eq!(old, expected);
        let partial: SpotterConfig =
            serde_json::from_str(r#"{"reader": {"confidence": {"blink_max": 0.9}}}"#).unwrap();
        let mut expected = SpotterConfig::default();
        expected.reader.confidence.blink_max = 0.9;
        assert_eq!(partial, expected);
        let mut bad = SpotterConfig::default();
        bad.reader.confidence.snr_span_z = 0.0;
        assert!(bad.validate().unwrap_err().contains("snr_span_z"));
    }
}
