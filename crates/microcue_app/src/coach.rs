//! The live coach: the guide's loop (spot -> contextualise -> hypothesis -> respond -> observe)
//! over the pipeline's events, for one live session.
//!
//! [`LiveCoach`] is pure like the core it wires together (no I/O, no clock: times are the
//! frames' capture times): each event becomes the cue on screen with its suggestion
//! ([`microcue_core::suggest`]) and a hypothesis from the two-signal rule
//! ([`microcue_core::hypothesize`]); a context button adds a [`ContextTag`]; "I responded"
//! starts an [`OutcomeWatcher`] over the following frames and events, whose call becomes the
//! journal entry `microcue log add` would write ([`OutcomeCall::journal_entry`]).
//!
//! A context button pressed while a cue is on screen (up to the end of the guide's "respond"
//! stage, 5 s after its apex) says what happened just before that cue, so its tag is placed at
//! the cue's apex; pressed with no cue on screen, it is placed at the moment it was pressed.

use std::collections::VecDeque;

use microcue_core::coach::{Decision, OutcomeSign, OutcomeWatcher, PRE_RESPONSE_WINDOW_S};
use microcue_core::lexicon::{self, PIPELINE};
use microcue_core::{
    ContextKind, ContextTag, CueId, Event, FaceSignals, Hypothesis, HypothesisConfig, Outcome,
    Suggestion, TrackId, hypothesize, suggest,
};
use microcue_train::LogEntry;
use microcue_train::dates::Date;

use crate::protocol::{ContextButton, CueView};

/// Events and context tags older than this are forgotten, seconds.
const MEMORY_S: f64 = 30.0;

/// How long after its apex a cue stays "on screen" for context buttons and "I responded":
/// the end of the guide's respond stage.
pub fn respond_until_s() -> f64 {
    PIPELINE
        .iter()
        .find(|stage| stage.name == "respond")
        .map_or(5.0, |stage| stage.end_s)
}

/// A cue just read, with what to do about it.
#[derive(Debug, Clone)]
pub struct CueUpdate {
    pub cue: CueView,
    pub suggestion: Suggestion,
    pub hypothesis: Hypothesis,
}

/// The outcome watch ended.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeCall {
    pub cue: Event,
    pub decision: Decision,
    pub responded_at_s: f64,
    /// The hypothesis when the user responded.
    pub hypothesis: Hypothesis,
    /// The response family suggested (and, by pressing "I responded", used).
    pub response: &'static str,
    /// Context tags of the cue.
    pub context: Vec<ContextKind>,
}

/// Why "I responded" was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RespondError {
    #[error("no cue on screen to respond to")]
    NoCue,
    #[error("an outcome watch is already running")]
    AlreadyWatching,
}

/// An outcome watch in progress.
#[derive(Debug, Clone)]
struct Watch {
    watcher: OutcomeWatcher,
    cue: Event,
    hypothesis: Hypothesis,
    response: &'static str,
    context: Vec<ContextKind>,
}

/// The coach of one live session.
#[derive(Debug, Clone)]
pub struct LiveCoach {
    config: HypothesisConfig,
    events: Vec<Event>,
    context: Vec<ContextTag>,
    /// The last cue read.
    current: Option<Event>,
    /// The last frames of each face, for the levels before a response.
    recent: VecDeque<FaceSignals>,
    /// Frames kept in `recent` (older ones are reused for new frames).
    recent_spare: Vec<FaceSignals>,
    watch: Option<Watch>,
}

impl Default for LiveCoach {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveCoach {
    pub fn new() -> Self {
        LiveCoach {
            config: HypothesisConfig::default(),
            events: Vec::new(),
            context: Vec::new(),
            current: None,
            recent: VecDeque::new(),
            recent_spare: Vec::new(),
            watch: None,
        }
    }

    /// The cue on screen, if any.
    pub fn current(&self) -> Option<&Event> {
        self.current.as_ref()
    }

