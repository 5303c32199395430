//! Unit tests of the reader: labels from hand-made apexes.

use super::*;
use crate::channels::{CHANNEL_COUNT, ChannelSource};

struct Apex {
    deltas: ChannelValues,
    spreads: ChannelValues,
    segment_max: ChannelValues,
}

impl Apex {
    fn new(moves: &[(Channel, f32)]) -> Self {
        let mut deltas = [0.0; CHANNEL_COUNT];
        for &(channel, delta) in moves {
            deltas[channel.index()] = delta;
        }
        Apex {
            deltas,
            spreads: [0.01; CHANNEL_COUNT],
            segment_max: deltas,
        }
    }

    fn read(&self) -> Option<Reading> {
        self.read_blink(false)
    }

    /// As `read`, with the eyes blinking around the apex or not.
    fn read_blink(&self, blink_near: bool) -> Option<Reading> {
        self.read_with(blink_near, &[])
    }

    /// As `read`, with a blink or not and some cues out of the question.
    fn read_with(&self, blink_near: bool, unavailable: &[CueId]) -> Option<Reading> {
        self.read_snapshot(blink_near, None, unavailable)
    }

    /// As `read`, for a brief movement's change (a pulse) instead of a segment's levels.
    fn read_change(&self) -> Option<Reading> {
        self.read_snapshot(false, Some(Channel::MotionMouthCornersPull), &[])
    }

    fn read_snapshot(
        &self,
        blink_near: bool,
        pulse: Option<Channel>,
        unavailable: &[CueId],
    ) -> Option<Reading> {
        read_expression(
            &self.snapshot(blink_near, pulse),
            &ReaderConfig::default(),
            unavailable,
        )
    }

    /// As `read`, for a pulse of `channel` peaking at `peak_z`, reading only the cues that
    /// channel can show (as the spotter does).
    fn read_pulse(&self, channel: Channel, peak_z: f32, config: &ReaderConfig) -> Option<Reading> {
        let snapshot = ApexSnapshot {
            peak_z,
            ..self.snapshot(false, Some(channel))
        };
        read_expression(&snapshot, config, pulse_excluded_cues(channel))
    }

    /// What the reader sees of this apex (a strong peak).
    fn snapshot(&self, blink_near: bool, pulse: Option<Channel>) -> ApexSnapshot<'_> {
        ApexSnapshot {
            deltas: &self.deltas,
            spreads: &self.spreads,
            segment_max: &self.segment_max,
            peak_z: 20.0,
            blink_near,
            pulse,
        }
    }
}

use Channel as C;

#[test]
fn eye_squint_separates_genuine_from_polite_smiles() {
    let genuine = Apex::new(&[
        (C::MouthSmileLeft, 0.4),
        (C::MouthSmileRight, 0.42),
        (C::EyeSquintLeft, 0.15),
        (C::EyeSquintRight, 0.14),
    ]);
    let reading = genuine.read().unwrap();
    assert_eq!(
        (reading.cue, reading.side),
        (CueId::GenuineSmile, Side::Both)
    );
    assert_eq!(reading.valence, Valence::Positive);
    assert_eq!(reading.evidence[0].channel, "mouthSmileRight");
    let polite = Apex::new(&[(C::MouthSmileLeft, 0.4), (C::MouthSmileRight, 0.42)]);
    assert_eq!(polite.read().unwrap().cue, CueId::PoliteSmile);
}

#[test]
fn a_one_sided_corner_is_unilateral_with_its_side() {
    let right = Apex::new(&[
        (C::MouthSmileRight, 0.3),
        (C::MouthDimpleRight, 0.1),
        (C::MouthSmileLeft, 0.03),
    ]);
    let reading = right.read().unwrap();
    assert_eq!(
        (reading.cue, reading.side),
        (CueId::UnilateralLipCorner, Side::Right)
    );
}

