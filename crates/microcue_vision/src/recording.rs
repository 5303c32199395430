//! One recording analysed from its first frame to its last: the function `microcue analyze`,
//! `microcue batch` and the Python package share, so that each gives the same events for the
//! same file and reports the same failures in the same words.
//!
//! [`RecordingSettings`] are the analysis settings of a file (the CLI's defaults:
//! one face, region motion on); [`analyze_recording`] runs a [`FrameSource`] through
//! [`Pipeline::run`] and turns its outcomes into a [`RecordingSummary`] or a
//! [`RecordingError`]. A recording without a face is a summary (`frames_with_face == 0`), not an
//! error: the caller says so in its own way ([`RecordingSummary::no_face_message`]).
//!
//! ```no_run
//! use microcue_vision::Pipeline;
//! use microcue_vision::recording::{RecordingSettings, analyze_recording};
//! use microcue_vision::pipeline::Step;
//! use microcue_vision::source::{SourceSpec, open_source};
//!
//! let pipeline = Pipeline::load()?;
//! let source = open_source(&SourceSpec::new("clip.mp4"))?;
//! let mut events = Vec::new();
//! let settings = RecordingSettings::default().run_settings();
//! let summary = analyze_recording(&pipeline, source, "clip.mp4", &settings, &mut |step| {
//!     events.extend_from_slice(step.events());
//!     Ok::<(), std::convert::Infallible>(())
//! });
//! # let _ = summary;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::convert::Infallible;
use std::time::Duration;

use microcue_core::Event;
use microcue_core::spotter::SpotterConfig;

use crate::analysis::AnalysisOptions;
use crate::error::VisionError;
use crate::pipeline::{Pipeline, RunError, RunSettings, Step};
use crate::source::{FrameSource, SourceError, SourceInfo};
use crate::tracker::TrackerConfig;

/// How a recording is analysed.
#[derive(Debug, Clone)]
pub struct RecordingSettings {
    /// Most faces tracked at once (at least 1).
    pub max_faces: usize,
    /// Whether region motion (optical flow) is measured; the pulse detector needs it.
    pub region_motion: bool,
    /// Spotting and reading.
    pub spotter: SpotterConfig,
}

impl Default for RecordingSettings {
    fn default() -> Self {
        RecordingSettings {
            max_faces: 1,
            region_motion: true,
            spotter: SpotterConfig::default(),
        }
    }
}

impl RecordingSettings {
    /// The [`Pipeline::run`] settings for these (background decoding).
    pub fn run_settings(&self) -> RunSettings {
        RunSettings {
            analysis: AnalysisOptions {
                tracker: TrackerConfig {
                    max_faces: self.max_faces.max(1),
                    ..TrackerConfig::default()
                },
                spotter: self.spotter.clone(),
                region_motion: self.region_motion,
            },
            ..RunSettings::default()
        }
    }
}

impl Step<'_> {
    /// The events this step hands over (finished on this frame, or closed at the end).
    pub fn events(&self) -> &[Event] {
        match self {
            Step::Frame(report) => report.events,
            Step::End { events } => events,
        }
    }
}

/// What a finished analysis of one recording saw.
#[derive(Debug, Clone)]
pub struct RecordingSummary {
    /// What the source is (size, frame count, duration, rate).
    pub info: SourceInfo,
    /// Frames analysed.
    pub frames: u64,
    /// Frames with at least one face.
    pub frames_with_face: u64,
    /// Events handed to the caller.
    pub events: usize,
    /// Wall time of the analysis (decoding included, opening and model loading not).
    pub wall: Duration,
}

impl RecordingSummary {
    /// Whether any frame had a face.
    pub fn found_face(&self) -> bool {
        self.frames_with_face > 0
    }

    /// What to tell the user when no frame had a face (`name` as given by the user).
    pub fn no_face_message(&self, name: &str) -> String {
        format!(
            "no face found in `{name}` ({} frames): no events. \
             hint: the face must be visible, lit and at least ~10% of the frame height",
            self.frames
        )
    }

    /// Time spanned by the analysed frames: the source's duration, else frames over its rate.
    pub fn duration_s(&self) -> Option<f64> {
        self.info.duration_s.or_else(|| {
            self.info
                .nominal_fps
                .filter(|fps| *fps > 0.0)
                .map(|fps| self.frames as f64 / fps)
        })
    }
}

