//! Whitened region motion: each pulse direction measured against the person's own co-motion.
//!
//! A face that talks moves many regions together: the lower lip with the jaw, the mouth corners
//! with the lips, the nose wings a little with the upper lip. A channel that adds up a few
//! regions' motion (the corners pulled, the lips closing) sees all of that as noise, although
//! most of it is shared with regions the cue does not move. The whitener keeps a running,
//! outlier-resistant covariance `Σ` of every region's motion in face axes (11 regions × up and
//! sideways: all but the upper-lid margins, see [`WHITENED_REGIONS`]), and projects each frame through `w = Σ⁻¹ t / √(tᵀ Σ⁻¹ t)` for the cue's direction
//! `t` (the same regions and directions as the pulse channel). That is the matched filter for a
//! movement along `t` in Gaussian noise of covariance `Σ`: the co-motion a cue does not share is
//! subtracted, and the result is in units of its own noise.
//!
//! - The covariance starts from a diagonal prior worth a few seconds of motion and becomes an
//!   exponentially weighted average over `whiten_window_s` (a plain mean with the prior until
//!   that much has been seen), so it follows the person and the setting.
//! - A frame whose motion is far off the covariance in any direction is added shrunk to a
//!   3-sigma deviation: the movements the spotter looks for do not teach the noise model.
//! - The covariance is shrunk by `whiten_shrink` towards its diagonal before it is inverted
//!   (a few seconds of motion do not pin down 253 covariances); at 1 the projection is the
//!   channel's own sum, each region weighted by its noise.
//! - A frame is scored with the statistics of the frames before it.
//!
//! Everything is fixed-size (`nalgebra` static matrices): nothing is allocated per frame. One
//! update costs a 22 × 22 rank-one update, a Cholesky factorisation and one solve per watched
//! whitened channel (a few microseconds); channels no pulse detector watches stay unset.

use nalgebra::{SMatrix, SVector};

use crate::channels::{CHANNELS, CORNER_TWINS, ChannelSource, ChannelValues};
use crate::face_axes::{FaceDirection, face_axes, outward_sign};
use crate::signals::{FaceSignals, Region};

/// The regions whose motion enters the covariance: all but the upper-lid margins. A blink
/// moves the lid margins by tens of their usual spreads; with them in `Σ`, the projections
/// that subtract the lids' share of natural co-motion turned each blink into a pulse of the
/// brows, the nose or the corners (figures: docs/evaluation.md). No whitened channel moves a
/// lid.
const WHITENED_REGIONS: [Region; Region::COUNT - 2] = {
    let mut out = [Region::BrowLeft; Region::COUNT - 2];
    let mut i = 0;
    let mut j = 0;
    while i < Region::COUNT {
        if !matches!(Region::ALL[i], Region::UpperLidLeft | Region::UpperLidRight) {
            out[j] = Region::ALL[i];
            j += 1;
        }
        i += 1;
    }
    out
};

/// Dimensions of the motion vector: each whitened region's motion up and sideways, in face
/// axes.
const DIM: usize = WHITENED_REGIONS.len() * 2;

/// Position of a region in [`WHITENED_REGIONS`].
const fn slot(region: Region) -> Option<usize> {
    let mut i = 0;
    while i < WHITENED_REGIONS.len() {
        if WHITENED_REGIONS[i] as usize == region as usize {
            return Some(i);
        }
        i += 1;
    }
    None
}

type Vector = SVector<f64, DIM>;
type Matrix = SMatrix<f64, DIM, DIM>;

/// Number of whitened channels.
const WHITENED_COUNT: usize = {
    let mut count = 0;
    let mut i = 0;
    while i < CHANNELS.len() {
        if matches!(CHANNELS[i].source, ChannelSource::Whitened(_)) {
            count += 1;
        }
        i += 1;
    }
    count
};

/// Noise assumed before any motion is seen (inter-ocular distances over the lag).
const PRIOR_SPREAD: f64 = 0.004;
/// Seconds of motion the diagonal prior is worth (its weight is `PRIOR_S / (PRIOR_S + seen)`).
const PRIOR_S: f64 = 5.0;
/// A frame's deviation is shrunk to at most this many standard deviations before it is learnt.
const CLIP_SIGMAS: f64 = 3.0;