#[test]
fn a_one_sided_pull_during_a_held_smile_is_read_from_the_change() {
    // The person already smiles (both smile blendshapes over the baseline); during a pulse
    // only the left corner moves.
    let pull = Apex::new(&[
        (C::MouthSmileLeft, 0.5),
        (C::MouthSmileRight, 0.45),
        (C::MotionMouthCornerLeftUp, 0.03),
        (C::MotionMouthCornerLeftOut, 0.03),
    ]);
    let reading = pull.read_change().unwrap();
    assert_eq!(
        (reading.cue, reading.side),
        (CueId::UnilateralLipCorner, Side::Left)
    );
    // Read as levels (a segment of the expression detector), it is the smile.
    let reading = pull.read().unwrap();
    assert_eq!(reading.side, Side::Both, "{reading:?}");
    assert!(matches!(
        reading.cue,
        CueId::PoliteSmile | CueId::GenuineSmile
    ));
    // Both corners moving during the pulse stay a two-sided smile.
    let both = Apex::new(&[
        (C::MouthSmileLeft, 0.5),
        (C::MouthSmileRight, 0.45),
        (C::MotionMouthCornerLeftUp, 0.03),
        (C::MotionMouthCornerLeftOut, 0.03),
        (C::MotionMouthCornerRightUp, 0.028),
        (C::MotionMouthCornerRightOut, 0.03),
    ]);
    assert_eq!(both.read_change().unwrap().side, Side::Both);
}

#[test]
fn for_a_pulse_the_whitened_corners_tell_one_sided_from_two_sided() {
    // The right corner moves with the left (the person talks): by the corners' motion alone
    // this is two-sided, but against the person's co-motion the left corner's pull is the
    // likelier movement.
    let mut pull = Apex::new(&[
        (C::MotionMouthCornerLeftUp, 0.03),
        (C::MotionMouthCornerLeftOut, 0.03),
        (C::MotionMouthCornerRightUp, 0.025),
        (C::MotionMouthCornerRightOut, 0.025),
        (C::WhiteMouthCornerLeftPull, 6.0),
        (C::WhiteMouthCornerRightPull, 1.0),
        (C::WhiteMouthCornersPull, 4.5),
    ]);
    let reading = pull.read_change().unwrap();
    assert_eq!(
        (reading.cue, reading.side),
        (CueId::UnilateralLipCorner, Side::Left),
        "{reading:?}"
    );
    // Without the whitened channels, the corners' motion decides.
    for channel in CORNER_TWINS {
        pull.deltas[channel.index()] = f32::NAN;
    }
    assert_eq!(pull.read_change().unwrap().side, Side::Both);

    // A smile whose right corner moved a fifth as much as the left: one-sided by the
    // corners' motion, two-sided against the co-motion (both corners' filter fits best).
    let mut smile = Apex::new(&[
        (C::MotionMouthCornerLeftUp, 0.03),
        (C::MotionMouthCornerLeftOut, 0.03),
        (C::MotionMouthCornerRightUp, 0.008),
        (C::MotionMouthCornerRightOut, 0.004),
        (C::WhiteMouthCornerLeftPull, 4.0),
        (C::WhiteMouthCornerRightPull, 3.0),
        (C::WhiteMouthCornersPull, 5.0),
    ]);
    let reading = smile.read_change().unwrap();
    assert_eq!(
        (reading.cue, reading.side),
        (CueId::PoliteSmile, Side::Both),
        "{reading:?}"
    );
    // Read as levels (a segment), the whitened test does not apply.
    assert_eq!(smile.read().unwrap().cue, CueId::UnilateralLipCorner);
    // Turned off, the corners' motion decides.
    for channel in CORNER_TWINS {
        smile.deltas[channel.index()] = f32::NAN;
    }
    assert_eq!(smile.read_change().unwrap().side, Side::Left);
}

