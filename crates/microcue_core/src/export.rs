//! Event exports: JSON Lines, CSV and WebVTT (feature `formats`), the one writer behind
//! `microcue analyze --format` and the web app's review export, so both write the same bytes
//! for the same events.
//!
//! Each event is followed, when it completes the guide's two-signal rule (two agreeing cues, or
//! a cue and a context tag), by a hypothesis record with the suggested response; every event
//! record carries the reader's state (`watch` or `hypothesis`) at its apex (docs/formats.md).
//!
//! Rows are written (and flushed) as events arrive, so an analysis that stops on a decoding
//! error keeps every event found before it. Each WebVTT cue block stands alone, so a partial
//! file is still a valid subtitle track. The writer knows no file names: the caller adds the
//! destination to the error it reports.
//!
//! ```
//! use microcue_core::export::{EventExport, ExportFormat};
//! let mut bytes = Vec::new();
//! let writer = EventExport::new(ExportFormat::Csv, &mut bytes).unwrap();
//! assert_eq!(writer.written(), 0);
//! drop(writer);
//! assert!(String::from_utf8(bytes).unwrap().starts_with("track,onset_s"));
//! ```

use std::io::Write;

use serde::Serialize;

use crate::coach::suggest;
use crate::{
    ContextTag, Event, Hypothesis, HypothesisConfig, HypothesisState, HypothesisTracker, Side,
    Support,
};

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// One JSON object per event and line (docs/formats.md).
    #[default]
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// WebVTT subtitles: each event as a cue over the clip.
    Vtt,
}

impl ExportFormat {
    /// All formats.
    pub const ALL: [ExportFormat; 3] = [ExportFormat::Jsonl, ExportFormat::Csv, ExportFormat::Vtt];

    /// The usual file extension (also the name `--format` takes).
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
            ExportFormat::Vtt => "vtt",
        }
    }

    /// The media type of the format.
    pub fn media_type(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "application/jsonl",
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Vtt => "text/vtt; charset=utf-8",
        }
    }
}

/// Writes events (and the hypotheses they complete) in one format, flushing after each event.
pub struct EventExport<W: Write> {
    format: ExportFormat,
    out: W,
    written: usize,
    hypotheses: usize,
    tracker: HypothesisTracker,
}

impl<W: Write> EventExport<W> {
    /// Writes the format's header to `out`.
    pub fn new(format: ExportFormat, out: W) -> std::io::Result<Self> {
        let mut writer = EventExport {
            format,
            out,
            written: 0,
            hypotheses: 0,
            tracker: HypothesisTracker::new(HypothesisConfig::default(), Vec::new()),
        };
        match format {
            ExportFormat::Jsonl => {}
            ExportFormat::Csv => writer.write_line(CSV_HEADER)?,
            ExportFormat::Vtt => {
                writer.write_line("WEBVTT - microcue events (hypotheses, not verdicts)\n")?
            }
        }
        writer.out.flush()?;
        Ok(writer)
    }

    /// Gives the timed context tags (joke, question, ...) that the two-signal rule may pair
    /// with a cue. Call before the first event.
    pub fn set_context(&mut self, context: Vec<ContextTag>) {
        self.tracker = HypothesisTracker::new(HypothesisConfig::default(), context);
    }

    /// Writes one event, then the hypothesis it completes (if any), and flushes.
    pub fn write(&mut self, event: &Event) -> std::io::Result<()> {
        let reading = self.tracker.push(event);
        let line = match self.format {
            ExportFormat::Jsonl => serde_json::to_string(&EventRecord {
                kind: "event",
                event,
                state: reading.state,
            })?,
            ExportFormat::Csv => csv_line(&event_csv_fields(event, reading.state))?,
            ExportFormat::Vtt => vtt_cue(self.cue_number(), event, reading.state),
        };
        self.write_line(&line)?;
        self.written += 1;
        if let Some(hypothesis) = &reading.new_hypothesis {
            let record = HypothesisRecord::new(event, hypothesis);
            let line = match self.format {
                ExportFormat::Jsonl => serde_json::to_string(&record)?,
                ExportFormat::Csv => csv_line(&record.csv_fields())?,
                ExportFormat::Vtt => record.vtt_cue(self.cue_number()),
            };
            self.write_line(&line)?;
            self.hypotheses += 1;
        }
        self.out.flush()
    }

