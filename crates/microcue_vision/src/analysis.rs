//! The video pipeline: a decoder thread feeding the tracker and the spotter.
//!
//! [`BackgroundSource`] runs any [`FrameSource`] on its own thread behind a bounded channel
//! (frames wait for inference instead of piling up) with a second channel that hands frame
//! buffers back for reuse. [`FrameAnalyzer`] turns each frame into [`FaceSignals`] (tracker,
//! region motion) and the signals into labelled [`Event`]s (spotter).

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use microcue_core::spotter::{Spotter, SpotterConfig};
use microcue_core::{Event, FaceSignals};

use crate::Frame;
use crate::blendshapes::BlendshapeModel;
use crate::error::VisionError;
use crate::flow::{RegionMotionConfig, RegionMotionEstimator};
use crate::models::FaceModels;
use crate::source::{FrameSource, SourceError, SourceInfo};
use crate::tracker::{FaceTracker, TrackerConfig, TrackerTimings};

/// A frame source decoding on a background thread, `capacity` frames ahead at most.
pub struct BackgroundSource {
    frames: Receiver<Result<Frame, SourceError>>,
    recycled: SyncSender<Frame>,
    info: SourceInfo,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundSource {
    /// Starts decoding `source` on a new thread.
    pub fn spawn(mut source: Box<dyn FrameSource>, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let info = source.info().clone();
        let (frame_sender, frames) = sync_channel::<Result<Frame, SourceError>>(capacity);
        let (recycled, recycled_receiver) = sync_channel::<Frame>(capacity + 2);
        let thread = std::thread::Builder::new()
            .name("microcue-decode".into())
            .spawn(move || {
                loop {
                    let mut frame = recycled_receiver.try_recv().unwrap_or_default();
                    let message = match source.next_frame(&mut frame) {
                        Ok(true) => Ok(frame),
                        Ok(false) => break,
                        Err(error) => Err(error),
                    };
                    let stop = message.is_err();
                    if frame_sender.send(message).is_err() || stop {
                        break;
                    }
                }
            })
            .ok();
        BackgroundSource {
            frames,
            recycled,
            info,
            thread,
        }
    }

    /// The next decoded frame; `None` at the end of the source.
    pub fn next_frame(&mut self) -> Option<Result<Frame, SourceError>> {
        self.frames.recv().ok()
    }

    /// Hands a frame buffer back to the decoder for reuse.
    pub fn give_back(&self, frame: Frame) {
        match self.recycled.try_send(frame) {
            Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// What the source is.
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }
}

impl Drop for BackgroundSource {
    fn drop(&mut self) {
        // Unblock the decoder (its send fails once `frames` is gone), then wait for it.
        let (_, empty) = sync_channel(1);
        drop(std::mem::replace(&mut self.frames, empty));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Settings of a [`FrameAnalyzer`].
#[derive(Debug, Clone, Default)]
pub struct AnalysisOptions {
    /// Face tracking.
    pub tracker: TrackerConfig,
    /// Spotting and reading.
    pub spotter: SpotterConfig,
    /// Whether to compute region motion (optical flow) signals.
    pub region_motion: bool,
}

/// Frames in, face signals and labelled events out: one stream's session of the
/// [`crate::Pipeline`]. Push frames in time order; `Frame::pts_s` is the capture time.
///
/// Two halves: the tracker (detection, crop, landmark model, head pose), whose next crop
/// depends on this frame's landmarks, and the rest (blendshape model, region motion,
/// spotting), which only reads them. [`FrameAnalyzer::process`] runs both in turn;
/// [`crate::Pipeline::run`] runs them on two threads when there are two cores.
pub struct FrameAnalyzer {
    tracker: FaceTracker,
    after: AfterTracking,
    faces: Vec<FaceSignals>,
    last_timings: StageTimings,
}

/// The half of a [`FrameAnalyzer`] after the tracker: blendshapes from each face's landmarks,
/// region motion, spotting.
pub(crate) struct AfterTracking {
    blendshapes: BlendshapeModel,
    motion: Option<RegionMotionEstimator>,
    spotter: Spotter,
    frames_with_face: u64,
}

impl AfterTracking {
    /// Completes the tracked `faces` of `frame` (blendshapes, region motion) and spots them;
    /// fills in the blendshape, region-motion and spotting times of `timings`.
    pub(crate) fn process(
        &mut self,
        frame: &Frame,
        faces: &mut [FaceSignals],
        timings: &mut StageTimings,
        events_out: &mut Vec<Event>,
    ) -> Result<(), VisionError> {
        let start = Instant::now();
        for face in faces.iter_mut() {
            self.blendshapes
                .run(&face.landmarks_in_image, &mut face.blendshapes)?;
        }
        let scored = Instant::now();
        if !faces.is_empty() {
            self.frames_with_face += 1;
        }
        if let Some(motion) = &mut self.motion {
            for face in faces.iter_mut() {
                motion.update(frame, face);
            }
        }
        let moved = Instant::now();
        for face in faces.iter() {
            self.spotter.push(face, events_out);
        }
        let spotted = Instant::now();
        timings.tracker.blendshapes = scored - start;
        timings.tracking += scored - start;
        timings.region_motion = moved - scored;
        timings.spotting = spotted - moved;
        Ok(())
    }

    /// Ends the stream: closes open movements.
    pub(crate) fn finish(&mut self, events_out: &mut Vec<Event>) {
        self.spotter.finish(events_out);
    }

    /// Frames in which at least one face was tracked.
    pub(crate) fn frames_with_face(&self) -> u64 {
        self.frames_with_face
    }
}

/// Time spent in each stage of [`FrameAnalyzer::process`] for the last frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimings {
    /// Detection, landmarks, blendshapes and head pose.
    pub tracking: Duration,
    /// The same, stage by stage.
    pub tracker: TrackerTimings,
    /// Region motion (optical flow).
    pub region_motion: Duration,
    /// Spotting and reading.
    pub spotting: Duration,
}

impl FrameAnalyzer {
    /// A new analyzer using the loaded models.
    pub fn new(models: &FaceModels, options: &AnalysisOptions) -> Result<Self, VisionError> {
        let mut tracker = FaceTracker::new(models, options.tracker)?;
        tracker.set_blendshapes(false);
        Ok(FrameAnalyzer {
            tracker,
            after: AfterTracking {
                blendshapes: BlendshapeModel::new(models)?,
                motion: options
                    .region_motion
                    .then(|| RegionMotionEstimator::new(RegionMotionConfig::default())),
                spotter: Spotter::new(options.spotter.clone()),
                frames_with_face: 0,
            },
            faces: Vec::new(),
            last_timings: StageTimings::default(),
        })
    }

    /// Analyses one frame: appends finished events to `events_out` and returns the signals of
    /// the faces in this frame (empty when none).
    pub fn process(
        &mut self,
        frame: &Frame,
        events_out: &mut Vec<Event>,
    ) -> Result<&[FaceSignals], VisionError> {
        let mut timings = track(&mut self.tracker, frame, &mut self.faces)?;
        self.after
            .process(frame, &mut self.faces, &mut timings, events_out)?;
        self.last_timings = timings;
        Ok(&self.faces)
    }

    /// The two halves, for running them on two threads.
    pub(crate) fn split(&mut self) -> (&mut FaceTracker, &mut AfterTracking) {
        (&mut self.tracker, &mut self.after)
    }

    /// Ends the stream: closes open movements.
    pub fn finish(&mut self, events_out: &mut Vec<Event>) {
        self.after.finish(events_out);
    }

    /// The faces of the last frame processed.
    pub fn faces(&self) -> &[FaceSignals] {
        &self.faces
    }

    /// Frames in which at least one face was tracked.
    pub fn frames_with_face(&self) -> u64 {
        self.after.frames_with_face()
    }

    /// Stage timings of the last [`FrameAnalyzer::process`] call.
    pub fn last_timings(&self) -> StageTimings {
        self.last_timings
    }

    /// The tracker (for its stage timings).
    pub fn tracker(&self) -> &FaceTracker {
        &self.tracker
    }

    /// The spotter (its settings, counters and each track's warm-up).
    pub fn spotter(&self) -> &Spotter {
        &self.after.spotter
    }
}

/// Runs the tracker on `frame` into `faces`; returns its stage timings (the rest zero).
pub(crate) fn track(
    tracker: &mut FaceTracker,
    frame: &Frame,
    faces: &mut Vec<FaceSignals>,
) -> Result<StageTimings, VisionError> {
    let start = Instant::now();
    tracker.process(frame, faces)?;
    Ok(StageTimings {
        tracking: start.elapsed(),
        tracker: tracker.last_timings(),
        ..StageTimings::default()
    })
}
