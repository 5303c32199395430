//! Stimuli: what a drill asks a front end to show.
//!
//! A [`Stimulus`] is a description, not pixels: which cue to flash (or none, for a catch
//! trial), on which side, for how long, how strongly, on which source face. Rendering it needs
//! the warping engine of the vision crate, which plugs in later through [`StimulusRenderer`];
//! the drills work on descriptions alone, so their logic is testable without pictures.

use microcue_core::{CueId, Side};
use serde::{Deserialize, Serialize};

/// One thing to show the trainee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stimulus {
    /// The cue to show; `None` = a catch trial: the neutral face with no flash.
    pub cue: Option<CueId>,
    /// Side of the movement, from the subject's view.
    pub side: Side,
    /// How long the expression is on screen, ms (the flash between two neutral frames).
    pub exposure_ms: f64,
    /// Peak strength of the movement, 0..1 (blendshape units over the neutral face).
    pub intensity: f32,
    /// Which face or clip to render it on (an id the renderer understands, e.g. a file name in
    /// `shared/data/faces`).
    pub source: String,
    /// Playback speed for study material (1.0 = real time; 0.25 = four times slower).
    pub playback_speed: f64,
}

/// Turns a [`Stimulus`] into something a front end can show (frames, a video file, a URL).
///
/// Implemented by the renderer that comes with the warping engine; the drills only produce
/// descriptions.
pub trait StimulusRenderer {
    /// What a rendered stimulus is (e.g. a list of frames with their display times).
    type Rendered;
    /// Why rendering failed.
    type Error: std::error::Error;

    /// Renders one stimulus.
    fn render(&mut self, stimulus: &Stimulus) -> Result<Self::Rendered, Self::Error>;
}
