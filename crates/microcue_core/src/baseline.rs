//! The per-track robust baseline of each spotter channel.
//!
//! The [`Baseline`] keeps, per [`Channel`](crate::Channel), a robust *level* (running median) and
//! *spread* (1.4826 × median absolute deviation) over a window of several seconds. Design
//! choices:
//!
//! - **Seconds, not frames.** Samples enter at a fixed time interval (default 50 ms) whatever the
//!   frame rate, so 25 fps and 200 fps streams get the same statistics.
//! - **It does not learn from the events themselves.** Samples wait in a quarantine queue for
//!   `commit_delay_s` before they are committed. When a segment opens, queued samples from just
//!   before its onset are discarded ([`Baseline::discard_pending_since`]); while it is open, the
//!   caller stops feeding samples; after it closes, samples are refused for `guard_s`
//!   ([`Baseline::block_until`]).
//! - **Warm-up.** [`Baseline::is_ready`] turns true once `warmup_s` worth of samples were
//!   committed; the spotter emits nothing before.
//! - **No allocation per frame**: every buffer is sized once in [`Baseline::new`].

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::channels::{CHANNEL_COUNT, CHANNELS, ChannelValues, WindowClass};
use crate::numeric::{EvenMedian, median};

/// Settings of the per-track baseline. All times in seconds.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(default))]
pub struct BaselineConfig {
    /// Window of the running median / MAD of expression channels.
    pub window_s: f64,
    /// Window of gaze and head channels (they drift, so a shorter window follows them).
    pub gaze_window_s: f64,
    /// Window of region-motion channels: their level stays near 0 and their spread (the
    /// person's natural motion) is what the pulse detector measures against.
    pub motion_window_s: f64,
    /// One sample enters the baseline every `sample_interval_s`, whatever the frame rate.
    pub sample_interval_s: f64,
    /// Samples wait this long in quarantine before they are committed.
    pub commit_delay_s: f64,
    /// Samples within `guard_s` of an open segment are never committed.
    pub guard_s: f64,
    /// Committed sample time needed before the baseline is ready (warm-up).
    pub warmup_s: f64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            window_s: 6.0,
            gaze_window_s: 3.0,
            // Longer than the expression window: it learns the spread more steadily (see
            // docs/evaluation.md).
            motion_window_s: 15.0,
            sample_interval_s: 0.05,
            commit_delay_s: 0.6,
            guard_s: 0.3,
            warmup_s: 1.0,
        }
    }
}

impl BaselineConfig {
    /// Checks the settings; returns a description of the first problem.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("window_s", self.window_s),
            ("gaze_window_s", self.gaze_window_s),
            ("motion_window_s", self.motion_window_s),
            ("sample_interval_s", self.sample_interval_s),
        ];
        for (name, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!(
                    "baseline.{name} must be a positive number of seconds, got {value}"
                ));
            }
        }
        let non_negative = [
            ("commit_delay_s", self.commit_delay_s),
            ("guard_s", self.guard_s),
            ("warmup_s", self.warmup_s),
        ];
        for (name, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("baseline.{name} must be >= 0 seconds, got {value}"));
            }
        }
        for (name, window_s) in [
            ("window_s", self.window_s),
            ("gaze_window_s", self.gaze_window_s),
            ("motion_window_s", self.motion_window_s),
        ] {
            if window_s / self.sample_interval_s > 100_000.0 {
                return Err(format!(
                    "baseline.{name} / sample_interval_s is too large ({window_s} / {})",
                    self.sample_interval_s
                ));
            }
        }
        if self.guard_s > self.commit_delay_s {
            return Err(format!(
                "baseline.guard_s ({}) must not exceed commit_delay_s ({}): samples just before an \
                 onset would already be committed",
                self.guard_s, self.commit_delay_s
            ));
        }
        Ok(())
    }

    fn window_samples(&self, window: WindowClass) -> usize {
        let window_s = match window {
            WindowClass::Expression => self.window_s,
            WindowClass::Direction => self.gaze_window_s,
            WindowClass::Motion => self.motion_window_s,
        };
        ((window_s / self.sample_interval_s).round() as usize).max(3)
    }
}

