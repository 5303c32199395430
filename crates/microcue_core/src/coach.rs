//! Coaching: one calibrated micro-response per cue, and a watcher for what happens next.
//!
//! [`suggest`] turns a cue (and its side) into a [`Suggestion`]: the response family, the
//! guide's lines, what to watch for, the two-cue rule and the repair lines. It is a lookup in
//! [`crate::lexicon`], never a verdict.
//!
//! [`OutcomeWatcher`] follows one face after the user marks "responded" and says whether the
//! face **relaxed**, **matched** (a smile or another positive cue came back) or **withdrew**
//! (glance or head turned away, lips pressed, a negative cue, the face left the picture) —
//! the guide's "observe outcome (5–15s)". Reading of that window: observation starts at the
//! response; a clear outcome may be called from 5 s after it; at 15 s the decision is final and
//! anything not clear is [`Outcome::Unclear`].
//!
//! Design: the watcher is pure. It has no clock; time comes from the frames' `pts_s`, the
//! events' `apex_s` and the caller's `now_s`. Its decision is a function of the evidence times
//! (the earliest moment at which the picture was clear), so it does not depend on how often or
//! when [`OutcomeWatcher::outcome`] is asked. Frames of one track must arrive in time order;
//! events may arrive late (the spotter emits them after their offset). `push` allocates nothing.
//!
//! ```
//! use microcue_core::coach::{Outcome, OutcomeWatcher};
//! use microcue_core::{BlendshapeIndex, FaceSignals, TrackId};
//!
//! let mut watcher = OutcomeWatcher::new(TrackId(0), 2.0, None);
//! for frame in 0..300 {
//!     let pts_s = frame as f64 / 30.0;
//!     let mut face = FaceSignals::neutral(TrackId(0), pts_s);
//!     if pts_s > 4.0 {
//!         // They smile back two seconds after the response.
//!         face.blendshapes[BlendshapeIndex::MOUTH_SMILE_LEFT.0] = 0.6;
//!         face.blendshapes[BlendshapeIndex::MOUTH_SMILE_RIGHT.0] = 0.6;
//!     }
//!     watcher.push(&face);
//! }
//! assert_eq!(watcher.outcome(9.9), Some(Outcome::Matched));
//! ```

#[cfg(feature = "serde")]
use serde::Serialize;

use crate::cue::{CueId, ResponseFamily, Side, Valence};
use crate::event::Event;
use crate::lexicon::{self, REPAIR_LINES, TWO_CUE_RULE};
use crate::signals::{BlendshapeIndex as B, FaceSignals, TrackId};

/// Earliest time after the response at which an outcome may be called, seconds.
pub const OBSERVE_EARLIEST_S: f64 = 5.0;
/// End of the observation window after the response, seconds: the decision is final here.
pub const OBSERVE_FINAL_S: f64 = 15.0;
/// How far before the response frames are averaged into the pre-response levels, seconds.
pub const PRE_RESPONSE_WINDOW_S: f64 = 3.0;

/// Below this presence the face counts as absent.
const MIN_PRESENCE: f32 = 0.5;
/// Face absent (or no frames) this long = withdrew (face lost), seconds.
const FACE_LOST_S: f64 = 1.0;
/// A smile: mean mouthSmile this far above its pre-response level ...
const SMILE_RISE: f32 = 0.25;
/// ... held this long, seconds.
const SMILE_HOLD_S: f64 = 0.25;
/// Turning away: head yaw this far from its pre-response level, degrees ...
const HEAD_TURN_DEG: f32 = 20.0;
/// ... held this long, seconds.
const HEAD_TURN_HOLD_S: f64 = 0.5;
/// Looking away: eye-gaze offset (eyeLook units) this far from its pre-response direction ...
const GAZE_AWAY: f32 = 0.4;
/// ... held this long (longer than a blink, which also moves eyeLookDown), seconds.
const GAZE_AWAY_HOLD_S: f64 = 0.5;
/// Lips pressed: mean mouthPress this far above its pre-response level ...
const PRESS_RISE: f32 = 0.25;
/// ... held this long, seconds.
const PRESS_HOLD_S: f64 = 0.2;
/// Relaxing needs some tension before the response (sum of the three tension channels) ...
const RELAX_MIN_TENSION: f32 = 0.08;
/// ... to fall by at least this much (absolute) ...
const RELAX_DROP_ABS: f32 = 0.04;
/// ... and at least this fraction of its pre-response level ...
const RELAX_DROP_FRACTION: f32 = 0.3;
/// ... held this long, seconds.
const RELAX_HOLD_S: f64 = 2.0;

