//! The reader: labels a spotted movement with a lexicon cue.
//!
//! **Labelling** ([`read_expression`]) happens at the apex of a segment. The reader turns the
//! channel deltas over the person's baseline into signature *features* (noise-gated, positive
//! changes only; a pulse's own regions are not gated), compares them with one template per cue
//! by cosine similarity, and keeps the best cue that passes its *gate*. Gates make the textbook
//! distinctions explicit:
//!
//! | pair | rule |
//! |---|---|
//! | genuine vs polite smile | eye squint (or cheek squint, or upward lower-lid region motion) rises by at least `duchenne_ratio` × the smile — MediaPipe's `cheekSquint` stays near 0 on real smiles, so `eyeSquint` is the Duchenne marker |
//! | unilateral lip corner vs smile | for a pulse that moved a corner: the larger one-corner whitened projection ≥ `unilateral_whitened_ratio` × the both-corners one (the likelier hypothesis under the person's co-motion); otherwise corner asymmetry ≥ `unilateral_asymmetry` (smile and dimple blendshapes plus region motion) |
//! | micro-surprise vs eyebrow flash | eye widening ≥ `surprise_eye_ratio` × the brow raise, or upper-lid lift ≥ `surprise_lid_ratio` × the brow lift in region motion |
//! | micro-anger vs micro-frown | lip press ≥ `anger_press_ratio` × the brow lowering (where region motion is measured, the press is the upper lip's downward motion: the press blendshapes also rise in speech and smiles) |
//!
//! Confidence grows with the template match, the margin over the runner-up, how clearly the
//! gate was passed, and the signal-to-noise ratio of the peak. Blink clusters and gaze aversions
//! come from their own detectors and are read by [`read_blink_cluster`] and [`read_gaze`].
//! Hypotheses over several cues are formed in [`crate::hypothesis`].

mod config;
mod gaze_blink;
mod signature;
#[cfg(test)]
mod tests;

pub use config::{ConfidenceConfig, ReaderConfig};
pub use gaze_blink::{BlinkClusterSummary, GazeApex, read_blink_cluster, read_gaze};

pub(crate) use signature::pulse_excluded_cues;
use signature::{DISPLACEMENT_GAIN, F, FEATURE_COUNT, Feature, SIDE_PAIRS, TEMPLATES, Template};
use signature::{features, is_displacement_index, noise_gate};

use crate::channels::{CHANNELS, CORNER_TWINS, Channel, ChannelRole, ChannelValues};
use crate::cue::{CueId, Side, Valence};
use crate::event::Evidence;

/// What the reader sees at the apex of an expression segment.
#[derive(Debug, Clone, Copy)]
pub struct ApexSnapshot<'a> {
    /// Channel values minus the baseline level at the apex.
    pub deltas: &'a ChannelValues,
    /// Baseline spread of each channel.
    pub spreads: &'a ChannelValues,
    /// Largest delta of each channel anywhere in the segment (region motion peaks during the
    /// movement, not at its apex).
    pub segment_max: &'a ChannelValues,
    /// Peak normalised deviation (z) of the segment.
    pub peak_z: f32,
    /// The eyes blinked during or just before the segment.
    pub blink_near: bool,
    /// The pulse channel that found the movement, when it is a brief movement's change (a pulse
    /// in region motion) rather than levels over the baseline (`None`: a segment). Which mouth
    /// corners moved is then read from region motion alone (the blendshapes still show a smile
    /// the person already wore), and the region motion of the channel's own group counts without
    /// the noise gate: the pulse already found it over the noise (on the whitened twin, often
    /// where each region alone stays under twice its spread).
    pub pulse: Option<Channel>,
}

/// A label for one movement.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The cue.
    pub cue: CueId,
    /// Side from the subject's view.
    pub side: Side,
    /// Peak change over the baseline, 0..1.
    pub intensity: f32,
    /// Confidence in the label, 0..1.
    pub confidence: f32,
    /// The cue's usual valence.
    pub valence: Valence,
    /// Strongest channels, strongest first.
    pub evidence: Vec<Evidence>,
}

