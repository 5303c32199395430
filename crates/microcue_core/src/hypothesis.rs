//! Hypotheses: a single cue is never a verdict.
//!
//! [`hypothesize`] follows the guide's rule: a hypothesis needs two supporting signals — two cues
//! of compatible valence within ~2 s, or a cue plus a context tag (joke, question, compliment,
//! touch, vocal cue) in the ~2 s before it. Otherwise the state is [`HypothesisState::Watch`].

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::cue::{CueId, Valence};
use crate::event::Event;
use crate::signals::TrackId;

/// Whether the reader dares a hypothesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum HypothesisState {
    /// Not enough agreeing signals: keep watching.
    Watch,
    /// Two supporting signals agree: a cautious hypothesis (never a verdict).
    Hypothesis,
}

/// What happened just before a cue, supplied by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum ContextKind {
    Joke,
    Question,
    Compliment,
    Touch,
    /// A vocal cue (laugh, sigh, pause, tone), described by the caller.
    Vocal(String),
}

impl ContextKind {
    /// The tag for a name: `joke`, `question`, `compliment` and `touch` (any case); anything
    /// else is a vocal cue described by that text (e.g. `laugh`, `sigh`).
    pub fn from_name(name: &str) -> ContextKind {
        match name.trim().to_ascii_lowercase().as_str() {
            "joke" => ContextKind::Joke,
            "question" => ContextKind::Question,
            "compliment" => ContextKind::Compliment,
            "touch" => ContextKind::Touch,
            _ => ContextKind::Vocal(name.trim().to_string()),
        }
    }

    /// A short lowercase name.
    pub fn as_str(&self) -> &str {
        match self {
            ContextKind::Joke => "joke",
            ContextKind::Question => "question",
            ContextKind::Compliment => "compliment",
            ContextKind::Touch => "touch",
            ContextKind::Vocal(text) => text,
        }
    }
}

/// A context tag at a moment of the conversation.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ContextTag {
    /// When it happened, seconds on the same clock as the events.
    pub at_s: f64,
    /// What happened.
    pub kind: ContextKind,
}

/// One signal that supports a hypothesis.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Support {
    /// A spotted cue.
    Cue {
        cue: CueId,
        track: TrackId,
        apex_s: f64,
        confidence: f32,
    },
    /// A context tag.
    Context(ContextTag),
}

/// The reader's hypothesis at one moment.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Hypothesis {
    /// `watch` or `hypothesis`.
    pub state: HypothesisState,
    /// Positive, neutral or negative for a hypothesis; `unknown` while watching.
    pub valence: Valence,
    /// The signals considered (two when a hypothesis is formed).
    pub supporting: Vec<Support>,
    /// 0..1 (0 while watching). Capped below 1: never a verdict.
    pub confidence: f32,
    /// A sentence for people, e.g. "Possibly positive interest (confidence 0.62) — a
    /// hypothesis, not a verdict".
    pub phrase: String,
}

/// Settings of [`hypothesize`]. Times in seconds.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(default))]
pub struct HypothesisConfig {
    /// Two cues agree when their apexes are at most this far apart.
    pub pair_window_s: f64,
    /// A context tag supports a cue when it comes at most this long before the apex.
    pub context_window_s: f64,
    /// Only events whose apex lies within this long before `at_s` are considered.
    pub lookback_s: f64,
    /// Events less confident than this are ignored.
    pub min_event_confidence: f32,
    /// Highest confidence a hypothesis can have.
    pub max_confidence: f32,
    /// A cue with a context tag counts for this share of the cue's confidence: the tag is the
    /// caller's note, not a second movement seen on the face.
    pub context_weight: f32,
    /// Two cues agree this well when one is ambiguous (a one-sided corner, a glance) and the
    /// other definite: the definite one gives the direction, the other only joins it.
    pub ambiguous_agreement: f32,
}