    /// Whether an outcome watch runs.
    pub fn watching(&self) -> bool {
        self.watch.is_some()
    }

    /// One analysed frame (its faces, possibly none) at capture time `now_s`. Returns the
    /// outcome once the watch can call it.
    pub fn on_frame(&mut self, faces: &[FaceSignals], now_s: f64) -> Option<OutcomeCall> {
        for face in faces {
            self.remember(face);
            if let Some(watch) = &mut self.watch {
                watch.watcher.push(face);
            }
        }
        let decision = self.watch.as_ref()?.watcher.decision(now_s)?;
        let watch = self.watch.take()?;
        Some(OutcomeCall {
            responded_at_s: watch.watcher.responded_at_s(),
            cue: watch.cue,
            decision,
            hypothesis: watch.hypothesis,
            response: watch.response,
            context: watch.context,
        })
    }

    /// Keeps the last [`PRE_RESPONSE_WINDOW_S`] of frames, reusing old frames' buffers.
    fn remember(&mut self, face: &FaceSignals) {
        while self
            .recent
            .front()
            .is_some_and(|old| old.pts_s < face.pts_s - PRE_RESPONSE_WINDOW_S)
        {
            if let Some(old) = self.recent.pop_front() {
                self.recent_spare.push(old);
            }
        }
        let slot = match self.recent_spare.pop() {
            Some(mut slot) => {
                slot.clone_from(face);
                slot
            }
            None => face.clone(),
        };
        self.recent.push_back(slot);
    }

    /// A cue read by the spotter, at capture time `now_s`.
    pub fn on_event(&mut self, event: &Event, now_s: f64) -> CueUpdate {
        if let Some(watch) = &mut self.watch {
            watch.watcher.push_event(event);
        }
        self.forget_before(now_s - MEMORY_S);
        self.events.push(event.clone());
        self.current = Some(event.clone());
        let entry = lexicon::entry(event.cue);
        CueUpdate {
            cue: CueView {
                cue: event.cue,
                name: entry.name,
                region: entry.regions.first().map_or("face", |r| r.as_str()),
                facs: entry.facs,
                meaning: entry.meaning,
                event: event.clone(),
            },
            suggestion: suggest(event.cue, event.side),
            hypothesis: self.hypothesis(now_s),
        }
    }

    /// A context button pressed at `at_s` (page clock); returns the updated hypothesis.
    pub fn on_context(&mut self, button: ContextButton, at_s: f64, now_s: f64) -> Hypothesis {
        let kind = match button {
            ContextButton::Joke => ContextKind::Joke,
            ContextButton::Question => ContextKind::Question,
            ContextButton::Compliment => ContextKind::Compliment,
            ContextButton::Touch => ContextKind::Touch,
        };
        let tag_at_s = match &self.current {
            Some(cue) if at_s >= cue.apex_s && at_s - cue.apex_s <= respond_until_s() => cue.apex_s,
            _ => at_s,
        };
        self.context.push(ContextTag {
            at_s: tag_at_s,
            kind,
        });
        self.hypothesis(now_s.max(at_s))
    }

    /// The hypothesis at `at_s` from the events and tags so far.
    pub fn hypothesis(&self, at_s: f64) -> Hypothesis {
        hypothesize(&self.events, &self.context, at_s, &self.config)
    }

    /// "I responded" at `at_s`: watch the face of the cue on screen for the next 5-15 s.
    pub fn on_responded(&mut self, at_s: f64) -> Result<(CueId, f64), RespondError> {
        if self.watch.is_some() {
            return Err(RespondError::AlreadyWatching);
        }
        let cue = self
            .current
            .clone()
            .filter(|cue| at_s >= cue.apex_s)
            .ok_or(RespondError::NoCue)?;
        let mut watcher = OutcomeWatcher::new(cue.track, at_s, None);
        // The frames just before the response give the levels to compare with.
        for face in self.recent.iter().filter(|face| face.pts_s <= at_s) {
            watcher.push(face);
        }
        let suggestion = suggest(cue.cue, cue.side);
        let response = suggestion.family.map_or("watch", lexicon::family_name);
        let context = self
            .context
            .iter()
            .filter(|tag| {
                tag.at_s <= cue.apex_s && tag.at_s >= cue.apex_s - self.config.context_window_s
            })
            .map(|tag| tag.kind.clone())
            .collect();
        self.watch = Some(Watch {
            watcher,
            hypothesis: self.hypothesis(at_s),
            cue: cue.clone(),
            response,
            context,
        });
        Ok((cue.cue, at_s))
    }