/// Per-track running covariance of region motion and the whitened projections.
#[derive(Debug, Clone)]
pub(crate) struct MotionWhitener {
    mean: Vector,
    covariance: Matrix,
    observed_s: f64,
    /// Channel index and direction of each watched whitened channel (the first `watched`).
    templates: [(usize, Vector); WHITENED_COUNT],
    /// How many whitened channels are watched.
    watched: usize,
    /// Current projection of each watched channel (unit noise under the covariance).
    projections: [Vector; WHITENED_COUNT],
}

impl MotionWhitener {
    /// A whitener for the twins of the pulse channels named in `watched` (`pulse.whitened`,
    /// already validated) and for the mouth corners' three twins, which the reader compares to
    /// tell a one-sided pull from a smile; the other whitened channels are never computed.
    pub fn new(watched: &[String]) -> Self {
        let mut templates = [(0, Vector::zeros()); WHITENED_COUNT];
        let mut count = 0;
        let twins = CHANNELS
            .iter()
            .filter(|spec| watched.iter().any(|name| name == spec.name))
            .filter_map(|spec| spec.channel.whitened())
            .chain(CORNER_TWINS);
        for twin in twins {
            if let ChannelSource::Whitened(parts) = CHANNELS[twin.index()].source
                && count < WHITENED_COUNT
                && templates[..count]
                    .iter()
                    .all(|(index, _)| *index != twin.index())
            {
                templates[count] = (twin.index(), template(parts));
                count += 1;
            }
        }
        let mut whitener = MotionWhitener {
            mean: Vector::zeros(),
            covariance: Matrix::zeros(),
            observed_s: 0.0,
            templates,
            watched: count,
            projections: [Vector::zeros(); WHITENED_COUNT],
        };
        whitener.reset();
        whitener
    }

    /// Forgets the person's motion (a new person, or a long gap).
    pub fn reset(&mut self) {
        self.mean = Vector::zeros();
        self.covariance = Matrix::from_diagonal_element(PRIOR_SPREAD * PRIOR_SPREAD);
        self.observed_s = 0.0;
        // The prior is diagonal: any shrinking gives the same projections.
        self.update_projections(0.0);
    }

    /// Fills the whitened channels of `out` for this frame (`NaN` without region motion) and
    /// learns from it. `dt_s` is the time since the previous frame (`None` after a gap: the
    /// frame is scored but not learnt).
    pub fn fill(
        &mut self,
        signals: &FaceSignals,
        dt_s: Option<f64>,
        window_s: f64,
        shrink: f32,
        out: &mut ChannelValues,
    ) {
        let Some(motion) = &signals.region_motion else {
            return;
        };
        let roll_deg = signals.head_pose.roll_deg;
        let mut x = Vector::zeros();
        for (i, &region) in WHITENED_REGIONS.iter().enumerate() {
            let [up, toward_left] = face_axes(motion.values[region as usize], roll_deg);
            let sideways = outward_sign(region).map_or(toward_left, |sign| sign * toward_left);
            x[2 * i] = f64::from(up);
            x[2 * i + 1] = f64::from(sideways);
        }
        if !x.iter().all(|v| v.is_finite()) {
            return;
        }
        let mut deviation = x - self.mean;
        for ((index, _), projection) in self.templates[..self.watched]
            .iter()
            .zip(self.projections.iter())
        {
            out[*index] = projection.dot(&deviation) as f32;
        }
        let Some(dt_s) = dt_s.filter(|dt| *dt > 0.0) else {
            return;
        };
        // A plain mean over the prior (worth `PRIOR_S` of motion) and what has been seen, until
        // that spans `window_s`; then an exponential window.
        let seen_s = PRIOR_S + self.observed_s;
        let rate = if seen_s < window_s {
            dt_s / (seen_s + dt_s)
        } else {
            1.0 - (-dt_s / window_s).exp()
        };
        let largest = deviation
            .iter()
            .zip(self.covariance.diagonal().iter())
            .map(|(d, var)| d.abs() / var.sqrt().max(1e-9))
            .fold(0.0, f64::max);
        if largest > CLIP_SIGMAS {
            deviation *= CLIP_SIGMAS / largest;
        }
        self.mean += rate * deviation;
        self.covariance *= 1.0 - rate;
        self.covariance.ger(rate, &deviation, &deviation, 1.0);
        self.observed_s += dt_s;
        self.update_projections(f64::from(shrink));
    }

