//! The one pipeline every caller uses: `analyze`, `demo`, `bench`, `eval`, `drill review`, the
//! live server.
//!
//! A [`Pipeline`] holds the face models, loaded and optimised once per process and shared
//! (`Arc`) by every stream analysed with it; it is cheap to clone and `Send + Sync`. Each stream
//! gets its own [`FrameAnalyzer`] (tracker, region motion, spotter: per-stream state and
//! buffers) from [`Pipeline::session`]. Frames enter in one of two ways:
//!
//! - **pushed** one at a time with their capture time (live: the browser's camera), through
//!   [`FrameAnalyzer::process`], with `Frame::pts_s` set to the capture time;
//! - **pulled** from a [`FrameSource`] (files) by [`Pipeline::run`], which decodes on a
//!   background thread behind a bounded channel (or on the calling thread, for timing) and hands
//!   each analysed frame to the caller.
//!
//! Reporting (progress bars, summaries, output files) stays with the caller: `run` only calls
//! the caller's closure with each [`Step`].
//!
//! ```no_run
//! use microcue_vision::pipeline::{Pipeline, RunSettings, Step};
//! use microcue_vision::source::{SourceSpec, open_source};
//!
//! let pipeline = Pipeline::load()?; // once per process
//! let source = open_source(&SourceSpec::new("clip.mp4"))?;
//! let mut cues = Vec::new();
//! let summary = pipeline.run(source, &RunSettings::default(), &mut |step| {
//!     let events = match step {
//!         Step::Frame(report) => report.events,
//!         Step::End { events } => events,
//!     };
//!     cues.extend(events.iter().map(|event| event.cue));
//!     Ok::<(), std::convert::Infallible>(())
//! });
//! # let _ = summary;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use microcue_core::{Event, FaceSignals};

use crate::Frame;
use crate::analysis::{AnalysisOptions, BackgroundSource, FrameAnalyzer, StageTimings};
use crate::error::VisionError;
use crate::models::{Backend, FaceModels};
use crate::source::{FrameSource, SourceError};

/// Frames the background decoder may run ahead of the analysis.
const DECODE_AHEAD: usize = 4;

/// The face models, loaded once, and the way to analyse streams with them.
#[derive(Debug, Clone)]
pub struct Pipeline {
    models: Arc<FaceModels>,
}

/// How [`Pipeline::run`] decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    /// On a background thread, at most this many frames ahead (frames wait for the analysis
    /// instead of piling up; buffers are recycled).
    Background {
        /// Frames decoded ahead at most.
        ahead: usize,
    },
    /// On the calling thread, frame after frame, with the decode time of each frame reported
    /// (to compare with a single-threaded peer).
    SameThread,
}

impl Default for Decoding {
    fn default() -> Self {
        Decoding::Background {
            ahead: DECODE_AHEAD,
        }
    }
}

/// Settings of one [`Pipeline::run`].
#[derive(Debug, Clone, Default)]
pub struct RunSettings {
    /// Tracking, region motion and spotting.
    pub analysis: AnalysisOptions,
    /// Where decoding happens.
    pub decoding: Decoding,
    /// Analyse at most this many frames.
    pub max_frames: Option<u64>,
}

/// One analysed frame, handed to the caller of [`Pipeline::run`].
#[derive(Debug)]
pub struct FrameReport<'a> {
    /// The decoded frame (`pts_s`, `index`, pixels).
    pub frame: &'a Frame,
    /// The faces found in it (empty when none).
    pub faces: &'a [FaceSignals],
    /// Events the spotter finished on this frame.
    pub events: &'a [Event],
    /// Time spent in each analysis stage on this frame.
    pub timings: StageTimings,
    /// Time spent decoding this frame ([`Decoding::SameThread`] only).
    pub decode: Option<Duration>,
}

/// What [`Pipeline::run`] hands to its caller.
#[derive(Debug)]
pub enum Step<'a> {
    /// A frame was analysed.
    Frame(FrameReport<'a>),
    /// The stream ended (or stopped at a decoding error): the events still open, now closed.
    End {
        /// The last events.
        events: &'a [Event],
    },
}

/// What a finished [`Pipeline::run`] saw.
#[derive(Debug, Default)]
pub struct RunSummary {
    /// Frames analysed.
    pub frames: u64,
    /// Frames with at least one face.
    pub frames_with_face: u64,
    /// Events handed to the caller.
    pub events: usize,
    /// The decoding error that ended the run early, after the frames before it were analysed
    /// and their events handed over.
    pub decode_error: Option<SourceError>,
    /// Wall time from the first decode to the end of the run.
    pub wall: Duration,
}

