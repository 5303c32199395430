//! Small numeric helpers shared by the crates: one median, one threshold crossing, one running
//! maximum.

use std::cmp::Ordering;

/// Which value [`median`] takes for an even number of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvenMedian {
    /// The upper of the two middle values: always one of the samples (robust running
    /// statistics, frame intervals, timings).
    Upper,
    /// The mean of the two middle values: the textbook median (small samples of
    /// displacements, reaction times).
    Mean,
}

/// A floating-point sample type for [`median`].
pub trait Sample: Copy {
    /// IEEE 754 total order (`f32::total_cmp`, `f64::total_cmp`).
    fn total_order(&self, other: &Self) -> Ordering;
    /// `(a + b) / 2` in the type's own precision.
    fn mean_of(a: Self, b: Self) -> Self;
}

impl Sample for f32 {
    fn total_order(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }

    fn mean_of(a: Self, b: Self) -> Self {
        0.5 * (a + b)
    }
}

impl Sample for f64 {
    fn total_order(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }

    fn mean_of(a: Self, b: Self) -> Self {
        0.5 * (a + b)
    }
}

/// Median of `values` in the total order (reorders them; no allocation); `None` when empty. An
/// even count gives the upper middle value or the mean of the two, as `even` says. Values that
/// may be `NaN` should be filtered out first: the total order puts them at the ends.
pub fn median<T: Sample>(values: &mut [T], even: EvenMedian) -> Option<T> {
    let len = values.len();
    if len == 0 {
        return None;
    }
    let (lower, upper, _) = values.select_nth_unstable_by(len / 2, T::total_order);
    let upper = *upper;
    match even {
        EvenMedian::Mean if len.is_multiple_of(2) => {
            // The lower half holds the `len / 2` smallest values; its largest is the lower middle.
            let below = lower.iter().copied().max_by(T::total_order)?;
            Some(T::mean_of(below, upper))
        }
        _ => Some(upper),
    }
}

/// Time at which a score rising linearly from `from` to `to` (each `(time_s, score)`) reaches
/// `level`, interpolated and kept within the two times; `None` unless the score rises by a
/// finite amount (the caller picks the time to use then). Either sample may be the earlier one.
pub(crate) fn crossing_time(from: (f64, f32), to: (f64, f32), level: f32) -> Option<f64> {
    let rise = to.1 - from.1;
    if rise <= 0.0 || !rise.is_finite() {
        return None;
    }
    let fraction = f64::from(((level - from.1) / rise).clamp(0.0, 1.0));
    Some(from.0 + fraction * (to.0 - from.0))
}

/// Raises each running maximum to the matching value; a maximum that is `NaN` (a channel not
/// measured so far) takes the value.
pub(crate) fn raise_maxima(maxima: &mut [f32], values: &[f32]) {
    for (max, &value) in maxima.iter_mut().zip(values) {
        if value > *max || max.is_nan() {
            *max = value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts_in_both_definitions() {
        assert_eq!(
            median(&mut [3.0f32, 1.0, 2.0], EvenMedian::Upper),
            Some(2.0)
        );
        assert_eq!(median(&mut [3.0f32, 1.0, 2.0], EvenMedian::Mean), Some(2.0));
        assert_eq!(
            median(&mut [4.0f32, 1.0, 3.0, 2.0], EvenMedian::Upper),
            Some(3.0)
        );
        assert_eq!(
            median(&mut [4.0f64, 1.0, 3.0, 2.0], EvenMedian::Mean),
            Some(2.5)
        );
        assert_eq!(median::<f32>(&mut [], EvenMedian::Upper), None);
        assert_eq!(median(&mut [7.0f64], EvenMedian::Mean), Some(7.0));
    }

    #[test]
    fn the_mean_median_equals_the_sorted_definition() {
        // Many orders of many sizes, against sort-then-index.
        let mut state = 0x2545_f491_u32;
        for len in 1..40 {
            let mut values: Vec<f32> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    (state % 1000) as f32 / 7.0
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f32::total_cmp);
            let middle = len / 2;
            let expected = if len % 2 == 1 {
                sorted[middle]
            } else {
                0.5 * (sorted[middle - 1] + sorted[middle])
            };
            assert_eq!(median(&mut values, EvenMedian::Mean), Some(expected));
        }
    }

    #[test]
    fn crossing_interpolates_between_samples_in_either_time_order() {
        let rising = crossing_time((1.0, 0.0), (2.0, 4.0), 1.0).unwrap();
        assert!((rising - 1.25).abs() < 1e-12);
        // Falling edge: below at t=2, above at t=1.
        let falling = crossing_time((2.0, 0.0), (1.0, 4.0), 1.0).unwrap();
        assert!((falling - 1.75).abs() < 1e-12);
        assert_eq!(crossing_time((1.0, 5.0), (2.0, 5.0), 1.0), None);
        assert_eq!(crossing_time((1.0, 6.0), (2.0, 5.0), 1.0), None);
        assert_eq!(crossing_time((1.0, 0.0), (2.0, f32::INFINITY), 1.0), None);
    }

    #[test]
    fn running_maxima_rise_and_replace_nan() {
        let mut maxima = [1.0, f32::NAN, 3.0];
        raise_maxima(&mut maxima, &[2.0, -1.0, 2.0]);
        assert_eq!(maxima, [2.0, -1.0, 3.0]);
    }
}