/// Why a recording could not be analysed to its end.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError<E = Infallible> {
    /// The analysis session could not start (the models).
    #[error(transparent)]
    Setup(VisionError),
    /// The analysis of one frame failed.
    #[error("face analysis failed on frame {frame_index} of `{name}`")]
    Analysis {
        /// The recording, as the user named it.
        name: String,
        /// Index of the frame.
        frame_index: u64,
        /// What failed.
        #[source]
        source: VisionError,
    },
    /// Decoding stopped at a broken frame; the frames before it were analysed and their events
    /// handed over.
    #[error(transparent)]
    Decode(Box<BrokenRecording>),
    /// The source yielded no frame at all.
    #[error(
        "`{name}` has no frames; hint: is it a video microcue can read (see `microcue analyze --help`)?"
    )]
    NoFrames {
        /// The recording, as the user named it.
        name: String,
    },
    /// The caller's own closure failed.
    #[error(transparent)]
    Caller(E),
}

/// A decoding error after some frames: it reads as the source's error (as `microcue analyze`
/// prints it) and carries what was analysed before it.
#[derive(Debug)]
pub struct BrokenRecording {
    /// What broke.
    pub error: SourceError,
    /// Frames analysed before it.
    pub frames: u64,
    /// Of those, frames with a face.
    pub frames_with_face: u64,
    /// Events handed over before it.
    pub events: usize,
}

impl std::fmt::Display for BrokenRecording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for BrokenRecording {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

impl<E> RecordingError<E> {
    /// Splits off the caller's own error: `Ok` with it, or `Err` with the analysis failure.
    pub fn into_caller(self) -> Result<E, RecordingError> {
        Err(match self {
            RecordingError::Caller(error) => return Ok(error),
            RecordingError::Setup(error) => RecordingError::Setup(error),
            RecordingError::Analysis {
                name,
                frame_index,
                source,
            } => RecordingError::Analysis {
                name,
                frame_index,
                source,
            },
            RecordingError::Decode(broken) => RecordingError::Decode(broken),
            RecordingError::NoFrames { name } => RecordingError::NoFrames { name },
        })
    }
}

impl RecordingError {
    /// The note that goes with a decoding error: what was kept from before it.
    pub fn kept_note(&self) -> Option<String> {
        match self {
            RecordingError::Decode(broken) => Some(format!(
                "kept {} event(s) from the {} frame(s) decoded before the error",
                broken.events, broken.frames
            )),
            _ => None,
        }
    }
}

/// Analyses every frame of `source` (named `name` in messages, as the user gave it) and hands
/// each step to `on_step`.
///
/// A decoding error after some frames is [`RecordingError::Decode`]: the events of the frames
/// before it have been handed over already. No frames at all is [`RecordingError::NoFrames`].
pub fn analyze_recording<E>(
    pipeline: &Pipeline,
    source: Box<dyn FrameSource>,
    name: &str,
    settings: &RunSettings,
    on_step: &mut dyn FnMut(Step<'_>) -> Result<(), E>,
) -> Result<RecordingSummary, RecordingError<E>> {
    let info = source.info().clone();
    let run = pipeline
        .run(source, settings, on_step)
        .map_err(|error| match error {
            RunError::Setup(error) => RecordingError::Setup(error),
            RunError::Analysis {
                frame_index,
                source,
            } => RecordingError::Analysis {
                name: name.to_string(),
                frame_index,
                source,
            },
            RunError::Caller(error) => RecordingError::Caller(error),
        })?;
    if let Some(error) = run.decode_error {
        return Err(RecordingError::Decode(Box::new(BrokenRecording {
            error,
            frames: run.frames,
            frames_with_face: run.frames_with_face,
            events: run.events,
        })));
    }
    if run.frames == 0 {
        return Err(RecordingError::NoFrames {
            name: name.to_string(),
        });
    }
    Ok(RecordingSummary {
        info,
        frames: run.frames,
        frames_with_face: run.frames_with_face,
        events: run.events,
        wall: run.wall,
    })
}