    /// Number of events written so far.
    pub fn written(&self) -> usize {
        self.written
    }

    /// Number of hypothesis records written so far.
    pub fn hypotheses(&self) -> usize {
        self.hypotheses
    }

    fn cue_number(&self) -> usize {
        self.written + self.hypotheses + 1
    }

    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        writeln!(self.out, "{line}")
    }
}

/// All of `events` in one format, as bytes (what [`EventExport`] writes for them in turn).
pub fn export_events(format: ExportFormat, events: &[Event]) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Writing to a Vec cannot fail, and our own records always serialise.
    if let Ok(mut writer) = EventExport::new(format, &mut bytes) {
        for event in events {
            if writer.write(event).is_err() {
                break;
            }
        }
    }
    bytes
}

/// An event as a JSON Lines record: `kind` first, the event's fields, the reader's state.
#[derive(Serialize)]
struct EventRecord<'a> {
    kind: &'static str,
    #[serde(flatten)]
    event: &'a Event,
    state: HypothesisState,
}

/// A hypothesis as a record: when, which track, what it says and what to do about it.
#[derive(Serialize)]
struct HypothesisRecord<'a> {
    kind: &'static str,
    track: crate::TrackId,
    /// The apex of the event that completed it.
    at_s: f64,
    #[serde(flatten)]
    hypothesis: &'a Hypothesis,
    /// The guide's micro-response for the strongest supporting cue.
    response: String,
    /// Lines to say, verbatim from the guide.
    say: &'static [&'static str],
}

impl<'a> HypothesisRecord<'a> {
    fn new(event: &Event, hypothesis: &'a Hypothesis) -> Self {
        let leading = hypothesis
            .supporting
            .iter()
            .filter_map(|support| match support {
                Support::Cue {
                    cue,
                    apex_s,
                    confidence,
                    ..
                } => Some((*cue, *apex_s, *confidence)),
                Support::Context(_) => None,
            })
            .max_by(|a, b| a.2.total_cmp(&b.2));
        let suggestion = leading.map(|(cue, apex_s, _)| {
            // Only the event in hand tells the side; the other cue's side is not kept.
            let side = if cue == event.cue && apex_s == event.apex_s {
                event.side
            } else {
                Side::Both
            };
            suggest(cue, side)
        });
        HypothesisRecord {
            kind: "hypothesis",
            track: event.track,
            at_s: event.apex_s,
            hypothesis,
            response: suggestion
                .as_ref()
                .map(|s| s.headline.clone())
                .unwrap_or_default(),
            say: suggestion.map_or(&[][..], |s| s.lines),
        }
    }

    fn supporting_names(&self) -> String {
        let names: Vec<String> = self
            .hypothesis
            .supporting
            .iter()
            .map(|support| match support {
                Support::Cue { cue, .. } => cue.to_string(),
                Support::Context(tag) => format!("context:{}", tag.kind.as_str()),
            })
            .collect();
        names.join("+")
    }

    /// Cells in the order of [`CSV_HEADER`]: the event columns it has (track, apex = when,
    /// cues joined by `+`, confidence, valence), the rest empty.
    fn csv_fields(&self) -> Vec<String> {
        let mut say = self.response.clone();
        if let Some(line) = self.say.first() {
            say.push_str(&format!(" Say: \"{line}\""));
        }
        vec![
            self.track.to_string(),
            String::new(),
            format!("{:.3}", self.at_s),
            String::new(),
            String::new(),
            String::new(),
            self.supporting_names(),
            String::new(),
            String::new(),
            format!("{:.3}", self.hypothesis.confidence),
            enum_name(&self.hypothesis.valence),
            String::new(),
            "hypothesis".to_string(),
            enum_name(&self.hypothesis.state),
            self.hypothesis.phrase.clone(),
            say,
        ]
    }

