//! The spotter's channels: what it watches in each frame, and how each value is computed.
//!
//! A *channel* is one number per frame that the spotter watches: a cue-signature blendshape
//! (`browInnerUp`, `mouthSmileLeft`, ...), a derived gaze or head angle, or — when the source
//! measures it — the motion of a facial [`Region`]. [`extract_channels`] fills a fixed array of
//! [`CHANNEL_COUNT`] values from one [`FaceSignals`]; adding a channel means adding one variant to
//! [`Channel`] and one row to [`CHANNELS`].

pub use crate::face_axes::FaceDirection;
use crate::face_axes::face_motion;
use crate::signals::{BLENDSHAPE_NAMES, BlendshapeIndex, FaceSignals, Region};

/// One value per [`Channel`], indexed by `channel as usize`.
pub type ChannelValues = [f32; CHANNEL_COUNT];

/// What a channel is for in the spotter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelRole {
    /// A cue-signature channel whose rise opens an expression segment.
    Trigger,
    /// Supporting evidence read at the apex (eye squint, eye wide, jaw open, ...); never opens a
    /// segment by itself (blinks and speech move these).
    Support,
    /// Eyelid closure, for the blink-cluster detector.
    Blink,
    /// Gaze and head direction, for the gaze-aversion detector.
    Gaze,
    /// The `region:` channels: a region's motion (optical flow) in image axes, shown as evidence
    /// beside a label when the source provides it.
    RegionEvidence,
    /// Region motion along a cue's direction, for the pulse detector (a brief movement gives a
    /// rise pulse and, within ~0.6 s, a return pulse).
    Pulse,
    /// The same direction with the person's usual co-motion removed (see
    /// [`Channel::whitened`]): what the pulse detector watches for its twin when
    /// [`crate::PulseConfig::whitened`] names it.
    Whitened,
}

/// How a channel's value is computed from [`FaceSignals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelSource {
    /// One blendshape score.
    Blendshape(BlendshapeIndex),
    /// Eye gaze towards the subject's left (+) or right (−), from the `eyeLook*` blendshapes.
    GazeHorizontal,
    /// Eye gaze up (+) or down (−), from the `eyeLook*` blendshapes.
    GazeVertical,
    /// Head yaw in degrees (+: the subject turns to their left).
    HeadYaw,
    /// Head pitch in degrees (+: looks up).
    HeadPitch,
    /// Magnitude of a region's motion, inter-ocular distances.
    RegionMagnitude(Region),
    /// Upward component of a region's motion (−dy), inter-ocular distances.
    RegionUp(Region),
    /// A region's motion ([`crate::RegionMotion::values`], over ~100 ms) along a face direction
    /// (head roll removed), inter-ocular distances.
    FaceMotion(Region, FaceDirection),
    /// The mean of several such motions: regions that move together in a cue (both brows, both
    /// nose wings, a mouth corner up and out). Its baseline spread is measured like
    /// any channel's, so it is less noisy than each part only as far as their noise is
    /// independent.
    FaceMotionGroup(&'static [(Region, FaceDirection)]),
    /// The same sum as [`ChannelSource::FaceMotionGroup`], projected through the inverse of
    /// the person's running region-motion covariance (a matched filter under their own
    /// motion noise). It needs the track's history, so [`extract_channels`] leaves it `NaN`
    /// and the spotter fills it in (see `crate::whiten`).
    Whitened(&'static [(Region, FaceDirection)]),
}

impl ChannelSource {
    /// Whether the value comes from region motion (absent, `NaN`, when the source has none).
    pub fn is_region(self) -> bool {
        matches!(
            self,
            ChannelSource::RegionMagnitude(_)
                | ChannelSource::RegionUp(_)
                | ChannelSource::FaceMotion(..)
                | ChannelSource::FaceMotionGroup(_)
                | ChannelSource::Whitened(_)
        )
    }
}

/// Which baseline window a channel uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowClass {
    /// Facial-expression channels (blendshapes): [`BaselineConfig::window_s`](crate::BaselineConfig::window_s).
    Expression,
    /// Gaze and head direction drift; they use the shorter [`BaselineConfig::gaze_window_s`](crate::BaselineConfig::gaze_window_s).
    Direction,
    /// Region motion (differences over ~100 ms, centred near 0): its spread is what counts, and
    /// a longer window ([`BaselineConfig::motion_window_s`](crate::BaselineConfig::motion_window_s)) learns it more steadily.
    Motion,
}

