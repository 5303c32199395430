//! Slow-motion study: a quiz built from the events the spotter found in the user's own video.
//!
//! Each item is an event's time window (padded), a playback speed (0.25x for flashes of at most
//! 200 ms, 0.5x for longer ones) and a few answer choices: the event's cue plus distractors
//! from the same face region first (smile vs polite smile, frown vs anger), then others. The
//! "right" answer is the spotter's label, itself a hypothesis: the quiz measures agreement
//! with the spotter's reading, and the reveal shows the evidence (which channels moved) so the
//! user can judge it too.

use microcue_core::lexicon;
use microcue_core::numeric::{EvenMedian, median};
use microcue_core::{CueId, Event, Evidence};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::dates::Date;
use crate::error::{Result, TrainError};
use crate::flash::ratio;
use crate::records::{DrillKind, TrialPhase, TrialRecord};
use crate::review::ReviewedEvent;

/// Settings of a slow-motion quiz.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowMotionConfig {
    /// Most items in one quiz.
    pub max_items: usize,
    /// Answer choices per item (the true cue included), 2..=11.
    pub choices: usize,
    /// Seconds of video shown before the onset and after the offset.
    pub padding_s: f64,
    /// Events below this confidence are left out.
    pub min_confidence: f32,
}

impl Default for SlowMotionConfig {
    fn default() -> Self {
        SlowMotionConfig {
            max_items: 10,
            choices: 4,
            padding_s: 0.5,
            min_confidence: 0.0,
        }
    }
}

/// One quiz item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuizItem {
    /// Id to pass back to [`SlowMotionQuiz::answer`].
    pub id: u32,
    /// Index of the event in the list the quiz was built from.
    pub event_index: usize,
    /// The stretch of video to play, seconds.
    pub window_start_s: f64,
    pub window_end_s: f64,
    /// Where to pause (the apex), seconds.
    pub pause_at_s: f64,
    /// Playback speed (0.25 or 0.5).
    pub playback_speed: f64,
    /// The answers to offer, shuffled.
    pub choices: Vec<CueId>,
}

/// The reveal after an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuizFeedback {
    pub item_id: u32,
    pub correct: bool,
    /// The spotter's label.
    pub spotter_cue: CueId,
    /// How long the movement lasted, ms.
    pub duration_ms: f64,
    /// Channels that moved, strongest first.
    pub evidence: Vec<Evidence>,
    /// A line for the user.
    pub message: String,
}

/// Results of a quiz.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuizSummary {
    pub items: u32,
    pub answered: u32,
    pub correct: u32,
    pub accuracy: Option<f64>,
    pub median_reaction_ms: Option<f64>,
}

#[derive(Debug, Clone)]
struct QuizAnswer {
    answer: CueId,
    reaction_ms: f64,
}

/// A slow-motion quiz over one video's events.
#[derive(Debug, Clone)]
pub struct SlowMotionQuiz {
    items: Vec<QuizItem>,
    events: Vec<Event>,
    answers: Vec<Option<QuizAnswer>>,
}

