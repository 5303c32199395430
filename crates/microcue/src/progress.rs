//! Progress bar on stderr (frames/s and ETA), hidden when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar for one analysis.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `frame_count` frames (a spinner when unknown); nothing when `enabled` is false.
    pub fn new(enabled: bool, frame_count: Option<u64>, name: &str) -> Self {
        if !enabled {
            return Progress { bar: None };
        }
        let bar = match frame_count {
            Some(count) => ProgressBar::with_draw_target(Some(count), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = if frame_count.is_some() {
            "{msg} [{bar:30}] {pos}/{len} frames {per_sec} ETA {eta}"
        } else {
            "{msg} {spinner} {pos} frames {per_sec}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(name.to_string());
        Progress { bar: Some(bar) }
    }

    /// One more frame.
    pub fn tick(&mut self, _pts_s: f64) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
