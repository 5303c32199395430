//! Signature features of a movement and the cue templates they are matched with.

use super::{ApexSnapshot, ReaderConfig};
use crate::channels::{CHANNELS, Channel, ChannelSource, ChannelValues};
use crate::cue::{CueId, Side};

/// Signature features, indices into the reader's feature vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Feature {
    BrowDownLeft,
    BrowDownRight,
    BrowInnerUp,
    BrowOuterUpLeft,
    BrowOuterUpRight,
    SquintLeft,
    SquintRight,
    EyeWideLeft,
    EyeWideRight,
    JawOpen,
    SmileLeft,
    SmileRight,
    DimpleLeft,
    DimpleRight,
    PressLeft,
    PressRight,
    RollLower,
    RollUpper,
    UpperUpLeft,
    UpperUpRight,
    SneerLeft,
    SneerRight,
    // Region displacement against the still anchor frame (see `DISPLACEMENT_GAIN`).
    MoveBrowUpLeft,
    MoveBrowUpRight,
    MoveBrowInnerUp,
    MoveBrowDownLeft,
    MoveBrowDownRight,
    MoveBrowInnerDown,
    MoveLidUpLeft,
    MoveLidUpRight,
    MoveNoseUpLeft,
    MoveNoseUpRight,
    MoveCornerLeft,
    MoveCornerRight,
    MoveLipsDown,
    MoveLipsUp,
    MoveUpperLidLeft,
    MoveUpperLidRight,
}

pub(super) const FEATURE_COUNT: usize = 38;

/// Whether the feature at this index comes from region displacement (not measured by every
/// source).
pub(super) fn is_displacement_index(index: usize) -> bool {
    index >= Feature::MoveBrowUpLeft as usize
}

/// Region displacements (inter-ocular distances) are multiplied by this to compare with
/// blendshape deltas in one signature: a 3 % IOD movement weighs like a 0.24 blendshape rise.
pub(super) const DISPLACEMENT_GAIN: f32 = 8.0;

