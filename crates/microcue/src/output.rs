//! Event writers: JSON Lines, CSV and WebVTT, to stdout or a file.
//!
//! JSON Lines and CSV rows are written (and flushed) as events arrive, so an analysis that stops
//! on a decoding error keeps every event found before it. WebVTT is written the same way: each
//! cue block stands alone, so a partial file is still a valid subtitle track.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use microcue_core::Event;

use crate::stdout::Stdout;

/// Output format of `microcue analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum EventFormat {
    /// One JSON object per event and line (docs/formats.md).
    #[default]
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// WebVTT subtitles: each event as a cue over the clip.
    Vtt,
}

/// Writes events in one format to one destination, flushing after each event.
pub struct EventWriter {
    format: EventFormat,
    out: Box<dyn Write>,
    path: Option<PathBuf>,
    written: usize,
}

impl EventWriter {
    /// Opens `path` (or stdout when `None`) and writes the format's header.
    pub fn create(format: EventFormat, path: Option<&Path>) -> anyhow::Result<Self> {
        let out: Box<dyn Write> = match path {
            Some(path) => {
                Box::new(BufWriter::new(File::create(path).with_context(|| {
                    format!("cannot create `{}`", path.display())
                })?))
            }
            None => Box::new(Stdout::new()),
        };
        let mut writer = EventWriter {
            format,
            out,
            path: path.map(Path::to_path_buf),
            written: 0,
        };
        match format {
            EventFormat::Jsonl => {}
            EventFormat::Csv => writer.write_line(CSV_HEADER)?,
            EventFormat::Vtt => {
                writer.write_line("WEBVTT - microcue events (hypotheses, not verdicts)\n")?
            }
        }
        writer.flush()?;
        Ok(writer)
    }

    /// Writes one event and flushes it.
    pub fn write(&mut self, event: &Event) -> anyhow::Result<()> {
        let line = match self.format {
            EventFormat::Jsonl => serde_json::to_string(event)?,
            EventFormat::Csv => csv_row(event),
            EventFormat::Vtt => vtt_cue(self.written + 1, event),
        };
        self.write_line(&line)?;
        self.flush()?;
        self.written += 1;
        Ok(())
    }

    /// Number of events written so far.
    pub fn written(&self) -> usize {
        self.written
    }

    fn write_line(&mut self, line: &str) -> anyhow::Result<()> {
        writeln!(self.out, "{line}").with_context(|| self.describe())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        self.out.flush().with_context(|| self.describe())
    }

    fn describe(&self) -> String {
        match &self.path {
            Some(path) => format!("cannot write events to `{}`", path.display()),
            None => "cannot write events to stdout".to_string(),
        }
    }
}

const CSV_HEADER: &str = "track,onset_s,apex_s,offset_s,duration_ms,scale,cue,side,intensity,confidence,valence,evidence";

fn csv_row(event: &Event) -> String {
    let evidence: Vec<String> = event
        .evidence
        .iter()
        .map(|e| format!("{}:{:.3}", e.channel, e.delta))
        .collect();
    format!(
        "{},{:.3},{:.3},{:.3},{:.0},{},{},{},{:.3},{:.3},{},{}",
        event.track,
        event.onset_s,
        event.apex_s,
        event.offset_s,
        event.duration_ms,
        enum_name(&event.scale),
        event.cue,
        event.side.as_str(),
        event.intensity,
        event.confidence,
        enum_name(&event.valence),
        evidence.join(";"),
    )
}

fn vtt_cue(number: usize, event: &Event) -> String {
    // Keep a cue on screen at least 0.5 s so that a 40 ms flash is readable.
    let end_s = event.offset_s.max(event.onset_s + 0.5);
    format!(
        "{number}\n{} --> {}\n{} ({}, {}, {:.0} ms) · confidence {:.2} · a hypothesis, not a verdict\n",
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
fn enum_name<T: serde::Serialize>(value: &T) -> String {
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
}
