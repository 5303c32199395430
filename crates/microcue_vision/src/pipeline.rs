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
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use microcue_core::{Event, FaceSignals};

use crate::Frame;
use crate::analysis::{
    AfterTracking, AnalysisOptions, BackgroundSource, FrameAnalyzer, StageTimings, track,
};
use crate::error::VisionError;
use crate::models::{Backend, FaceModels};
use crate::source::{FrameSource, SourceError};
use crate::tracker::FaceTracker;

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
        /// Whether the tracker gets a thread of its own.
        tracker_thread: TrackerThread,
    },
    /// On the calling thread, frame after frame, with the decode time of each frame reported
    /// (to compare with a single-threaded peer).
    SameThread,
}

impl Default for Decoding {
    fn default() -> Self {
        Decoding::Background {
            ahead: DECODE_AHEAD,
            tracker_thread: TrackerThread::Auto,
        }
    }
}

/// Whether [`Pipeline::run`] tracks on a thread of its own ([`Decoding::Background`] only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrackerThread {
    /// When the process may use two cores or more.
    #[default]
    Auto,
    /// Always (e.g. to test that it gives the same results).
    Always,
    /// Never: everything but decoding on the calling thread.
    Never,
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

impl RunSettings {
    /// The same settings with decoding and tracking on the calling thread: a worker given one
    /// core uses that core only, so N workers on N cores do not contend for them.
    pub fn on_one_thread(mut self) -> Self {
        self.decoding = Decoding::SameThread;
        self
    }
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
    /// With [`Decoding::Background`] and at least two usable cores, the tracker (crop, landmark
    /// model) runs on a thread of its own while the calling thread scores the previous frame's
    /// blendshapes, region motion and spotting, and decoding runs ahead on a third: the same
    /// values, in the same order, in less wall time. Pinned to one core it all runs on the
    /// calling thread (decoding still behind its channel).
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
        let started = Instant::now();
        let mut summary = RunSummary::default();
        let (tracker, after) = analyzer.split();
        let mut stage = Stage {
            after,
            events: Vec::new(),
            summary: &mut summary,
            max_frames: settings.max_frames,
            on_step,
        };
        match settings.decoding {
            Decoding::Background {
                ahead,
                tracker_thread,
            } if own_tracker_thread(tracker_thread) => {
                let ahead = ahead.max(1);
                std::thread::scope(|scope| {
                    let (sender, tracked) = sync_channel::<Tracked>(TRACK_AHEAD);
                    let (returns, returned) = sync_channel::<Buffers>(TRACK_AHEAD + 2);
                    std::thread::Builder::new()
                        .name(TRACK_THREAD.into())
                        .spawn_scoped(scope, move || {
                            track_ahead(tracker, source, ahead, &sender, &returned);
                        })
                        .map_err(|source| {
                            RunError::Setup(VisionError::Thread {
                                name: TRACK_THREAD,
                                source,
                            })
                        })?;
                    // Dropping `tracked` on return (before the scope joins) stops the tracker.
                    stage.run(&mut TrackElsewhere { tracked, returns })
                })?;
            }
            decoding => {
                let frames = match decoding {
                    Decoding::Background { ahead, .. } => {
                        Frames::Background(BackgroundSource::spawn(source, ahead.max(1)))
                    }
                    Decoding::SameThread => Frames::SameThread {
                        source,
                        frame: Frame::default(),
                    },
                };
                stage.run(&mut TrackHere {
                    tracker,
                    frames,
                    spare_faces: Vec::new(),
                })?;
            }
        }
        summary.frames_with_face = analyzer.frames_with_face();
        summary.wall = started.elapsed();
        Ok(summary)
    }
}

/// Frames the tracker thread may run ahead of the calling thread.
const TRACK_AHEAD: usize = 2;

/// Name of the tracker thread.
const TRACK_THREAD: &str = "microcue-track";

/// Whether to track on a thread of its own: with `Auto`, when the process may use two cores
/// (not when pinned to one, e.g. by `taskset -c 0`).
fn own_tracker_thread(setting: TrackerThread) -> bool {
    match setting {
        TrackerThread::Auto => std::thread::available_parallelism().map_or(1, usize::from) >= 2,
        TrackerThread::Always => true,
        TrackerThread::Never => false,
    }
}

/// A frame and its faces' signals, handed back for reuse.
struct Buffers {
    frame: Frame,
    faces: Vec<FaceSignals>,
}

/// What the tracker hands on, in frame order.
enum Tracked {
    /// A tracked frame (blendshapes, region motion and spotting still to do).
    Frame {
        buffers: Buffers,
        timings: StageTimings,
        decode: Option<Duration>,
    },
    /// The tracker failed on this frame.
    AnalysisError {
        frame_index: u64,
        error: VisionError,
    },
    /// Decoding failed: the stream ends here.
    DecodeError(SourceError),
}