/// Labels an expression segment from its apex. `None` when no supported, available cue matches
/// the movement well enough (it is then not reported).
pub fn read_expression(
    apex: &ApexSnapshot<'_>,
    config: &ReaderConfig,
    unavailable: &[CueId],
) -> Option<Reading> {
    let mut features = features(apex, config);
    let motion = apex.deltas[Channel::MotionBrowInnerUp.index()].is_finite();
    let norm = features.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm <= 0.0 {
        return None;
    }
    let clarity =
        |value: f32, threshold: f32| ((value - threshold).abs() / threshold.max(1e-3)).min(1.0);

    // Gates.
    // One-sided or two-sided, for a pulse: one corner's matched filter against both corners',
    // in the same noise units (the likelier hypothesis under the person's co-motion). The
    // corners' motion features then follow the hypothesis chosen, so that the templates are
    // matched on it: the other corner's motion during a one-sided pull, or the difference
    // between the corners of a smile, is the person's co-motion.
    let (left, right) = (
        F::MotionMouthCornerLeftPull as usize,
        F::MotionMouthCornerRightPull as usize,
    );
    let whitened_side = whitened_corners(apex, config, features[left] + features[right] > 0.0).map(
        |[white_left, white_right, white_both]| {
            let one = white_left.max(white_right);
            let ratio = if white_both > 0.0 {
                one / white_both
            } else {
                f32::INFINITY
            };
            let one_sided = ratio >= config.unilateral_whitened_ratio;
            let side = if white_left >= white_right {
                Side::Left
            } else {
                Side::Right
            };
            if !one_sided {
                let mean = 0.5 * (features[left] + features[right]);
                features[left] = mean;
                features[right] = mean;
            } else if side == Side::Left {
                features[right] = 0.0;
            } else {
                features[left] = 0.0;
            }
            (
                one_sided,
                side,
                clarity(ratio, config.unilateral_whitened_ratio),
            )
        },
    );
    let f = |feature: Feature| features[feature as usize];
    // (one-sided, side, how clearly: 0 = on the threshold, 1 = far from it)
    let (one_sided_smile, corner_side, side_clarity) = whitened_side.unwrap_or_else(|| {
        let (corner_left, corner_right) = if apex.pulse.is_some()
            && f(F::MotionMouthCornerLeftPull) + f(F::MotionMouthCornerRightPull) > 0.0
        {
            (
                f(F::MotionMouthCornerLeftPull),
                f(F::MotionMouthCornerRightPull),
            )
        } else {
            (
                f(F::MouthSmileLeft)
                    + 0.5 * f(F::MouthDimpleLeft)
                    + f(F::MotionMouthCornerLeftPull),
                f(F::MouthSmileRight)
                    + 0.5 * f(F::MouthDimpleRight)
                    + f(F::MotionMouthCornerRightPull),
            )
        };
        let corner_asymmetry = asymmetry(corner_left, corner_right).abs();
        (
            corner_asymmetry >= config.unilateral_asymmetry,
            if corner_left >= corner_right {
                Side::Left
            } else {
                Side::Right
            },
            clarity(corner_asymmetry, config.unilateral_asymmetry),
        )
    });
    let smile = 0.5 * (f(F::MouthSmileLeft) + f(F::MouthSmileRight))
        + 0.5 * (f(F::MotionMouthCornerLeftPull) + f(F::MotionMouthCornerRightPull));
    let squint = 0.5 * (f(F::EyeSquintLeft) + f(F::EyeSquintRight));
    let lids = if apex.blink_near {
        0.0
    } else {
        0.5 * (f(F::MotionEyeLeftUp) + f(F::MotionEyeRightUp))
    };
    let duchenne = ratio(squint.max(lid_raise(apex, config)).max(lids), smile);
    let raise = (f(F::BrowInnerUp) + f(F::BrowOuterUpLeft) + f(F::BrowOuterUpRight)) / 3.0
        + (f(F::MotionBrowInnerUp) + f(F::MotionBrowLeftUp) + f(F::MotionBrowRightUp)) / 3.0;
    let wide = 0.5 * (f(F::EyeWideLeft) + f(F::EyeWideRight));
    let widening = ratio(wide, raise);
    // The lids' lift against the brows' lift, both in region motion. The lids' value is taken
    // below the noise gate too: a lid moving by half the brows' small movement is still the
    // difference between the two cues, and the ratio, not the lid alone, decides.
    let lid_lift = if apex.blink_near {
        0.0
    } else {
        let raw = |channel: Channel| {
            let value = apex.deltas[channel.index()];
            if value.is_finite() { value } else { 0.0 }
        };
        ratio(
            0.5 * (raw(Channel::MotionLidLeftUp) + raw(Channel::MotionLidRightUp)).max(0.0),
            0.5 * (f(F::MotionBrowLeftUp) + f(F::MotionBrowRightUp)) / DISPLACEMENT_GAIN,
        )
    };
    // How far past its threshold the stronger of the two surprise markers is (1 = on it).
    let surprise_score =
        ratio(widening, config.surprise_eye_ratio).max(ratio(lid_lift, config.surprise_lid_ratio));
    let lowering = 0.5 * (f(F::BrowDownLeft) + f(F::BrowDownRight))
        + (f(F::MotionBrowInnerDown)
            + 0.5 * (f(F::MotionBrowLeftDown) + f(F::MotionBrowRightDown)))
            / 2.0;
    let press_level = (0.5 * (f(F::MouthPressLeft) + f(F::MouthPressRight)))
        .max(0.5 * (f(F::MouthRollLower) + f(F::MouthRollUpper)));
    // Where region motion is measured, pressed lips must also be seen moving: the press and roll
    // blendshapes also rise on every /p/, /b/, /m/ of speech and in smiles.
    let press = if motion {
        f(F::MotionLipsDown)
    } else {
        press_level
    };
    let pressing = ratio(press, lowering);

    // (gate passed, how clearly: 0 = on the threshold, 1 = far from it)
    let gate = |cue: CueId, side: Side| -> Option<f32> {
        match cue {
            CueId::UnilateralLipCorner => {
                (one_sided_smile && side == corner_side).then_some(side_clarity)
            }
            CueId::GenuineSmile | CueId::PoliteSmile => {
                let genuine = duchenne >= config.duchenne_ratio;
                let wanted = cue == CueId::GenuineSmile;
                (!one_sided_smile && genuine == wanted)
                    .then(|| clarity(duchenne, config.duchenne_ratio).min(side_clarity))
            }
            CueId::MicroSurprise | CueId::EyebrowFlash => {
                let surprise = surprise_score >= 1.0;
                (surprise == (cue == CueId::MicroSurprise)).then(|| clarity(surprise_score, 1.0))
            }
            CueId::MicroAnger | CueId::MicroFrown => {
                let anger = pressing >= config.anger_press_ratio;
                (anger == (cue == CueId::MicroAnger))
                    .then(|| clarity(pressing, config.anger_press_ratio))
            }
            CueId::PupilDilation => None,
            _ => Some(1.0),
        }
    };

    let mut best: Option<(&Template, f32, f32)> = None;
    let mut runner_up = 0.0f32;
    for template in TEMPLATES.iter() {
        if template.weights.is_empty()
            || !template.cue.is_supported()
            || unavailable.contains(&template.cue)
        {
            continue;
        }
        let Some(clarity) = gate(template.cue, template.side) else {
            continue;
        };
        let cosine = cosine(&features, template.weights, motion);
        match best {
            Some((_, best_cosine, _)) if cosine <= best_cosine => runner_up = runner_up.max(cosine),
            _ => {
                if let Some((_, previous, _)) = best {
                    runner_up = runner_up.max(previous);
                }
                best = Some((template, cosine, clarity));
            }
        }
    }
    let (template, cosine, clarity) = best?;
    let min_match = if apex.pulse.is_some() && apex.peak_z >= config.strong_pulse_z {
        config.strong_pulse_match
    } else {
        config.min_signature_match
    };
    if cosine < min_match {
        return None;
    }

    let side = if template.cue == CueId::UnilateralLipCorner {
        template.side
    } else {
        template_side(&features, template.weights, config.one_sided_asymmetry)
    };
    let intensity = template
        .weights
        .iter()
        .map(|&(feature, _)| features[feature as usize])
        .fold(0.0f32, f32::max)
        .clamp(0.0, 1.0);
    let weights = &config.confidence;
    let margin = ((cosine - runner_up) / weights.margin_full).clamp(0.0, 1.0);
    let snr = weights.snr(apex.peak_z);
    let confidence = (cosine
        * (weights.margin_base + weights.margin_gain * margin)
        * (weights.clarity_base + weights.clarity_gain * clarity)
        * (weights.snr_base + weights.snr_gain * snr))
        .clamp(0.0, 1.0);

    Some(Reading {
        cue: template.cue,
        side,
        intensity,
        confidence,
        valence: template.cue.valence(),
        evidence: expression_evidence(apex, config),
    })
}

