//! The blink-cluster detector: blinks chained into a cluster when they come faster than the
//! person's own rate predicts.

use super::config::BlinkConfig;
use crate::numeric::crossing_time;
use crate::reader::BlinkClusterSummary;

/// One finished blink.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Blink {
    pub(super) onset_s: f64,
    pub(super) peak_s: f64,
    pub(super) offset_s: f64,
    peak_delta: f32,
}

/// Most blinks in one chain (a longer one is closed and a new one begun).
const MAX_CHAIN: usize = 16;

#[derive(Debug, Clone)]
pub(super) struct BlinkDetector {
    in_blink: bool,
    too_long: bool,
    onset_s: f64,
    /// Time of the frame before the blink started (bound for onsets still to come).
    before_onset_s: f64,
    peak_s: f64,
    peak_delta: f32,
    previous: Option<(f64, f32)>,
    chain: [Blink; MAX_CHAIN],
    chain_len: usize,
    /// Decayed count of natural blinks and decayed observation time.
    rate_blinks: f64,
    rate_time_s: f64,
}

impl BlinkDetector {
    pub(super) fn new() -> Self {
        BlinkDetector {
            in_blink: false,
            too_long: false,
            onset_s: 0.0,
            before_onset_s: 0.0,
            peak_s: 0.0,
            peak_delta: 0.0,
            previous: None,
            chain: [Blink::default(); MAX_CHAIN],
            chain_len: 0,
            rate_blinks: 0.0,
            rate_time_s: 0.0,
        }
    }

    pub(super) fn abort(&mut self) {
        self.in_blink = false;
        self.too_long = false;
        self.previous = None;
        self.chain_len = 0;
    }

    pub(super) fn earliest_onset(&self) -> Option<f64> {
        if self.chain_len > 0 {
            Some(self.chain[0].onset_s)
        } else if self.in_blink {
            Some(self.before_onset_s)
        } else {
            None
        }
    }

    fn rate_per_s(&self, config: &BlinkConfig) -> f64 {
        let prior = f64::from(config.prior_rate_per_min) / 60.0;
        (self.rate_blinks + prior * config.prior_weight_s)
            / (self.rate_time_s + config.prior_weight_s).max(1e-9)
    }

    /// One frame. Returns a finished cluster, if any.
    pub(super) fn update(
        &mut self,
        pts_s: f64,
        dt_s: f64,
        delta: f32,
        spread: f32,
        config: &BlinkConfig,
    ) -> Option<(Blink, Blink, BlinkClusterSummary)> {
        let decay = (-dt_s / config.rate_memory_s).exp();
        self.rate_blinks *= decay;
        self.rate_time_s = self.rate_time_s * decay + dt_s;

        let threshold = config.min_delta.max(config.z_high * spread);
        let low = 0.5 * threshold;
        let mut finished = None;
        if !self.in_blink {
            if delta >= low {
                self.in_blink = true;
                self.too_long = false;
                let (previous_s, previous_delta) = self.previous.unwrap_or((pts_s, delta));
                self.before_onset_s = previous_s;
                self.onset_s = crossing_time((previous_s, previous_delta), (pts_s, delta), low)
                    .unwrap_or(pts_s);
                self.peak_s = pts_s;
                self.peak_delta = delta;
            }
        } else if delta >= low {
            if delta > self.peak_delta {
                self.peak_delta = delta;
                self.peak_s = pts_s;
            }
            if pts_s - self.onset_s > config.max_blink_s {
                self.too_long = true;
            }
        } else {
            self.in_blink = false;
            let (previous_s, previous_delta) = self.previous.unwrap_or((pts_s, delta));
            let offset_s = crossing_time((pts_s, delta), (previous_s, previous_delta), low)
                .unwrap_or(previous_s);
            if !self.too_long
                && self.peak_delta >= threshold
                && offset_s - self.onset_s <= config.max_blink_s
            {
                finished = Some(Blink {
                    onset_s: self.onset_s,
                    peak_s: self.peak_s,
                    offset_s,
                    peak_delta: self.peak_delta,
                });
            }
        }
        self.previous = Some((pts_s, delta));

        let mut cluster = None;
        if let Some(blink) = finished {
            if self.chain_len > 0
                && blink.onset_s - self.chain[self.chain_len - 1].offset_s > config.max_interval_s
            {
                cluster = self.close_chain(config);
            }
            if self.chain_len == MAX_CHAIN {
                cluster = cluster.or(self.close_chain(config));
            }
            self.chain[self.chain_len] = blink;
            self.chain_len += 1;
        } else if self.chain_len > 0
            && !self.in_blink
            && pts_s - self.chain[self.chain_len - 1].offset_s > config.max_interval_s
        {
            cluster = self.close_chain(config);
        }
        cluster
    }

    /// Ends the current chain; a cluster when it is dense enough, else natural blinks.
    pub(super) fn close_chain(
        &mut self,
        config: &BlinkConfig,
    ) -> Option<(Blink, Blink, BlinkClusterSummary)> {
        let chain = &self.chain[..self.chain_len];
        self.chain_len = 0;
        let (first, last) = (*chain.first()?, *chain.last()?);
        let densest = (0..chain.len())
            .map(|i| {
                chain[i..]
                    .iter()
                    .take_while(|b| b.onset_s - chain[i].onset_s <= config.window_s)
                    .count()
            })
            .max()
            .unwrap_or(0);
        let span_s = (last.offset_s - first.onset_s).max(config.window_s);
        let expected = self.rate_per_s(config) * span_s;
        let blinks = chain.len();
        if densest >= config.min_blinks && blinks as f64 >= f64::from(config.rate_ratio) * expected
        {
            let middle = chain[blinks / 2];
            let mean_peak_delta = chain.iter().map(|b| b.peak_delta).sum::<f32>() / blinks as f32;
            Some((
                first,
                Blink {
                    peak_s: middle.peak_s,
                    ..last
                },
                BlinkClusterSummary {
                    blinks,
                    expected_blinks: expected as f32,
                    mean_peak_delta,
                },
            ))
        } else {
            // Natural blinks: they teach the person's rate.
            self.rate_blinks += blinks as f64;
            None
        }
    }
}