/// Why a [`Pipeline::run`] stopped without finishing.
#[derive(Debug, thiserror::Error)]
pub enum RunError<E> {
    /// The analysis session could not start.
    #[error(transparent)]
    Setup(VisionError),
    /// The analysis of one frame failed.
    #[error("face analysis failed on frame {frame_index}")]
    Analysis {
        /// Index of the frame.
        frame_index: u64,
        /// What failed.
        #[source]
        source: VisionError,
    },
    /// The caller's closure returned an error.
    #[error(transparent)]
    Caller(E),
}

impl Pipeline {
    /// Loads and optimises the embedded face models in tract.
    pub fn load() -> Result<Self, VisionError> {
        Ok(Self::from_models(FaceModels::load()?))
    }

    /// Loads the embedded face models for `backend`.
    pub fn load_with(backend: &Backend) -> Result<Self, VisionError> {
        Ok(Self::from_models(FaceModels::load_with(backend)?))
    }

    /// A pipeline over models loaded elsewhere.
    pub fn from_models(models: FaceModels) -> Self {
        Pipeline {
            models: Arc::new(models),
        }
    }

    /// The shared models (for a [`crate::FaceTracker`] of one's own, e.g. to crop faces).
    pub fn models(&self) -> &FaceModels {
        &self.models
    }

    /// A new analysis session (one stream: a file, a camera) over the shared models.
    pub fn session(&self, options: &AnalysisOptions) -> Result<FrameAnalyzer, VisionError> {
        FrameAnalyzer::new(&self.models, options)
    }

    /// Pulls every frame of `source` through a new session and hands each analysed frame, then
    /// the end of the stream, to `on_step`.
    ///
    /// A decoding error ends the stream like its end does (the open events are closed and
    /// handed over) and is returned in [`RunSummary::decode_error`]. An analysis error or an
    /// error of `on_step` stops at once.
    pub fn run<E>(
        &self,
        source: Box<dyn FrameSource>,
        settings: &RunSettings,
        on_step: &mut dyn FnMut(Step<'_>) -> Result<(), E>,
    ) -> Result<RunSummary, RunError<E>> {
        let mut analyzer = self.session(&settings.analysis).map_err(RunError::Setup)?;
        let mut frames = match settings.decoding {
            Decoding::Background { ahead } => {
                Frames::Background(BackgroundSource::spawn(source, ahead.max(1)))
            }
            Decoding::SameThread => Frames::SameThread {
                source,
                frame: Frame::default(),
            },
        };
        let started = Instant::now();
        let mut events = Vec::new();
        let mut summary = RunSummary::default();
        loop {
            if settings.max_frames.is_some_and(|max| summary.frames >= max) {
                break;
            }
            let decode_start = Instant::now();
            let frame = match frames.next() {
                Some(Ok(frame)) => frame,
                Some(Err(error)) => {
                    summary.decode_error = Some(error);
                    break;
                }
                None => break,
            };
            let decode =
                matches!(settings.decoding, Decoding::SameThread).then(|| decode_start.elapsed());
            analyzer
                .process(&frame, &mut events)
                .map_err(|source| RunError::Analysis {
                    frame_index: frame.index,
                    source,
                })?;
            summary.frames += 1;
            summary.events += events.len();
            let report = FrameReport {
                frame: &frame,
                faces: analyzer.faces(),
                events: &events,
                timings: analyzer.last_timings(),
                decode,
            };
            on_step(Step::Frame(report)).map_err(RunError::Caller)?;
            events.clear();
            frames.give_back(frame);
        }
        analyzer.finish(&mut events);
        summary.events += events.len();
        summary.frames_with_face = analyzer.frames_with_face();
        on_step(Step::End { events: &events }).map_err(RunError::Caller)?;
        summary.wall = started.elapsed();
        Ok(summary)
    }
}

/// Frames from a background decoder or straight from the source.
enum Frames {
    Background(BackgroundSource),
    SameThread {
        source: Box<dyn FrameSource>,
        frame: Frame,
    },
}

impl Frames {
    fn next(&mut self) -> Option<Result<Frame, SourceError>> {
        match self {
            Frames::Background(background) => background.next_frame(),
            Frames::SameThread { source, frame } => {
                let mut next = std::mem::take(frame);
                match source.next_frame(&mut next) {
                    Ok(true) => Some(Ok(next)),
                    Ok(false) => None,
                    Err(error) => Some(Err(error)),
                }
            }
        }
    }

    fn give_back(&mut self, used: Frame) {
        match self {
            Frames::Background(background) => background.give_back(used),
            // The buffer is reused for the next frame.
            Frames::SameThread { frame, .. } => *frame = used,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn pipeline_is_shareable_and_a_session_can_move_to_a_worker_thread() {
        assert_send_sync::<Pipeline>();
        assert_send::<FrameAnalyzer>();
    }
}
