//! Settings of the reader.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// Settings of the reader.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(default))]
pub struct ReaderConfig {
    /// Smallest cosine similarity between the movement and a cue's template for a label; a
    /// movement that matches no cue this well is not reported.
    pub min_signature_match: f32,
    /// A pulse whose rise peaks at this many (locally normalised) spreads or more ...
    pub strong_pulse_z: f32,
    /// ... needs only this template match. At the apex of a pulse the rest of a talking face
    /// moves as it always does and dilutes the match, however clear the pulse; the pulse has
    /// already chosen the part of the face (only that part's cues are read), and one this far
    /// over the noise is a movement of that part, whose label is the best of those cues.
    pub strong_pulse_match: f32,
    /// Channel deltas below `noise_multiple` × the channel's spread count as no change.
    pub noise_multiple: f32,
    /// For a pulse, the noise gate of every channel but the pulse's own region motion (which
    /// is not gated): the pulse already chose the part of the face, and at its apex the rest of
    /// the face moves as it always does. Talking, blinking faces put several channels over 2
    /// spreads at any moment, and their share dilutes the match with the cue's template.
    pub pulse_noise_multiple: f32,
    /// For a pulse, the lift under the eyes (the Duchenne marker,
    /// [`Channel::RegionEyeLeftUp`](crate::Channel::RegionEyeLeftUp) and right) counts above
    /// this many spreads instead of `noise_multiple`: measured over the pulse's own rise, a lift
    /// about its own spread is the genuine smile's share of a movement the pulse already found
    /// (planted genuine smiles lift it by about 0.13 of their size, near the natural motion
    /// there).
    pub pulse_lid_raise_multiple: f32,
    /// Eye-squint rise / smile rise at or above which a smile is read as genuine.
    pub duchenne_ratio: f32,
    /// Converts upward motion of the eye regions (inter-ocular distances) into eye-squint units
    /// when the source provides region motion.
    pub duchenne_motion_gain: f32,
    /// Eye-region motion is no Duchenne evidence when the eyelids closed by more than this
    /// (eyeBlink units over baseline) during or just before the segment: a blink's reopening
    /// looks like a lid raise.
    pub blink_masks_eye_motion: f32,
    /// eyeSquint rise per unit of eyelid closure in MediaPipe (≈ 0.35 measured on a talking
    /// face); subtracted so that a blink at the apex does not pass for a Duchenne marker.
    pub blink_squint_coupling: f32,
    /// Corner asymmetry (|left − right| / max) at or above which a smile is one-sided.
    pub unilateral_asymmetry: f32,
    /// For a pulse: the larger one-corner whitened projection over the both-corners one at or
    /// above which the movement is one-sided (the likelier of the two hypotheses under the
    /// person's co-motion at 1). 0 uses `unilateral_asymmetry` on the corners' region motion.
    pub unilateral_whitened_ratio: f32,
    /// Asymmetry at or above which any other cue is reported as one-sided.
    pub one_sided_asymmetry: f32,
    /// Eye-widening / brow-raise ratio at or above which a brow raise is a micro-surprise.
    pub surprise_eye_ratio: f32,
    /// Upper-lid lift / brow lift (region motion) at or above which a brow raise is a
    /// micro-surprise, when the source measures region motion (AU5 lifts the lid margin; a
    /// brow flash leaves it nearly still).
    pub surprise_lid_ratio: f32,
    /// Lip-press / brow-lowering ratio at or above which a frown is micro-anger.
    pub anger_press_ratio: f32,
    /// At most this many evidence channels per event.
    pub max_evidence: usize,
    /// How sure each reading is: the numbers behind [`Reading::confidence`](super::Reading).
    pub confidence: ConfidenceConfig,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        ReaderConfig {
            // With a pulse's own regions read below the noise gate, this keeps the natural
            // clips' event counts where they were (see docs/evaluation.md).
            min_signature_match: 0.75,
            // Strong planted frowns went unlabelled at the full match (see docs/evaluation.md).
            strong_pulse_z: 6.0,
            strong_pulse_match: 0.6,
            noise_multiple: 2.0,
            // At two spreads a talking face's co-motion diluted pulses' matches (see
            // docs/evaluation.md).
            pulse_noise_multiple: 3.0,
            // At the segments' gate, planted genuine smiles were read as polite (see
            // docs/evaluation.md).
            pulse_lid_raise_multiple: 1.0,
            duchenne_ratio: 0.15,
            duchenne_motion_gain: 20.0,
            blink_masks_eye_motion: 0.15,
            blink_squint_coupling: 0.35,
            unilateral_asymmetry: 0.6,
            unilateral_whitened_ratio: 1.0,
            one_sided_asymmetry: 0.75,
            surprise_eye_ratio: 0.35,
            surprise_lid_ratio: 0.25,
            anger_press_ratio: 0.3,
            max_evidence: 5,
            confidence: ConfidenceConfig::default(),
        }
    }
}