/// Upward motion of the eye regions during the segment, in eye-squint units: the Duchenne
/// marker (AU6 lifts the cheeks and lower lids) when the source measures region motion. Not
/// used when the eyes blinked during or just before the segment (reopening lids move up too).
fn lid_raise(apex: &ApexSnapshot<'_>, config: &ReaderConfig) -> f32 {
    if apex.blink_near {
        return 0.0;
    }
    let multiple = if apex.pulse.is_some() {
        config.pulse_lid_raise_multiple
    } else {
        config.noise_multiple
    };
    let up = |channel: Channel| {
        let value = apex.segment_max[channel.index()];
        if value.is_finite() && value > multiple * apex.spreads[channel.index()] {
            value
        } else {
            0.0
        }
    };
    0.5 * (up(Channel::RegionEyeLeftUp) + up(Channel::RegionEyeRightUp))
        * config.duchenne_motion_gain
}

/// How well the features match a template: the best cosine of three views — all features,
/// blendshapes only, region displacement only (when the source measures it: `motion`). A
/// movement that shows in only one family (a subtle one the blendshapes miss, or a source
/// without region motion) still matches its template.
fn cosine(features: &[f32; FEATURE_COUNT], weights: &[(Feature, f32)], motion: bool) -> f32 {
    let view = |keep: &dyn Fn(usize) -> bool| {
        let norm = features
            .iter()
            .enumerate()
            .filter(|&(index, _)| keep(index))
            .map(|(_, v)| v * v)
            .sum::<f32>()
            .sqrt();
        let dot: f32 = weights
            .iter()
            .filter(|&&(feature, _)| keep(feature as usize))
            .map(|&(feature, weight)| features[feature as usize] * weight)
            .sum();
        let weight_norm = weights
            .iter()
            .filter(|&&(feature, _)| keep(feature as usize))
            .map(|&(_, weight)| weight * weight)
            .sum::<f32>()
            .sqrt();
        if weight_norm <= 0.0 || norm <= 0.0 {
            0.0
        } else {
            dot / (norm * weight_norm)
        }
    };
    let blendshapes = view(&|index| !is_displacement_index(index));
    if !motion {
        return blendshapes;
    }
    blendshapes
        .max(view(&|_| true))
        .max(view(&is_displacement_index))
}