/// Robust running level and spread of every channel of one track.
#[derive(Debug, Clone)]
pub struct Baseline {
    config: BaselineConfig,
    /// Ring capacity per channel (the largest window); channel `c` owns
    /// `history[c * capacity .. (c + 1) * capacity]`.
    capacity: usize,
    window_len: [usize; CHANNEL_COUNT],
    history: Vec<f32>,
    head: [usize; CHANNEL_COUNT],
    count: [usize; CHANNEL_COUNT],
    /// Quarantine: (time, values) not yet committed, oldest first (ring).
    pending_times: Vec<f64>,
    pending_values: Vec<ChannelValues>,
    pending_head: usize,
    pending_len: usize,
    next_sample_s: Option<f64>,
    blocked_until_s: f64,
    committed_samples: usize,
    level: ChannelValues,
    spread: ChannelValues,
    scratch: Vec<f32>,
}

impl Baseline {
    /// An empty baseline. `config` should have passed [`BaselineConfig::validate`]; out-of-range
    /// values are clamped to something usable.
    pub fn new(config: BaselineConfig) -> Self {
        let mut window_len = [0usize; CHANNEL_COUNT];
        for (len, spec) in window_len.iter_mut().zip(CHANNELS.iter()) {
            *len = config.window_samples(spec.window).min(100_000);
        }
        let capacity = window_len.iter().copied().max().unwrap_or(3);
        let pending_capacity =
            ((config.commit_delay_s / config.sample_interval_s.max(1e-3)).ceil() as usize + 4)
                .min(100_000);
        let mut spread = [0.0; CHANNEL_COUNT];
        for (value, spec) in spread.iter_mut().zip(CHANNELS.iter()) {
            *value = spec.spread_floor;
        }
        Baseline {
            config,
            capacity,
            window_len,
            history: vec![0.0; capacity * CHANNEL_COUNT],
            head: [0; CHANNEL_COUNT],
            count: [0; CHANNEL_COUNT],
            pending_times: vec![0.0; pending_capacity],
            pending_values: vec![[0.0; CHANNEL_COUNT]; pending_capacity],
            pending_head: 0,
            pending_len: 0,
            next_sample_s: None,
            blocked_until_s: f64::NEG_INFINITY,
            committed_samples: 0,
            level: [0.0; CHANNEL_COUNT],
            spread,
            scratch: Vec::with_capacity(capacity),
        }
    }

    /// Forgets everything (a new warm-up follows).
    pub fn reset(&mut self) {
        self.head = [0; CHANNEL_COUNT];
        self.count = [0; CHANNEL_COUNT];
        self.pending_head = 0;
        self.pending_len = 0;
        self.next_sample_s = None;
        self.blocked_until_s = f64::NEG_INFINITY;
        self.committed_samples = 0;
        self.level = [0.0; CHANNEL_COUNT];
        for (value, spec) in self.spread.iter_mut().zip(CHANNELS.iter()) {
            *value = spec.spread_floor;
        }
    }

    /// Whether the warm-up is over.
    pub fn is_ready(&self) -> bool {
        self.committed_samples as f64 * self.config.sample_interval_s >= self.config.warmup_s
    }

    /// Robust level (running median) of every channel.
    pub fn level(&self) -> &ChannelValues {
        &self.level
    }

    /// Robust spread (1.4826 × MAD, at least the channel's floor) of every channel.
    pub fn spread(&self) -> &ChannelValues {
        &self.spread
    }

