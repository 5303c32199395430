//! Time courses of the AU style's movements: asymmetric rises and falls, holds and partial
//! returns (pairs of movements close together are two planned events, see `plan`).

/// The shape of one movement over its interval, drawn per event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Profile {
    /// Rise over `rise` of the interval (a fraction, 0.15–0.35), fall over the rest.
    FastRise { rise: f64 },
    /// Rise over `rise` of the interval (0.55–0.75), a quick fall.
    SlowRise { rise: f64 },
    /// Rise over `rise` (0.15–0.25), stay at full strength for `hold` (0.3–0.5), fall.
    Hold { rise: f64, hold: f64 },
    /// Rise over `rise`, then fall only to `residual` (0.3–0.5) by the offset, and from there
    /// back to rest over `tail_s` seconds (0.8–1.2 s: too slow to be a brief movement; it
    /// is not part of the truth interval).
    PartialReturn {
        rise: f64,
        residual: f64,
        tail_s: f64,
    },
}

/// Smooth step: 0 at 0, 1 at 1, flat at both ends (a cubic, unlike the warp style's cosine).
fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

impl Profile {
    /// Name in truth.csv.
    pub fn name(&self) -> &'static str {
        match self {
            Profile::FastRise { .. } => "fast_rise",
            Profile::SlowRise { .. } => "slow_rise",
            Profile::Hold { .. } => "hold",
            Profile::PartialReturn { .. } => "partial_return",
        }
    }

    /// Seconds after the offset during which the face is still moved.
    pub fn tail_s(&self) -> f64 {
        match self {
            Profile::PartialReturn { tail_s, .. } => *tail_s,
            _ => 0.0,
        }
    }

    /// Strength (0..1) at time `t_s` of a movement from `onset_s` to `offset_s`.
    pub fn weight(&self, onset_s: f64, offset_s: f64, t_s: f64) -> f64 {
        let length = offset_s - onset_s;
        if length.is_nan() || length <= 0.0 || t_s <= onset_s {
            return 0.0;
        }
        if t_s >= offset_s {
            return match self {
                Profile::PartialReturn {
                    residual, tail_s, ..
                } if t_s < offset_s + tail_s => {
                    residual * smoothstep(1.0 - (t_s - offset_s) / tail_s)
                }
                _ => 0.0,
            };
        }
        let u = (t_s - onset_s) / length;
        let (rise, hold, floor) = match *self {
            Profile::FastRise { rise } | Profile::SlowRise { rise } => (rise, 0.0, 0.0),
            Profile::Hold { rise, hold } => (rise, hold, 0.0),
            Profile::PartialReturn { rise, residual, .. } => (rise, 0.0, residual),
        };
        if u < rise {
            smoothstep(u / rise)
        } else if u < rise + hold {
            1.0
        } else {
            let fall = (1.0 - rise - hold).max(f64::EPSILON);
            floor + (1.0 - floor) * smoothstep((1.0 - u) / fall)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_peak_inside_and_vanish_outside_their_interval() {
        let profiles = [
            Profile::FastRise { rise: 0.2 },
            Profile::SlowRise { rise: 0.7 },
            Profile::Hold {
                rise: 0.2,
                hold: 0.4,
            },
            Profile::PartialReturn {
                rise: 0.3,
                residual: 0.4,
                tail_s: 1.0,
            },
        ];
        for profile in profiles {
            let w = |t| profile.weight(1.0, 1.5, t);
            assert_eq!(w(0.9), 0.0, "{profile:?}");
            assert_eq!(w(1.0), 0.0, "{profile:?}");
            let peak = (0..=100)
                .map(|i| w(1.0 + 0.005 * i as f64))
                .fold(0.0, f64::max);
            assert!((peak - 1.0).abs() < 1e-3, "{profile:?}: {peak}");
            assert!(w(1.001) > 0.0 && w(1.499) > 0.0, "moves the whole interval");
        }
        // Asymmetry: the fast rise is at full strength a fifth of the way in, the slow one not.
        assert!((profiles[0].weight(1.0, 1.5, 1.1) - 1.0).abs() < 1e-9);
        assert!(profiles[1].weight(1.0, 1.5, 1.1) < 0.3);
        // The hold stays at 1 from 20 % to 60 % of the interval.
        assert_eq!(profiles[2].weight(1.0, 1.5, 1.15), 1.0);
        assert_eq!(profiles[2].weight(1.0, 1.5, 1.29), 1.0);
        // The partial return ends at its residual, then goes back to rest over its tail.
        let partial = profiles[3];
        assert!((partial.weight(1.0, 1.5, 1.5) - 0.4).abs() < 1e-9);
        assert!((partial.weight(1.0, 1.5, 2.0) - 0.2).abs() < 1e-9);
        assert_eq!(partial.weight(1.0, 1.5, 2.5), 0.0);
        assert_eq!(profiles[0].weight(1.0, 1.5, 1.5), 0.0);
    }
}
