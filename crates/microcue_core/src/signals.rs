//! Per-frame face signals: the vocabulary between the vision crate and the spotter.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// Number of landmarks of MediaPipe's face mesh (468 mesh points + 10 iris points).
pub const LANDMARK_COUNT: usize = 478;
/// Number of blendshape scores of MediaPipe's blendshape model (index 0 is `_neutral`).
pub const BLENDSHAPE_COUNT: usize = 52;

/// Blendshape names in MediaPipe order.
///
/// Naming follows MediaPipe (ARKit): `...Left` is the **subject's** left side.
pub const BLENDSHAPE_NAMES: [&str; BLENDSHAPE_COUNT] = [
    "_neutral",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
];

/// Index into [`FaceSignals::blendshapes`], in MediaPipe order.
///
/// A newtype so that a blendshape index cannot be mixed up with a landmark index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlendshapeIndex(pub usize);

macro_rules! blendshape_consts {
    ($($name:ident = $idx:expr),* $(,)?) => {
        impl BlendshapeIndex {
            $(#[doc = concat!("`", stringify!($name), "`")] pub const $name: BlendshapeIndex = BlendshapeIndex($idx);)*
        }
    };
}

blendshape_consts! {
    NEUTRAL = 0, BROW_DOWN_LEFT = 1, BROW_DOWN_RIGHT = 2, BROW_INNER_UP = 3,
    BROW_OUTER_UP_LEFT = 4, BROW_OUTER_UP_RIGHT = 5, CHEEK_PUFF = 6,
    CHEEK_SQUINT_LEFT = 7, CHEEK_SQUINT_RIGHT = 8, EYE_BLINK_LEFT = 9, EYE_BLINK_RIGHT = 10,
    EYE_LOOK_DOWN_LEFT = 11, EYE_LOOK_DOWN_RIGHT = 12, EYE_LOOK_IN_LEFT = 13, EYE_LOOK_IN_RIGHT = 14,
    EYE_LOOK_OUT_LEFT = 15, EYE_LOOK_OUT_RIGHT = 16, EYE_LOOK_UP_LEFT = 17, EYE_LOOK_UP_RIGHT = 18,
    EYE_SQUINT_LEFT = 19, EYE_SQUINT_RIGHT = 20, EYE_WIDE_LEFT = 21, EYE_WIDE_RIGHT = 22,
    JAW_FORWARD = 23, JAW_LEFT = 24, JAW_OPEN = 25, JAW_RIGHT = 26, MOUTH_CLOSE = 27,
    MOUTH_DIMPLE_LEFT = 28, MOUTH_DIMPLE_RIGHT = 29, MOUTH_FROWN_LEFT = 30, MOUTH_FROWN_RIGHT = 31,
    MOUTH_FUNNEL = 32, MOUTH_LEFT = 33, MOUTH_LOWER_DOWN_LEFT = 34, MOUTH_LOWER_DOWN_RIGHT = 35,
    MOUTH_PRESS_LEFT = 36, MOUTH_PRESS_RIGHT = 37, MOUTH_PUCKER = 38, MOUTH_RIGHT = 39,
    MOUTH_ROLL_LOWER = 40, MOUTH_ROLL_UPPER = 41, MOUTH_SHRUG_LOWER = 42, MOUTH_SHRUG_UPPER = 43,
    MOUTH_SMILE_LEFT = 44, MOUTH_SMILE_RIGHT = 45, MOUTH_STRETCH_LEFT = 46, MOUTH_STRETCH_RIGHT = 47,
    MOUTH_UPPER_UP_LEFT = 48, MOUTH_UPPER_UP_RIGHT = 49, NOSE_SNEER_LEFT = 50, NOSE_SNEER_RIGHT = 51,
}

impl BlendshapeIndex {
    /// The blendshape's MediaPipe name.
    pub fn name(self) -> &'static str {
        BLENDSHAPE_NAMES[self.0]
    }

    /// Looks a blendshape up by its MediaPipe name.
    pub fn from_name(name: &str) -> Option<Self> {
        BLENDSHAPE_NAMES
            .iter()
            .position(|n| *n == name)
            .map(BlendshapeIndex)
    }
}

/// Stable identifier of one tracked face within a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(transparent))]
pub struct TrackId(pub u32);

impl std::fmt::Display for TrackId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Head orientation in degrees. Yaw > 0: the subject turns to their left (towards image right);
/// pitch > 0: looks up; roll > 0: head tilts clockwise in the image.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct HeadPose {
    pub yaw_deg: f32,
    pub pitch_deg: f32,
    pub roll_deg: f32,
}