impl ReaderConfig {
    /// Checks the settings; returns a description of the first problem.
    pub fn validate(&self) -> Result<(), String> {
        let weights = &self.confidence;
        let unit = [
            ("min_signature_match", self.min_signature_match),
            ("strong_pulse_match", self.strong_pulse_match),
            ("unilateral_asymmetry", self.unilateral_asymmetry),
            ("one_sided_asymmetry", self.one_sided_asymmetry),
            ("confidence.blink_max", weights.blink_max),
        ];
        for (name, value) in unit {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("reader.{name} must be in [0, 1], got {value}"));
            }
        }
        let non_negative = [
            ("noise_multiple", self.noise_multiple),
            ("pulse_noise_multiple", self.pulse_noise_multiple),
            ("pulse_lid_raise_multiple", self.pulse_lid_raise_multiple),
            ("duchenne_ratio", self.duchenne_ratio),
            ("duchenne_motion_gain", self.duchenne_motion_gain),
            ("blink_masks_eye_motion", self.blink_masks_eye_motion),
            ("blink_squint_coupling", self.blink_squint_coupling),
            ("unilateral_whitened_ratio", self.unilateral_whitened_ratio),
            ("surprise_eye_ratio", self.surprise_eye_ratio),
            ("surprise_lid_ratio", self.surprise_lid_ratio),
            ("anger_press_ratio", self.anger_press_ratio),
            ("strong_pulse_z", self.strong_pulse_z),
            ("confidence.margin_base", weights.margin_base),
            ("confidence.margin_gain", weights.margin_gain),
            ("confidence.clarity_base", weights.clarity_base),
            ("confidence.clarity_gain", weights.clarity_gain),
            ("confidence.snr_from_z", weights.snr_from_z),
            ("confidence.snr_base", weights.snr_base),
            ("confidence.snr_gain", weights.snr_gain),
            ("confidence.gaze_base", weights.gaze_base),
            ("confidence.gaze_snr_gain", weights.gaze_snr_gain),
            ("confidence.gaze_evidence_z", weights.gaze_evidence_z),
            ("confidence.blink_base", weights.blink_base),
            ("confidence.blink_excess_gain", weights.blink_excess_gain),
            (
                "confidence.blink_extra_per_blink",
                weights.blink_extra_per_blink,
            ),
            ("confidence.blink_extra_max", weights.blink_extra_max),
        ];
        for (name, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("reader.{name} must be a number >= 0, got {value}"));
            }
        }
        // Divisors.
        for (name, value) in [
            ("confidence.margin_full", weights.margin_full),
            ("confidence.snr_span_z", weights.snr_span_z),
            ("confidence.gaze_full_turn_deg", weights.gaze_full_turn_deg),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!(
                    "reader.{name} must be a positive number, got {value}"
                ));
            }
        }
        Ok(())
    }
}