/// One response suggestion for a spotted cue.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Suggestion {
    pub cue: CueId,
    /// Side from the subject's view.
    pub side: Side,
    /// Whether microcue can measure the cue at all (`pupil_dilation` cannot).
    pub supported: bool,
    /// The response family (`None` for unsupported cues).
    pub family: Option<ResponseFamily>,
    /// A second family that context may call for instead (one-sided lip corner: lighten).
    pub alternative: Option<ResponseFamily>,
    /// One line: what was seen and what to do.
    pub headline: String,
    /// Lines to say, verbatim from the guide.
    pub lines: &'static [&'static str],
    /// Which line when (when the guide's lines need a choice), or where they come from.
    pub lines_note: Option<&'static str>,
    /// When the reading depends on context, how to decide.
    pub context_note: Option<&'static str>,
    /// What to watch for in the 5–15 s after responding.
    pub watch_next: &'static str,
    /// Observation window after the response, seconds: `[earliest call, final]`.
    pub observe_window_s: [f64; 2],
    /// A single cue is never a verdict.
    pub two_cue_rule: &'static str,
    /// If it was a misread.
    pub repair_lines: &'static [&'static str],
}

/// The response suggestion for `cue` seen on `side` (subject's view).
///
/// For `unilateral_lip_corner` the suggestion names both moves (repair if it read as contempt,
/// lighten if it was coy) and says that context decides.
pub fn suggest(cue: CueId, side: Side) -> Suggestion {
    let entry = lexicon::entry(cue);
    let side_text = match side {
        Side::Left => " (subject's left)",
        Side::Right => " (subject's right)",
        Side::Both => "",
    };
    let headline = match (entry.family, entry.alternative_family) {
        (None, _) => format!(
            "{}: {} — {}",
            entry.name, entry.signature.pattern, entry.response
        ),
        (Some(family), Some(alternative)) => format!(
            "{}{side_text}: {} if it read as contempt ({}), {} if it was coy ({}) — context \
             decides.",
            entry.name,
            lexicon::family_name(family),
            lexicon::family_action(family),
            lexicon::family_name(alternative),
            lexicon::family_action(alternative),
        ),
        (Some(family), None) => format!(
            "{}{side_text}: {} — {}.",
            entry.name,
            lexicon::family_name(family),
            lexicon::family_action(family)
        ),
    };
    let context_note = match cue {
        CueId::UnilateralLipCorner => Some(
            "Context decides: after a claim, a boast or a disagreement, with a cold look, read \
             contempt and repair; in a playful exchange, with warmth around the eyes, read \
             coyness and keep it light. Unsure: lighten, and repair quickly if the next signal \
             is negative.",
        ),
        CueId::GazeAversion => Some(
            "Thinking or discomfort — context decides: after a hard question it is often \
             thinking. Give space either way.",
        ),
        CueId::PupilDilation => {
            Some("Pupil size is not measurable from ordinary video; microcue never reports it.")
        }
        _ if cue.valence() == Valence::Negative => Some(
            "Negative cues are often about the topic, the room or the person's own thoughts, \
             not about you: soften first, don't interrogate.",
        ),
        _ => None,
    };
    Suggestion {
        cue,
        side,
        supported: entry.supported,
        family: entry.family,
        alternative: entry.alternative_family,
        headline,
        lines: entry.lines,
        lines_note: entry.lines_note,
        context_note,
        watch_next: entry.watch_next,
        observe_window_s: [OBSERVE_EARLIEST_S, OBSERVE_FINAL_S],
        two_cue_rule: TWO_CUE_RULE,
        repair_lines: &REPAIR_LINES,
    }
}

/// What the face did after the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Outcome {
    /// Tension channels (browDown, mouthPress, eyeSquint) fell below their pre-response level.
    Relaxed,
    /// A smile or another positive cue appeared.
    Matched,
    /// Glance or head turned away, lips pressed, a negative cue, or the face was lost.
    Withdrew,
    /// Nothing clear, or mixed signals, by the end of the window.
    Unclear,
}

/// The signal that made an outcome clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum OutcomeSign {
    /// Both mouth corners rose over their pre-response level and held.
    SmileReturned,
    /// The spotter saw a positive cue (or a polite smile).
    PositiveCue(CueId),
    /// Head yaw moved far from its pre-response direction and held.
    HeadTurnedAway,
    /// Eye gaze moved far from its pre-response direction and held.
    GazeAway,
    /// Lips pressed over their pre-response level.
    LipsPressed,
    /// The spotter saw a negative cue (or gaze aversion).
    NegativeCue(CueId),
    /// No face (or low presence) for a second or more.
    FaceLost,
    /// Tension channels stayed below their pre-response level.
    TensionFell,
}