/// Static description of one channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelSpec {
    /// The channel, for checking the table order.
    pub channel: Channel,
    /// Name used in [`crate::Evidence::channel`].
    pub name: &'static str,
    /// Where the value comes from.
    pub source: ChannelSource,
    /// What the spotter uses it for.
    pub role: ChannelRole,
    /// Smallest spread used when normalising deviations, in the channel's units (keeps a very
    /// still channel from turning tracker noise into huge z-scores).
    pub spread_floor: f32,
    /// Which baseline window applies.
    pub window: WindowClass,
}

macro_rules! channels {
    ($($variant:ident => $name:expr, $source:expr, $role:ident, $floor:expr, $window:ident;)*) => {
        /// The spotter's channels, in the order of [`CHANNELS`] and [`ChannelValues`]. Each is
        /// named after the name it is shown by (`region:eye_left_up` is `RegionEyeLeftUp`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Channel { $($variant,)* }

        /// Number of spotter channels.
        pub const CHANNEL_COUNT: usize = [$(Channel::$variant,)*].len();

        impl Channel {
            /// All channels in table order.
            pub const ALL: [Channel; CHANNEL_COUNT] = [$(Channel::$variant,)*];
        }

        /// The channel table, indexed by `channel as usize`.
        pub const CHANNELS: [ChannelSpec; CHANNEL_COUNT] = [$(ChannelSpec {
            channel: Channel::$variant,
            name: $name,
            source: $source,
            role: ChannelRole::$role,
            spread_floor: $floor,
            window: WindowClass::$window,
        },)*];
    };
}

const fn bs(index: BlendshapeIndex) -> ChannelSource {
    ChannelSource::Blendshape(index)
}

const fn bs_name(index: BlendshapeIndex) -> &'static str {
    BLENDSHAPE_NAMES[index.0]
}

/// Spread floor of blendshape channels (blendshape units, 0..1).
const BS_FLOOR: f32 = 0.012;
/// Spread floor of eye-gaze channels (blendshape units).
const GAZE_FLOOR: f32 = 0.03;
/// Spread floor of head angles (degrees).
const HEAD_FLOOR: f32 = 1.2;

// Regions and directions that move together in a cue: the pulse groups, shared by each plain
// channel and its whitened twin.
const BROWS_UP: &[(Region, FaceDirection)] = &[
    (Region::BrowLeft, FaceDirection::Up),
    (Region::BrowRight, FaceDirection::Up),
    (Region::BrowInner, FaceDirection::Up),
];
const INNER_BROWS_DOWN: &[(Region, FaceDirection)] = &[(Region::BrowInner, FaceDirection::Down)];
const NOSE_UP: &[(Region, FaceDirection)] = &[
    (Region::NoseLeft, FaceDirection::Up),
    (Region::NoseRight, FaceDirection::Up),
];
const CORNERS_PULL: &[(Region, FaceDirection)] = &[
    (Region::MouthCornerLeft, FaceDirection::Up),
    (Region::MouthCornerLeft, FaceDirection::Outward),
    (Region::MouthCornerRight, FaceDirection::Up),
    (Region::MouthCornerRight, FaceDirection::Outward),
];
const CORNER_LEFT_PULL: &[(Region, FaceDirection)] = &[
    (Region::MouthCornerLeft, FaceDirection::Up),
    (Region::MouthCornerLeft, FaceDirection::Outward),
];
const CORNER_RIGHT_PULL: &[(Region, FaceDirection)] = &[
    (Region::MouthCornerRight, FaceDirection::Up),
    (Region::MouthCornerRight, FaceDirection::Outward),
];
const LIPS_CLOSE: &[(Region, FaceDirection)] = &[
    (Region::UpperLip, FaceDirection::Down),
    (Region::LowerLip, FaceDirection::Up),
];
const LIPS_DOWN: &[(Region, FaceDirection)] = &[(Region::UpperLip, FaceDirection::Down)];
const LIPS_UP: &[(Region, FaceDirection)] = &[(Region::UpperLip, FaceDirection::Up)];