    /// Projections under the covariance shrunk by `shrink` towards its diagonal.
    fn update_projections(&mut self, shrink: f64) {
        let mut shrunk = self.covariance * (1.0 - shrink);
        for i in 0..DIM {
            shrunk[(i, i)] = self.covariance[(i, i)].max(1e-12);
        }
        let Some(cholesky) = shrunk.cholesky() else {
            // Not positive definite (cannot happen with a positive diagonal and shrink > 0,
            // but rounding): keep the previous projections.
            return;
        };
        for ((_, template), projection) in self.templates[..self.watched]
            .iter()
            .zip(self.projections.iter_mut())
        {
            let solved = cholesky.solve(template);
            let norm = template.dot(&solved);
            if norm > 0.0 && norm.is_finite() {
                *projection = solved / norm.sqrt();
            }
        }
    }
}

/// The motion vector of a cue direction (the mean of its parts, like the pulse channel).
fn template(parts: &[(Region, FaceDirection)]) -> Vector {
    let mut t = Vector::zeros();
    let weight = 1.0 / parts.len().max(1) as f64;
    for &(region, direction) in parts {
        let (axis, sign) = match direction {
            FaceDirection::Up => (0, 1.0),
            FaceDirection::Down => (0, -1.0),
            FaceDirection::Outward => (1, 1.0),
        };
        // Every whitened channel's regions are whitened (test below).
        if let Some(i) = slot(region) {
            t[2 * i + axis] += sign * weight;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::{CHANNEL_COUNT, Channel};
    use crate::pulse::PulseConfig;
    use crate::signals::{RegionMotion, TrackId};

    /// Uniform noise in [-0.5, 0.5) from a fixed seed (a linear congruential generator).
    fn uniform_noise(seed: u64) -> impl FnMut() -> f32 {
        let mut state = seed;
        move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) as f32
        }
    }

    fn frame(values: [[f32; 2]; Region::COUNT]) -> FaceSignals {
        let mut signals = FaceSignals::neutral(TrackId(0), 0.0);
        signals.region_motion = Some(RegionMotion {
            values,
            ..RegionMotion::default()
        });
        signals
    }

    #[test]
    fn shared_motion_is_removed_and_a_cue_of_its_own_stands_out() {
        // Speech-like noise: the jaw moves the lower lip, and the upper lip a third as much (and
        // each a little on its own); a lips-closing channel that only sums them sees the
        // shared motion, the whitened one does not.
        let mut whitener = MotionWhitener::new(&PulseConfig::default().whitened);
        let mut out = [f32::NAN; CHANNEL_COUNT];
        let mut noise = uniform_noise(12345);
        let close = Channel::WhiteLipsClose.index();
        let mut natural = Vec::new();
        for i in 0..3000 {
            let jaw = 0.02 * noise();
            let mut values = [[0.0f32; 2]; Region::COUNT];
            for (k, v) in values.iter_mut().enumerate() {
                *v = [0.001 * noise(), 0.001 * noise()];
                if k == Region::UpperLip as usize {
                    v[1] += 0.3 * jaw;
                } else if k == Region::LowerLip as usize {
                    v[1] += jaw;
                }
            }
            whitener.fill(&frame(values), Some(1.0 / 30.0), 30.0, 0.05, &mut out);
            if i > 1500 {
                natural.push(out[close].abs());
            }
        }
        natural.sort_by(f32::total_cmp);
        let p99 = natural[natural.len() * 99 / 100];
        // The jaw gives the summed channel a spread of ~0.002 IOD; a press of 0.01 IOD (upper
        // lip down, lower lip up) stands far out of the whitened one.
        let mut values = [[0.0f32; 2]; Region::COUNT];
        values[Region::UpperLip as usize][1] = 0.01;
        values[Region::LowerLip as usize][1] = -0.01;
        whitener.fill(&frame(values), None, 30.0, 0.05, &mut out);
        assert!(
            out[close] > 3.0 * p99,
            "press {} vs natural p99 {p99}",
            out[close]
        );
        // The same summed motion made by the jaw (it moves the lips 0.3 : 1) is not a press.
        let mut values = [[0.0f32; 2]; Region::COUNT];
        values[Region::UpperLip as usize][1] = -0.3 * 0.0286;
        values[Region::LowerLip as usize][1] = -0.0286;
        whitener.fill(&frame(values), None, 30.0, 0.05, &mut out);
        assert!(
            out[close].abs() < 2.0 * p99,
            "jaw {} vs p99 {p99}",
            out[close]
        );
    }

    #[test]
    fn a_new_whitener_scores_against_its_prior() {
        // A still face for three frames, then the nose wings lift by 0.01 IOD: the early
        // covariance is the prior's (0.004 IOD per axis), not the near-zero motion seen so far.
        let mut whitener = MotionWhitener::new(&PulseConfig::default().whitened);
        let mut out = [f32::NAN; CHANNEL_COUNT];
        let still = [[0.0f32; 2]; Region::COUNT];
        for _ in 0..3 {
            whitener.fill(&frame(still), Some(0.04), 60.0, 0.5, &mut out);
        }
        let mut lift = still;
        lift[Region::NoseLeft as usize][1] = -0.01;
        lift[Region::NoseRight as usize][1] = -0.01;
        whitener.fill(&frame(lift), Some(0.04), 60.0, 0.5, &mut out);
        let nose = out[Channel::WhiteNoseUp.index()];
        // Direction t = (1/2, 1/2) on the two wings, 0.004 per axis: (t · x) / (0.004 |t|) ~ 3.5.
        assert!((2.5..5.0).contains(&nose), "{nose}");
        // A twin no pulse channel watches by default is not computed.
        assert!(out[Channel::WhiteLipsDown.index()].is_nan());
        // The corners' twins are, for the reader, even when no pulse channel watches them.
        let mut whitener = MotionWhitener::new(&[]);
        let mut out = [f32::NAN; CHANNEL_COUNT];
        whitener.fill(&frame(lift), Some(0.04), 60.0, 0.5, &mut out);
        assert!(out[Channel::WhiteNoseUp.index()].is_nan());
        for twin in CORNER_TWINS {
            assert_eq!(out[twin.index()], 0.0, "{twin:?}");
        }
    }

    #[test]
    fn every_whitened_channel_moves_whitened_regions_only() {
        for spec in CHANNELS {
            if let ChannelSource::Whitened(parts) = spec.source {
                for (region, _) in parts {
                    assert!(slot(*region).is_some(), "{}: {region:?}", spec.name);
                }
            }
        }
    }

    #[test]
    fn a_blink_does_not_move_the_whitened_brows() {
        // The lids and the brows move together a little (the face's own co-motion), then the
        // lids close by 40 times their spread: the brows' twin must stay where the brows are.
        let mut whitener = MotionWhitener::new(&PulseConfig::default().whitened);
        let mut out = [f32::NAN; CHANNEL_COUNT];
        let mut noise = uniform_noise(99);
        for _ in 0..2000 {
            let shared = 0.004 * noise();
            let mut values = [[0.0f32; 2]; Region::COUNT];
            for v in values.iter_mut() {
                *v = [0.002 * noise(), 0.002 * noise()];
            }
            for region in [Region::UpperLidLeft, Region::UpperLidRight] {
                values[region as usize][1] += shared;
            }
            for region in [Region::BrowLeft, Region::BrowRight, Region::BrowInner] {
                values[region as usize][1] += 0.5 * shared;
            }
            whitener.fill(&frame(values), Some(1.0 / 30.0), 30.0, 0.2, &mut out);
        }
        let mut blink = [[0.0f32; 2]; Region::COUNT];
        // Image y points down: the closing lids move down by 0.08 IOD.
        blink[Region::UpperLidLeft as usize][1] = 0.08;
        blink[Region::UpperLidRight as usize][1] = 0.08;
        whitener.fill(&frame(blink), None, 30.0, 0.2, &mut out);
        let brows = out[Channel::WhiteBrowsUp.index()];
        assert!(brows.abs() < 0.5, "whitened brows at a blink: {brows}");
    }

    #[test]
    fn without_region_motion_the_channels_stay_unset() {
        let mut whitener = MotionWhitener::new(&PulseConfig::default().whitened);
        let mut out = [f32::NAN; CHANNEL_COUNT];
        whitener.fill(
            &FaceSignals::neutral(TrackId(0), 0.0),
            Some(0.04),
            30.0,
            0.05,
            &mut out,
        );
        assert!(out[Channel::WhiteNoseUp.index()].is_nan());
    }
}
