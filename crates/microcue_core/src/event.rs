//! Events: brief facial movements found by the spotter and labelled by the reader.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::cue::{CueId, Scale, Side, Valence};
use crate::signals::TrackId;

/// One spotted movement, labelled with a cue. One JSON Lines record of `microcue analyze`.
/// The format is documented in `docs/formats.md`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Event {
    /// Which face.
    pub track: TrackId,
    /// Start of the movement, seconds.
    pub onset_s: f64,
    /// Moment of largest change, seconds.
    pub apex_s: f64,
    /// End of the movement, seconds.
    pub offset_s: f64,
    /// `(offset_s - onset_s) * 1000`.
    pub duration_ms: f64,
    /// `micro` (<= 500 ms) or `macro`.
    pub scale: Scale,
    /// The lexicon cue read at the apex.
    pub cue: CueId,
    /// Side from the subject's view (`both` for symmetric cues).
    pub side: Side,
    /// Peak change over the person's baseline, 0..1 (blendshape units).
    pub intensity: f32,
    /// How sure the reader is of the label, 0..1. A hypothesis, never a verdict.
    pub confidence: f32,
    /// The cue's usual valence.
    pub valence: Valence,
    /// Channels that moved, strongest first, with their peak change over baseline.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub evidence: Vec<Evidence>,
}

/// One signal channel that supports an event.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Evidence {
    /// Channel name: a MediaPipe blendshape name, an OpenFace AU (`AU12`), or a derived
    /// signal (`region:mouth_corner_left`, `gaze:yaw`).
    pub channel: String,
    /// Peak change over the baseline, in the channel's units.
    pub delta: f32,
}

impl Event {
    /// Temporal intersection over union with another interval `[onset_s, offset_s]`.
    pub fn temporal_iou(&self, onset_s: f64, offset_s: f64) -> f64 {
        temporal_iou(self.onset_s, self.offset_s, onset_s, offset_s)
    }
}

/// Intersection over union of two time intervals; 0 when either is empty.
pub fn temporal_iou(a_start: f64, a_end: f64, b_start: f64, b_end: f64) -> f64 {
    let intersection = (a_end.min(b_end) - a_start.max(b_start)).max(0.0);
    let union = (a_end.max(b_end) - a_start.min(b_start)).max(0.0);
    if union <= 0.0 {
        0.0
    } else {
        intersection / union
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_and_disjoint_intervals() {
        assert_eq!(temporal_iou(1.0, 2.0, 1.0, 2.0), 1.0);
        assert_eq!(temporal_iou(1.0, 2.0, 3.0, 4.0), 0.0);
        assert!((temporal_iou(0.0, 2.0, 1.0, 3.0) - 1.0 / 3.0).abs() < 1e-12);
    }
}