impl SlowMotionQuiz {
    /// Builds a quiz from the spotter's events. Unsupported cues and events below
    /// `min_confidence` are left out; the most confident events are kept, in time order.
    pub fn new(events: &[Event], config: &SlowMotionConfig, seed: u64) -> Result<SlowMotionQuiz> {
        if !(2..=11).contains(&config.choices) {
            return Err(TrainError::Invalid {
                what: "slow-motion quiz settings",
                detail: format!("choices {} must be in 2..=11", config.choices),
            });
        }
        let mut usable: Vec<(usize, &Event)> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.cue.is_supported()
                    && e.confidence >= config.min_confidence
                    && e.onset_s.is_finite()
                    && e.offset_s.is_finite()
                    && e.offset_s >= e.onset_s
            })
            .collect();
        if usable.is_empty() {
            return Err(TrainError::Invalid {
                what: "slow-motion quiz",
                detail: "no usable events (supported cue, enough confidence); hint: analyse a \
                         longer clip or lower min_confidence"
                    .to_owned(),
            });
        }
        usable.sort_by(|a, b| {
            b.1.confidence
                .total_cmp(&a.1.confidence)
                .then(a.0.cmp(&b.0))
        });
        usable.truncate(config.max_items.max(1));
        usable.sort_by(|a, b| a.1.onset_s.total_cmp(&b.1.onset_s).then(a.0.cmp(&b.0)));
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut items = Vec::with_capacity(usable.len());
        let mut kept = Vec::with_capacity(usable.len());
        for (number, (event_index, event)) in usable.into_iter().enumerate() {
            let mut choices = distractors(event.cue, config.choices - 1, &mut rng);
            choices.push(event.cue);
            choices.shuffle(&mut rng);
            let duration_ms = (event.offset_s - event.onset_s) * 1000.0;
            items.push(QuizItem {
                id: number as u32 + 1,
                event_index,
                window_start_s: (event.onset_s - config.padding_s).max(0.0),
                window_end_s: event.offset_s + config.padding_s,
                pause_at_s: event.apex_s,
                playback_speed: if duration_ms <= 200.0 { 0.25 } else { 0.5 },
                choices,
            });
            kept.push(event.clone());
        }
        let answers = vec![None; items.len()];
        Ok(SlowMotionQuiz {
            items,
            events: kept,
            answers,
        })
    }

    /// The items, in time order.
    pub fn items(&self) -> &[QuizItem] {
        &self.items
    }

    /// Scores one answer. Answering an item twice is refused.
    pub fn answer(
        &mut self,
        item_id: u32,
        answer: CueId,
        reaction_ms: f64,
    ) -> Result<QuizFeedback> {
        let index = self
            .items
            .iter()
            .position(|item| item.id == item_id)
            .ok_or_else(|| TrainError::DrillState {
                detail: format!("no quiz item {item_id}"),
            })?;
        if self.answers[index].is_some() {
            return Err(TrainError::DrillState {
                detail: format!("quiz item {item_id} was already answered"),
            });
        }
        if !self.items[index].choices.contains(&answer) {
            return Err(TrainError::DrillState {
                detail: format!("`{answer}` is not one of quiz item {item_id}'s choices"),
            });
        }
        if !(reaction_ms.is_finite() && reaction_ms >= 0.0) {
            return Err(TrainError::DrillState {
                detail: format!("reaction time {reaction_ms} ms must be a finite number >= 0"),
            });
        }
        self.answers[index] = Some(QuizAnswer {
            answer,
            reaction_ms,
        });
        let event = &self.events[index];
        let correct = answer == event.cue;
        let duration_ms = (event.offset_s - event.onset_s) * 1000.0;
        let channels: Vec<&str> = event
            .evidence
            .iter()
            .take(3)
            .map(|e| e.channel.as_str())
            .collect();
        let moved = if channels.is_empty() {
            String::new()
        } else {
            format!("; moved: {}", channels.join(", "))
        };
        let message = if correct {
            format!(
                "Same reading as the spotter: {} ({duration_ms:.0} ms{moved}).",
                event.cue
            )
        } else {
            format!(
                "The spotter read {} ({}, {duration_ms:.0} ms{moved}); you answered {answer}. The \
                 spotter can be wrong too: replay and judge.",
                event.cue,
                lexicon::entry(event.cue).looks_like
            )
        };
        Ok(QuizFeedback {
            item_id,
            correct,
            spotter_cue: event.cue,
            duration_ms,
            evidence: event.evidence.clone(),
            message,
        })
    }

    /// Results so far.
    pub fn summary(&self) -> QuizSummary {
        let answered: Vec<(&QuizAnswer, &Event)> = self
            .answers
            .iter()
            .zip(&self.events)
            .filter_map(|(a, e)| a.as_ref().map(|a| (a, e)))
            .collect();
        let correct = answered.iter().filter(|(a, e)| a.answer == e.cue).count() as u32;
        let mut reaction_ms: Vec<f64> = answered
            .iter()
            .map(|(a, _)| a.reaction_ms)
            .filter(|ms| ms.is_finite())
            .collect();
        QuizSummary {
            items: self.items.len() as u32,
            answered: answered.len() as u32,
            correct,
            accuracy: ratio(correct, answered.len() as u32),
            median_reaction_ms: median(&mut reaction_ms, EvenMedian::Mean),
        }
    }

    /// Answered items as journal records (kind `slow_motion`, phase `test`).
    pub fn records(&self, date: Date, session: &str) -> Vec<TrialRecord> {
        self.items
            .iter()
            .filter_map(|item| self.record(item.id, date, session))
            .collect()
    }

    /// The journal record of one answered item (kind `slow_motion`, phase `test`, the event's
    /// duration as its exposure); `None` while it is unanswered. `drill slowmo` and the app's
    /// slow-motion page both save this, so their trials count alike in the accuracy KPI.
    pub fn record(&self, item_id: u32, date: Date, session: &str) -> Option<TrialRecord> {
        let index = self.items.iter().position(|item| item.id == item_id)?;
        let answer = self.answers[index].as_ref()?;
        let event = &self.events[index];
        Some(TrialRecord {
            date,
            kind: DrillKind::SlowMotion,
            phase: TrialPhase::Test,
            target: Some(event.cue),
            response: Some(answer.answer),
            exposure_ms: Some(event.duration_ms),
            reaction_ms: Some(answer.reaction_ms),
            session: Some(session.to_owned()),
        })
    }
}

/// The events the user confirmed or corrected in their review of the video `label` (corrected
/// ones with the user's cue and side): the items of a slow-motion study of that video.
pub fn confirmed_events(reviews: &[ReviewedEvent], label: &str) -> Vec<Event> {
    reviews
        .iter()
        .filter(|r| r.video == label)
        .filter_map(ReviewedEvent::as_event)
        .collect()
}

