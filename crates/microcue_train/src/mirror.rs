//! Mirror drill: the user flashes a requested cue at the webcam in under 0.5 s; the spotter's
//! events in the attempt window say whether it saw that cue, how long it lasted and which
//! channels moved.
//!
//! Prompts come from a shuffled deck of the supported cues (seeded), so ten prompts cover ten
//! different cues — the guide's "practice 10 micro-expressions yourself".

use microcue_core::lexicon;
use microcue_core::{CueId, Event, Evidence, Scale, Side};
use serde::Serialize;

use crate::dates::Date;
use crate::deck::CueDeck;
use crate::records::{DrillKind, TrialPhase, TrialRecord};

/// Longest movement that counts as a micro flash, ms.
pub const MIRROR_MAX_DURATION_MS: f64 = Scale::MICRO_MAX_MS;

/// One request to the user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MirrorPrompt {
    pub id: u32,
    /// The cue to flash.
    pub cue: CueId,
    /// The flash should be shorter than this, ms.
    pub max_duration_ms: f64,
    /// What to do, in one line.
    pub instruction: String,
}

/// A deck of mirror prompts.
#[derive(Debug, Clone)]
pub struct MirrorDrill {
    deck: CueDeck,
    next_id: u32,
}

impl MirrorDrill {
    /// A drill over `cues` (the supported cues when empty).
    pub fn new(cues: &[CueId], seed: u64) -> MirrorDrill {
        MirrorDrill {
            deck: CueDeck::new(cues, seed),
            next_id: 1,
        }
    }

    /// The next prompt; every cue comes once before any repeats.
    pub fn next_prompt(&mut self) -> MirrorPrompt {
        let cue = self.deck.draw();
        let id = self.next_id;
        self.next_id += 1;
        MirrorPrompt::for_cue(id, cue)
    }
}

impl MirrorPrompt {
    /// The prompt to flash `cue` (a cue the user chose instead of the deck's).
    pub fn for_cue(id: u32, cue: CueId) -> MirrorPrompt {
        let entry = lexicon::entry(cue);
        MirrorPrompt {
            id,
            cue,
            max_duration_ms: MIRROR_MAX_DURATION_MS,
            instruction: format!(
                "Say a word, then show this cue for under 0.5 s: {} ({}); notice which muscles move.",
                entry.name.to_lowercase(),
                entry.looks_like
            ),
        }
    }
}

/// What the spotter saw of one attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MirrorScore {
    pub prompt_id: u32,
    pub requested: CueId,
    /// Whether the spotter saw the requested cue in the attempt window.
    pub seen: bool,
    /// Duration of the matching movement (or of the strongest other one), ms.
    pub duration_ms: Option<f64>,
    /// Whether that movement stayed under 0.5 s.
    pub micro: Option<bool>,
    /// The side of that movement (the subject's own).
    pub side: Option<Side>,
    /// The spotter's confidence in that reading, 0..1.
    pub confidence: Option<f32>,
    /// The channels that moved, strongest first.
    pub evidence: Vec<Evidence>,
    /// Other cues the spotter saw in the window.
    pub other_cues: Vec<CueId>,
    /// The feedback line.
    pub feedback: String,
}

impl MirrorScore {
    /// The attempt as a journal record (kind `mirror`): target = requested cue, response = the
    /// cue the spotter saw (the requested one if seen, else the strongest other, else none).
    pub fn record(&self, date: Date, session: Option<&str>) -> TrialRecord {
        let response = if self.seen {
            Some(self.requested)
        } else {
            self.other_cues.first().copied()
        };
        TrialRecord {
            date,
            kind: DrillKind::Mirror,
            phase: TrialPhase::Test,
            target: Some(self.requested),
            response,
            exposure_ms: self.duration_ms,
            reaction_ms: None,
            session: session.map(str::to_owned),
        }
    }
}