impl Default for HypothesisConfig {
    fn default() -> Self {
        HypothesisConfig {
            pair_window_s: 2.0,
            context_window_s: 2.0,
            lookback_s: 3.0,
            min_event_confidence: 0.2,
            max_confidence: 0.9,
            context_weight: 0.85,
            ambiguous_agreement: 0.8,
        }
    }
}

/// Forms a hypothesis at `at_s` from the events and context tags seen so far.
///
/// Two supporting signals are needed: two cues of one track with compatible valence whose apexes
/// are within `pair_window_s`, or one cue plus a context tag in the `context_window_s` before its
/// apex. Positive and negative cues in the same window conflict: the answer is `watch`.
/// Ambiguous cues (one-sided lip corner, gaze aversion) can join a cue of definite valence but
/// cannot make a hypothesis with a context tag alone: context decides, and a tag alone does not
/// say which way.
pub fn hypothesize(
    events: &[Event],
    context: &[ContextTag],
    at_s: f64,
    config: &HypothesisConfig,
) -> Hypothesis {
    let considered: Vec<&Event> = events
        .iter()
        .filter(|e| {
            e.cue.is_supported()
                && e.apex_s <= at_s
                && e.apex_s >= at_s - config.lookback_s
                && e.confidence >= config.min_event_confidence
        })
        .collect();
    if considered.is_empty() {
        return watch(Vec::new(), "Watch: nothing to read yet");
    }

    // Conflicts: a positive and a negative cue of one track within the pair window.
    for (i, a) in considered.iter().enumerate() {
        for b in considered.iter().skip(i + 1) {
            if a.track == b.track
                && (a.apex_s - b.apex_s).abs() <= config.pair_window_s
                && conflicting(a.valence, b.valence)
            {
                return watch(
                    vec![cue_support(a), cue_support(b)],
                    &format!(
                        "Watch: {} and {} point in opposite directions — keep observing",
                        a.cue, b.cue
                    ),
                );
            }
        }
    }

    // Best agreeing pair of cues.
    let mut best: Option<(f32, Valence, Vec<Support>)> = None;
    for (i, a) in considered.iter().enumerate() {
        for b in considered.iter().skip(i + 1) {
            if a.track != b.track || (a.apex_s - b.apex_s).abs() > config.pair_window_s {
                continue;
            }
            let Some((valence, agreement)) =
                combine(a.valence, b.valence, config.ambiguous_agreement)
            else {
                continue;
            };
            let confidence = 0.5 * (a.confidence + b.confidence) * agreement;
            if best.as_ref().is_none_or(|(c, _, _)| confidence > *c) {
                best = Some((confidence, valence, vec![cue_support(a), cue_support(b)]));
            }
        }
    }
    // Cue plus context tag.
    for event in considered.iter() {
        if !matches!(
            event.valence,
            Valence::Positive | Valence::Negative | Valence::Neutral
        ) {
            continue;
        }
        let tag = context
            .iter()
            .filter(|tag| {
                tag.at_s <= event.apex_s && tag.at_s >= event.apex_s - config.context_window_s
            })
            .max_by(|a, b| a.at_s.total_cmp(&b.at_s));
        if let Some(tag) = tag {
            let confidence = event.confidence * config.context_weight;
            if best.as_ref().is_none_or(|(c, _, _)| confidence > *c) {
                best = Some((
                    confidence,
                    event.valence,
                    vec![cue_support(event), Support::Context(tag.clone())],
                ));
            }
        }
    }

    match best {
        Some((confidence, valence, supporting)) => {
            let confidence = confidence.clamp(0.0, config.max_confidence);
            let phrase = format!(
                "Possibly {} (confidence {confidence:.2}) — a hypothesis, not a verdict",
                valence_phrase(valence)
            );
            Hypothesis {
                state: HypothesisState::Hypothesis,
                valence,
                supporting,
                confidence,
                phrase,
            }
        }
        None => {
            let latest = considered
                .iter()
                .max_by(|a, b| a.apex_s.total_cmp(&b.apex_s));
            let supporting = latest.map(|e| vec![cue_support(e)]).unwrap_or_default();
            let phrase = match latest {
                Some(e) => format!(
                    "Watch: {} alone is not enough — a single cue is never a verdict",
                    e.cue
                ),
                None => "Watch: nothing to read yet".to_string(),
            };
            watch(supporting, &phrase)
        }
    }
}