/// `numerator / denominator`, 0 when the denominator is 0.
fn ratio(numerator: f32, denominator: f32) -> f32 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

/// For a pulse in which a mouth corner moved (`moved`: a corner's motion feature is positive),
/// the whitened projections of the left corner's pull, the right corner's and both corners'
/// (`[left, right, both]`, each in units of its own noise under the person's co-motion); `None`
/// otherwise, when the test is off, or when they are not measured.
fn whitened_corners(
    apex: &ApexSnapshot<'_>,
    config: &ReaderConfig,
    moved: bool,
) -> Option<[f32; 3]> {
    if apex.pulse.is_none() || config.unilateral_whitened_ratio <= 0.0 {
        return None;
    }
    let values = CORNER_TWINS.map(|channel| apex.deltas[channel.index()]);
    (moved && values.iter().all(|v| v.is_finite()) && values[0].max(values[1]) > 0.0)
        .then_some(values)
}

/// Signed asymmetry in [-1, 1]: +1 all left, −1 all right, 0 symmetric or no movement.
fn asymmetry(left: f32, right: f32) -> f32 {
    let larger = left.max(right);
    if larger <= 0.0 {
        0.0
    } else {
        (left - right) / larger
    }
}

/// Side of a bilateral cue: one side when its paired features are clearly one-sided.
fn template_side(
    features: &[f32; FEATURE_COUNT],
    weights: &[(Feature, f32)],
    threshold: f32,
) -> Side {
    let (mut left, mut right) = (0.0f32, 0.0f32);
    for &(feature, weight) in weights {
        for &(l, r) in SIDE_PAIRS.iter() {
            if feature == l {
                left += weight * features[l as usize];
                right += weight * features[r as usize];
            }
        }
    }
    let asym = asymmetry(left, right);
    if asym >= threshold {
        Side::Left
    } else if asym <= -threshold {
        Side::Right
    } else {
        Side::Both
    }
}

/// Strongest facial channels (apex deltas, gated as the features are), then region motion
/// channels (segment peaks).
fn expression_evidence(apex: &ApexSnapshot<'_>, config: &ReaderConfig) -> Vec<Evidence> {
    let mut ranked: Vec<(usize, f32)> = Vec::with_capacity(CHANNELS.len());
    for (index, spec) in CHANNELS.iter().enumerate() {
        let value = match spec.role {
            ChannelRole::Trigger | ChannelRole::Support => apex.deltas[index],
            _ => continue,
        };
        if value.is_finite() && value > noise_gate(apex, config, index) {
            ranked.push((index, value));
        }
    }
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(config.max_evidence);
    let mut motion: Vec<(usize, f32)> = CHANNELS
        .iter()
        .enumerate()
        .filter(|(_, spec)| spec.role == ChannelRole::RegionEvidence)
        .map(|(index, _)| (index, apex.segment_max[index]))
        .filter(|&(index, value)| {
            value.is_finite() && value > config.noise_multiple * apex.spreads[index]
        })
        .collect();
    motion.sort_by(|a, b| b.1.total_cmp(&a.1));
    motion.truncate(2);
    ranked
        .into_iter()
        .chain(motion)
        .map(|(index, delta)| Evidence {
            channel: CHANNELS[index].name.to_string(),
            delta,
        })
        .collect()
}