/// Spread floor of whitened region motion (units of its own noise).
const WHITE_FLOOR: f32 = 0.1;
/// Spread floor of region motion (inter-ocular distances).
const MOTION_FLOOR: f32 = 0.002;

channels! {
    BrowDownLeft => bs_name(BlendshapeIndex::BROW_DOWN_LEFT), bs(BlendshapeIndex::BROW_DOWN_LEFT), Trigger, BS_FLOOR, Expression;
    BrowDownRight => bs_name(BlendshapeIndex::BROW_DOWN_RIGHT), bs(BlendshapeIndex::BROW_DOWN_RIGHT), Trigger, BS_FLOOR, Expression;
    BrowInnerUp => bs_name(BlendshapeIndex::BROW_INNER_UP), bs(BlendshapeIndex::BROW_INNER_UP), Trigger, BS_FLOOR, Expression;
    BrowOuterUpLeft => bs_name(BlendshapeIndex::BROW_OUTER_UP_LEFT), bs(BlendshapeIndex::BROW_OUTER_UP_LEFT), Trigger, BS_FLOOR, Expression;
    BrowOuterUpRight => bs_name(BlendshapeIndex::BROW_OUTER_UP_RIGHT), bs(BlendshapeIndex::BROW_OUTER_UP_RIGHT), Trigger, BS_FLOOR, Expression;
    CheekSquintLeft => bs_name(BlendshapeIndex::CHEEK_SQUINT_LEFT), bs(BlendshapeIndex::CHEEK_SQUINT_LEFT), Support, BS_FLOOR, Expression;
    CheekSquintRight => bs_name(BlendshapeIndex::CHEEK_SQUINT_RIGHT), bs(BlendshapeIndex::CHEEK_SQUINT_RIGHT), Support, BS_FLOOR, Expression;
    EyeBlinkLeft => bs_name(BlendshapeIndex::EYE_BLINK_LEFT), bs(BlendshapeIndex::EYE_BLINK_LEFT), Blink, BS_FLOOR, Expression;
    EyeBlinkRight => bs_name(BlendshapeIndex::EYE_BLINK_RIGHT), bs(BlendshapeIndex::EYE_BLINK_RIGHT), Blink, BS_FLOOR, Expression;
    EyeSquintLeft => bs_name(BlendshapeIndex::EYE_SQUINT_LEFT), bs(BlendshapeIndex::EYE_SQUINT_LEFT), Support, BS_FLOOR, Expression;
    EyeSquintRight => bs_name(BlendshapeIndex::EYE_SQUINT_RIGHT), bs(BlendshapeIndex::EYE_SQUINT_RIGHT), Support, BS_FLOOR, Expression;
    EyeWideLeft => bs_name(BlendshapeIndex::EYE_WIDE_LEFT), bs(BlendshapeIndex::EYE_WIDE_LEFT), Support, BS_FLOOR, Expression;
    EyeWideRight => bs_name(BlendshapeIndex::EYE_WIDE_RIGHT), bs(BlendshapeIndex::EYE_WIDE_RIGHT), Support, BS_FLOOR, Expression;
    JawOpen => bs_name(BlendshapeIndex::JAW_OPEN), bs(BlendshapeIndex::JAW_OPEN), Support, BS_FLOOR, Expression;
    MouthSmileLeft => bs_name(BlendshapeIndex::MOUTH_SMILE_LEFT), bs(BlendshapeIndex::MOUTH_SMILE_LEFT), Trigger, BS_FLOOR, Expression;
    MouthSmileRight => bs_name(BlendshapeIndex::MOUTH_SMILE_RIGHT), bs(BlendshapeIndex::MOUTH_SMILE_RIGHT), Trigger, BS_FLOOR, Expression;
    MouthDimpleLeft => bs_name(BlendshapeIndex::MOUTH_DIMPLE_LEFT), bs(BlendshapeIndex::MOUTH_DIMPLE_LEFT), Trigger, BS_FLOOR, Expression;
    MouthDimpleRight => bs_name(BlendshapeIndex::MOUTH_DIMPLE_RIGHT), bs(BlendshapeIndex::MOUTH_DIMPLE_RIGHT), Trigger, BS_FLOOR, Expression;
    MouthFrownLeft => bs_name(BlendshapeIndex::MOUTH_FROWN_LEFT), bs(BlendshapeIndex::MOUTH_FROWN_LEFT), Support, BS_FLOOR, Expression;
    MouthFrownRight => bs_name(BlendshapeIndex::MOUTH_FROWN_RIGHT), bs(BlendshapeIndex::MOUTH_FROWN_RIGHT), Support, BS_FLOOR, Expression;
    MouthPressLeft => bs_name(BlendshapeIndex::MOUTH_PRESS_LEFT), bs(BlendshapeIndex::MOUTH_PRESS_LEFT), Trigger, BS_FLOOR, Expression;
    MouthPressRight => bs_name(BlendshapeIndex::MOUTH_PRESS_RIGHT), bs(BlendshapeIndex::MOUTH_PRESS_RIGHT), Trigger, BS_FLOOR, Expression;
    MouthRollLower => bs_name(BlendshapeIndex::MOUTH_ROLL_LOWER), bs(BlendshapeIndex::MOUTH_ROLL_LOWER), Trigger, BS_FLOOR, Expression;
    MouthRollUpper => bs_name(BlendshapeIndex::MOUTH_ROLL_UPPER), bs(BlendshapeIndex::MOUTH_ROLL_UPPER), Trigger, BS_FLOOR, Expression;
    MouthUpperUpLeft => bs_name(BlendshapeIndex::MOUTH_UPPER_UP_LEFT), bs(BlendshapeIndex::MOUTH_UPPER_UP_LEFT), Trigger, BS_FLOOR, Expression;
    MouthUpperUpRight => bs_name(BlendshapeIndex::MOUTH_UPPER_UP_RIGHT), bs(BlendshapeIndex::MOUTH_UPPER_UP_RIGHT), Trigger, BS_FLOOR, Expression;
    NoseSneerLeft => bs_name(BlendshapeIndex::NOSE_SNEER_LEFT), bs(BlendshapeIndex::NOSE_SNEER_LEFT), Trigger, BS_FLOOR, Expression;
    NoseSneerRight => bs_name(BlendshapeIndex::NOSE_SNEER_RIGHT), bs(BlendshapeIndex::NOSE_SNEER_RIGHT), Trigger, BS_FLOOR, Expression;
    GazeHorizontal => "gaze:horizontal", ChannelSource::GazeHorizontal, Gaze, GAZE_FLOOR, Direction;
    GazeVertical => "gaze:vertical", ChannelSource::GazeVertical, Gaze, GAZE_FLOOR, Direction;
    HeadYawDeg => "head:yaw_deg", ChannelSource::HeadYaw, Gaze, HEAD_FLOOR, Direction;
    HeadPitchDeg => "head:pitch_deg", ChannelSource::HeadPitch, Gaze, HEAD_FLOOR, Direction;
    RegionBrowLeft => "region:brow_left", ChannelSource::RegionMagnitude(Region::BrowLeft), RegionEvidence, MOTION_FLOOR, Motion;
    RegionBrowRight => "region:brow_right", ChannelSource::RegionMagnitude(Region::BrowRight), RegionEvidence, MOTION_FLOOR, Motion;
    RegionBrowInner => "region:brow_inner", ChannelSource::RegionMagnitude(Region::BrowInner), RegionEvidence, MOTION_FLOOR, Motion;
    RegionEyeLeft => "region:eye_left", ChannelSource::RegionMagnitude(Region::LowerLidLeft), RegionEvidence, MOTION_FLOOR, Motion;
    RegionEyeRight => "region:eye_right", ChannelSource::RegionMagnitude(Region::LowerLidRight), RegionEvidence, MOTION_FLOOR, Motion;
    RegionNoseLeft => "region:nose_left", ChannelSource::RegionMagnitude(Region::NoseLeft), RegionEvidence, MOTION_FLOOR, Motion;
    RegionNoseRight => "region:nose_right", ChannelSource::RegionMagnitude(Region::NoseRight), RegionEvidence, MOTION_FLOOR, Motion;
    RegionMouthCornerLeft => "region:mouth_corner_left", ChannelSource::RegionMagnitude(Region::MouthCornerLeft), RegionEvidence, MOTION_FLOOR, Motion;
    RegionMouthCornerRight => "region:mouth_corner_right", ChannelSource::RegionMagnitude(Region::MouthCornerRight), RegionEvidence, MOTION_FLOOR, Motion;
    RegionLips => "region:lips", ChannelSource::RegionMagnitude(Region::UpperLip), RegionEvidence, MOTION_FLOOR, Motion;
    RegionBrowLeftUp => "region:brow_left_up", ChannelSource::RegionUp(Region::BrowLeft), RegionEvidence, MOTION_FLOOR, Motion;
    RegionBrowRightUp => "region:brow_right_up", ChannelSource::RegionUp(Region::BrowRight), RegionEvidence, MOTION_FLOOR, Motion;
    RegionBrowInnerUp => "region:brow_inner_up", ChannelSource::RegionUp(Region::BrowInner), RegionEvidence, MOTION_FLOOR, Motion;
    RegionEyeLeftUp => "region:eye_left_up", ChannelSource::RegionUp(Region::LowerLidLeft), RegionEvidence, MOTION_FLOOR, Motion;
    RegionEyeRightUp => "region:eye_right_up", ChannelSource::RegionUp(Region::LowerLidRight), RegionEvidence, MOTION_FLOOR, Motion;
    RegionNoseLeftUp => "region:nose_left_up", ChannelSource::RegionUp(Region::NoseLeft), RegionEvidence, MOTION_FLOOR, Motion;
    RegionNoseRightUp => "region:nose_right_up", ChannelSource::RegionUp(Region::NoseRight), RegionEvidence, MOTION_FLOOR, Motion;
    RegionMouthCornerLeftUp => "region:mouth_corner_left_up", ChannelSource::RegionUp(Region::MouthCornerLeft), RegionEvidence, MOTION_FLOOR, Motion;
    RegionMouthCornerRightUp => "region:mouth_corner_right_up", ChannelSource::RegionUp(Region::MouthCornerRight), RegionEvidence, MOTION_FLOOR, Motion;
    RegionLipsUp => "region:lips_up", ChannelSource::RegionUp(Region::UpperLip), RegionEvidence, MOTION_FLOOR, Motion;
    MotionBrowLeftUp => "motion:brow_left_up", motion(Region::BrowLeft, FaceDirection::Up), Support, MOTION_FLOOR, Motion;
    MotionBrowRightUp => "motion:brow_right_up", motion(Region::BrowRight, FaceDirection::Up), Support, MOTION_FLOOR, Motion;
    MotionBrowInnerUp => "motion:brow_inner_up", motion(Region::BrowInner, FaceDirection::Up), Support, MOTION_FLOOR, Motion;
    MotionBrowLeftDown => "motion:brow_left_down", motion(Region::BrowLeft, FaceDirection::Down), Support, MOTION_FLOOR, Motion;
    MotionBrowRightDown => "motion:brow_right_down", motion(Region::BrowRight, FaceDirection::Down), Support, MOTION_FLOOR, Motion;
    MotionBrowInnerDown => "motion:brow_inner_down", motion(Region::BrowInner, FaceDirection::Down), Support, MOTION_FLOOR, Motion;
    MotionEyeLeftUp => "motion:eye_left_up", motion(Region::LowerLidLeft, FaceDirection::Up), Support, MOTION_FLOOR, Motion;
    MotionEyeRightUp => "motion:eye_right_up", motion(Region::LowerLidRight, FaceDirection::Up), Support, MOTION_FLOOR, Motion;
    MotionNoseLeftUp => "motion:nose_left_up", motion(Region::NoseLeft, FaceDirection::Up), Support, MOTION_FLOOR, Motion;
    MotionNoseRightUp => "motion:nose_right_up", motion(Region::NoseRight, FaceDirection::Up), Support, MOTION_FLOOR, Motion;
    MotionMouthCornerLeftUp => "motion:mouth_corner_left_up", motion(Region::MouthCornerLeft, FaceDirection::Up), Support, MOTION_FLOOR, Motion;
    MotionMouthCornerRightUp => "motion:mouth_corner_right_up", motion(Region::MouthCornerRight, FaceDirection::Up), Support, MOTION_FLOOR, Motion;
    MotionMouthCornerLeftOut => "motion:mouth_corner_left_out", motion(Region::MouthCornerLeft, FaceDirection::Outward), Support, MOTION_FLOOR, Motion;
    MotionMouthCornerRightOut => "motion:mouth_corner_right_out", motion(Region::MouthCornerRight, FaceDirection::Outward), Support, MOTION_FLOOR, Motion;
    MotionLipsDown => "motion:lips_down", motion(Region::UpperLip, FaceDirection::Down), Pulse, MOTION_FLOOR, Motion;
    MotionLipsUp => "motion:lips_up", motion(Region::UpperLip, FaceDirection::Up), Pulse, MOTION_FLOOR, Motion;
    MotionBrowsUp => "motion:brows_up", ChannelSource::FaceMotionGroup(BROWS_UP), Pulse, MOTION_FLOOR, Motion;
    MotionInnerBrowsDown => "motion:inner_brows_down", ChannelSource::FaceMotionGroup(INNER_BROWS_DOWN), Pulse, MOTION_FLOOR, Motion;
    MotionNoseUp => "motion:nose_up", ChannelSource::FaceMotionGroup(NOSE_UP), Pulse, MOTION_FLOOR, Motion;
    MotionMouthCornersPull => "motion:mouth_corners_pull", ChannelSource::FaceMotionGroup(CORNERS_PULL), Pulse, MOTION_FLOOR, Motion;
    MotionMouthCornerLeftPull => "motion:mouth_corner_left_pull", ChannelSource::FaceMotionGroup(CORNER_LEFT_PULL), Pulse, MOTION_FLOOR, Motion;
    MotionMouthCornerRightPull => "motion:mouth_corner_right_pull", ChannelSource::FaceMotionGroup(CORNER_RIGHT_PULL), Pulse, MOTION_FLOOR, Motion;
    MotionLidLeftUp => "motion:lid_left_up", motion(Region::UpperLidLeft, FaceDirection::Up), Support, MOTION_FLOOR, Motion;
    MotionLidRightUp => "motion:lid_right_up", motion(Region::UpperLidRight, FaceDirection::Up), Support, MOTION_FLOOR, Motion;
    MotionLipsClose => "motion:lips_close", ChannelSource::FaceMotionGroup(LIPS_CLOSE), Pulse, MOTION_FLOOR, Motion;
    WhiteLipsDown => "white:lips_down", ChannelSource::Whitened(LIPS_DOWN), Whitened, WHITE_FLOOR, Motion;
    WhiteLipsUp => "white:lips_up", ChannelSource::Whitened(LIPS_UP), Whitened, WHITE_FLOOR, Motion;
    WhiteBrowsUp => "white:brows_up", ChannelSource::Whitened(BROWS_UP), Whitened, WHITE_FLOOR, Motion;
    WhiteInnerBrowsDown => "white:inner_brows_down", ChannelSource::Whitened(INNER_BROWS_DOWN), Whitened, WHITE_FLOOR, Motion;
    WhiteNoseUp => "white:nose_up", ChannelSource::Whitened(NOSE_UP), Whitened, WHITE_FLOOR, Motion;
    WhiteMouthCornersPull => "white:mouth_corners_pull", ChannelSource::Whitened(CORNERS_PULL), Whitened, WHITE_FLOOR, Motion;
    WhiteMouthCornerLeftPull => "white:mouth_corner_left_pull", ChannelSource::Whitened(CORNER_LEFT_PULL), Whitened, WHITE_FLOOR, Motion;
    WhiteMouthCornerRightPull => "white:mouth_corner_right_pull", ChannelSource::Whitened(CORNER_RIGHT_PULL), Whitened, WHITE_FLOOR, Motion;
    WhiteLipsClose => "white:lips_close", ChannelSource::Whitened(LIPS_CLOSE), Whitened, WHITE_FLOOR, Motion;
}