/// Follows a stream of events and gives the reader's state after each one, for outputs that
/// show the two-signal rule next to the events (the same rule the live coach applies).
#[derive(Debug, Clone)]
pub struct HypothesisTracker {
    config: HypothesisConfig,
    context: Vec<ContextTag>,
    recent: Vec<Event>,
    latest_apex_s: f64,
    /// The supporting signals of the last hypothesis reported, per track: a pair that still
    /// stands when a later, unrelated event arrives is not reported twice.
    reported: Vec<(TrackId, Vec<Support>)>,
}

/// The reader's state right after one event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventReading {
    /// `watch`, or `hypothesis` when two signals agree at this event's apex.
    pub state: HypothesisState,
    /// A hypothesis not reported before (`None` while watching, or when the standing
    /// hypothesis is the one already reported).
    pub new_hypothesis: Option<Hypothesis>,
}

impl HypothesisTracker {
    /// A tracker with the caller's context tags (any order).
    pub fn new(config: HypothesisConfig, mut context: Vec<ContextTag>) -> Self {
        context.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        HypothesisTracker {
            config,
            context,
            recent: Vec::new(),
            latest_apex_s: f64::NEG_INFINITY,
            reported: Vec::new(),
        }
    }

    /// Takes the next event and says what the reader makes of its track at the event's apex.
    pub fn push(&mut self, event: &Event) -> EventReading {
        self.latest_apex_s = self.latest_apex_s.max(event.apex_s);
        // Older events can no longer take part in any hypothesis.
        let horizon_s = self.latest_apex_s - self.config.lookback_s;
        self.recent.retain(|e| e.apex_s >= horizon_s);
        self.recent.push(event.clone());
        let same_track: Vec<Event> = self
            .recent
            .iter()
            .filter(|e| e.track == event.track)
            .cloned()
            .collect();
        let hypothesis = hypothesize(&same_track, &self.context, event.apex_s, &self.config);
        if hypothesis.state == HypothesisState::Watch {
            return EventReading {
                state: HypothesisState::Watch,
                new_hypothesis: None,
            };
        }
        let already = self.reported.iter().any(|(track, supporting)| {
            *track == event.track && *supporting == hypothesis.supporting
        });
        if !already {
            self.reported.retain(|(track, _)| *track != event.track);
            self.reported
                .push((event.track, hypothesis.supporting.clone()));
        }
        EventReading {
            state: HypothesisState::Hypothesis,
            new_hypothesis: (!already).then_some(hypothesis),
        }
    }
}

/// What went wrong reading a context CSV. Line numbers count from 1 (the header is line 1).
#[cfg(feature = "formats")]
#[derive(Debug, thiserror::Error)]
pub enum ContextCsvError {
    /// Not CSV, or unreadable.
    #[error("line {line}: malformed CSV row")]
    Csv {
        line: u64,
        #[source]
        source: csv::Error,
    },
    /// The header lacks a column.
    #[error(
        "no `{column}` column in the header\nhint: a context file is CSV with a header `time_s,tag`, \
         e.g. `12.5,joke` (tags: joke, question, compliment, touch, or a vocal cue such as laugh)"
    )]
    MissingColumn { column: &'static str },
    /// A value is not what its column holds.
    #[error("line {line}: {problem} (got `{value}`)")]
    Value {
        line: u64,
        value: String,
        problem: &'static str,
    },
    /// A line longer than [`crate::formats::MAX_LINE_BYTES`].
    #[error(
        "line {line} is longer than {max_bytes} bytes\nhint: a context file has one short row \
         per moment, `time_s,tag`"
    )]
    LineTooLong { line: usize, max_bytes: usize },
    /// More rows than any conversation needs.
    #[error("more than {limit} context tags\nhint: one row per moment of the conversation")]
    TooMany { limit: usize },
}