    /// Offers the values of the frame at `pts_s`. A sample is taken every `sample_interval_s`
    /// when `learning` is true and the time is not blocked; samples older than
    /// `commit_delay_s` are committed. Returns whether the level/spread changed.
    pub fn observe(&mut self, pts_s: f64, values: &ChannelValues, learning: bool) -> bool {
        let next = *self.next_sample_s.get_or_insert(pts_s);
        if pts_s >= next {
            let mut following = next + self.config.sample_interval_s;
            if following <= pts_s {
                following = pts_s + self.config.sample_interval_s;
            }
            self.next_sample_s = Some(following);
            if learning && pts_s >= self.blocked_until_s {
                self.enqueue(pts_s, values);
            }
        }
        let mut changed = false;
        while self.pending_len > 0
            && self.pending_times[self.pending_head] <= pts_s - self.config.commit_delay_s
        {
            self.commit_oldest();
            changed = true;
        }
        if changed {
            self.recompute();
        }
        changed
    }

    /// Drops quarantined samples taken at or after `since_s` (a segment opened: they may contain
    /// its rise).
    pub fn discard_pending_since(&mut self, since_s: f64) {
        while self.pending_len > 0 {
            let newest = (self.pending_head + self.pending_len - 1) % self.pending_times.len();
            if self.pending_times[newest] >= since_s {
                self.pending_len -= 1;
            } else {
                break;
            }
        }
    }

    /// Refuses new samples taken before `until_s` (a segment closed: its tail is not baseline).
    pub fn block_until(&mut self, until_s: f64) {
        self.blocked_until_s = self.blocked_until_s.max(until_s);
    }

    /// Drops every quarantined sample (after an interruption of the stream).
    pub fn clear_pending(&mut self) {
        self.pending_len = 0;
        self.next_sample_s = None;
    }

    fn enqueue(&mut self, pts_s: f64, values: &ChannelValues) {
        if self.pending_len == self.pending_times.len() {
            // Full (only with extreme settings): commit the oldest early.
            self.commit_oldest();
            self.recompute();
        }
        let slot = (self.pending_head + self.pending_len) % self.pending_times.len();
        self.pending_times[slot] = pts_s;
        self.pending_values[slot] = *values;
        self.pending_len += 1;
    }

    fn commit_oldest(&mut self) {
        let slot = self.pending_head;
        self.pending_head = (self.pending_head + 1) % self.pending_times.len();
        self.pending_len -= 1;
        for channel in 0..CHANNEL_COUNT {
            let value = self.pending_values[slot][channel];
            if !value.is_finite() {
                continue;
            }
            let len = self.window_len[channel];
            let base = channel * self.capacity;
            self.history[base + self.head[channel]] = value;
            self.head[channel] = (self.head[channel] + 1) % len;
            self.count[channel] = (self.count[channel] + 1).min(len);
        }
        self.committed_samples += 1;
    }