/// The mouth corners' whitened twins, `[left pull, right pull, both pulled]`: the reader
/// compares them to tell a one-sided pull from a smile, so they are computed whatever the
/// pulse detector watches.
pub(crate) const CORNER_TWINS: [Channel; 3] = [
    Channel::WhiteMouthCornerLeftPull,
    Channel::WhiteMouthCornerRightPull,
    Channel::WhiteMouthCornersPull,
];

const fn motion(region: Region, direction: FaceDirection) -> ChannelSource {
    ChannelSource::FaceMotion(region, direction)
}

impl Channel {
    /// The channel's row in [`CHANNELS`].
    pub fn spec(self) -> &'static ChannelSpec {
        &CHANNELS[self as usize]
    }

    /// The channel's evidence name.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Index into [`ChannelValues`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether this channel measures the motion of `region` along `direction`, alone or as a
    /// part of its group.
    pub fn measures(self, region: Region, direction: FaceDirection) -> bool {
        match CHANNELS[self.index()].source {
            ChannelSource::FaceMotion(r, d) => (r, d) == (region, direction),
            ChannelSource::FaceMotionGroup(parts) | ChannelSource::Whitened(parts) => {
                parts.contains(&(region, direction))
            }
            _ => false,
        }
    }

    /// The whitened twin of a pulse channel: the same direction, measured against the
    /// person's usual co-motion of all regions (the whitened channel with the same parts).
    pub fn whitened(self) -> Option<Channel> {
        let spec = &CHANNELS[self.index()];
        if !matches!(spec.role, ChannelRole::Pulse) {
            return None;
        }
        CHANNELS
            .iter()
            .find(|twin| match (twin.source, spec.source) {
                (ChannelSource::Whitened(parts), ChannelSource::FaceMotionGroup(own)) => {
                    parts == own
                }
                (ChannelSource::Whitened(parts), ChannelSource::FaceMotion(region, direction)) => {
                    parts == [(region, direction)]
                }
                _ => false,
            })
            .map(|twin| twin.channel)
    }
}