    fn forget_before(&mut self, before_s: f64) {
        self.events.retain(|event| event.apex_s >= before_s);
        self.context.retain(|tag| tag.at_s >= before_s);
    }

    /// The track whose face is watched.
    pub fn watched_track(&self) -> Option<TrackId> {
        self.watch.as_ref().map(|watch| watch.watcher.track())
    }
}

/// The journal's outcome for what the face did: relaxed or matched -> improved, withdrew ->
/// worse, unclear -> same.
pub fn journal_outcome(outcome: Outcome) -> microcue_train::Outcome {
    match outcome {
        Outcome::Relaxed | Outcome::Matched => microcue_train::Outcome::Improved,
        Outcome::Withdrew => microcue_train::Outcome::Worse,
        Outcome::Unclear => microcue_train::Outcome::Same,
    }
}

/// A few words for the signal that made the outcome clear.
pub fn describe_sign(sign: OutcomeSign) -> String {
    match sign {
        OutcomeSign::SmileReturned => "a smile came back".to_owned(),
        OutcomeSign::PositiveCue(cue) => format!("a positive cue ({cue})"),
        OutcomeSign::HeadTurnedAway => "the head turned away".to_owned(),
        OutcomeSign::GazeAway => "the gaze moved away".to_owned(),
        OutcomeSign::LipsPressed => "the lips pressed".to_owned(),
        OutcomeSign::NegativeCue(cue) => format!("a negative cue ({cue})"),
        OutcomeSign::FaceLost => "the face left the picture".to_owned(),
        OutcomeSign::TensionFell => "the tension eased".to_owned(),
    }
}

impl OutcomeCall {
    /// Seconds from the response to the call.
    pub fn after_s(&self) -> f64 {
        self.decision.decided_at_s - self.responded_at_s
    }

    /// The real-world log entry for this outcome: the record `microcue log add --cue ...
    /// --context ... --response ... --outcome ...` writes.
    pub fn journal_entry(&self, date: Date) -> LogEntry {
        let context = if self.context.is_empty() {
            "live coach (no context tagged)".to_owned()
        } else {
            let kinds: Vec<&str> = self.context.iter().map(ContextKind::as_str).collect();
            format!("live coach: {}", kinds.join(", "))
        };
        let why = self
            .decision
            .sign
            .map(|sign| format!(": {}", describe_sign(sign)))
            .unwrap_or_default();
        let outcome_name = match self.decision.outcome {
            Outcome::Relaxed => "relaxed",
            Outcome::Matched => "matched",
            Outcome::Withdrew => "withdrew",
            Outcome::Unclear => "unclear",
        };
        let mut entry = LogEntry::new(date, self.cue.cue, context);
        entry.hypothesis = Some(self.hypothesis.phrase.clone());
        entry.response = Some(self.response.to_owned());
        entry.outcome = Some(journal_outcome(self.decision.outcome));
        entry.note = Some(format!(
            "watched by the live coach: the face {outcome_name}{why}, {:.1} s after the response \
             (cue confidence {:.2})",
            self.after_s(),
            self.cue.confidence
        ));
        entry
    }
}

#[cfg(test)]
mod tests {
    use microcue_core::{BlendshapeIndex as B, Scale, Side, Valence};

    use super::*;

