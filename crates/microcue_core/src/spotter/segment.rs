//! Hysteresis segments of the expression and gaze detectors, over a ring of recent scores.

use crate::channels::{CHANNEL_COUNT, ChannelValues};
use crate::numeric::{crossing_time, raise_maxima};

/// Index of the expression score in [`ScoreHistory`].
pub(super) const EXPRESSION: usize = 0;
/// Index of the gaze score in [`ScoreHistory`].
pub(super) const GAZE: usize = 1;

/// Ring of recent frames: time and the detector scores.
#[derive(Debug, Clone)]
pub(super) struct ScoreHistory {
    times: Vec<f64>,
    scores: Vec<[f32; 2]>,
    /// Frame number of the next push.
    pub(super) next_frame: u64,
    /// Number of valid entries (≤ capacity).
    len: usize,
}

impl ScoreHistory {
    pub(super) fn new(capacity: usize) -> Self {
        ScoreHistory {
            times: vec![0.0; capacity],
            scores: vec![[0.0; 2]; capacity],
            next_frame: 0,
            len: 0,
        }
    }

    pub(super) fn capacity(&self) -> usize {
        self.times.len()
    }

    pub(super) fn push(&mut self, pts_s: f64, scores: [f32; 2]) -> u64 {
        let frame = self.next_frame;
        let slot = (frame % self.capacity() as u64) as usize;
        self.times[slot] = pts_s;
        self.scores[slot] = scores;
        self.next_frame += 1;
        self.len = (self.len + 1).min(self.capacity());
        frame
    }

    pub(super) fn oldest_frame(&self) -> u64 {
        self.next_frame - self.len as u64
    }

    pub(super) fn get(&self, frame: u64, score: usize) -> Option<(f64, f32)> {
        if frame >= self.next_frame || frame < self.oldest_frame() {
            return None;
        }
        let slot = (frame % self.capacity() as u64) as usize;
        Some((self.times[slot], self.scores[slot][score]))
    }

    /// Forgets all entries (frame numbers keep increasing).
    pub(super) fn clear(&mut self) {
        self.len = 0;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Idle,
    /// Above `z_low`, not yet above `z_high`.
    Candidate,
    /// Above `z_high` at least once: will become an event if it closes properly.
    Active,
    /// Gaze only: away for too long (a change of attention); waits for the score to fall below
    /// `z_low`.
    Suppressed,
}

/// One hysteresis segment (expression or gaze).
#[derive(Debug, Clone)]
pub(super) struct Segment {
    pub(super) phase: Phase,
    pub(super) start_frame: u64,
    pub(super) start_s: f64,
    pub(super) peak_z: f32,
    pub(super) peak_frame: u64,
    pub(super) peak_s: f64,
    pub(super) apex_deltas: ChannelValues,
    pub(super) segment_max: ChannelValues,
    /// Score at which the candidate becomes active.
    pub(super) activation_z: f32,
    /// The segment began in the unsettled tail of a previous movement.
    pub(super) tail: bool,
    /// When the segment became active.
    pub(super) active_since_s: f64,
}

impl Segment {
    pub(super) fn new() -> Self {
        Segment {
            phase: Phase::Idle,
            start_frame: 0,
            start_s: 0.0,
            peak_z: 0.0,
            peak_frame: 0,
            peak_s: 0.0,
            apex_deltas: [0.0; CHANNEL_COUNT],
            segment_max: [f32::NEG_INFINITY; CHANNEL_COUNT],
            activation_z: f32::INFINITY,
            tail: false,
            active_since_s: f64::NEG_INFINITY,
        }
    }

    pub(super) fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Candidate | Phase::Active)
    }

    pub(super) fn open(&mut self, frame: u64, pts_s: f64, z: f32, deltas: &ChannelValues) {
        self.phase = Phase::Candidate;
        self.tail = false;
        self.start_frame = frame;
        self.start_s = pts_s;
        self.peak_z = z;
        self.peak_frame = frame;
        self.peak_s = pts_s;
        self.apex_deltas = *deltas;
        self.segment_max = *deltas;
    }

    pub(super) fn track_peak(&mut self, frame: u64, pts_s: f64, z: f32, deltas: &ChannelValues) {
        if z > self.peak_z {
            self.peak_z = z;
            self.peak_frame = frame;
            self.peak_s = pts_s;
            self.apex_deltas = *deltas;
        }
        raise_maxima(&mut self.segment_max, deltas);
    }

    /// Earliest onset this segment can still report (the frame before its start).
    pub(super) fn earliest_onset(&self, history: &ScoreHistory) -> Option<f64> {
        if !self.is_open() {
            return None;
        }
        let before = self
            .start_frame
            .checked_sub(1)
            .and_then(|f| history.get(f, 0))
            .map(|(t, _)| t);
        Some(before.unwrap_or(self.start_s))
    }
}

/// Onset and offset of the lobe around the segment's peak: where the score crosses `boundary`,
/// interpolated between frames. The search stays within the segment (and the frame before it).
pub(super) fn bounds(
    history: &ScoreHistory,
    score: usize,
    segment: &Segment,
    end_frame: u64,
    boundary: f32,
) -> (f64, f64) {
    let first_frame = segment
        .start_frame
        .saturating_sub(1)
        .max(history.oldest_frame());
    let Some((peak_s, peak_z)) = history.get(segment.peak_frame, score) else {
        return (segment.start_s, segment.peak_s);
    };

    let mut onset_s = peak_s;
    let (mut t_in, mut z_in) = (peak_s, peak_z);
    let mut frame = segment.peak_frame;
    while frame > first_frame {
        let Some((t, z)) = history.get(frame - 1, score) else {
            break;
        };
        if z < boundary {
            onset_s = crossing_time((t, z), (t_in, z_in), boundary).unwrap_or(t_in);
            break;
        }
        frame -= 1;
        (t_in, z_in) = (t, z);
        onset_s = t;
    }

    let mut offset_s = peak_s;
    let (mut t_in, mut z_in) = (peak_s, peak_z);
    let mut frame = segment.peak_frame;
    while frame < end_frame {
        let Some((t, z)) = history.get(frame + 1, score) else {
            break;
        };
        if z < boundary {
            offset_s = crossing_time((t, z), (t_in, z_in), boundary).unwrap_or(t_in);
            break;
        }
        frame += 1;
        (t_in, z_in) = (t, z);
        offset_s = t;
    }
    (onset_s, offset_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_history_forgets_the_oldest_frames() {
        let mut history = ScoreHistory::new(4);
        for i in 0..6 {
            history.push(f64::from(i), [i as f32, 0.0]);
        }
        assert_eq!(history.get(1, 0), None);
        assert_eq!(history.get(2, 0), Some((2.0, 2.0)));
        assert_eq!(history.get(5, 0), Some((5.0, 5.0)));
        assert_eq!(history.get(6, 0), None);
        history.clear();
        assert_eq!(history.get(5, 0), None);
    }
}