/// Fills `out` with the channel values of one frame. Region channels are `NaN` when the source
/// provides no region motion (the baseline skips `NaN`).
pub fn extract_channels(signals: &FaceSignals, out: &mut ChannelValues) {
    let b = |index: BlendshapeIndex| signals.blendshape(index);
    for (value, spec) in out.iter_mut().zip(CHANNELS.iter()) {
        *value = match spec.source {
            ChannelSource::Blendshape(index) => b(index),
            ChannelSource::GazeHorizontal => {
                // Left eye looking out and right eye looking in both point to the subject's left.
                0.5 * (b(BlendshapeIndex::EYE_LOOK_OUT_LEFT)
                    + b(BlendshapeIndex::EYE_LOOK_IN_RIGHT)
                    - b(BlendshapeIndex::EYE_LOOK_IN_LEFT)
                    - b(BlendshapeIndex::EYE_LOOK_OUT_RIGHT))
            }
            ChannelSource::GazeVertical => {
                0.5 * (b(BlendshapeIndex::EYE_LOOK_UP_LEFT) + b(BlendshapeIndex::EYE_LOOK_UP_RIGHT)
                    - b(BlendshapeIndex::EYE_LOOK_DOWN_LEFT)
                    - b(BlendshapeIndex::EYE_LOOK_DOWN_RIGHT))
            }
            ChannelSource::HeadYaw => signals.head_pose.yaw_deg,
            ChannelSource::HeadPitch => signals.head_pose.pitch_deg,
            ChannelSource::RegionMagnitude(region) => match &signals.region_motion {
                Some(motion) => {
                    let [dx, dy] = motion.get(region);
                    (dx * dx + dy * dy).sqrt()
                }
                None => f32::NAN,
            },
            ChannelSource::RegionUp(region) => match &signals.region_motion {
                Some(motion) => -motion.get(region)[1],
                None => f32::NAN,
            },
            ChannelSource::FaceMotion(region, direction) => match &signals.region_motion {
                Some(region_motion) => face_motion(
                    &region_motion.values,
                    signals.head_pose.roll_deg,
                    region,
                    direction,
                ),
                None => f32::NAN,
            },
            ChannelSource::FaceMotionGroup(parts) => match &signals.region_motion {
                Some(region_motion) => {
                    let sum: f32 = parts
                        .iter()
                        .map(|&(region, direction)| {
                            face_motion(
                                &region_motion.values,
                                signals.head_pose.roll_deg,
                                region,
                                direction,
                            )
                        })
                        .sum();
                    sum / parts.len().max(1) as f32
                }
                None => f32::NAN,
            },
            // Filled in by the spotter's whitener.
            ChannelSource::Whitened(_) => f32::NAN,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::{RegionMotion, TrackId};

    #[test]
    fn channel_table_is_in_enum_order_and_names_are_unique() {
        for (index, spec) in CHANNELS.iter().enumerate() {
            assert_eq!(spec.channel as usize, index, "{}", spec.name);
            assert_eq!(Channel::ALL[index], spec.channel);
        }
        let mut names: Vec<_> = CHANNELS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CHANNEL_COUNT);
        assert_eq!(Channel::MouthSmileLeft.name(), "mouthSmileLeft");
    }

    #[test]
    fn each_channel_is_named_after_the_name_it_is_shown_by() {
        for spec in &CHANNELS {
            let shown: String = spec
                .name
                .split([':', '_'])
                .map(|part| {
                    let mut chars = part.chars();
                    chars.next().map_or_else(String::new, |first| {
                        first.to_ascii_uppercase().to_string() + chars.as_str()
                    })
                })
                .collect();
            assert_eq!(format!("{:?}", spec.channel), shown, "{}", spec.name);
        }
    }

    #[test]
    fn every_whitened_channel_is_the_twin_of_one_pulse_channel() {
        let mut twins: Vec<Channel> = CHANNELS
            .iter()
            .filter_map(|spec| spec.channel.whitened())
            .collect();
        let count = twins.len();
        twins.sort_unstable_by_key(|channel| channel.index());
        twins.dedup();
        assert_eq!(twins.len(), count, "a twin of two pulse channels");
        for spec in &CHANNELS {
            let is_twin = twins.contains(&spec.channel);
            assert_eq!(
                is_twin,
                matches!(spec.source, ChannelSource::Whitened(_)),
                "{}",
                spec.name
            );
        }
        assert_eq!(
            Channel::MotionLipsDown.whitened(),
            Some(Channel::WhiteLipsDown)
        );
        assert_eq!(
            Channel::MotionMouthCornerLeftPull.whitened(),
            Some(Channel::WhiteMouthCornerLeftPull)
        );
        assert_eq!(Channel::MotionBrowLeftUp.whitened(), None);
    }

    #[test]
    fn extracts_gaze_directions_and_marks_missing_region_motion() {
        let mut signals = FaceSignals::neutral(TrackId(0), 0.0);
        signals.blendshapes[BlendshapeIndex::EYE_LOOK_OUT_LEFT.0] = 0.6;
        signals.blendshapes[BlendshapeIndex::EYE_LOOK_IN_RIGHT.0] = 0.4;
        signals.blendshapes[BlendshapeIndex::EYE_LOOK_DOWN_LEFT.0] = 0.2;
        signals.head_pose.yaw_deg = 7.0;
        let mut values = [0.0; CHANNEL_COUNT];
        extract_channels(&signals, &mut values);
        assert!((values[Channel::GazeHorizontal.index()] - 0.5).abs() < 1e-6);
        assert!((values[Channel::GazeVertical.index()] + 0.1).abs() < 1e-6);
        assert_eq!(values[Channel::HeadYawDeg.index()], 7.0);
        assert!(values[Channel::RegionLips.index()].is_nan());

        let mut motion = RegionMotion::default();
        motion.values[Region::UpperLip as usize] = [0.03, -0.04];
        signals.region_motion = Some(motion);
        extract_channels(&signals, &mut values);
        assert!((values[Channel::RegionLips.index()] - 0.05).abs() < 1e-6);
        assert!((values[Channel::RegionLipsUp.index()] - 0.04).abs() < 1e-6);
    }
}