/// Most rows a context CSV may have.
#[cfg(feature = "formats")]
pub const MAX_CONTEXT_TAGS: usize = 100_000;

/// Reads timed context tags from CSV with a header holding `time_s` (seconds on the video's
/// clock) and `tag` (joke, question, compliment, touch, or a vocal cue's name); other columns are
/// ignored. Tags come back in time order.
#[cfg(feature = "formats")]
pub fn read_context_csv<R: std::io::Read>(input: R) -> Result<Vec<ContextTag>, ContextCsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(crate::formats::LineLimit::new(input));
    let header = match reader.headers() {
        Ok(header) => header.clone(),
        Err(source) => return Err(context_csv_error(source, 1, reader.get_ref())),
    };
    let column = |name: &'static str| {
        header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or(ContextCsvError::MissingColumn { column: name })
    };
    let (time_column, tag_column) = (column("time_s")?, column("tag")?);
    let mut tags = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(source) => return Err(context_csv_error(source, 0, reader.get_ref())),
        }
        let line = record.position().map_or(0, |p| p.line());
        if tags.len() == MAX_CONTEXT_TAGS {
            return Err(ContextCsvError::TooMany {
                limit: MAX_CONTEXT_TAGS,
            });
        }
        let time = record.get(time_column).unwrap_or_default();
        let at_s = time
            .parse::<f64>()
            .ok()
            .filter(|t| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| ContextCsvError::Value {
                line,
                value: time.to_string(),
                problem: "`time_s` must be seconds from the start of the video (0 or more)",
            })?;
        let tag = record.get(tag_column).unwrap_or_default();
        if tag.is_empty() {
            return Err(ContextCsvError::Value {
                line,
                value: String::new(),
                problem: "`tag` is empty",
            });
        }
        tags.push(ContextTag {
            at_s,
            kind: ContextKind::from_name(tag),
        });
    }
    tags.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    Ok(tags)
}

/// Names an over-long line as such rather than as malformed CSV.
#[cfg(feature = "formats")]
fn context_csv_error<R>(
    source: csv::Error,
    line: u64,
    reader: &crate::formats::LineLimit<R>,
) -> ContextCsvError {
    match reader.overlong_line() {
        Some(line) => ContextCsvError::LineTooLong {
            line,
            max_bytes: crate::formats::MAX_LINE_BYTES,
        },
        None => ContextCsvError::Csv {
            line: source.position().map_or(line, |p| p.line()),
            source,
        },
    }
}

fn watch(supporting: Vec<Support>, phrase: &str) -> Hypothesis {
    Hypothesis {
        state: HypothesisState::Watch,
        valence: Valence::Unknown,
        supporting,
        confidence: 0.0,
        phrase: phrase.to_string(),
    }
}

fn cue_support(event: &Event) -> Support {
    Support::Cue {
        cue: event.cue,
        track: event.track,
        apex_s: event.apex_s,
        confidence: event.confidence,
    }
}

fn conflicting(a: Valence, b: Valence) -> bool {
    matches!(
        (a, b),
        (Valence::Positive, Valence::Negative) | (Valence::Negative, Valence::Positive)
    )
}

/// The shared valence of two cues and how well they agree, or `None` when they do not.
fn combine(a: Valence, b: Valence, ambiguous_agreement: f32) -> Option<(Valence, f32)> {
    use Valence::*;
    match (a, b) {
        (Positive, Positive) | (Negative, Negative) | (Neutral, Neutral) => Some((a, 1.0)),
        (Ambiguous, definite @ (Positive | Negative | Neutral))
        | (definite @ (Positive | Negative | Neutral), Ambiguous) => {
            Some((definite, ambiguous_agreement))
        }
        _ => None,
    }
}