/// Tracks `frame` into `faces` (a reused vector).
fn track_one(
    tracker: &mut FaceTracker,
    frame: Frame,
    mut faces: Vec<FaceSignals>,
    decode: Option<Duration>,
) -> Tracked {
    match track(tracker, &frame, &mut faces) {
        Ok(timings) => Tracked::Frame {
            buffers: Buffers { frame, faces },
            timings,
            decode,
        },
        Err(error) => Tracked::AnalysisError {
            frame_index: frame.index,
            error,
        },
    }
}

/// The tracker thread: decodes (on a thread of its own, `ahead` frames ahead) and tracks each
/// frame, handing it to `tracked` until the stream ends, an error is sent, or the receiver is
/// gone; reuses the buffers that come back on `returned`.
fn track_ahead(
    tracker: &mut FaceTracker,
    source: Box<dyn FrameSource>,
    ahead: usize,
    tracked: &SyncSender<Tracked>,
    returned: &Receiver<Buffers>,
) {
    let mut background = BackgroundSource::spawn(source, ahead);
    while let Some(decoded) = background.next_frame() {
        let mut faces = Vec::new();
        if let Ok(buffers) = returned.try_recv() {
            background.give_back(buffers.frame);
            faces = buffers.faces;
        }
        let message = match decoded {
            Ok(frame) => track_one(tracker, frame, faces, None),
            Err(error) => Tracked::DecodeError(error),
        };
        let stop = !matches!(message, Tracked::Frame { .. });
        if tracked.send(message).is_err() || stop {
            break;
        }
    }
}

/// Tracked frames, in order, for [`Stage::run`].
trait TrackedFrames {
    /// The next tracked frame; `None` at the end of the stream.
    fn next(&mut self) -> Option<Tracked>;
    /// Takes back a frame's buffers for reuse.
    fn give_back(&mut self, buffers: Buffers);
}

/// Tracking on the calling thread.
struct TrackHere<'a> {
    tracker: &'a mut FaceTracker,
    frames: Frames,
    spare_faces: Vec<FaceSignals>,
}

impl TrackedFrames for TrackHere<'_> {
    fn next(&mut self) -> Option<Tracked> {
        let decode_start = Instant::now();
        let frame = match self.frames.next()? {
            Ok(frame) => frame,
            Err(error) => return Some(Tracked::DecodeError(error)),
        };
        let decode =
            matches!(self.frames, Frames::SameThread { .. }).then(|| decode_start.elapsed());
        let faces = std::mem::take(&mut self.spare_faces);
        Some(track_one(self.tracker, frame, faces, decode))
    }

    fn give_back(&mut self, buffers: Buffers) {
        self.spare_faces = buffers.faces;
        self.frames.give_back(buffers.frame);
    }
}

/// Tracking on the tracker thread ([`track_ahead`]).
struct TrackElsewhere {
    tracked: Receiver<Tracked>,
    returns: SyncSender<Buffers>,
}

impl TrackedFrames for TrackElsewhere {
    fn next(&mut self) -> Option<Tracked> {
        self.tracked.recv().ok()
    }

    fn give_back(&mut self, buffers: Buffers) {
        // A full return queue drops the buffers: the tracker then allocates new ones.
        let _ = self.returns.try_send(buffers);
    }
}

/// The calling thread's part of [`Pipeline::run`]: the rest of the analysis and the caller's
/// closure, frame after frame.
struct Stage<'a, E> {
    after: &'a mut AfterTracking,
    events: Vec<Event>,
    summary: &'a mut RunSummary,
    max_frames: Option<u64>,
    on_step: &'a mut dyn FnMut(Step<'_>) -> Result<(), E>,
}

impl<E> Stage<'_, E> {
    /// Takes tracked frames until the end of the stream, a decoding error, or `max_frames`;
    /// hands each frame's buffers back when done with them; then closes the stream.
    fn run(&mut self, frames: &mut dyn TrackedFrames) -> Result<(), RunError<E>> {
        loop {
            if self
                .max_frames
                .is_some_and(|max| self.summary.frames >= max)
            {
                break;
            }
            let (mut buffers, mut timings, decode) = match frames.next() {
                Some(Tracked::Frame {
                    buffers,
                    timings,
                    decode,
                }) => (buffers, timings, decode),
                Some(Tracked::AnalysisError { frame_index, error }) => {
                    return Err(RunError::Analysis {
                        frame_index,
                        source: error,
                    });
                }
                Some(Tracked::DecodeError(error)) => {
                    self.summary.decode_error = Some(error);
                    break;
                }
                None => break,
            };
            let frame = &buffers.frame;
            self.after
                .process(frame, &mut buffers.faces, &mut timings, &mut self.events)
                .map_err(|source| RunError::Analysis {
                    frame_index: frame.index,
                    source,
                })?;
            self.summary.frames += 1;
            self.summary.events += self.events.len();
            let report = FrameReport {
                frame,
                faces: &buffers.faces,
                events: &self.events,
                timings,
                decode,
            };
            (self.on_step)(Step::Frame(report)).map_err(RunError::Caller)?;
            self.events.clear();
            frames.give_back(buffers);
        }
        self.after.finish(&mut self.events);
        self.summary.events += self.events.len();
        (self.on_step)(Step::End {
            events: &self.events,
        })
        .map_err(RunError::Caller)
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