#[test]
fn a_pulse_reads_its_own_regions_below_the_noise_gate() {
    // Both brows lifted by 1.5 times their spread: under the noise gate by themselves, but
    // the brows-up pulse found the movement (its whitened twin stood out of the noise).
    let apex = Apex::new(&[
        (C::MotionBrowLeftUp, 0.015),
        (C::MotionBrowRightUp, 0.015),
        (C::MotionBrowInnerUp, 0.012),
    ]);
    let reading = apex
        .read_snapshot(false, Some(Channel::MotionBrowsUp), &[])
        .unwrap();
    assert_eq!(reading.cue, CueId::EyebrowFlash);
    // What the label was read from is shown with it.
    let shown: Vec<&str> = reading
        .evidence
        .iter()
        .map(|e| e.channel.as_str())
        .collect();
    assert_eq!(
        shown,
        [
            "motion:brow_left_up",
            "motion:brow_right_up",
            "motion:brow_inner_up"
        ],
        "{reading:?}"
    );
    // Read as a segment, or as another group's pulse, the same motion is noise.
    assert_eq!(apex.read(), None);
    assert_eq!(
        apex.read_snapshot(false, Some(Channel::MotionNoseUp), &[]),
        None
    );
}

#[test]
fn for_a_pulse_the_rest_of_the_face_counts_only_above_three_spreads() {
    // A nose pulse while the brows drift up by 2.5 spreads (a talking face's co-motion).
    let apex = Apex::new(&[
        (C::MotionNoseLeftUp, 0.02),
        (C::MotionNoseRightUp, 0.02),
        (C::MotionBrowLeftUp, 0.025),
        (C::MotionBrowRightUp, 0.025),
        (C::MotionBrowInnerUp, 0.025),
    ]);
    let nose = |config: &ReaderConfig| apex.read_pulse(Channel::MotionNoseUp, 20.0, config);
    let reading = nose(&ReaderConfig::default()).unwrap();
    assert_eq!(reading.cue, CueId::NoseWrinkle);
    assert!(
        reading
            .evidence
            .iter()
            .all(|e| !e.channel.starts_with("motion:brow")),
        "{reading:?}"
    );
    // Gated at 2 spreads like a segment, the brows dilute the nose's match below the
    // template threshold: nothing is read.
    let config = ReaderConfig {
        pulse_noise_multiple: 2.0,
        ..ReaderConfig::default()
    };
    assert_eq!(nose(&config), None);
}

#[test]
fn a_strong_pulse_is_read_through_the_rest_of_a_moving_face() {
    // A frown pulse while the mouth corners and a lower lid move by 3.5 spreads (a talking
    // face at the apex): their share dilutes the frown's template match to about 0.65.
    let apex = Apex::new(&[
        (C::MotionBrowInnerDown, 0.08),
        (C::MotionBrowLeftDown, 0.03),
        (C::MotionBrowRightDown, 0.03),
        (C::MotionMouthCornerLeftUp, 0.035),
        (C::MotionMouthCornerRightUp, 0.035),
        (C::MotionEyeLeftUp, 0.035),
    ]);
    let config = ReaderConfig::default();
    let read = |peak_z: f32| {
        apex.read_pulse(Channel::MotionInnerBrowsDown, peak_z, &config)
            .map(|r| r.cue)
    };
    assert_eq!(read(config.strong_pulse_z + 2.0), Some(CueId::MicroFrown));
    // The same apex of a pulse under `strong_pulse_z` needs the full match.
    assert_eq!(read(config.strong_pulse_z - 1.0), None);
}