/// Scores one attempt: `events` are the spotter's events; only those overlapping
/// `[window_start_s, window_end_s]` count.
pub fn score_mirror(
    prompt: &MirrorPrompt,
    window_start_s: f64,
    window_end_s: f64,
    events: &[Event],
) -> MirrorScore {
    let in_window: Vec<&Event> = events
        .iter()
        .filter(|e| e.offset_s >= window_start_s && e.onset_s <= window_end_s)
        .collect();
    let strongest = |cue_filter: &dyn Fn(&Event) -> bool| {
        in_window
            .iter()
            .copied()
            .filter(|e| cue_filter(e))
            .max_by(|a, b| {
                a.confidence
                    .total_cmp(&b.confidence)
                    .then(a.intensity.total_cmp(&b.intensity))
            })
    };
    let matched = strongest(&|e| e.cue == prompt.cue);
    let mut others: Vec<&Event> = in_window
        .iter()
        .copied()
        .filter(|e| e.cue != prompt.cue)
        .collect();
    others.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let mut other_cues: Vec<CueId> = Vec::new();
    for event in &others {
        if !other_cues.contains(&event.cue) {
            other_cues.push(event.cue);
        }
    }
    let shown = matched.or_else(|| others.first().copied());
    let duration_ms = shown.map(|e| (e.offset_s - e.onset_s) * 1000.0);
    let micro = duration_ms.map(|d| d <= prompt.max_duration_ms);
    let side = shown.map(|e| e.side);
    let confidence = shown.map(|e| e.confidence);
    let evidence = shown.map(|e| e.evidence.clone()).unwrap_or_default();
    let units = evidence
        .iter()
        .take(4)
        .map(|e| format!("{} +{:.2}", e.channel, e.delta))
        .collect::<Vec<_>>()
        .join(", ");
    let units = if units.is_empty() {
        String::new()
    } else {
        format!(" Moved: {units}.")
    };
    let feedback = match (matched, duration_ms) {
        (Some(_), Some(d)) if d <= prompt.max_duration_ms => {
            format!("Seen: {} in {d:.0} ms — a micro flash.{units}", prompt.cue)
        }
        (Some(_), Some(d)) => format!(
            "Seen: {}, but it lasted {d:.0} ms (over {:.0} ms): release it sooner.{units}",
            prompt.cue, prompt.max_duration_ms
        ),
        (None, Some(d)) => format!(
            "The spotter did not see {}; it read {} ({d:.0} ms) instead.{units} Compare with the \
             card: {}.",
            prompt.cue,
            other_cues
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            lexicon::entry(prompt.cue).looks_like
        ),
        _ => format!(
            "The spotter saw no movement in the window. Try a slightly stronger {} ({}), still \
             under 0.5 s, facing the camera in good light.",
            prompt.cue,
            lexicon::entry(prompt.cue).looks_like
        ),
    };
    MirrorScore {
        prompt_id: prompt.id,
        requested: prompt.cue,
        seen: matched.is_some(),
        duration_ms,
        micro,
        side,
        confidence,
        evidence,
        other_cues,
        feedback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use microcue_core::TrackId;

    fn event(cue: CueId, onset_s: f64, offset_s: f64) -> Event {
        Event {
            track: TrackId(0),
            onset_s,
            apex_s: onset_s,
            offset_s,
            duration_ms: (offset_s - onset_s) * 1000.0,
            scale: Scale::of_duration_ms((offset_s - onset_s) * 1000.0),
            cue,
            side: Side::Both,
            intensity: 0.4,
            confidence: 0.7,
            valence: cue.valence(),
            evidence: vec![Evidence {
                channel: "browInnerUp".into(),
                delta: 0.41,
            }],
        }
    }

    #[test]
    fn deck_covers_every_cue_before_repeating() {
        let mut drill = MirrorDrill::new(&[], 5);
        let mut seen: Vec<CueId> = (0..11).map(|_| drill.next_prompt().cue).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 11);
    }

    #[test]
    fn scores_seen_slow_and_missed_attempts() {
        let prompt = MirrorPrompt {
            id: 1,
            cue: CueId::EyebrowFlash,
            max_duration_ms: 500.0,
            instruction: String::new(),
        };
        let quick = score_mirror(&prompt, 0.0, 3.0, &[event(CueId::EyebrowFlash, 1.0, 1.2)]);
        assert!(quick.seen && quick.micro == Some(true));
        assert_eq!(
            (quick.side, quick.confidence),
            (Some(Side::Both), Some(0.7))
        );
        assert!(quick.feedback.contains("browInnerUp"));
        let slow = score_mirror(&prompt, 0.0, 3.0, &[event(CueId::EyebrowFlash, 1.0, 1.9)]);
        assert!(slow.seen && slow.micro == Some(false));
        let other = score_mirror(&prompt, 0.0, 3.0, &[event(CueId::MicroSurprise, 1.0, 1.3)]);
        assert!(!other.seen);
        assert_eq!(other.other_cues, vec![CueId::MicroSurprise]);
        assert_eq!(
            other.record(Date::constant(2025, 1, 2), None).response,
            Some(CueId::MicroSurprise)
        );
        let outside = score_mirror(&prompt, 0.0, 3.0, &[event(CueId::EyebrowFlash, 4.0, 4.2)]);
        assert!(!outside.seen && outside.duration_ms.is_none());
    }
}