    fn vtt_cue(&self, number: usize) -> String {
        // On screen for the guide's 3-5 s response window.
        let mut text = format!(
            "{number}\n{} --> {}\n{} ({})",
            vtt_time(self.at_s),
            vtt_time(self.at_s + 4.0),
            self.hypothesis.phrase,
            self.supporting_names(),
        );
        if !self.response.is_empty() {
            text.push_str(&format!(" · suggested: {}", self.response));
        }
        text.push('\n');
        text
    }
}

/// The header row of the CSV export.
pub const CSV_HEADER: &str = "track,onset_s,apex_s,offset_s,duration_ms,scale,cue,side,intensity,confidence,valence,evidence,kind,state,phrase,response";

/// One CSV line (without its newline), quoted where a cell needs it.
fn csv_line(fields: &[String]) -> std::io::Result<String> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer.write_record(fields)?;
    let mut bytes = writer
        .into_inner()
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    bytes.pop();
    String::from_utf8(bytes).map_err(std::io::Error::other)
}

/// An event's cells in the order of [`CSV_HEADER`].
fn event_csv_fields(event: &Event, state: HypothesisState) -> Vec<String> {
    let mut fields = event_cells(event);
    fields.extend([
        "event".to_string(),
        enum_name(&state),
        String::new(),
        String::new(),
    ]);
    fields
}

/// How many of [`CSV_HEADER`]'s columns are the event's own ([`event_cells`]); `microcue
/// batch` writes these after its own columns.
pub const EVENT_CSV_COLUMNS: usize = 12;

/// The event's own cells, the first [`EVENT_CSV_COLUMNS`] of [`CSV_HEADER`].
pub fn event_cells(event: &Event) -> Vec<String> {
    let evidence: Vec<String> = event
        .evidence
        .iter()
        .map(|e| format!("{}:{:.3}", e.channel, e.delta))
        .collect();
    vec![
        event.track.to_string(),
        format!("{:.3}", event.onset_s),
        format!("{:.3}", event.apex_s),
        format!("{:.3}", event.offset_s),
        format!("{:.0}", event.duration_ms),
        enum_name(&event.scale),
        event.cue.to_string(),
        event.side.as_str().to_string(),
        format!("{:.3}", event.intensity),
        format!("{:.3}", event.confidence),
        enum_name(&event.valence),
        evidence.join(";"),
    ]
}

fn vtt_cue(number: usize, event: &Event, state: HypothesisState) -> String {
    // Keep a cue on screen at least 0.5 s so that a 40 ms flash is readable.
    let end_s = event.offset_s.max(event.onset_s + 0.5);
    let state = match state {
        HypothesisState::Watch => "watch: a single cue is not a verdict",
        HypothesisState::Hypothesis => "two signals agree: hypothesis below",
    };
    format!(
        "{number}\n{} --> {}\n{} ({}, {}, {:.0} ms) · confidence {:.2} · {state}\n",
        vtt_time(event.onset_s),
        vtt_time(end_s),
        event.cue,
        event.side.as_str(),
        enum_name(&event.scale),
        event.duration_ms,
        event.confidence,
    )
}

fn vtt_time(seconds: f64) -> String {
    let total_ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (hours, rest) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    format!(
        "{hours:02}:{minutes:02}:{:02}.{:03}",
        rest / 1000,
        rest % 1000
    )
}

/// The serde (snake_case) name of a unit enum variant.
pub fn enum_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vtt_times_are_zero_padded() {
        assert_eq!(vtt_time(0.0), "00:00:00.000");
        assert_eq!(vtt_time(3723.4567), "01:02:03.457");
    }

    #[test]
    fn every_format_starts_with_its_header() {
        assert!(export_events(ExportFormat::Jsonl, &[]).is_empty());
        assert!(export_events(ExportFormat::Csv, &[]).starts_with(CSV_HEADER.as_bytes()));
        assert!(export_events(ExportFormat::Vtt, &[]).starts_with(b"WEBVTT"));
    }
}