#[test]
fn brows_and_eyes_and_mouth_give_their_cues() {
    let cases: [(&[(Channel, f32)], CueId); 6] = [
        (
            &[
                (C::BrowInnerUp, 0.3),
                (C::BrowOuterUpLeft, 0.25),
                (C::BrowOuterUpRight, 0.25),
            ],
            CueId::EyebrowFlash,
        ),
        (
            &[
                (C::BrowInnerUp, 0.3),
                (C::BrowOuterUpLeft, 0.25),
                (C::BrowOuterUpRight, 0.25),
                (C::EyeWideLeft, 0.2),
                (C::EyeWideRight, 0.22),
                (C::JawOpen, 0.1),
            ],
            CueId::MicroSurprise,
        ),
        (
            &[(C::BrowDownLeft, 0.3), (C::BrowDownRight, 0.28)],
            CueId::MicroFrown,
        ),
        (
            &[
                (C::BrowDownLeft, 0.3),
                (C::BrowDownRight, 0.3),
                (C::EyeSquintLeft, 0.15),
                (C::EyeSquintRight, 0.15),
                (C::MouthPressLeft, 0.2),
                (C::MouthPressRight, 0.22),
            ],
            CueId::MicroAnger,
        ),
        (
            &[
                (C::MouthPressLeft, 0.3),
                (C::MouthPressRight, 0.3),
                (C::MouthRollLower, 0.15),
            ],
            CueId::LipCompression,
        ),
        (
            &[
                (C::NoseSneerLeft, 0.3),
                (C::NoseSneerRight, 0.3),
                (C::MouthUpperUpLeft, 0.2),
                (C::MouthUpperUpRight, 0.2),
            ],
            CueId::NoseWrinkle,
        ),
    ];
    for (moves, cue) in cases {
        // A source without region motion (blendshapes only).
        let mut apex = Apex::new(moves);
        for spec in CHANNELS.iter() {
            if matches!(
                spec.source,
                ChannelSource::FaceMotion(..)
                    | ChannelSource::FaceMotionGroup(_)
                    | ChannelSource::RegionUp(_)
                    | ChannelSource::RegionMagnitude(_)
            ) {
                apex.deltas[spec.channel.index()] = f32::NAN;
                apex.segment_max[spec.channel.index()] = f32::NAN;
            }
        }
        let reading = apex.read().unwrap();
        assert_eq!(reading.cue, cue, "{moves:?}");
        assert!(
            reading.confidence > 0.3 && reading.confidence <= 1.0,
            "{reading:?}"
        );
    }
}

#[test]
fn with_region_motion_anger_needs_the_lips_seen_pressing() {
    let frown_with_pressed_lips = [
        (C::BrowDownLeft, 0.3),
        (C::BrowDownRight, 0.3),
        (C::MotionBrowInnerDown, 0.02),
        (C::MouthPressLeft, 0.2),
        (C::MouthPressRight, 0.22),
    ];
    let mut apex = Apex::new(&frown_with_pressed_lips);
    // As a brows-down pulse reads it: the mouth's own cues are not candidates.
    let read = |apex: &Apex| apex.read_with(false, &[CueId::LipCompression]).unwrap().cue;
    // The press blendshapes rose but the upper lip did not move (speech, a smile).
    assert_eq!(read(&apex), CueId::MicroFrown);
    apex.deltas[C::MotionLipsDown.index()] = 0.04;
    assert_eq!(read(&apex), CueId::MicroAnger);
}

#[test]
fn one_sided_brow_raise_reports_its_side_and_unavailable_cues_are_skipped() {
    let left = Apex::new(&[(C::BrowOuterUpLeft, 0.3), (C::BrowInnerUp, 0.2)]);
    let reading = left.read().unwrap();
    assert_eq!(
        (reading.cue, reading.side),
        (CueId::EyebrowFlash, Side::Left)
    );
    let snapshot = ApexSnapshot {
        deltas: &left.deltas,
        spreads: &left.spreads,
        segment_max: &left.segment_max,
        peak_z: 20.0,
        blink_near: false,
        pulse: None,
    };
    assert_eq!(
        read_expression(&snapshot, &ReaderConfig::default(), &[CueId::EyebrowFlash]),
        None
    );
}

#[test]
fn region_motion_under_the_eyes_is_a_duchenne_marker() {
    let mut smile = Apex::new(&[(C::MouthSmileLeft, 0.4), (C::MouthSmileRight, 0.4)]);
    assert_eq!(smile.read().unwrap().cue, CueId::PoliteSmile);
    smile.spreads[C::RegionEyeLeftUp.index()] = 0.002;
    smile.spreads[C::RegionEyeRightUp.index()] = 0.002;
    smile.segment_max[C::RegionEyeLeftUp.index()] = 0.01;
    smile.segment_max[C::RegionEyeRightUp.index()] = 0.012;
    let reading = smile.read().unwrap();
    assert_eq!(reading.cue, CueId::GenuineSmile);
    assert!(
        reading
            .evidence
            .iter()
            .any(|e| e.channel == "region:eye_right_up")
    );
    // After a blink the same motion is the lids reopening.
    assert_eq!(smile.read_blink(true).unwrap().cue, CueId::PoliteSmile);
}

