//! Small shared enums: cue ids, sides, valence, response families, time scale.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// The twelve cues of the lexicon (see [`crate::lexicon`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum CueId {
    GenuineSmile,
    PoliteSmile,
    EyebrowFlash,
    LipCompression,
    UnilateralLipCorner,
    NoseWrinkle,
    BlinkCluster,
    GazeAversion,
    PupilDilation,
    MicroFrown,
    MicroAnger,
    MicroSurprise,
}

impl CueId {
    /// All cues in lexicon order.
    pub const ALL: [CueId; 12] = [
        CueId::GenuineSmile,
        CueId::PoliteSmile,
        CueId::EyebrowFlash,
        CueId::LipCompression,
        CueId::UnilateralLipCorner,
        CueId::NoseWrinkle,
        CueId::BlinkCluster,
        CueId::GazeAversion,
        CueId::PupilDilation,
        CueId::MicroFrown,
        CueId::MicroAnger,
        CueId::MicroSurprise,
    ];

    /// The snake_case id used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            CueId::GenuineSmile => "genuine_smile",
            CueId::PoliteSmile => "polite_smile",
            CueId::EyebrowFlash => "eyebrow_flash",
            CueId::LipCompression => "lip_compression",
            CueId::UnilateralLipCorner => "unilateral_lip_corner",
            CueId::NoseWrinkle => "nose_wrinkle",
            CueId::BlinkCluster => "blink_cluster",
            CueId::GazeAversion => "gaze_aversion",
            CueId::PupilDilation => "pupil_dilation",
            CueId::MicroFrown => "micro_frown",
            CueId::MicroAnger => "micro_anger",
            CueId::MicroSurprise => "micro_surprise",
        }
    }

    /// Whether the cue is one side of the face by definition (a one-sided lip corner); every
    /// other cue involves both sides, so a side only makes sense for this one.
    pub fn is_one_sided(self) -> bool {
        self == CueId::UnilateralLipCorner
    }

    /// The cue's usual valence (a hypothesis; context decides).
    pub fn valence(self) -> Valence {
        match self {
            CueId::GenuineSmile | CueId::EyebrowFlash | CueId::MicroSurprise => Valence::Positive,
            CueId::PoliteSmile => Valence::Neutral,
            CueId::UnilateralLipCorner | CueId::GazeAversion => Valence::Ambiguous,
            CueId::LipCompression
            | CueId::NoseWrinkle
            | CueId::BlinkCluster
            | CueId::MicroFrown
            | CueId::MicroAnger => Valence::Negative,
            CueId::PupilDilation => Valence::Unknown,
        }
    }

    /// The micro-response family the guide suggests for this cue (`None` for unsupported cues).
    pub fn response_family(self) -> Option<ResponseFamily> {
        Some(match self {
            CueId::GenuineSmile => ResponseFamily::Mirror,
            CueId::PoliteSmile => ResponseFamily::Lighten,
            CueId::EyebrowFlash => ResponseFamily::Invite,
            CueId::LipCompression
            | CueId::NoseWrinkle
            | CueId::BlinkCluster
            | CueId::GazeAversion => ResponseFamily::Soften,
            CueId::UnilateralLipCorner => ResponseFamily::Repair,
            CueId::MicroFrown => ResponseFamily::Clarify,
            CueId::MicroAnger => ResponseFamily::Repair,
            CueId::MicroSurprise => ResponseFamily::Amplify,
            CueId::PupilDilation => return None,
        })
    }

    /// Whether microcue can measure this cue from ordinary video. `pupil_dilation` cannot:
    /// it is listed in the lexicon and never emitted.
    pub fn is_supported(self) -> bool {
        self != CueId::PupilDilation
    }

    /// Parses a snake_case id (also accepts `-` for `_`).
    pub fn parse(text: &str) -> Option<CueId> {
        let text = text.trim().replace('-', "_").to_ascii_lowercase();
        CueId::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl std::fmt::Display for CueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Side of a movement, from the **subject's** point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Side {
    Left,
    Right,
    /// Both sides (symmetric movement).
    #[default]
    Both,
}

impl Side {
    /// The lowercase name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
            Side::Both => "both",
        }
    }
}

/// Affective direction a cue usually suggests. Always a hypothesis, never a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Valence {
    Positive,
    Neutral,
    Negative,
    /// Depends on context (e.g. one-sided lip corner: contempt or coyness).
    Ambiguous,
    /// Not assessed (unsupported cue).
    Unknown,
}

/// The seven micro-response families of the guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum ResponseFamily {
    Mirror,
    Lighten,
    Invite,
    Soften,
    Clarify,
    Amplify,
    Repair,
}

/// Time scale of a movement: `micro` lasts at most 500 ms, `macro` longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Scale {
    Micro,
    Macro,
}

impl Scale {
    /// Longest duration of a micro movement, in milliseconds.
    pub const MICRO_MAX_MS: f64 = 500.0;

    /// The scale of a movement lasting `duration_ms`.
    pub fn of_duration_ms(duration_ms: f64) -> Scale {
        if duration_ms <= Self::MICRO_MAX_MS {
            Scale::Micro
        } else {
            Scale::Macro
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cue_ids_round_trip() {
        for cue in CueId::ALL {
            assert_eq!(CueId::parse(cue.as_str()), Some(cue));
        }
        assert_eq!(CueId::parse("Eyebrow-Flash"), Some(CueId::EyebrowFlash));
        assert_eq!(CueId::parse("wink"), None);
    }

    #[test]
    fn scale_boundary_is_500_ms() {
        assert_eq!(Scale::of_duration_ms(500.0), Scale::Micro);
        assert_eq!(Scale::of_duration_ms(500.1), Scale::Macro);
    }
}
