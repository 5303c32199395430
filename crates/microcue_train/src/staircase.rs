//! Adaptive exposure: a weighted up/down staircase on a log scale (Kaernbach 1991).
//!
//! After a correct answer the exposure gets shorter by `step_down` (in log2 units), after a
//! wrong one longer by `step_up = step_down * p / (1 - p)`. The level settles where
//! `p(correct) * step_down = (1 - p(correct)) * step_up`, i.e. at the exposure the observer
//! gets right with probability `p` (the target accuracy, 75 % by default). Steps are large at
//! first (fast descent from 500 ms) and halve at the first reversals. The threshold estimate
//! is the geometric mean of the exposures at the reversals after the first few.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Settings of a [`Staircase`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaircaseConfig {
    /// First exposure, ms.
    pub start_ms: f64,
    /// Shortest exposure, ms (a 25 Hz frame; METT's briefest flash).
    pub min_ms: f64,
    /// Longest exposure, ms.
    pub max_ms: f64,
    /// Accuracy the staircase converges on, 0..1 (exclusive).
    pub target_accuracy: f64,
    /// First down-step, log2 units (0.5 = a factor of 1.41).
    pub initial_step_log2: f64,
    /// Smallest down-step, log2 units.
    pub min_step_log2: f64,
    /// Reversals left out of the threshold estimate (the descent from the start).
    pub discard_reversals: usize,
}

impl Default for StaircaseConfig {
    fn default() -> Self {
        StaircaseConfig {
            start_ms: 500.0,
            min_ms: 40.0,
            max_ms: 500.0,
            target_accuracy: 0.75,
            initial_step_log2: 0.5,
            min_step_log2: 0.125,
            discard_reversals: 2,
        }
    }
}

