//! Signature features of a movement and the cue templates they are matched with.

use super::{ApexSnapshot, ReaderConfig};
use crate::channels::{CHANNELS, Channel, ChannelSource, ChannelValues};
use crate::cue::{CueId, Side};

macro_rules! features {
    ($($(#[$doc:meta])* $variant:ident,)*) => {
        /// Signature features, indices into the reader's feature vector; each is named after the
        /// channel it reads.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum Feature { $($(#[$doc])* $variant,)* }

        /// Number of signature features.
        pub(super) const FEATURE_COUNT: usize = [$(Feature::$variant,)*].len();
    };
}

features! {
    BrowDownLeft,
    BrowDownRight,
    BrowInnerUp,
    BrowOuterUpLeft,
    BrowOuterUpRight,
    /// `eyeSquintLeft` less the blink's share, or `cheekSquintLeft` when larger.
    EyeSquintLeft,
    /// `eyeSquintRight` less the blink's share, or `cheekSquintRight` when larger.
    EyeSquintRight,
    EyeWideLeft,
    EyeWideRight,
    JawOpen,
    MouthSmileLeft,
    MouthSmileRight,
    MouthDimpleLeft,
    MouthDimpleRight,
    MouthPressLeft,
    MouthPressRight,
    MouthRollLower,
    MouthRollUpper,
    MouthUpperUpLeft,
    MouthUpperUpRight,
    NoseSneerLeft,
    NoseSneerRight,
    /// From here on, region motion (inter-ocular distances, times [`DISPLACEMENT_GAIN`]).
    MotionBrowLeftUp,
    MotionBrowRightUp,
    MotionBrowInnerUp,
    MotionBrowLeftDown,
    MotionBrowRightDown,
    MotionBrowInnerDown,
    MotionEyeLeftUp,
    MotionEyeRightUp,
    MotionNoseLeftUp,
    MotionNoseRightUp,
    /// `motion:mouth_corner_left_up` plus `motion:mouth_corner_left_out`.
    MotionMouthCornerLeftPull,
    /// `motion:mouth_corner_right_up` plus `motion:mouth_corner_right_out`.
    MotionMouthCornerRightPull,
    MotionLipsDown,
    MotionLipsUp,
    MotionLidLeftUp,
    MotionLidRightUp,
}

/// Whether the feature at this index comes from region displacement (not measured by every
/// source).
pub(super) fn is_displacement_index(index: usize) -> bool {
    index >= Feature::MotionBrowLeftUp as usize
}

/// Region displacements (inter-ocular distances) are multiplied by this to compare with
/// blendshape deltas in one signature: a 3 % IOD movement weighs like a 0.24 blendshape rise.
pub(super) const DISPLACEMENT_GAIN: f32 = 8.0;

/// Features that have a mirror on the other side: (left, right).
pub(super) const SIDE_PAIRS: [(Feature, Feature); 15] = [
    (Feature::MotionBrowLeftUp, Feature::MotionBrowRightUp),
    (Feature::MotionLidLeftUp, Feature::MotionLidRightUp),
    (Feature::MotionBrowLeftDown, Feature::MotionBrowRightDown),
    (Feature::MotionEyeLeftUp, Feature::MotionEyeRightUp),
    (Feature::MotionNoseLeftUp, Feature::MotionNoseRightUp),
    (
        Feature::MotionMouthCornerLeftPull,
        Feature::MotionMouthCornerRightPull,
    ),
    (Feature::BrowDownLeft, Feature::BrowDownRight),
    (Feature::BrowOuterUpLeft, Feature::BrowOuterUpRight),
    (Feature::EyeSquintLeft, Feature::EyeSquintRight),
    (Feature::EyeWideLeft, Feature::EyeWideRight),
    (Feature::MouthSmileLeft, Feature::MouthSmileRight),
    (Feature::MouthDimpleLeft, Feature::MouthDimpleRight),
    (Feature::MouthPressLeft, Feature::MouthPressRight),
    (Feature::MouthUpperUpLeft, Feature::MouthUpperUpRight),
    (Feature::NoseSneerLeft, Feature::NoseSneerRight),
];

/// One cue's signature: features and their relative weights (blendshape units).
pub(super) struct Template {
    pub(super) cue: CueId,
    pub(super) side: Side,
    pub(super) weights: &'static [(Feature, f32)],
}

pub(super) use Feature as F;

/// Cue templates, from the lexicon's MediaPipe signatures (see DESIGN.md).
pub(super) const TEMPLATES: [Template; 11] = [
    Template {
        cue: CueId::GenuineSmile,
        side: Side::Both,
        weights: &[
            (F::MouthSmileLeft, 1.0),
            (F::MouthSmileRight, 1.0),
            (F::EyeSquintLeft, 0.5),
            (F::EyeSquintRight, 0.5),
            (F::MotionMouthCornerLeftPull, 1.0),
            (F::MotionMouthCornerRightPull, 1.0),
            (F::MotionEyeLeftUp, 0.5),
            (F::MotionEyeRightUp, 0.5),
        ],
    },
    Template {
        cue: CueId::PoliteSmile,
        side: Side::Both,
        weights: &[
            (F::MouthSmileLeft, 1.0),
            (F::MouthSmileRight, 1.0),
            (F::MotionMouthCornerLeftPull, 1.0),
            (F::MotionMouthCornerRightPull, 1.0),
        ],
    },
    Template {
        cue: CueId::UnilateralLipCorner,
        side: Side::Left,
        weights: &[
            (F::MouthSmileLeft, 1.0),
            (F::MouthDimpleLeft, 0.5),
            (F::MotionMouthCornerLeftPull, 1.0),
        ],
    },
    Template {
        cue: CueId::UnilateralLipCorner,
        side: Side::Right,
        weights: &[
            (F::MouthSmileRight, 1.0),
            (F::MouthDimpleRight, 0.5),
            (F::MotionMouthCornerRightPull, 1.0),
        ],
    },
    Template {
        cue: CueId::EyebrowFlash,
        side: Side::Both,
        weights: &[
            (F::BrowInnerUp, 1.0),
            (F::BrowOuterUpLeft, 0.8),
            (F::BrowOuterUpRight, 0.8),
            (F::MotionBrowInnerUp, 1.0),
            (F::MotionBrowLeftUp, 0.8),
            (F::MotionBrowRightUp, 0.8),
        ],
    },
    Template {
        cue: CueId::MicroSurprise,
        side: Side::Both,
        weights: &[
            (F::BrowInnerUp, 1.0),
            (F::BrowOuterUpLeft, 0.8),
            (F::BrowOuterUpRight, 0.8),
            (F::EyeWideLeft, 0.8),
            (F::EyeWideRight, 0.8),
            (F::JawOpen, 0.3),
            (F::MotionBrowInnerUp, 1.0),
            (F::MotionBrowLeftUp, 0.8),
            (F::MotionBrowRightUp, 0.8),
            (F::MotionLidLeftUp, 0.5),
            (F::MotionLidRightUp, 0.5),
        ],
    },
    Template {
        cue: CueId::MicroFrown,
        side: Side::Both,
        weights: &[
            (F::BrowDownLeft, 1.0),
            (F::BrowDownRight, 1.0),
            (F::MotionBrowInnerDown, 1.0),
            (F::MotionBrowLeftDown, 0.5),
            (F::MotionBrowRightDown, 0.5),
        ],
    },
    Template {
        cue: CueId::MicroAnger,
        side: Side::Both,
        weights: &[
            (F::BrowDownLeft, 1.0),
            (F::BrowDownRight, 1.0),
            (F::EyeSquintLeft, 0.5),
            (F::EyeSquintRight, 0.5),
            (F::MouthPressLeft, 0.7),
            (F::MouthPressRight, 0.7),
            (F::MotionBrowInnerDown, 1.0),
            (F::MotionBrowLeftDown, 0.5),
            (F::MotionBrowRightDown, 0.5),
            (F::MotionLipsDown, 0.7),
        ],
    },
    Template {
        cue: CueId::LipCompression,
        side: Side::Both,
        weights: &[
            (F::MouthPressLeft, 1.0),
            (F::MouthPressRight, 1.0),
            (F::MouthRollLower, 0.5),
            (F::MouthRollUpper, 0.4),
            (F::MotionLipsDown, 1.4),
        ],
    },
    Template {
        cue: CueId::NoseWrinkle,
        side: Side::Both,
        weights: &[
            (F::NoseSneerLeft, 1.0),
            (F::NoseSneerRight, 1.0),
            (F::MouthUpperUpLeft, 0.6),
            (F::MouthUpperUpRight, 0.6),
            (F::MotionNoseLeftUp, 1.0),
            (F::MotionNoseRightUp, 1.0),
            (F::MotionLipsUp, 0.6),
        ],
    },
    // Pupil dilation has no template: it is never read from ordinary video.
    Template {
        cue: CueId::PupilDilation,
        side: Side::Both,
        weights: &[],
    },
];

/// The noise gate of a channel's apex delta: `noise_multiple` spreads; for a pulse, none for
/// the region motion the pulse itself measured (the pulse already found it over the noise) and
/// `pulse_noise_multiple` spreads for every other channel.
pub(super) fn noise_gate(apex: &ApexSnapshot<'_>, config: &ReaderConfig, index: usize) -> f32 {
    let Some(pulse) = apex.pulse else {
        return config.noise_multiple * apex.spreads[index];
    };
    match CHANNELS[index].source {
        ChannelSource::FaceMotion(region, direction) if pulse.measures(region, direction) => 0.0,
        _ => config.pulse_noise_multiple * apex.spreads[index],
    }
}

/// Signature features from the apex deltas: positive changes above the noise, 0 otherwise.
pub(super) fn features(apex: &ApexSnapshot<'_>, config: &ReaderConfig) -> [f32; FEATURE_COUNT] {
    let gated = |values: &ChannelValues, channel: Channel| {
        let value = values[channel.index()];
        if value.is_finite() && value > noise_gate(apex, config, channel.index()) {
            value
        } else {
            0.0
        }
    };
    let d = |channel: Channel| gated(apex.deltas, channel);
    // Closing lids raise MediaPipe's eyeSquint too: remove the blink's share.
    let squint = |eye: Channel, cheek: Channel, blink: Channel| {
        let blink = apex.deltas[blink.index()];
        let blink = if blink.is_finite() {
            blink.max(0.0)
        } else {
            0.0
        };
        (d(eye) - config.blink_squint_coupling * blink)
            .max(d(cheek))
            .max(0.0)
    };
    let mut features = [0.0f32; FEATURE_COUNT];
    let mut set = |feature: Feature, value: f32| features[feature as usize] = value;
    set(F::BrowDownLeft, d(Channel::BrowDownLeft));
    set(F::BrowDownRight, d(Channel::BrowDownRight));
    set(F::BrowInnerUp, d(Channel::BrowInnerUp));
    set(F::BrowOuterUpLeft, d(Channel::BrowOuterUpLeft));
    set(F::BrowOuterUpRight, d(Channel::BrowOuterUpRight));
    set(
        F::EyeSquintLeft,
        squint(
            Channel::EyeSquintLeft,
            Channel::CheekSquintLeft,
            Channel::EyeBlinkLeft,
        ),
    );
    set(
        F::EyeSquintRight,
        squint(
            Channel::EyeSquintRight,
            Channel::CheekSquintRight,
            Channel::EyeBlinkRight,
        ),
    );
    set(F::EyeWideLeft, d(Channel::EyeWideLeft));
    set(F::EyeWideRight, d(Channel::EyeWideRight));
    set(F::JawOpen, d(Channel::JawOpen));
    set(F::MouthSmileLeft, d(Channel::MouthSmileLeft));
    set(F::MouthSmileRight, d(Channel::MouthSmileRight));
    set(F::MouthDimpleLeft, d(Channel::MouthDimpleLeft));
    set(F::MouthDimpleRight, d(Channel::MouthDimpleRight));
    set(F::MouthPressLeft, d(Channel::MouthPressLeft));
    set(F::MouthPressRight, d(Channel::MouthPressRight));
    set(F::MouthRollLower, d(Channel::MouthRollLower));
    set(F::MouthRollUpper, d(Channel::MouthRollUpper));
    set(F::MouthUpperUpLeft, d(Channel::MouthUpperUpLeft));
    set(F::MouthUpperUpRight, d(Channel::MouthUpperUpRight));
    set(F::NoseSneerLeft, d(Channel::NoseSneerLeft));
    set(F::NoseSneerRight, d(Channel::NoseSneerRight));
    let m = |channel: Channel| DISPLACEMENT_GAIN * d(channel);
    set(F::MotionBrowLeftUp, m(Channel::MotionBrowLeftUp));
    set(F::MotionBrowRightUp, m(Channel::MotionBrowRightUp));
    set(F::MotionBrowInnerUp, m(Channel::MotionBrowInnerUp));
    set(F::MotionBrowLeftDown, m(Channel::MotionBrowLeftDown));
    set(F::MotionBrowRightDown, m(Channel::MotionBrowRightDown));
    set(F::MotionBrowInnerDown, m(Channel::MotionBrowInnerDown));
    set(F::MotionEyeLeftUp, m(Channel::MotionEyeLeftUp));
    set(F::MotionEyeRightUp, m(Channel::MotionEyeRightUp));
    set(F::MotionNoseLeftUp, m(Channel::MotionNoseLeftUp));
    set(F::MotionNoseRightUp, m(Channel::MotionNoseRightUp));
    set(
        F::MotionMouthCornerLeftPull,
        m(Channel::MotionMouthCornerLeftUp) + m(Channel::MotionMouthCornerLeftOut),
    );
    set(
        F::MotionMouthCornerRightPull,
        m(Channel::MotionMouthCornerRightUp) + m(Channel::MotionMouthCornerRightOut),
    );
    set(F::MotionLipsDown, m(Channel::MotionLipsDown));
    set(F::MotionLipsUp, m(Channel::MotionLipsUp));
    if !apex.blink_near {
        // Closing and reopening lids move the lid margin far more than AU5 does.
        set(F::MotionLidLeftUp, m(Channel::MotionLidLeftUp));
        set(F::MotionLidRightUp, m(Channel::MotionLidRightUp));
    }
    features
}

/// Cues a pulse channel cannot show (the reader chooses among the others).
pub(crate) fn pulse_excluded_cues(channel: Channel) -> &'static [CueId] {
    use CueId as C;
    match channel {
        Channel::MotionBrowsUp => &[
            C::GenuineSmile,
            C::PoliteSmile,
            C::LipCompression,
            C::UnilateralLipCorner,
            C::NoseWrinkle,
            C::MicroFrown,
            C::MicroAnger,
        ],
        Channel::MotionInnerBrowsDown => &[
            C::GenuineSmile,
            C::PoliteSmile,
            C::LipCompression,
            C::UnilateralLipCorner,
            C::NoseWrinkle,
            C::EyebrowFlash,
            C::MicroSurprise,
        ],
        Channel::MotionNoseUp | Channel::MotionLipsUp => &[
            C::GenuineSmile,
            C::PoliteSmile,
            C::LipCompression,
            C::UnilateralLipCorner,
            C::EyebrowFlash,
            C::MicroSurprise,
            C::MicroFrown,
            C::MicroAnger,
        ],
        Channel::MotionMouthCornersPull
        | Channel::MotionMouthCornerLeftPull
        | Channel::MotionMouthCornerRightPull => &[
            C::LipCompression,
            C::NoseWrinkle,
            C::EyebrowFlash,
            C::MicroSurprise,
            C::MicroFrown,
            C::MicroAnger,
        ],
        Channel::MotionLipsDown | Channel::MotionLipsClose => &[
            C::GenuineSmile,
            C::PoliteSmile,
            C::UnilateralLipCorner,
            C::NoseWrinkle,
            C::EyebrowFlash,
            C::MicroSurprise,
            C::MicroFrown,
        ],
        _ => &[],
    }
}