/// An outcome with when it became clear and why.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Decision {
    pub outcome: Outcome,
    /// When the outcome was called, seconds (source time).
    pub decided_at_s: f64,
    /// The signal that made it clear (`None` for `unclear`).
    pub sign: Option<OutcomeSign>,
}

/// Pre-response levels of the channels the watcher reads (a baseline snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct PreResponseLevels {
    /// Mean of mouthSmileLeft/Right.
    pub mouth_smile: f32,
    /// Mean of browDownLeft/Right.
    pub brow_down: f32,
    /// Mean of mouthPressLeft/Right.
    pub mouth_press: f32,
    /// Mean of eyeSquintLeft/Right.
    pub eye_squint: f32,
    /// Horizontal gaze, eyeLook units: > 0 towards the subject's left.
    pub gaze_horizontal: f32,
    /// Vertical gaze, eyeLook units: > 0 down.
    pub gaze_vertical: f32,
    /// Head yaw, degrees.
    pub head_yaw_deg: f32,
}

impl PreResponseLevels {
    /// The levels of one frame.
    pub fn of_frame(face: &FaceSignals) -> Self {
        let mean = |a: B, b: B| 0.5 * (face.blendshape(a) + face.blendshape(b));
        PreResponseLevels {
            mouth_smile: mean(B::MOUTH_SMILE_LEFT, B::MOUTH_SMILE_RIGHT),
            brow_down: mean(B::BROW_DOWN_LEFT, B::BROW_DOWN_RIGHT),
            mouth_press: mean(B::MOUTH_PRESS_LEFT, B::MOUTH_PRESS_RIGHT),
            eye_squint: mean(B::EYE_SQUINT_LEFT, B::EYE_SQUINT_RIGHT),
            // Subject looks to their left: left eye looks out, right eye looks in.
            gaze_horizontal: mean(B::EYE_LOOK_OUT_LEFT, B::EYE_LOOK_IN_RIGHT)
                - mean(B::EYE_LOOK_IN_LEFT, B::EYE_LOOK_OUT_RIGHT),
            gaze_vertical: mean(B::EYE_LOOK_DOWN_LEFT, B::EYE_LOOK_DOWN_RIGHT)
                - mean(B::EYE_LOOK_UP_LEFT, B::EYE_LOOK_UP_RIGHT),
            head_yaw_deg: face.head_pose.yaw_deg,
        }
    }

    /// Mean levels of the frames with a face present; `None` when there is none.
    pub fn mean_of(frames: &[FaceSignals]) -> Option<Self> {
        let mut sum = LevelSum::default();
        for frame in frames.iter().filter(|f| f.presence >= MIN_PRESENCE) {
            sum.add(&Self::of_frame(frame));
        }
        sum.mean()
    }