    fn flash_at(apex_s: f64) -> Event {
        Event {
            track: TrackId(0),
            onset_s: apex_s - 0.1,
            apex_s,
            offset_s: apex_s + 0.1,
            duration_ms: 200.0,
            scale: Scale::Micro,
            cue: CueId::EyebrowFlash,
            side: Side::Both,
            intensity: 0.5,
            confidence: 0.7,
            valence: Valence::Positive,
            evidence: Vec::new(),
        }
    }

    fn face(pts_s: f64, smile: f32) -> FaceSignals {
        let mut face = FaceSignals::neutral(TrackId(0), pts_s);
        face.blendshapes[B::MOUTH_SMILE_LEFT.0] = smile;
        face.blendshapes[B::MOUTH_SMILE_RIGHT.0] = smile;
        face
    }

    #[test]
    fn a_cue_a_context_tag_a_response_and_a_returned_smile_make_an_improved_entry() {
        let mut coach = LiveCoach::new();
        for i in 0..60 {
            assert_eq!(coach.on_frame(&[face(f64::from(i) / 30.0, 0.0)], 0.0), None);
        }
        let update = coach.on_event(&flash_at(1.5), 2.0);
        assert_eq!(update.cue.region, "brows");
        assert_eq!(
            update.suggestion.family,
            Some(microcue_core::ResponseFamily::Invite)
        );
        assert_eq!(
            update.hypothesis.state,
            microcue_core::HypothesisState::Watch,
            "one cue alone is watch"
        );
        let with_context = coach.on_context(ContextButton::Question, 2.2, 2.2);
        assert_eq!(
            with_context.state,
            microcue_core::HypothesisState::Hypothesis,
            "a cue plus a context tag is a hypothesis: {with_context:?}"
        );
        assert_eq!(coach.on_responded(2.5), Ok((CueId::EyebrowFlash, 2.5)));
        assert_eq!(coach.on_responded(2.6), Err(RespondError::AlreadyWatching));
        let mut call = None;
        for i in 76..600 {
            let pts_s = f64::from(i) / 30.0;
            let smile = if pts_s > 4.0 { 0.6 } else { 0.0 };
            if let Some(done) = coach.on_frame(&[face(pts_s, smile)], pts_s) {
                call = Some(done);
                break;
            }
        }
        let call = call.expect("the watch calls an outcome within 15 s");
        assert_eq!(call.decision.outcome, Outcome::Matched);
        assert!((5.0..=5.1).contains(&call.after_s()), "{}", call.after_s());
        let entry = call.journal_entry("2026-03-01".parse().unwrap());
        assert_eq!(entry.cue, CueId::EyebrowFlash);
        assert_eq!(entry.context, "live coach: question");
        assert_eq!(entry.response.as_deref(), Some("invite"));
        assert_eq!(entry.outcome, Some(microcue_train::Outcome::Improved));
        entry.validate().expect("a valid log entry");
        assert!(!coach.watching());
    }

    #[test]
    fn responding_needs_a_cue_on_screen() {
        let mut coach = LiveCoach::new();
        assert_eq!(coach.on_responded(1.0), Err(RespondError::NoCue));
    }

    #[test]
    fn a_face_that_leaves_is_a_withdrawal() {
        let mut coach = LiveCoach::new();
        for i in 0..60 {
            coach.on_frame(&[face(f64::from(i) / 30.0, 0.0)], f64::from(i) / 30.0);
        }
        coach.on_event(&flash_at(1.5), 2.0);
        coach.on_responded(2.0).unwrap();
        let mut call = None;
        for i in 61..600 {
            let now_s = f64::from(i) / 30.0;
            if let Some(done) = coach.on_frame(&[], now_s) {
                call = Some(done);
                break;
            }
        }
        let call = call.expect("called");
        assert_eq!(call.decision.outcome, Outcome::Withdrew);
        assert_eq!(call.decision.sign, Some(OutcomeSign::FaceLost));
        assert_eq!(
            call.journal_entry("2026-03-01".parse().unwrap()).outcome,
            Some(microcue_train::Outcome::Worse)
        );
    }
}
