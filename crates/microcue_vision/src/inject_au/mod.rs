//! The second injection style (`--style au`), written independently of [`crate::warp`], so
//! that a spotter tuned on one way of planting movements can be checked on another.
//!
//! What differs from the warp style:
//!
//! - **Displacement model.** Each cue is a sum of per-action-unit displacement bases defined
//!   on the 478-point mesh ([`bases`]): driver landmark groups move in face axes, pinned ones
//!   stay, and the displacement spreads from the drivers by mesh-edge hops. The mesh is a
//!   Delaunay triangulation of the landmarks ([`mesh`]); pixels follow by a piecewise-affine
//!   map per triangle, inverted exactly through barycentric coordinates ([`render`]). The
//!   warp style blends kernels around control points and inverts by iteration.
//! - **Time courses** ([`profile`]): fast or slow rises with the fall taking the rest, holds,
//!   partial returns whose remainder decays over about a second after the truth interval, and
//!   pairs of short movements 100–300 ms apart (two truth rows). The warp style has one
//!   symmetric-ish envelope.
//! - **Placement** ([`plan`]): in turn while the mouth moves, while the head moves and in
//!   quiet stretches of the clip (relative to the clip's own motion), and the truth says which.
//!
//! Both styles share the two passes of [`crate::inject::inject_video`], the whole-frame truth
//! timing and the durations (40–500 ms) and sizes (1.5–5 % of the inter-ocular distance,
//! the largest driver's displacement). `truth.csv` has the warp style's columns plus
//! `profile`, `context` and `paired`, which `microcue eval score` ignores.
//!
//! ```
//! use microcue_core::{CueId, Side};
//! use microcue_vision::inject_au::AuWarp;
//!
//! // Without 478 landmarks there is no face to move.
//! assert!(AuWarp::new(CueId::EyebrowFlash, Side::Both, &[]).is_none());
//! ```

pub mod bases;
pub mod mesh;
pub mod plan;
pub mod profile;
pub mod render;

use std::io::Write;

pub use plan::{AuEvent, Context, frame_contexts, plan_au_events};
pub use profile::Profile;
pub use render::AuWarp;

use crate::frame::Frame;
use crate::inject::TRUTH_CSV_HEADER;

/// Writes the AU style's `truth.csv`: the warp style's columns, then profile, context, paired.
pub fn write_au_truth_csv(mut out: impl Write, events: &[AuEvent]) -> std::io::Result<()> {
    writeln!(out, "{TRUTH_CSV_HEADER},profile,context,paired")?;
    for au in events {
        let event = &au.event;
        writeln!(
            out,
            "{},{},{:.6},{:.6},{:.6},{:.3},{:.5},{},{},{}",
            event.cue,
            event.side.as_str(),
            event.onset_s,
            event.apex_s,
            event.offset_s,
            event.duration_ms,
            event.amplitude_iod,
            au.profile.name(),
            au.context.name(),
            au.paired
        )?;
    }
    out.flush()
}

/// Renders the planned AU events frame by frame (frames in order), keeping the current
/// movement's mesh and the displacement buffer between frames.
#[derive(Debug, Default)]
pub struct AuInjector {
    events: Vec<AuEvent>,
    next: usize,
    current: Option<(usize, Option<AuWarp>)>,
    scratch: Vec<[f32; 2]>,
}

impl AuInjector {
    /// An injector for `events` (sorted by onset, groups not overlapping).
    pub fn new(events: Vec<AuEvent>) -> AuInjector {
        AuInjector {
            events,
            ..AuInjector::default()
        }
    }

    /// The planned events.
    pub fn events(&self) -> &[AuEvent] {
        &self.events
    }

    /// Whether frame `index` is moved by an event (then `render` must be called for it).
    pub fn active(&mut self, index: u64) -> bool {
        while self.next < self.events.len() && self.events[self.next].last_moved_frame < index {
            self.next += 1;
        }
        self.events
            .get(self.next)
            .is_some_and(|event| event.event.first_frame <= index)
    }

    /// Writes frame `index` (at `t_s` on the output clock) with the active movement into
    /// `dst`; `landmarks` are the frame's smoothed landmarks. Call only when `active(index)`.
    pub fn render(
        &mut self,
        index: u64,
        t_s: f64,
        src: &Frame,
        landmarks: &[[f32; 3]],
        dst: &mut Frame,
    ) {
        let event_index = self.next;
        let Some(au) = self.events.get(event_index).copied() else {
            dst.clone_from(src);
            return;
        };
        debug_assert!(au.event.first_frame <= index && index <= au.last_moved_frame);
        if self.current.as_ref().map(|(i, _)| *i) != Some(event_index) {
            // The mesh and basis come from the movement's first frame.
            self.current = Some((
                event_index,
                AuWarp::new(au.event.cue, au.event.side, landmarks),
            ));
        }
        let weight = au.profile.weight(au.event.onset_s, au.event.offset_s, t_s) as f32;
        match self.current.as_ref().and_then(|(_, warp)| warp.as_ref()) {
            Some(warp) => {
                warp.render(
                    src,
                    landmarks,
                    au.event.amplitude_iod,
                    weight,
                    dst,
                    &mut self.scratch,
                );
            }
            None => dst.clone_from(src),
        }
    }
}

#[cfg(test)]
mod tests;
