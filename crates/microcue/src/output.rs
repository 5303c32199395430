//! Event writers of `microcue analyze`: JSON Lines, CSV and WebVTT, to stdout or a file.
//!
//! The records themselves are written by `microcue_core::export` (the web app's review export
//! calls the same writer, so both give the same bytes); this module opens the destination and
//! names it in errors.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use microcue_core::export::{EventExport, ExportFormat};
// `microcue batch` writes analyze's event cells.
pub(crate) use microcue_core::export::{CSV_HEADER, EVENT_CSV_COLUMNS, enum_name, event_cells};
use microcue_core::{ContextTag, Event};

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

impl From<EventFormat> for ExportFormat {
    fn from(format: EventFormat) -> ExportFormat {
        match format {
            EventFormat::Jsonl => ExportFormat::Jsonl,
            EventFormat::Csv => ExportFormat::Csv,
            EventFormat::Vtt => ExportFormat::Vtt,
        }
    }
}

/// Writes events (and the hypotheses they complete) in one format to one destination,
/// flushing after each event.
pub struct EventWriter {
    export: EventExport<Box<dyn Write>>,
    path: Option<PathBuf>,
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
        let export = EventExport::new(format.into(), out).with_context(|| describe(path))?;
        Ok(EventWriter {
            export,
            path: path.map(Path::to_path_buf),
        })
    }

    /// Gives the timed context tags (joke, question, ...) that the two-signal rule may pair
    /// with a cue. Call before the first event.
    pub fn set_context(&mut self, context: Vec<ContextTag>) {
        self.export.set_context(context);
    }

    /// Writes one event, then the hypothesis it completes (if any), and flushes.
    pub fn write(&mut self, event: &Event) -> anyhow::Result<()> {
        self.export
            .write(event)
            .with_context(|| describe(self.path.as_deref()))
    }

    /// Number of events written so far.
    pub fn written(&self) -> usize {
        self.export.written()
    }

    /// Number of hypothesis records written so far.
    pub fn hypotheses(&self) -> usize {
        self.export.hypotheses()
    }
}

fn describe(path: Option<&Path>) -> String {
    match path {
        Some(path) => format!("cannot write events to `{}`", path.display()),
        None => "cannot write events to stdout".to_string(),
    }
}