/// Each video label with reviews and how many of its events were confirmed or corrected (the
/// events a slow-motion study can use), by label.
pub fn labels_with_reviews(reviews: &[ReviewedEvent]) -> Vec<(String, usize)> {
    let mut labels: Vec<(String, usize)> = Vec::new();
    for review in reviews {
        let usable = usize::from(review.as_event().is_some());
        match labels.iter_mut().find(|(label, _)| *label == review.video) {
            Some((_, count)) => *count += usable,
            None => labels.push((review.video.clone(), usable)),
        }
    }
    labels.sort();
    labels
}

/// The session name of a slow-motion study started on `today` with `seed`.
pub fn session_name(today: Date, seed: u64) -> String {
    format!("slowmo-{today}-{:08x}", seed as u32)
}

/// The line after an answer in a study of the user's own confirmed events: the label they
/// gave it in their review is the answer.
pub fn confirmed_feedback(labelled: CueId, answer: CueId) -> String {
    if labelled == answer {
        format!("✓ {labelled}: the label you gave it in your review.")
    } else {
        format!(
            "✗ In your review you labelled it {labelled} ({}); you answered {answer}.",
            lexicon::entry(labelled).looks_like
        )
    }
}

/// `count` other supported cues: those sharing a face region with `cue` first, then the rest,
/// each group shuffled.
fn distractors(cue: CueId, count: usize, rng: &mut ChaCha8Rng) -> Vec<CueId> {
    let regions = lexicon::entry(cue).regions;
    let (mut near, mut far): (Vec<CueId>, Vec<CueId>) = CueId::ALL
        .into_iter()
        .filter(|c| *c != cue && c.is_supported())
        .partition(|c| {
            lexicon::entry(*c)
                .regions
                .iter()
                .any(|r| regions.contains(r))
        });
    near.shuffle(rng);
    far.shuffle(rng);
    near.into_iter().chain(far).take(count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use microcue_core::{Scale, Side, TrackId};

    pub(crate) fn event(cue: CueId, onset_s: f64, offset_s: f64, confidence: f32) -> Event {
        Event {
            track: TrackId(0),
            onset_s,
            apex_s: (onset_s + offset_s) / 2.0,
            offset_s,
            duration_ms: (offset_s - onset_s) * 1000.0,
            scale: Scale::of_duration_ms((offset_s - onset_s) * 1000.0),
            cue,
            side: Side::Both,
            intensity: 0.3,
            confidence,
            valence: cue.valence(),
            evidence: vec![Evidence {
                channel: "browInnerUp".into(),
                delta: 0.3,
            }],
        }
    }

    #[test]
    fn items_follow_events_and_score_answers() {
        let events = vec![
            event(CueId::MicroFrown, 5.0, 5.15, 0.8),
            event(CueId::GenuineSmile, 1.0, 1.8, 0.9),
            event(CueId::PupilDilation, 2.0, 2.1, 0.9),
            event(CueId::LipCompression, 3.0, 3.2, 0.1),
        ];
        let config = SlowMotionConfig {
            min_confidence: 0.5,
            ..Default::default()
        };
        let mut quiz = SlowMotionQuiz::new(&events, &config, 9).expect("usable events");
        let items = quiz.items().to_vec();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].event_index, 1, "time order");
        assert_eq!(items[0].playback_speed, 0.5);
        assert_eq!(items[1].playback_speed, 0.25);
        assert!((items[0].window_start_s - 0.5).abs() < 1e-9);
        for item in &items {
            assert_eq!(item.choices.len(), 4);
            let mut unique = item.choices.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), 4);
        }
        // Distractors of a frown come from the brows first.
        assert!(
            items[1]
                .choices
                .iter()
                .filter(|c| lexicon::entry(**c)
                    .regions
                    .contains(&lexicon::CueRegion::Brows))
                .count()
                >= 3
        );
        assert!(
            quiz.answer(items[0].id, CueId::GenuineSmile, 900.0)
                .expect("ok")
                .correct
        );
        let wrong = items[1]
            .choices
            .iter()
            .copied()
            .find(|c| *c != CueId::MicroFrown)
            .expect("distractor");
        assert!(!quiz.answer(items[1].id, wrong, 700.0).expect("ok").correct);
        assert!(quiz.answer(items[1].id, wrong, 700.0).is_err(), "twice");
        let summary = quiz.summary();
        assert_eq!((summary.answered, summary.correct), (2, 1));
        let records = quiz.records(Date::constant(2025, 3, 1), "q");
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].response, Some(wrong));
        assert_eq!(records[1].exposure_ms, Some(events[0].duration_ms));
        assert_eq!(
            quiz.record(items[0].id, Date::constant(2025, 3, 1), "q"),
            Some(records[0].clone())
        );
    }

    #[test]
    fn no_usable_events_is_an_error() {
        let events = vec![event(CueId::PupilDilation, 1.0, 1.1, 0.9)];
        assert!(SlowMotionQuiz::new(&events, &SlowMotionConfig::default(), 1).is_err());
    }
}