/// Facial regions for which motion is measured (subject's left/right).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Region {
    BrowLeft,
    BrowRight,
    BrowInner,
    /// Lower lid and the skin under it, subject's left (lifted by AU6, the Duchenne marker).
    /// Named `eye_left` in files and channel names, from before the upper lids were measured.
    #[cfg_attr(feature = "serde", serde(rename = "eye_left"))]
    LowerLidLeft,
    /// Lower lid and the skin under it, subject's right (`eye_right`).
    #[cfg_attr(feature = "serde", serde(rename = "eye_right"))]
    LowerLidRight,
    NoseLeft,
    NoseRight,
    MouthCornerLeft,
    MouthCornerRight,
    /// Upper lip (down when the lips press together). Named `lips` in files and channel names.
    #[cfg_attr(feature = "serde", serde(rename = "lips"))]
    UpperLip,
    /// Upper-lid margin, subject's left (AU5, the lid raise of surprise). Named `lid_left`.
    #[cfg_attr(feature = "serde", serde(rename = "lid_left"))]
    UpperLidLeft,
    /// Upper-lid margin, subject's right (`lid_right`).
    #[cfg_attr(feature = "serde", serde(rename = "lid_right"))]
    UpperLidRight,
    /// Lower lip (up when the lips press together).
    LowerLip,
}

impl Region {
    /// All regions, in the order of [`RegionMotion::values`].
    pub const ALL: [Region; 13] = [
        Region::BrowLeft,
        Region::BrowRight,
        Region::BrowInner,
        Region::LowerLidLeft,
        Region::LowerLidRight,
        Region::NoseLeft,
        Region::NoseRight,
        Region::MouthCornerLeft,
        Region::MouthCornerRight,
        Region::UpperLip,
        Region::UpperLidLeft,
        Region::UpperLidRight,
        Region::LowerLip,
    ];
    /// Regions of the first signal files (before the upper lids and the lower lip were
    /// measured): files with this many values or more are still read, the missing regions as
    /// not moving.
    pub const COUNT_V1: usize = 10;
    /// Number of regions.
    pub const COUNT: usize = Self::ALL.len();
}

/// Motion of each [`Region`] between this frame and a reference frame, with head motion
/// removed (relative to the nose), in units of the inter-ocular distance.
/// `[dx, dy]`: image x to the right, y down.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct RegionMotion {
    /// Motion since a frame ~100 ms earlier: a brief movement gives a pulse at its rise and an
    /// opposite one at its fall.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "deserialize_region_values")
    )]
    pub values: [[f32; 2]; Region::COUNT],
    /// How far back the reference frame was, seconds (0: not recorded; readers then assume
    /// 0.1 s).
    #[cfg_attr(feature = "serde", serde(default))]
    pub lag_s: f32,
}

/// Reads [`RegionMotion::values`]: [`Region::COUNT`] pairs, or fewer (at least
/// [`Region::COUNT_V1`]) from files written before the last regions were measured (those read
/// as not moving).
#[cfg(feature = "serde")]
fn deserialize_region_values<'de, D>(deserializer: D) -> Result<[[f32; 2]; Region::COUNT], D::Error>
where
    D: serde::Deserializer<'de>,
{
    let values: Vec<[f32; 2]> = Deserialize::deserialize(deserializer)?;
    if !(Region::COUNT_V1..=Region::COUNT).contains(&values.len()) {
        return Err(serde::de::Error::invalid_length(
            values.len(),
            &"10 to 13 region motion values",
        ));
    }
    let mut out = [[0.0f32; 2]; Region::COUNT];
    out[..values.len()].copy_from_slice(&values);
    Ok(out)
}

impl RegionMotion {
    /// Motion of one region.
    pub fn get(&self, region: Region) -> [f32; 2] {
        self.values[region as usize]
    }
}

/// Everything the spotter needs about one face in one frame.
///
/// `landmarks_in_image` may be empty when the source carries no landmarks (e.g. OpenFace CSV);
/// `blendshapes` always has [`BLENDSHAPE_COUNT`] entries in MediaPipe order (missing channels
/// are 0 and listed in the reader's "unavailable" set by the importer).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct FaceSignals {
    /// Presentation time of the frame, seconds from the start of the source.
    pub pts_s: f64,
    /// Which face.
    pub track: TrackId,
    /// Face presence score in [0, 1].
    pub presence: f32,
    /// 478 landmarks (x, y in image pixels, z in the same scale as x), or empty.
    #[cfg_attr(feature = "serde", serde(default))]
    pub landmarks_in_image: Vec<[f32; 3]>,
    /// 52 blendshape scores in MediaPipe order.
    pub blendshapes: Vec<f32>,
    /// Head orientation.
    #[cfg_attr(feature = "serde", serde(default))]
    pub head_pose: HeadPose,
    /// Region motion signals, when the source computes them.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub region_motion: Option<RegionMotion>,
}