impl StaircaseConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        let invalid = |detail: String| {
            Err(TrainError::Invalid {
                what: "staircase",
                detail,
            })
        };
        if !(self.min_ms > 0.0 && self.min_ms <= self.max_ms && self.max_ms.is_finite()) {
            return invalid(format!(
                "need 0 < min_ms <= max_ms, got {} and {}",
                self.min_ms, self.max_ms
            ));
        }
        if !(self.min_ms..=self.max_ms).contains(&self.start_ms) {
            return invalid(format!(
                "start_ms {} must lie in [{}, {}]",
                self.start_ms, self.min_ms, self.max_ms
            ));
        }
        if !(self.target_accuracy > 0.0 && self.target_accuracy < 1.0) {
            return invalid(format!(
                "target_accuracy {} must be in (0, 1)",
                self.target_accuracy
            ));
        }
        if !(self.min_step_log2 > 0.0 && self.min_step_log2 <= self.initial_step_log2) {
            return invalid(format!(
                "need 0 < min_step_log2 <= initial_step_log2, got {} and {}",
                self.min_step_log2, self.initial_step_log2
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Down,
    Up,
}

/// A weighted up/down staircase over exposure duration.
#[derive(Debug, Clone)]
pub struct Staircase {
    config: StaircaseConfig,
    level_log2: f64,
    step_down_log2: f64,
    last_direction: Option<Direction>,
    reversal_levels_log2: Vec<f64>,
    trials: u32,
    correct: u32,
}

impl Staircase {
    /// A staircase at `config.start_ms`.
    pub fn new(config: StaircaseConfig) -> Result<Staircase> {
        config.validate()?;
        Ok(Staircase {
            level_log2: config.start_ms.log2(),
            step_down_log2: config.initial_step_log2,
            last_direction: None,
            reversal_levels_log2: Vec::new(),
            trials: 0,
            correct: 0,
            config,
        })
    }

    /// A fresh staircase (no answers, no reversals) at `exposure_ms` (clamped), keeping this
    /// one's settings and current step size.
    pub fn continue_at(&self, exposure_ms: f64) -> Staircase {
        Staircase {
            config: self.config.clone(),
            level_log2: exposure_ms
                .clamp(self.config.min_ms, self.config.max_ms)
                .log2(),
            step_down_log2: self.step_down_log2,
            last_direction: None,
            reversal_levels_log2: Vec::new(),
            trials: 0,
            correct: 0,
        }
    }

    /// The exposure of the next trial, ms.
    pub fn exposure_ms(&self) -> f64 {
        self.level_log2.exp2()
    }

    /// Moves the level after one answer.
    pub fn update(&mut self, correct: bool) {
        self.trials += 1;
        let direction = if correct {
            self.correct += 1;
            Direction::Down
        } else {
            Direction::Up
        };
        if let Some(last) = self.last_direction
            && last != direction
        {
            self.reversal_levels_log2.push(self.level_log2);
            if self.reversal_levels_log2.len() <= self.config.discard_reversals {
                self.step_down_log2 = (self.step_down_log2 / 2.0).max(self.config.min_step_log2);
            }
        }
        self.last_direction = Some(direction);
        let p = self.config.target_accuracy;
        let step = match direction {
            Direction::Down => -self.step_down_log2,
            Direction::Up => self.step_down_log2 * p / (1.0 - p),
        };
        self.level_log2 =
            (self.level_log2 + step).clamp(self.config.min_ms.log2(), self.config.max_ms.log2());
    }

    /// Number of answers so far.
    pub fn trials(&self) -> u32 {
        self.trials
    }

    /// Number of correct answers so far.
    pub fn correct(&self) -> u32 {
        self.correct
    }

    /// Exposures at which the direction reversed, ms, in order.
    pub fn reversals_ms(&self) -> Vec<f64> {
        self.reversal_levels_log2.iter().map(|l| l.exp2()).collect()
    }

    /// Threshold estimate, ms: the geometric mean of the reversal exposures after the first
    /// `discard_reversals`. `None` until at least two such reversals happened.
    pub fn threshold_ms(&self) -> Option<f64> {
        let used = self
            .reversal_levels_log2
            .get(self.config.discard_reversals..)?;
        if used.len() < 2 {
            return None;
        }
        Some((used.iter().sum::<f64>() / used.len() as f64).exp2())
    }

    /// Whether the level sits at the shortest exposure (the observer is at least this fast).
    pub fn at_floor(&self) -> bool {
        self.level_log2 <= self.config.min_ms.log2() + 1e-9
    }

    /// The settings.
    pub fn config(&self) -> &StaircaseConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_correct_descends_to_the_floor_and_always_wrong_climbs_to_the_ceiling() {
        let mut staircase = Staircase::new(StaircaseConfig::default()).expect("valid");
        for _ in 0..40 {
            staircase.update(true);
        }
        assert!(staircase.at_floor());
        assert!((staircase.exposure_ms() - 40.0).abs() < 1e-6);
        for _ in 0..40 {
            staircase.update(false);
        }
        assert!((staircase.exposure_ms() - 500.0).abs() < 1e-6);
    }

    #[test]
    fn up_step_is_weighted_by_the_target() {
        let config = StaircaseConfig {
            start_ms: 200.0,
            initial_step_log2: 0.2,
            min_step_log2: 0.2,
            ..Default::default()
        };
        let mut staircase = Staircase::new(config).expect("valid");
        staircase.update(true); // 200 -> 200 / 2^0.2
        let after_down = staircase.exposure_ms();
        staircase.update(false); // up by 3 * 0.2
        let ratio = staircase.exposure_ms() / after_down;
        assert!((ratio.log2() - 0.6).abs() < 1e-9, "ratio {ratio}");
    }

    #[test]
    fn rejects_bad_settings() {
        let config = StaircaseConfig {
            target_accuracy: 1.0,
            ..Default::default()
        };
        assert!(Staircase::new(config).is_err());
        let config = StaircaseConfig {
            start_ms: 600.0,
            ..Default::default()
        };
        assert!(Staircase::new(config).is_err());
    }
}