/// Features that have a mirror on the other side: (left, right).
pub(super) const SIDE_PAIRS: [(Feature, Feature); 15] = [
    (Feature::MoveBrowUpLeft, Feature::MoveBrowUpRight),
    (Feature::MoveUpperLidLeft, Feature::MoveUpperLidRight),
    (Feature::MoveBrowDownLeft, Feature::MoveBrowDownRight),
    (Feature::MoveLidUpLeft, Feature::MoveLidUpRight),
    (Feature::MoveNoseUpLeft, Feature::MoveNoseUpRight),
    (Feature::MoveCornerLeft, Feature::MoveCornerRight),
    (Feature::BrowDownLeft, Feature::BrowDownRight),
    (Feature::BrowOuterUpLeft, Feature::BrowOuterUpRight),
    (Feature::SquintLeft, Feature::SquintRight),
    (Feature::EyeWideLeft, Feature::EyeWideRight),
    (Feature::SmileLeft, Feature::SmileRight),
    (Feature::DimpleLeft, Feature::DimpleRight),
    (Feature::PressLeft, Feature::PressRight),
    (Feature::UpperUpLeft, Feature::UpperUpRight),
    (Feature::SneerLeft, Feature::SneerRight),
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
            (F::SmileLeft, 1.0),
            (F::SmileRight, 1.0),
            (F::SquintLeft, 0.5),
            (F::SquintRight, 0.5),
            (F::MoveCornerLeft, 1.0),
            (F::MoveCornerRight, 1.0),
            (F::MoveLidUpLeft, 0.5),
            (F::MoveLidUpRight, 0.5),
        ],
    },
    Template {
        cue: CueId::PoliteSmile,
        side: Side::Both,
        weights: &[
            (F::SmileLeft, 1.0),
            (F::SmileRight, 1.0),
            (F::MoveCornerLeft, 1.0),
            (F::MoveCornerRight, 1.0),
        ],
    },
    Template {
        cue: CueId::UnilateralLipCorner,
        side: Side::Left,
        weights: &[
            (F::SmileLeft, 1.0),
            (F::DimpleLeft, 0.5),
            (F::MoveCornerLeft, 1.0),
        ],
    },
    Template {
        cue: CueId::UnilateralLipCorner,
        side: Side::Right,
        weights: &[
            (F::SmileRight, 1.0),
            (F::DimpleRight, 0.5),
            (F::MoveCornerRight, 1.0),
        ],
    },
    Template {
        cue: CueId::EyebrowFlash,
        side: Side::Both,
        weights: &[
            (F::BrowInnerUp, 1.0),
            (F::BrowOuterUpLeft, 0.8),
            (F::BrowOuterUpRight, 0.8),
            (F::MoveBrowInnerUp, 1.0),
            (F::MoveBrowUpLeft, 0.8),
            (F::MoveBrowUpRight, 0.8),
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
            (F::MoveBrowInnerUp, 1.0),
            (F::MoveBrowUpLeft, 0.8),
            (F::MoveBrowUpRight, 0.8),
            (F::MoveUpperLidLeft, 0.5),
            (F::MoveUpperLidRight, 0.5),
        ],
    },
    Template {
        cue: CueId::MicroFrown,
        side: Side::Both,
        weights: &[
            (F::BrowDownLeft, 1.0),
            (F::BrowDownRight, 1.0),
            (F::MoveBrowInnerDown, 1.0),
            (F::MoveBrowDownLeft, 0.5),
            (F::MoveBrowDownRight, 0.5),
        ],
    },
    Template {
        cue: CueId::MicroAnger,
        side: Side::Both,
        weights: &[
            (F::BrowDownLeft, 1.0),
            (F::BrowDownRight, 1.0),
            (F::SquintLeft, 0.5),
            (F::SquintRight, 0.5),
            (F::PressLeft, 0.7),
            (F::PressRight, 0.7),
            (F::MoveBrowInnerDown, 1.0),
            (F::MoveBrowDownLeft, 0.5),
            (F::MoveBrowDownRight, 0.5),
            (F::MoveLipsDown, 0.7),
        ],
    },
    Template {
        cue: CueId::LipCompression,
        side: Side::Both,
        weights: &[
            (F::PressLeft, 1.0),
            (F::PressRight, 1.0),
            (F::RollLower, 0.5),
            (F::RollUpper, 0.4),
            (F::MoveLipsDown, 1.4),
        ],
    },
    Template {
        cue: CueId::NoseWrinkle,
        side: Side::Both,
        weights: &[
            (F::SneerLeft, 1.0),
            (F::SneerRight, 1.0),
            (F::UpperUpLeft, 0.6),
            (F::UpperUpRight, 0.6),
            (F::MoveNoseUpLeft, 1.0),
            (F::MoveNoseUpRight, 1.0),
            (F::MoveLipsUp, 0.6),
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
        F::SquintLeft,
        squint(
            Channel::EyeSquintLeft,
            Channel::CheekSquintLeft,
            Channel::EyeBlinkLeft,
        ),
    );
    set(
        F::SquintRight,
        squint(
            Channel::EyeSquintRight,
            Channel::CheekSquintRight,
            Channel::EyeBlinkRight,
        ),
    );
    set(F::EyeWideLeft, d(Channel::EyeWideLeft));
    set(F::EyeWideRight, d(Channel::EyeWideRight));
    set(F::JawOpen, d(Channel::JawOpen));
    set(F::SmileLeft, d(Channel::MouthSmileLeft));
    set(F::SmileRight, d(Channel::MouthSmileRight));
    set(F::DimpleLeft, d(Channel::MouthDimpleLeft));
    set(F::DimpleRight, d(Channel::MouthDimpleRight));
    set(F::PressLeft, d(Channel::MouthPressLeft));
    set(F::PressRight, d(Channel::MouthPressRight));
    set(F::RollLower, d(Channel::MouthRollLower));
    set(F::RollUpper, d(Channel::MouthRollUpper));
    set(F::UpperUpLeft, d(Channel::MouthUpperUpLeft));
    set(F::UpperUpRight, d(Channel::MouthUpperUpRight));
    set(F::SneerLeft, d(Channel::NoseSneerLeft));
    set(F::SneerRight, d(Channel::NoseSneerRight));
    let m = |channel: Channel| DISPLACEMENT_GAIN * d(channel);
    set(F::MoveBrowUpLeft, m(Channel::MoveBrowLeftUp));
    set(F::MoveBrowUpRight, m(Channel::MoveBrowRightUp));
    set(F::MoveBrowInnerUp, m(Channel::MoveBrowInnerUp));
    set(F::MoveBrowDownLeft, m(Channel::MoveBrowLeftDown));
    set(F::MoveBrowDownRight, m(Channel::MoveBrowRightDown));
    set(F::MoveBrowInnerDown, m(Channel::MoveBrowInnerDown));
    set(F::MoveLidUpLeft, m(Channel::MoveEyeLeftUp));
    set(F::MoveLidUpRight, m(Channel::MoveEyeRightUp));
    set(F::MoveNoseUpLeft, m(Channel::MoveNoseLeftUp));
    set(F::MoveNoseUpRight, m(Channel::MoveNoseRightUp));
    set(
        F::MoveCornerLeft,
        m(Channel::MoveMouthCornerLeftUp) + m(Channel::MoveMouthCornerLeftOut),
    );
    set(
        F::MoveCornerRight,
        m(Channel::MoveMouthCornerRightUp) + m(Channel::MoveMouthCornerRightOut),
    );
    set(F::MoveLipsDown, m(Channel::MoveLipsDown));
    set(F::MoveLipsUp, m(Channel::MoveLipsUp));
    if !apex.blink_near {
        // Closing and reopening lids move the lid margin far more than AU5 does.
        set(F::MoveUpperLidLeft, m(Channel::MoveLidLeftUp));
        set(F::MoveUpperLidRight, m(Channel::MoveLidRightUp));
    }
    features
}

/// Cues a pulse channel cannot show (the reader chooses among the others).
pub(crate) fn pulse_excluded_cues(channel: Channel) -> &'static [CueId] {
    use CueId as C;
    match channel {
        Channel::MoveBrowsUp => &[
            C::GenuineSmile,
            C::PoliteSmile,
            C::LipCompression,
            C::UnilateralLipCorner,
            C::NoseWrinkle,
            C::MicroFrown,
            C::MicroAnger,
        ],
        Channel::MoveBrowsDown => &[
            C::GenuineSmile,
            C::PoliteSmile,
            C::LipCompression,
            C::UnilateralLipCorner,
            C::NoseWrinkle,
            C::EyebrowFlash,
            C::MicroSurprise,
        ],
        Channel::MoveNoseUp | Channel::MoveLipsUp => &[
            C::GenuineSmile,
            C::PoliteSmile,
            C::LipCompression,
            C::UnilateralLipCorner,
            C::EyebrowFlash,
            C::MicroSurprise,
            C::MicroFrown,
            C::MicroAnger,
        ],
        Channel::MoveCornersPull | Channel::MoveCornerLeftPull | Channel::MoveCornerRightPull => &[
            C::LipCompression,
            C::NoseWrinkle,
            C::EyebrowFlash,
            C::MicroSurprise,
            C::MicroFrown,
            C::MicroAnger,
        ],
        Channel::MoveLipsDown | Channel::MoveLipsClose => &[
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