#[test]
fn for_a_pulse_a_lift_under_the_eyes_near_its_spread_is_a_duchenne_marker() {
    // A corner pulse with the skin under the eyes lifting by 1.5 of its spreads during the
    // rise: under a segment's 2-spread gate, over a pulse's.
    let mut smile = Apex::new(&[
        (C::MotionMouthCornerLeftUp, 0.03),
        (C::MotionMouthCornerLeftOut, 0.03),
        (C::MotionMouthCornerRightUp, 0.03),
        (C::MotionMouthCornerRightOut, 0.03),
    ]);
    assert_eq!(smile.read_change().unwrap().cue, CueId::PoliteSmile);
    for eye in [C::RegionEyeLeftUp, C::RegionEyeRightUp] {
        smile.spreads[eye.index()] = 0.004;
        smile.segment_max[eye.index()] = 0.006;
    }
    assert_eq!(smile.read_change().unwrap().cue, CueId::GenuineSmile);
    let segment_gate = ReaderConfig {
        pulse_lid_raise_multiple: ReaderConfig::default().noise_multiple,
        ..ReaderConfig::default()
    };
    let reading = read_expression(
        &smile.snapshot(false, Some(Channel::MotionMouthCornersPull)),
        &segment_gate,
        &[],
    );
    assert_eq!(reading.unwrap().cue, CueId::PoliteSmile);
}

#[test]
fn an_upper_lid_lift_with_the_brows_is_surprise() {
    // Region motion only (the blendshapes missed it), as in a subtle movement.
    let brows = [
        (C::MotionBrowLeftUp, 0.03),
        (C::MotionBrowRightUp, 0.028),
        (C::MotionBrowInnerUp, 0.02),
    ];
    let mut apex = Apex::new(&brows);
    for channel in CHANNELS.iter().map(|spec| spec.channel) {
        apex.spreads[channel.index()] = 0.002;
    }
    assert_eq!(apex.read().unwrap().cue, CueId::EyebrowFlash);
    // A lid that moves by a tenth of the brows is the skin the brows pull: still a flash.
    apex.deltas[C::MotionLidLeftUp.index()] = 0.004;
    apex.deltas[C::MotionLidRightUp.index()] = 0.0;
    assert_eq!(apex.read().unwrap().cue, CueId::EyebrowFlash);
    // The lid margins lift by half the brows' movement: AU5, surprise.
    apex.deltas[C::MotionLidLeftUp.index()] = 0.016;
    apex.deltas[C::MotionLidRightUp.index()] = 0.014;
    assert_eq!(apex.read().unwrap().cue, CueId::MicroSurprise);
    // Around a blink the lids' motion is the blink's.
    assert_eq!(apex.read_blink(true).unwrap().cue, CueId::EyebrowFlash);
}

#[test]
fn talking_mouth_alone_is_not_a_cue() {
    assert_eq!(Apex::new(&[(C::JawOpen, 0.4)]).read(), None);
    assert_eq!(Apex::new(&[]).read(), None);
}

#[test]
fn gaze_side_follows_the_glance_direction() {
    let apex = GazeApex {
        horizontal: -0.4,
        vertical: 0.02,
        yaw_deg: -8.0,
        pitch_deg: 0.0,
        spreads: [0.03, 0.03, 1.2, 1.2],
        peak_z: 12.0,
    };
    let reading = read_gaze(&apex, &ReaderConfig::default());
    assert_eq!(
        (reading.cue, reading.side),
        (CueId::GazeAversion, Side::Right)
    );
    assert_eq!(reading.evidence[0].channel, "gaze:horizontal");
    let down = GazeApex {
        horizontal: 0.0,
        vertical: -0.4,
        yaw_deg: 0.0,
        ..apex
    };
    assert_eq!(read_gaze(&down, &ReaderConfig::default()).side, Side::Both);
}