fn valence_phrase(valence: Valence) -> &'static str {
    match valence {
        Valence::Positive => "positive interest",
        Valence::Negative => "discomfort or tension",
        Valence::Neutral => "polite neutrality",
        Valence::Ambiguous | Valence::Unknown => "an unclear reaction",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cue::{Scale, Side};

    fn event(cue: CueId, apex_s: f64, confidence: f32) -> Event {
        Event {
            track: TrackId(0),
            onset_s: apex_s - 0.1,
            apex_s,
            offset_s: apex_s + 0.1,
            duration_ms: 200.0,
            scale: Scale::Micro,
            cue,
            side: Side::Both,
            intensity: 0.3,
            confidence,
            valence: cue.valence(),
            evidence: Vec::new(),
        }
    }

    #[test]
    fn hypothesis_phrase_reads_well() {
        let events = [
            event(CueId::GenuineSmile, 10.0, 0.7),
            event(CueId::EyebrowFlash, 11.0, 0.6),
        ];
        let h = hypothesize(&events, &[], 11.5, &HypothesisConfig::default());
        assert_eq!(h.state, HypothesisState::Hypothesis);
        assert_eq!(
            h.phrase,
            "Possibly positive interest (confidence 0.65) — a hypothesis, not a verdict"
        );
    }

    #[test]
    fn tracker_reports_a_standing_hypothesis_once_and_keeps_tracks_apart() {
        let mut tracker = HypothesisTracker::new(HypothesisConfig::default(), Vec::new());
        let first = tracker.push(&event(CueId::GenuineSmile, 10.0, 0.7));
        assert_eq!(first.state, HypothesisState::Watch);
        let second = tracker.push(&event(CueId::EyebrowFlash, 11.0, 0.6));
        assert_eq!(second.state, HypothesisState::Hypothesis);
        assert!(second.new_hypothesis.is_some());
        // A neutral cue that joins neither: the pair still stands, and is not reported again.
        let third = tracker.push(&event(CueId::PoliteSmile, 11.5, 0.5));
        assert_eq!(third.state, HypothesisState::Hypothesis);
        assert_eq!(third.new_hypothesis, None);
        // Another face's cue never pairs with this one's.
        let other = Event {
            track: TrackId(1),
            ..event(CueId::GenuineSmile, 11.8, 0.9)
        };
        assert_eq!(tracker.push(&other).state, HypothesisState::Watch);
    }

    #[cfg(feature = "formats")]
    #[test]
    fn context_csv_reads_tags_in_time_order_and_names_bad_lines() {
        let tags = read_context_csv("tag,time_s\nsigh,20\nJoke, 3.5\n".as_bytes()).unwrap();
        assert_eq!(
            tags,
            vec![
                ContextTag {
                    at_s: 3.5,
                    kind: ContextKind::Joke
                },
                ContextTag {
                    at_s: 20.0,
                    kind: ContextKind::Vocal("sigh".into())
                },
            ]
        );
        let error = read_context_csv("time_s,tag\n1,joke\n-2,touch\n".as_bytes()).unwrap_err();
        assert!(error.to_string().starts_with("line 3:"), "{error}");
        let error = read_context_csv("at,tag\n1,joke\n".as_bytes()).unwrap_err();
        assert!(error.to_string().contains("no `time_s` column"), "{error}");
        let long = format!(
            "time_s,tag\n1,{}\n",
            "a".repeat(crate::formats::MAX_LINE_BYTES + 1)
        );
        let error = read_context_csv(long.as_bytes()).unwrap_err();
        assert!(
            error.to_string().starts_with("line 2 is longer than"),
            "{error}"
        );
    }
}