/// How the reader's confidence in a label is made up. A movement label's confidence is
/// `match × (margin_base + margin_gain × margin) × (clarity_base + clarity_gain × clarity) ×
/// (snr_base + snr_gain × snr)`, each term in 0..1; a glance's and a blink cluster's have
/// their own, simpler forms. They rank readings — a clear, strong, unambiguous movement above
/// a faint one or a close call — which decides between two overlapping pulse readings and which
/// events a hypothesis considers (`min_event_confidence`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(default))]
pub struct ConfidenceConfig {
    /// Lead of the best template match over the runner-up at which the margin term is full:
    /// a label this far ahead of the next cue is no close call.
    pub margin_full: f32,
    /// A close call (no lead) keeps this share of the match ...
    pub margin_base: f32,
    /// ... and a clear lead adds this much.
    pub margin_gain: f32,
    /// A gate passed on its threshold (genuine vs polite, surprise vs flash, ...) keeps this
    /// share: on the threshold the other cue was nearly as likely ...
    pub clarity_base: f32,
    /// ... and a gate passed by a wide margin adds this much.
    pub clarity_gain: f32,
    /// Peak normalised deviation at which the signal-to-noise term starts: the noise gate's
    /// two spreads, below which nothing counts as a change.
    pub snr_from_z: f32,
    /// Spreads above `snr_from_z` at which the signal-to-noise term is full: well clear of
    /// the person's noise.
    pub snr_span_z: f32,
    /// A movement barely over the noise keeps this share ...
    pub snr_base: f32,
    /// ... and a strong one adds this much.
    pub snr_gain: f32,
    /// A glance's confidence at the noise gate: a look away is easy to see, but people look
    /// away to think, remember or plan a sentence ...
    pub gaze_base: f32,
    /// ... plus this much for a strong one (at most 0.9: never certain).
    pub gaze_snr_gain: f32,
    /// A glance's channels are shown as evidence when they moved by more than this many
    /// spreads (the noise gate).
    pub gaze_evidence_z: f32,
    /// Head turn, degrees, that counts as a full glance away (intensity 1), as a gaze change of
    /// 1 does.
    pub gaze_full_turn_deg: f32,
    /// A blink cluster's confidence when the person's own rate would predict as many blinks:
    /// the detector found the burst, the rate says nothing more ...
    pub blink_base: f32,
    /// ... plus this much as the count exceeds what their rate predicts ...
    pub blink_excess_gain: f32,
    /// ... plus `blink_extra_per_blink` for each blink beyond this many ...
    pub blink_extra_from: usize,
    /// ... (see `blink_extra_from`) ...
    pub blink_extra_per_blink: f32,
    /// ... up to this much in all.
    pub blink_extra_max: f32,
    /// Highest confidence of a blink cluster: blink rates also rise with dry eyes, screens,
    /// bright light and talking.
    pub blink_max: f32,
}

impl Default for ConfidenceConfig {
    fn default() -> Self {
        ConfidenceConfig {
            margin_full: 0.3,
            margin_base: 0.55,
            margin_gain: 0.45,
            clarity_base: 0.6,
            clarity_gain: 0.4,
            snr_from_z: 2.0,
            snr_span_z: 15.0,
            snr_base: 0.5,
            snr_gain: 0.5,
            gaze_base: 0.45,
            gaze_snr_gain: 0.45,
            gaze_evidence_z: 2.0,
            gaze_full_turn_deg: 30.0,
            blink_base: 0.35,
            blink_excess_gain: 0.4,
            blink_extra_from: 3,
            blink_extra_per_blink: 0.1,
            blink_extra_max: 0.2,
            blink_max: 0.95,
        }
    }
}

impl ConfidenceConfig {
    /// The signal-to-noise term of a peak normalised deviation, 0..1.
    pub(super) fn snr(&self, peak_z: f32) -> f32 {
        ((peak_z - self.snr_from_z) / self.snr_span_z).clamp(0.0, 1.0)
    }
}