impl FaceSignals {
    /// A neutral face at `pts_s` with all blendshapes 0 and no landmarks.
    pub fn neutral(track: TrackId, pts_s: f64) -> Self {
        FaceSignals {
            pts_s,
            track,
            presence: 1.0,
            landmarks_in_image: Vec::new(),
            blendshapes: vec![0.0; BLENDSHAPE_COUNT],
            head_pose: HeadPose::default(),
            region_motion: None,
        }
    }

    /// Score of one blendshape (0 when out of range).
    pub fn blendshape(&self, index: BlendshapeIndex) -> f32 {
        self.blendshapes.get(index.0).copied().unwrap_or(0.0)
    }

    /// Checks the shape invariants; returns a description of the first violation.
    pub fn validate(&self) -> Result<(), String> {
        if !self.pts_s.is_finite() || self.pts_s < 0.0 {
            return Err(format!(
                "pts_s must be a finite time >= 0, got {}",
                self.pts_s
            ));
        }
        if self.blendshapes.len() != BLENDSHAPE_COUNT {
            return Err(format!(
                "blendshapes must have {BLENDSHAPE_COUNT} values in MediaPipe order, got {}",
                self.blendshapes.len()
            ));
        }
        if let Some(i) = self.blendshapes.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "blendshape {} is not a finite number",
                BLENDSHAPE_NAMES[i]
            ));
        }
        if !self.landmarks_in_image.is_empty() && self.landmarks_in_image.len() != LANDMARK_COUNT {
            return Err(format!(
                "landmarks_in_image must be empty or have {LANDMARK_COUNT} points, got {}",
                self.landmarks_in_image.len()
            ));
        }
        if !(0.0..=1.0).contains(&self.presence) {
            return Err(format!("presence must be in [0, 1], got {}", self.presence));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blendshape_names_and_constants_agree() {
        assert_eq!(BlendshapeIndex::MOUTH_SMILE_LEFT.name(), "mouthSmileLeft");
        assert_eq!(BlendshapeIndex::NOSE_SNEER_RIGHT.name(), "noseSneerRight");
        assert_eq!(
            BlendshapeIndex::from_name("jawOpen"),
            Some(BlendshapeIndex::JAW_OPEN)
        );
        assert_eq!(BlendshapeIndex::from_name("nope"), None);
    }

    #[test]
    fn validate_rejects_wrong_shapes() {
        let mut s = FaceSignals::neutral(TrackId(0), 0.0);
        assert!(s.validate().is_ok());
        s.blendshapes.pop();
        assert!(s.validate().unwrap_err().contains("52"));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn region_names_in_files_keep_their_first_spelling() {
        let names: Vec<String> = Region::ALL
            .iter()
            .map(|region| {
                serde_json::to_value(region)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "brow_left",
                "brow_right",
                "brow_inner",
                "eye_left",
                "eye_right",
                "nose_left",
                "nose_right",
                "mouth_corner_left",
                "mouth_corner_right",
                "lips",
                "lid_left",
                "lid_right",
                "lower_lip"
            ]
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn region_motion_reads_files_from_before_the_lids_were_measured() {
        let mut motion = RegionMotion {
            lag_s: 0.095,
            ..RegionMotion::default()
        };
        for (index, value) in motion.values.iter_mut().enumerate() {
            *value = [index as f32, -(index as f32)];
        }
        let text = serde_json::to_string(&motion).unwrap();
        let back: RegionMotion = serde_json::from_str(&text).unwrap();
        assert_eq!(back, motion);

        let old: Vec<[f32; 2]> = motion.values[..Region::COUNT_V1].to_vec();
        let old_text = serde_json::json!({ "values": old, "lag_s": 0.1 }).to_string();
        let read: RegionMotion = serde_json::from_str(&old_text).unwrap();
        assert_eq!(
            read.values[..Region::COUNT_V1],
            motion.values[..Region::COUNT_V1]
        );
        assert_eq!(read.get(Region::UpperLidLeft), [0.0, 0.0]);
        assert_eq!(read.get(Region::UpperLidRight), [0.0, 0.0]);

        for count in [9, 14] {
            let wrong = vec![[0.0f32; 2]; count];
            let bad = serde_json::json!({ "values": wrong }).to_string();
            let error = serde_json::from_str::<RegionMotion>(&bad).unwrap_err();
            assert!(error.to_string().contains("10 to 13"), "{error}");
        }
    }
}
