//! Roleplay: a partner draws a cue card (random, seedable) and performs the cue while reading
//! any line; the spotter (the user, or microcue's spotter on a recording) answers, and the
//! answer is scored against the card. Then swap roles.

use microcue_core::{CueId, Event, ResponseFamily, Side};
use rand::Rng;
use serde::Serialize;

use crate::dates::Date;
use crate::deck::CueDeck;
use crate::records::{DrillKind, TrialPhase, TrialRecord};

/// What the partner performs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CueCard {
    pub id: u32,
    pub cue: CueId,
    /// Side to perform it on (one-sided cues only; `both` otherwise).
    pub side: Side,
    /// The response family the spotter should answer with (from the lexicon).
    pub expected_response: Option<ResponseFamily>,
}

/// What the partner does with a card.
pub const ROLEPLAY_INSTRUCTION: &str =
    "Read any line and flash it once, under 0.5 s. The spotter answers, then responds.";

/// A deck of cue cards.
#[derive(Debug, Clone)]
pub struct RoleplayDeck {
    deck: CueDeck,
    next_id: u32,
}

impl RoleplayDeck {
    /// A deck over `cues` (the supported cues when empty).
    pub fn new(cues: &[CueId], seed: u64) -> RoleplayDeck {
        RoleplayDeck {
            deck: CueDeck::new(cues, seed),
            next_id: 1,
        }
    }

    /// Draws the next card; the deck is reshuffled when empty.
    pub fn draw(&mut self) -> CueCard {
        let cue = self.deck.draw();
        let side = if cue.is_one_sided() {
            if self.deck.rng.random_bool(0.5) {
                Side::Left
            } else {
                Side::Right
            }
        } else {
            Side::Both
        };
        let id = self.next_id;
        self.next_id += 1;
        CueCard {
            id,
            cue,
            side,
            expected_response: cue.response_family(),
        }
    }
}

/// The score of one roleplay round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleplayScore {
    pub card_id: u32,
    pub card_cue: CueId,
    /// The spotter's answer (the strongest event's cue; `None` = nothing seen).
    pub answer: Option<CueId>,
    pub correct: bool,
    /// Whether the side matched too (one-sided cues; `None` when not applicable).
    pub side_correct: Option<bool>,
    /// Other cues the spotter reported (false alarms unless the partner really showed them).
    pub extra_cues: Vec<CueId>,
    pub feedback: String,
}

impl RoleplayScore {
    /// The round as a journal record (kind `roleplay`).
    pub fn record(&self, date: Date, session: Option<&str>) -> TrialRecord {
        TrialRecord {
            date,
            kind: DrillKind::Roleplay,
            phase: TrialPhase::Test,
            target: Some(self.card_cue),
            response: self.answer,
            exposure_ms: None,
            reaction_ms: None,
            session: session.map(str::to_owned),
        }
    }
}

/// Scores a spotter's events against the card: correct when an event with the card's cue is
/// among them.
pub fn score_roleplay_events(card: &CueCard, events: &[Event]) -> RoleplayScore {
    let matched = events
        .iter()
        .filter(|e| e.cue == card.cue)
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence));
    let strongest = events
        .iter()
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence));
    let answer = matched.or(strongest).map(|e| e.cue);
    let side_correct = match (card.cue, matched) {
        (CueId::UnilateralLipCorner, Some(event)) => Some(event.side == card.side),
        _ => None,
    };
    let mut extra_cues: Vec<CueId> = Vec::new();
    for event in events.iter().filter(|e| e.cue != card.cue) {
        if !extra_cues.contains(&event.cue) {
            extra_cues.push(event.cue);
        }
    }
    finish(card, answer, side_correct, extra_cues)
}

/// Scores a spoken or typed answer against the card.
pub fn score_roleplay_answer(card: &CueCard, answer: Option<CueId>) -> RoleplayScore {
    finish(card, answer, None, Vec::new())
}

fn finish(
    card: &CueCard,
    answer: Option<CueId>,
    side_correct: Option<bool>,
    extra_cues: Vec<CueId>,
) -> RoleplayScore {
    let correct = answer == Some(card.cue);
    let respond = card
        .expected_response
        .map(|family| {
            format!(
                " Respond with: {}.",
                microcue_core::lexicon::family_name(family)
            )
        })
        .unwrap_or_default();
    let feedback = match (correct, answer) {
        (true, _) => format!("Spotted: {}.{respond}", card.cue),
        (false, Some(other)) => format!(
            "The card was {}; the answer was {other}.{respond}",
            card.cue
        ),
        (false, None) => format!("The card was {}; nothing was spotted.{respond}", card.cue),
    };
    RoleplayScore {
        card_id: card.id,
        card_cue: card.cue,
        answer,
        correct,
        side_correct,
        extra_cues,
        feedback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use microcue_core::{Evidence, Scale, TrackId};

    #[test]
    fn cards_are_seedable_and_scored() {
        let mut a = RoleplayDeck::new(&[], 11);
        let mut b = RoleplayDeck::new(&[], 11);
        let cards_a: Vec<CueCard> = (0..15).map(|_| a.draw()).collect();
        let cards_b: Vec<CueCard> = (0..15).map(|_| b.draw()).collect();
        assert_eq!(cards_a, cards_b);
        let card = &cards_a[0];
        assert!(score_roleplay_answer(card, Some(card.cue)).correct);
        assert!(!score_roleplay_answer(card, None).correct);
        let event = Event {
            track: TrackId(0),
            onset_s: 1.0,
            apex_s: 1.1,
            offset_s: 1.2,
            duration_ms: 200.0,
            scale: Scale::Micro,
            cue: card.cue,
            side: card.side,
            intensity: 0.3,
            confidence: 0.6,
            valence: card.cue.valence(),
            evidence: vec![Evidence {
                channel: "x".into(),
                delta: 0.1,
            }],
        };
        let score = score_roleplay_events(card, &[event]);
        assert!(score.correct && score.extra_cues.is_empty());
    }
}
