//! Readings of the gaze-aversion and blink-cluster detectors, which find their own cue.

use super::{ReaderConfig, Reading};
use crate::channels::Channel;
use crate::cue::{CueId, Side};
use crate::event::Evidence;

/// What the gaze detector saw at the apex of a glance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GazeApex {
    /// Eye gaze change towards the subject's left (+), blendshape units.
    pub horizontal: f32,
    /// Eye gaze change up (+).
    pub vertical: f32,
    /// Head yaw change, degrees (+: towards the subject's left).
    pub yaw_deg: f32,
    /// Head pitch change, degrees (+: up).
    pub pitch_deg: f32,
    /// Spreads of the same four channels.
    pub spreads: [f32; 4],
    /// Peak normalised deviation.
    pub peak_z: f32,
}

/// Reads a gaze aversion: side from the direction of the glance (horizontal glances are
/// left/right from the subject's view, vertical ones `both`).
pub fn read_gaze(apex: &GazeApex, config: &ReaderConfig) -> Reading {
    let weights = &config.confidence;
    let z = |value: f32, spread: f32| value / spread.max(1e-6);
    let horizontal = z(apex.horizontal, apex.spreads[0]) + z(apex.yaw_deg, apex.spreads[2]);
    let vertical = z(apex.vertical, apex.spreads[1]) + z(apex.pitch_deg, apex.spreads[3]);
    let side = if horizontal.abs() >= vertical.abs() {
        if horizontal > 0.0 {
            Side::Left
        } else {
            Side::Right
        }
    } else {
        Side::Both
    };
    let intensity = apex
        .horizontal
        .abs()
        .max(apex.vertical.abs())
        .max(apex.yaw_deg.abs() / weights.gaze_full_turn_deg)
        .max(apex.pitch_deg.abs() / weights.gaze_full_turn_deg)
        .clamp(0.0, 1.0);
    let snr = weights.snr(apex.peak_z);
    // Strongest first, in units of each channel's own spread (degrees and gaze units differ).
    let mut ranked: Vec<(f32, Channel, f32)> = [
        (Channel::GazeHorizontal, apex.horizontal),
        (Channel::GazeVertical, apex.vertical),
        (Channel::HeadYawDeg, apex.yaw_deg),
        (Channel::HeadPitchDeg, apex.pitch_deg),
    ]
    .into_iter()
    .zip(apex.spreads)
    .filter(|&((_, delta), spread)| delta.abs() > weights.gaze_evidence_z * spread)
    .map(|((channel, delta), spread)| (z(delta, spread).abs(), channel, delta))
    .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let evidence = ranked
        .into_iter()
        .map(|(_, channel, delta)| Evidence {
            channel: channel.name().to_string(),
            delta,
        })
        .collect();
    Reading {
        cue: CueId::GazeAversion,
        side,
        intensity,
        confidence: (weights.gaze_base + weights.gaze_snr_gain * snr).clamp(0.0, 1.0),
        valence: CueId::GazeAversion.valence(),
        evidence,
    }
}

/// What the blink detector saw in a cluster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlinkClusterSummary {
    /// Blinks in the cluster.
    pub blinks: usize,
    /// Blinks the person's own rate predicts for the same time span.
    pub expected_blinks: f32,
    /// Mean eyelid-closure change over baseline at the blink peaks.
    pub mean_peak_delta: f32,
}

/// Reads a blink cluster: more blinks and a lower expected count give more confidence.
pub fn read_blink_cluster(summary: &BlinkClusterSummary, config: &ReaderConfig) -> Reading {
    let weights = &config.confidence;
    let excess = 1.0 - (summary.expected_blinks / summary.blinks.max(1) as f32).clamp(0.0, 1.0);
    let extra = (summary.blinks.saturating_sub(weights.blink_extra_from) as f32
        * weights.blink_extra_per_blink)
        .min(weights.blink_extra_max);
    Reading {
        cue: CueId::BlinkCluster,
        side: Side::Both,
        intensity: summary.mean_peak_delta.clamp(0.0, 1.0),
        confidence: (weights.blink_base + weights.blink_excess_gain * excess + extra)
            .clamp(0.0, weights.blink_max),
        valence: CueId::BlinkCluster.valence(),
        evidence: vec![
            Evidence {
                channel: Channel::EyeBlinkLeft.name().to_string(),
                delta: summary.mean_peak_delta,
            },
            Evidence {
                channel: Channel::EyeBlinkRight.name().to_string(),
                delta: summary.mean_peak_delta,
            },
        ],
    }
}
