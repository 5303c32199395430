//! # microcue_core
//!
//! The pure core of microcue: per-frame face signals in, labelled events, hypotheses and
//! response suggestions out. No I/O, no clock, no threads: the same signals give the same
//! events whether they are fed frame by frame, in chunks or all at once.
//!
//! Main types: [`FaceSignals`] (one face in one frame), [`Event`] (one spotted movement with
//! its [`CueId`]), the [`lexicon`] of twelve cues.

pub mod cue;
pub mod event;
pub mod signals;

pub use cue::{CueId, ResponseFamily, Scale, Side, Valence};
pub use event::{Event, Evidence, temporal_iou};
pub use signals::{
    BLENDSHAPE_COUNT, BLENDSHAPE_NAMES, BlendshapeIndex, FaceSignals, HeadPose, LANDMARK_COUNT,
    Region, RegionMotion, TrackId,
};

pub mod coach;
#[cfg(feature = "formats")]
pub mod export;
#[cfg(feature = "formats")]
pub mod formats;
pub mod lexicon;
pub mod numeric;

pub use coach::{Outcome, OutcomeWatcher, PreResponseLevels, Suggestion, suggest};
pub use lexicon::CueEntry;

pub mod baseline;
pub mod channels;
pub mod eval;
mod face_axes;
pub mod hypothesis;
pub mod pulse;
pub mod reader;
pub mod spotter;
#[cfg(feature = "synth")]
pub mod synth;
mod whiten;

pub use baseline::{Baseline, BaselineConfig};
pub use channels::{CHANNEL_COUNT, CHANNELS, Channel, ChannelRole, ChannelValues};
pub use eval::{EvalConfig, EvalReport, TruthEvent, evaluate};
pub use hypothesis::{
    ContextKind, ContextTag, EventReading, Hypothesis, HypothesisConfig, HypothesisState,
    HypothesisTracker, Support, hypothesize,
};
pub use pulse::PulseConfig;
pub use reader::ReaderConfig;
pub use spotter::{Spotter, SpotterConfig, SpotterStats, analyze_all};