    fn recompute(&mut self) {
        for (channel, spec) in CHANNELS.iter().enumerate() {
            let count = self.count[channel];
            if count == 0 {
                continue;
            }
            let base = channel * self.capacity;
            self.scratch.clear();
            self.scratch
                .extend_from_slice(&self.history[base..base + count]);
            let level = median(&mut self.scratch, EvenMedian::Upper).unwrap_or(0.0);
            for value in self.scratch.iter_mut() {
                *value = (*value - level).abs();
            }
            let mad = median(&mut self.scratch, EvenMedian::Upper).unwrap_or(0.0);
            self.level[channel] = level;
            self.spread[channel] = (1.4826 * mad).max(spec.spread_floor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::Channel;

    fn feed(baseline: &mut Baseline, from_s: f64, to_s: f64, fps: f64, value: impl Fn(f64) -> f32) {
        let mut values = [0.0; CHANNEL_COUNT];
        let mut t = from_s;
        while t < to_s {
            values.fill(value(t));
            baseline.observe(t, &values, true);
            t += 1.0 / fps;
        }
    }

    #[test]
    fn warms_up_then_tracks_a_robust_level_at_any_frame_rate() {
        for fps in [25.0, 200.0] {
            let mut baseline = Baseline::new(BaselineConfig::default());
            feed(&mut baseline, 0.0, 1.0, fps, |_| 0.2);
            assert!(
                !baseline.is_ready(),
                "ready after 1 s at {fps} fps despite the commit delay"
            );
            // A spike every 0.5 s (like blinks) must not move the median.
            feed(&mut baseline, 1.0, 8.0, fps, |t| {
                if (t * 2.0).fract() < 0.08 { 0.9 } else { 0.2 }
            });
            assert!(baseline.is_ready());
            let level = baseline.level()[Channel::BrowInnerUp.index()];
            assert!((level - 0.2).abs() < 1e-6, "level {level} at {fps} fps");
            assert_eq!(
                baseline.spread()[Channel::BrowInnerUp.index()],
                Channel::BrowInnerUp.spec().spread_floor
            );
        }
    }

    #[test]
    fn each_window_class_forgets_at_its_own_horizon() {
        let config = BaselineConfig::default();
        assert!(config.gaze_window_s < config.window_s && config.window_s < config.motion_window_s);
        let mut baseline = Baseline::new(config.clone());
        feed(&mut baseline, 0.0, 20.0, 30.0, |_| 0.1);
        // A new level for over half of the expression window but under half of the motion one
        // (plus the commit delay): the expression and direction channels' medians have moved
        // to it, the region-motion channels' have not.
        let hold_s = 0.75 * config.window_s;
        assert!(hold_s < 0.5 * config.motion_window_s);
        feed(
            &mut baseline,
            20.0,
            20.0 + hold_s + config.commit_delay_s,
            30.0,
            |_| 0.5,
        );
        let level = |channel: Channel| baseline.level()[channel.index()];
        assert_eq!(
            CHANNELS[Channel::BrowInnerUp.index()].window,
            WindowClass::Expression
        );
        assert_eq!(
            CHANNELS[Channel::MotionBrowsUp.index()].window,
            WindowClass::Motion
        );
        assert_eq!(
            CHANNELS[Channel::WhiteLipsClose.index()].window,
            WindowClass::Motion
        );
        assert!((level(Channel::BrowInnerUp) - 0.5).abs() < 1e-6);
        assert!((level(Channel::HeadYawDeg) - 0.5).abs() < 1e-6);
        assert!((level(Channel::MotionBrowsUp) - 0.1).abs() < 1e-6);
        assert!((level(Channel::WhiteLipsClose) - 0.1).abs() < 1e-6);
        // Every channel that reads region motion uses the motion window, and only those.
        for spec in &CHANNELS {
            assert_eq!(
                spec.window == WindowClass::Motion,
                spec.source.is_region(),
                "{}",
                spec.name
            );
        }
        let bad = BaselineConfig {
            motion_window_s: 0.0,
            ..config
        };
        assert!(bad.validate().unwrap_err().contains("motion_window_s"));
    }

    #[test]
    fn quarantine_keeps_an_event_out_of_the_baseline() {
        let mut baseline = Baseline::new(BaselineConfig::default());
        feed(&mut baseline, 0.0, 5.0, 30.0, |_| 0.1);
        // A long rise: the caller opens a segment at 5.2 s, discards the rise, stops learning,
        // and blocks the tail after the close at 9 s.
        let mut values = [0.0; CHANNEL_COUNT];
        let mut t = 5.0;
        while t < 9.0 {
            values.fill(0.6);
            let learning = t < 5.2;
            baseline.observe(t, &values, learning);
            if (t - 5.2).abs() < 0.5 / 30.0 {
                baseline.discard_pending_since(5.0 - 0.3);
            }
            t += 1.0 / 30.0;
        }
        baseline.block_until(9.0 + 0.3);
        feed(&mut baseline, 9.0, 9.3, 30.0, |_| 0.6);
        assert!(
            (baseline.level()[0] - 0.1).abs() < 1e-6,
            "level learned the event: {}",
            baseline.level()[0]
        );
    }
}