    /// browDown + mouthPress + eyeSquint: the negative-tension channels.
    pub fn tension(&self) -> f32 {
        self.brow_down + self.mouth_press + self.eye_squint
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct LevelSum {
    sum: [f64; 7],
    count: u32,
}

impl LevelSum {
    fn add(&mut self, levels: &PreResponseLevels) {
        let values = [
            levels.mouth_smile,
            levels.brow_down,
            levels.mouth_press,
            levels.eye_squint,
            levels.gaze_horizontal,
            levels.gaze_vertical,
            levels.head_yaw_deg,
        ];
        for (sum, value) in self.sum.iter_mut().zip(values) {
            *sum += f64::from(value);
        }
        self.count += 1;
    }

    fn mean(&self) -> Option<PreResponseLevels> {
        if self.count == 0 {
            return None;
        }
        let n = f64::from(self.count);
        let m = |i: usize| (self.sum[i] / n) as f32;
        Some(PreResponseLevels {
            mouth_smile: m(0),
            brow_down: m(1),
            mouth_press: m(2),
            eye_squint: m(3),
            gaze_horizontal: m(4),
            gaze_vertical: m(5),
            head_yaw_deg: m(6),
        })
    }
}

/// A condition that must hold for some time: remembers when it started holding.
#[derive(Debug, Clone, Copy, Default)]
struct Hold {
    since_s: Option<f64>,
}

impl Hold {
    /// Updates with this frame; returns true once the condition has held for `hold_s`.
    fn update(&mut self, holds: bool, pts_s: f64, hold_s: f64) -> bool {
        if !holds {
            self.since_s = None;
            return false;
        }
        let since = *self.since_s.get_or_insert(pts_s);
        pts_s - since >= hold_s
    }
}

/// Reference levels for the observation, fixed at the first frame after the response.
#[derive(Debug, Clone, Copy)]
struct Reference {
    levels: PreResponseLevels,
    /// Whether `levels` describe the face before the response (needed to call "relaxed").
    before_response: bool,
}

/// Watches one face for 5–15 s after a response and calls the outcome.
#[derive(Debug, Clone)]
pub struct OutcomeWatcher {
    track: TrackId,
    responded_at_s: f64,
    given: Option<PreResponseLevels>,
    pre_sum: LevelSum,
    reference: Option<Reference>,
    /// Time of the last frame of this track (any presence).
    last_frame_s: Option<f64>,
    absent: Hold,
    smile: Hold,
    head_turn: Hold,
    gaze_away: Hold,
    press: Hold,
    relax: Hold,
    first_positive: Option<(f64, OutcomeSign)>,
    first_withdrawal: Option<(f64, OutcomeSign)>,
    relaxed_at_s: Option<f64>,
}

impl OutcomeWatcher {
    /// Watches `track` after a response at `responded_at_s` (source time, seconds).
    ///
    /// `baseline`: the face's levels before the response, e.g. from
    /// [`PreResponseLevels::mean_of`]. With `None`, the watcher averages the frames it is given
    /// from the [`PRE_RESPONSE_WINDOW_S`] before the response; without those either, it takes
    /// the first frame after the response as reference and cannot call [`Outcome::Relaxed`].
    pub fn new(track: TrackId, responded_at_s: f64, baseline: Option<PreResponseLevels>) -> Self {
        OutcomeWatcher {
            track,
            responded_at_s,
            given: baseline,
            pre_sum: LevelSum::default(),
            reference: None,
            last_frame_s: None,
            absent: Hold::default(),
            smile: Hold::default(),
            head_turn: Hold::default(),
            gaze_away: Hold::default(),
            press: Hold::default(),
            relax: Hold::default(),
            first_positive: None,
            first_withdrawal: None,
            relaxed_at_s: None,
        }
    }

    /// The watched track.
    pub fn track(&self) -> TrackId {
        self.track
    }

    /// When the user responded, seconds.
    pub fn responded_at_s(&self) -> f64 {
        self.responded_at_s
    }

    /// Feeds one frame. Frames of other tracks are ignored; frames of this track must come in
    /// time order (frames before the response fill the pre-response levels).
    pub fn push(&mut self, face: &FaceSignals) {
        if face.track != self.track {
            return;
        }
        let pts_s = face.pts_s;
        let start_s = self.responded_at_s;
        let end_s = start_s + OBSERVE_FINAL_S;
        let previous_s = self.last_frame_s;
        self.last_frame_s = Some(pts_s);
        if pts_s <= start_s {
            if pts_s >= start_s - PRE_RESPONSE_WINDOW_S && face.presence >= MIN_PRESENCE {
                self.pre_sum.add(&PreResponseLevels::of_frame(face));
            }
            return;
        }
        if pts_s > end_s {
            return;
        }
        // A gap in the frames of this track is a lost face.
        let gap_from_s = previous_s.map_or(start_s, |p| p.max(start_s));
        if pts_s - gap_from_s >= FACE_LOST_S {
            self.withdrawal(gap_from_s + FACE_LOST_S, OutcomeSign::FaceLost);
        }
        if face.presence < MIN_PRESENCE {
            if self.absent.update(true, pts_s, FACE_LOST_S) {
                self.withdrawal(pts_s, OutcomeSign::FaceLost);
            }
            // No channel can be read: every held condition is broken.
            for hold in [
                &mut self.smile,
                &mut self.head_turn,
                &mut self.gaze_away,
                &mut self.press,
                &mut self.relax,
            ] {
                hold.since_s = None;
            }
            return;
        }
        self.absent.since_s = None;

        let now = PreResponseLevels::of_frame(face);
        let reference = *self.reference.get_or_insert_with(|| {
            if let Some(levels) = self.given {
                Reference {
                    levels,
                    before_response: true,
                }
            } else if let Some(levels) = self.pre_sum.mean() {
                Reference {
                    levels,
                    before_response: true,
                }
            } else {
                Reference {
                    levels: now,
                    before_response: false,
                }
            }
        });
        let before = reference.levels;

        if self.smile.update(
            now.mouth_smile - before.mouth_smile >= SMILE_RISE,
            pts_s,
            SMILE_HOLD_S,
        ) {
            self.positive(pts_s, OutcomeSign::SmileReturned);
        }
        let turned = (now.head_yaw_deg - before.head_yaw_deg).abs() >= HEAD_TURN_DEG;
        if self.head_turn.update(turned, pts_s, HEAD_TURN_HOLD_S) {
            self.withdrawal(pts_s, OutcomeSign::HeadTurnedAway);
        }
        let gaze_offset = (now.gaze_horizontal - before.gaze_horizontal)
            .hypot(now.gaze_vertical - before.gaze_vertical);
        if self
            .gaze_away
            .update(gaze_offset >= GAZE_AWAY, pts_s, GAZE_AWAY_HOLD_S)
        {
            self.withdrawal(pts_s, OutcomeSign::GazeAway);
        }
        if self.press.update(
            now.mouth_press - before.mouth_press >= PRESS_RISE,
            pts_s,
            PRESS_HOLD_S,
        ) {
            self.withdrawal(pts_s, OutcomeSign::LipsPressed);
        }
        let tension_before = before.tension();
        let relaxed = reference.before_response
            && tension_before >= RELAX_MIN_TENSION
            && now.tension()
                <= tension_before - RELAX_DROP_ABS.max(RELAX_DROP_FRACTION * tension_before);
        if self.relax.update(relaxed, pts_s, RELAX_HOLD_S) && self.relaxed_at_s.is_none() {
            self.relaxed_at_s = Some(pts_s);
        }
    }

    /// Feeds one event from the spotter (any order). Positive cues and polite smiles count as
    /// matched; negative cues and gaze aversion as withdrew; a one-sided lip corner is left to
    /// context and does not count. Only events of this track with their apex inside the
    /// window count.
    pub fn push_event(&mut self, event: &Event) {
        if event.track != self.track {
            return;
        }
        let at_s = event.apex_s;
        if at_s <= self.responded_at_s || at_s > self.responded_at_s + OBSERVE_FINAL_S {
            return;
        }
        match event.cue {
            CueId::PoliteSmile => self.positive(at_s, OutcomeSign::PositiveCue(event.cue)),
            CueId::GazeAversion => self.withdrawal(at_s, OutcomeSign::NegativeCue(event.cue)),
            cue => match cue.valence() {
                Valence::Positive => self.positive(at_s, OutcomeSign::PositiveCue(cue)),
                Valence::Negative => self.withdrawal(at_s, OutcomeSign::NegativeCue(cue)),
                Valence::Neutral | Valence::Ambiguous | Valence::Unknown => {}
            },
        }
    }

    /// The outcome as of `now_s` (source time): `None` while it is not yet clear (always before
    /// 5 s after the response), final from 15 s after the response.
    pub fn outcome(&self, now_s: f64) -> Option<Outcome> {
        self.decision(now_s).map(|d| d.outcome)
    }

    /// Like [`outcome`](Self::outcome), with when and why it was called.
    pub fn decision(&self, now_s: f64) -> Option<Decision> {
        let start_s = self.responded_at_s;
        let earliest_s = start_s + OBSERVE_EARLIEST_S;
        let final_s = start_s + OBSERVE_FINAL_S;
        let cutoff_s = now_s.min(final_s);
        let known = |e: Option<(f64, OutcomeSign)>| e.filter(|(t, _)| *t <= cutoff_s);

        let positive = known(self.first_positive);
        // Frames that stopped coming: the face was lost one second after the last one.
        let trailing_loss = {
            let last_s = self.last_frame_s.map_or(start_s, |t| t.max(start_s));
            let lost_s = last_s + FACE_LOST_S;
            (last_s < final_s && lost_s <= cutoff_s).then_some((lost_s, OutcomeSign::FaceLost))
        };
        let withdrawal = match (known(self.first_withdrawal), trailing_loss) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
        let relaxed = self.relaxed_at_s.filter(|t| *t <= cutoff_s);

        let before = |e: Option<(f64, OutcomeSign)>, t: f64| e.is_some_and(|(at, _)| at <= t);
        let mut candidates: [Option<Decision>; 3] = [None; 3];
        if let Some((at_s, sign)) = positive {
            let decided_at_s = at_s.max(earliest_s);
            if !before(withdrawal, decided_at_s) {
                candidates[0] = Some(Decision {
                    outcome: Outcome::Matched,
                    decided_at_s,
                    sign: Some(sign),
                });
            }
        }
        if let Some((at_s, sign)) = withdrawal {
            let decided_at_s = at_s.max(earliest_s);
            if !before(positive, decided_at_s) {
                candidates[1] = Some(Decision {
                    outcome: Outcome::Withdrew,
                    decided_at_s,
                    sign: Some(sign),
                });
            }
        }
        if let Some(at_s) = relaxed {
            let decided_at_s = at_s.max(earliest_s);
            if !before(positive, decided_at_s) && !before(withdrawal, decided_at_s) {
                candidates[2] = Some(Decision {
                    outcome: Outcome::Relaxed,
                    decided_at_s,
                    sign: Some(OutcomeSign::TensionFell),
                });
            }
        }
        let earliest = candidates
            .into_iter()
            .flatten()
            .filter(|d| d.decided_at_s <= cutoff_s)
            .min_by(|a, b| a.decided_at_s.total_cmp(&b.decided_at_s));
        match earliest {
            Some(decision) => Some(decision),
            None if now_s >= final_s => Some(Decision {
                outcome: Outcome::Unclear,
                decided_at_s: final_s,
                sign: None,
            }),
            None => None,
        }
    }

    fn positive(&mut self, at_s: f64, sign: OutcomeSign) {
        if self.first_positive.is_none_or(|(t, _)| at_s < t) {
            self.first_positive = Some((at_s, sign));
        }
    }

    fn withdrawal(&mut self, at_s: f64, sign: OutcomeSign) {
        if at_s > self.responded_at_s + OBSERVE_FINAL_S {
            return;
        }
        if self.first_withdrawal.is_none_or(|(t, _)| at_s < t) {
            self.first_withdrawal = Some((at_s, sign));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cue::Scale;

    const FPS: f64 = 30.0;
    const TRACK: TrackId = TrackId(3);

    /// Frames at 30 fps from `from_s` to `to_s`, each shaped by `shape(pts_s, face)`.
    fn frames(from_s: f64, to_s: f64, shape: impl Fn(f64, &mut FaceSignals)) -> Vec<FaceSignals> {
        let first = (from_s * FPS).round() as i64;
        let last = (to_s * FPS).round() as i64;
        (first..last)
            .map(|i| {
                let pts_s = i as f64 / FPS;
                let mut face = FaceSignals::neutral(TRACK, pts_s);
                shape(pts_s, &mut face);
                face
            })
            .collect()
    }

    fn set(face: &mut FaceSignals, pair: [B; 2], value: f32) {
        for b in pair {
            face.blendshapes[b.0] = value;
        }
    }

    const SMILE: [B; 2] = [B::MOUTH_SMILE_LEFT, B::MOUTH_SMILE_RIGHT];
    const BROW_DOWN: [B; 2] = [B::BROW_DOWN_LEFT, B::BROW_DOWN_RIGHT];
    const PRESS: [B; 2] = [B::MOUTH_PRESS_LEFT, B::MOUTH_PRESS_RIGHT];

    fn watch(responded_at_s: f64, faces: &[FaceSignals]) -> OutcomeWatcher {
        let mut watcher = OutcomeWatcher::new(TRACK, responded_at_s, None);
        for face in faces {
            watcher.push(face);
        }
        watcher
    }

    fn event(cue: CueId, apex_s: f64) -> Event {
        Event {
            track: TRACK,
            onset_s: apex_s - 0.1,
            apex_s,
            offset_s: apex_s + 0.1,
            duration_ms: 200.0,
            scale: Scale::Micro,
            cue,
            side: Side::Both,
            intensity: 0.4,
            confidence: 0.7,
            valence: cue.valence(),
            evidence: Vec::new(),
        }
    }

    #[test]
    fn a_smile_after_the_response_is_matched_from_5_s_on() {
        // Response at 3 s; they smile from 5.0 to 6.0 s.
        let faces = frames(0.0, 20.0, |t, f| {
            if (5.0..6.0).contains(&t) {
                set(f, SMILE, 0.6);
            }
        });
        let watcher = watch(3.0, &faces);
        assert_eq!(
            watcher.outcome(7.9),
            None,
            "never before 5 s after the response"
        );
        let decision = watcher
            .decision(8.0)
            .expect("clear at 5 s after the response");
        assert_eq!(decision.outcome, Outcome::Matched);
        assert_eq!(decision.decided_at_s, 8.0);
        assert_eq!(decision.sign, Some(OutcomeSign::SmileReturned));
        assert_eq!(watcher.outcome(30.0), Some(Outcome::Matched));
    }

    #[test]
    fn a_smile_already_there_before_the_response_is_not_a_match() {
        // Smiling all along: the smile is the pre-response level, nothing changes.
        let faces = frames(0.0, 20.0, |_, f| set(f, SMILE, 0.6));
        let watcher = watch(3.0, &faces);
        assert_eq!(watcher.outcome(17.9), None);
        assert_eq!(watcher.outcome(18.0), Some(Outcome::Unclear));
    }

    #[test]
    fn turning_the_head_away_is_withdrew() {
        let faces = frames(0.0, 20.0, |t, f| {
            f.head_pose.yaw_deg = if (9.0..12.0).contains(&t) { 35.0 } else { 2.0 };
        });
        let watcher = watch(3.0, &faces);
        assert_eq!(watcher.outcome(9.2), None, "the turn must hold 0.5 s");
        let decision = watcher.decision(9.6).expect("clear");
        assert_eq!(decision.outcome, Outcome::Withdrew);
        assert_eq!(decision.sign, Some(OutcomeSign::HeadTurnedAway));
        assert!((decision.decided_at_s - 9.5).abs() < 0.05);
    }

    #[test]
    fn looking_away_and_pressing_lips_are_withdrew() {
        let glance = frames(0.0, 20.0, |t, f| {
            if (6.0..7.0).contains(&t) {
                set(f, [B::EYE_LOOK_OUT_LEFT, B::EYE_LOOK_IN_RIGHT], 0.7);
            }
        });
        let watcher = watch(3.0, &glance);
        assert_eq!(
            watcher.decision(8.0).map(|d| d.sign),
            Some(Some(OutcomeSign::GazeAway))
        );

        let press = frames(0.0, 20.0, |t, f| {
            if (4.0..4.5).contains(&t) {
                set(f, PRESS, 0.5);
            }
        });
        let watcher = watch(3.0, &press);
        assert_eq!(watcher.outcome(8.0), Some(Outcome::Withdrew));
    }

    #[test]
    fn a_lost_face_is_withdrew() {
        // Frames stop at 6 s: lost at 7 s, called at 8 s (5 s after the response).
        let faces = frames(0.0, 6.0, |_, _| {});
        let watcher = watch(3.0, &faces);
        let decision = watcher.decision(8.0).expect("clear");
        assert_eq!(decision.outcome, Outcome::Withdrew);
        assert_eq!(decision.sign, Some(OutcomeSign::FaceLost));

        // Low presence for 2 s in the middle of the window.
        let faces = frames(0.0, 20.0, |t, f| {
            if (10.0..12.0).contains(&t) {
                f.presence = 0.1;
            }
        });
        let watcher = watch(3.0, &faces);
        assert_eq!(watcher.outcome(10.5), None);
        assert_eq!(watcher.outcome(11.1), Some(Outcome::Withdrew));
    }

    #[test]
    fn tension_falling_below_its_pre_response_level_is_relaxed() {
        // Knit brows and pressed lips before the response at 3 s; they release at 4 s.
        let faces = frames(0.0, 20.0, |t, f| {
            let level = if t < 4.0 { 0.3 } else { 0.05 };
            set(f, BROW_DOWN, level);
            set(f, PRESS, level);
        });
        let watcher = watch(3.0, &faces);
        let decision = watcher
            .decision(8.0)
            .expect("held 2 s by 6 s, callable at 8 s");
        assert_eq!(decision.outcome, Outcome::Relaxed);
        assert_eq!(decision.sign, Some(OutcomeSign::TensionFell));
    }

    #[test]
    fn relaxed_uses_a_given_baseline_snapshot() {
        // No frames before the response; the caller knows the face was tense.
        let tense = PreResponseLevels {
            brow_down: 0.3,
            mouth_press: 0.2,
            ..Default::default()
        };
        let faces = frames(3.1, 20.0, |_, f| set(f, BROW_DOWN, 0.02));
        let mut watcher = OutcomeWatcher::new(TRACK, 3.0, Some(tense));
        for face in &faces {
            watcher.push(face);
        }
        assert_eq!(watcher.outcome(8.0), Some(Outcome::Relaxed));
        // Without the snapshot (and without pre-response frames) relaxed cannot be called.
        let watcher = watch(3.0, &faces);
        assert_eq!(watcher.outcome(18.0), Some(Outcome::Unclear));
    }

    #[test]
    fn a_still_face_is_unclear_only_at_15_s() {
        let faces = frames(0.0, 25.0, |_, _| {});
        let watcher = watch(3.0, &faces);
        for now_s in [3.0, 8.0, 12.0, 17.99] {
            assert_eq!(watcher.outcome(now_s), None, "at {now_s}");
        }
        let decision = watcher.decision(18.0).expect("final");
        assert_eq!(decision.outcome, Outcome::Unclear);
        assert_eq!(decision.sign, None);
    }

    #[test]
    fn a_smile_and_a_turn_away_before_5_s_are_unclear() {
        let faces = frames(0.0, 20.0, |t, f| {
            if (3.5..4.5).contains(&t) {
                set(f, SMILE, 0.6);
            }
            if (5.0..7.0).contains(&t) {
                f.head_pose.yaw_deg = 40.0;
            }
        });
        let watcher = watch(3.0, &faces);
        assert_eq!(watcher.outcome(12.0), None);
        assert_eq!(watcher.outcome(18.0), Some(Outcome::Unclear));
    }

    #[test]
    fn events_count_by_valence_and_track() {
        let faces = frames(0.0, 20.0, |_, _| {});
        let mut watcher = watch(3.0, &faces);
        let mut other = event(CueId::LipCompression, 6.0);
        other.track = TrackId(9);
        watcher.push_event(&other);
        watcher.push_event(&event(CueId::UnilateralLipCorner, 6.5));
        watcher.push_event(&event(CueId::LipCompression, 1.0)); // before the response
        assert_eq!(watcher.outcome(17.0), None);
        watcher.push_event(&event(CueId::EyebrowFlash, 9.0));
        let decision = watcher.decision(17.0).expect("clear");
        assert_eq!(decision.outcome, Outcome::Matched);
        assert_eq!(
            decision.sign,
            Some(OutcomeSign::PositiveCue(CueId::EyebrowFlash))
        );

        let mut watcher = watch(3.0, &faces);
        watcher.push_event(&event(CueId::GazeAversion, 10.0));
        assert_eq!(watcher.outcome(10.0), Some(Outcome::Withdrew));
        // A later positive cue does not undo a clear withdrawal.
        watcher.push_event(&event(CueId::GenuineSmile, 12.0));
        assert_eq!(watcher.outcome(18.0), Some(Outcome::Withdrew));
    }

    #[test]
    fn the_decision_does_not_depend_on_when_it_is_asked() {
        let faces = frames(0.0, 20.0, |t, f| {
            if (9.0..9.6).contains(&t) {
                set(f, SMILE, 0.5);
            }
            if t > 13.0 {
                f.head_pose.yaw_deg = 40.0;
            }
        });
        let mut asked_every_frame = OutcomeWatcher::new(TRACK, 3.0, None);
        let mut first_answer = None;
        for face in &faces {
            asked_every_frame.push(face);
            if first_answer.is_none() {
                first_answer = asked_every_frame.decision(face.pts_s);
            }
        }
        let asked_once = watch(3.0, &faces);
        assert_eq!(first_answer, asked_once.decision(30.0));
        assert_eq!(first_answer.map(|d| d.outcome), Some(Outcome::Matched));
    }

    #[test]
    fn suggestion_for_a_one_sided_lip_corner_names_repair_and_lighten() {
        let s = suggest(CueId::UnilateralLipCorner, Side::Left);
        assert_eq!(s.family, Some(ResponseFamily::Repair));
        assert_eq!(s.alternative, Some(ResponseFamily::Lighten));
        assert!(s.headline.contains("repair") && s.headline.contains("lighten"));
        assert!(s.headline.contains("context decides"));
        assert!(s.headline.contains("subject's left"));
        assert!(s.lines.contains(&"My bad — I didn’t mean that."));
        assert!(s.lines.contains(&"No pressure — we can keep it casual."));
        assert!(
            s.context_note
                .is_some_and(|n| n.contains("Context decides"))
        );
    }

    #[test]
    fn suggestions_carry_the_guide_lines_and_rules() {
        let flash = suggest(CueId::EyebrowFlash, Side::Both);
        assert_eq!(flash.family, Some(ResponseFamily::Invite));
        assert_eq!(flash.lines, &["Oh — curious? Tell me more."]);
        assert_eq!(flash.observe_window_s, [5.0, 15.0]);
        assert_eq!(flash.repair_lines.len(), 2);
        assert!(flash.two_cue_rule.contains("2 supporting cues"));

        let pupil = suggest(CueId::PupilDilation, Side::Both);
        assert!(!pupil.supported);
        assert_eq!(pupil.family, None);
        assert!(pupil.lines.is_empty());
        assert!(pupil.headline.contains("unsupported"));

        for cue in CueId::ALL {
            let s = suggest(cue, Side::Both);
            if cue.is_supported() && cue != CueId::GazeAversion {
                assert!(!s.lines.is_empty(), "{cue} has no line to say");
            }
            assert!(!s.watch_next.is_empty());
        }
    }
}
