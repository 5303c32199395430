//! MEGC-style scoring of spotted events against ground truth.
//!
//! The protocol of the Micro-Expression Grand Challenge spotting task: a detection matches a
//! truth interval when their temporal intersection over union is at least 0.5; matching is
//! one-to-one (here greedy by IoU, highest first); recall, precision and F1 are computed over
//! the whole set. Two additions for injected ground truth:
//!
//! - **clean-run exclusion**: when the same clip was also analysed *without* injection, an
//!   unmatched detection that overlaps (IoU ≥ 0.5) a clean-run detection is a natural movement
//!   of the person, not a false positive; it is counted in `excluded_natural` instead.
//! - **labels**: on matched pairs, the cue label accuracy, and the side accuracy on truths that
//!   are one-sided.
//!
//! Results are broken down per cue, per duration bucket (under 40, 40–100, 100–200, 200–500,
//! over 500 ms) and, for truths that record their size (injected movements), per amplitude band
//! (recall only: a false positive has no planted size). Tracks are ignored: the truth describes
//! one face. Everything is pure; reading files is the caller's job ([`TruthEvent`] deserialises
//! from a CSV row with the columns `cue,side,onset_s,apex_s,offset_s` and, optionally,
//! `amplitude_iod`; extra columns are ignored).

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::cue::{CueId, Side};
use crate::event::{Event, temporal_iou};

/// One ground-truth movement.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct TruthEvent {
    /// The injected or annotated cue.
    pub cue: CueId,
    /// Side from the subject's view.
    pub side: Side,
    /// Start, seconds.
    pub onset_s: f64,
    /// Moment of largest change, seconds.
    pub apex_s: f64,
    /// End, seconds.
    pub offset_s: f64,
    /// Size of the movement in inter-ocular distances, when known (injected truth).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub amplitude_iod: Option<f64>,
}

impl TruthEvent {
    /// Duration in milliseconds.
    pub fn duration_ms(&self) -> f64 {
        (self.offset_s - self.onset_s) * 1000.0
    }

    /// Checks that the times are finite and ordered; returns a description of the problem.
    pub fn validate(&self) -> Result<(), String> {
        let times = [self.onset_s, self.apex_s, self.offset_s];
        if times.iter().any(|t| !t.is_finite()) {
            return Err(format!("times must be finite numbers, got {times:?}"));
        }
        if !(self.onset_s <= self.apex_s
            && self.apex_s <= self.offset_s
            && self.onset_s < self.offset_s)
        {
            return Err(format!(
                "need onset_s <= apex_s <= offset_s and onset_s < offset_s, got {} / {} / {}",
                self.onset_s, self.apex_s, self.offset_s
            ));
        }
        Ok(())
    }
}

/// Settings of [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(default))]
pub struct EvalConfig {
    /// Smallest temporal IoU for a match (MEGC: 0.5).
    pub min_iou: f64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig { min_iou: 0.5 }
    }
}

/// Duration buckets of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum DurationBucket {
    /// Shorter than 40 ms.
    Under40,
    /// 40 to 100 ms.
    From40To100,
    /// 100 to 200 ms.
    From100To200,
    /// 200 to 500 ms (the micro limit).
    From200To500,
    /// Longer than 500 ms (macro).
    Over500,
}

impl DurationBucket {
    /// All buckets, shortest first.
    pub const ALL: [DurationBucket; 5] = [
        DurationBucket::Under40,
        DurationBucket::From40To100,
        DurationBucket::From100To200,
        DurationBucket::From200To500,
        DurationBucket::Over500,
    ];

    /// The bucket of a duration (lower bounds inclusive, 500 ms itself is micro).
    ///
    /// Bounds have a 1 µs tolerance: a duration computed from seconds (`offset_s - onset_s`)
    /// of exactly 40 ms may come out as 39.999999 ms.
    pub fn of_duration_ms(duration_ms: f64) -> DurationBucket {
        const TOLERANCE_MS: f64 = 1e-3;
        let duration_ms = duration_ms + TOLERANCE_MS;
        if duration_ms < 40.0 {
            DurationBucket::Under40
        } else if duration_ms < 100.0 {
            DurationBucket::From40To100
        } else if duration_ms < 200.0 {
            DurationBucket::From100To200
        } else if duration_ms <= 500.0 + 2.0 * TOLERANCE_MS {
            DurationBucket::From200To500
        } else {
            DurationBucket::Over500
        }
    }

    /// A label for tables, e.g. `100-200 ms`.
    pub fn label(self) -> &'static str {
        match self {
            DurationBucket::Under40 => "<40 ms",
            DurationBucket::From40To100 => "40-100 ms",
            DurationBucket::From100To200 => "100-200 ms",
            DurationBucket::From200To500 => "200-500 ms",
            DurationBucket::Over500 => ">500 ms",
        }
    }
}

/// Spotting counts and rates.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Counts {
    /// Truth intervals.
    pub truths: usize,
    /// Matched pairs (true positives).
    pub matched: usize,
    /// Unmatched detections that are not natural movements.
    pub false_positives: usize,
    /// Unmatched truths.
    pub missed: usize,
    /// matched / truths (0 without truths).
    pub recall: f64,
    /// matched / (matched + false positives) (0 without detections).
    pub precision: f64,
    /// Harmonic mean of recall and precision (0 when both are 0).
    pub f1: f64,
}

impl Counts {
    fn new(truths: usize, matched: usize, false_positives: usize) -> Counts {
        let recall = rate(matched, truths);
        let precision = rate(matched, matched + false_positives);
        let f1 = if recall + precision > 0.0 {
            2.0 * recall * precision / (recall + precision)
        } else {
            0.0
        };
        Counts {
            truths,
            matched,
            false_positives,
            missed: truths - matched,
            recall,
            precision,
            f1,
        }
    }
}

/// Scores of one cue (truths of that cue; false positives labelled with it).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct CueScore {
    pub cue: CueId,
    /// Truths of this cue.
    pub truths: usize,
    /// ... of which matched.
    pub matched: usize,
    pub recall: f64,
    /// Matched truths of this cue whose detection has the same cue.
    pub labels_correct: usize,
    /// labels_correct / matched.
    pub label_accuracy: f64,
    /// False-positive detections labelled with this cue.
    pub false_positives: usize,
}

/// Scores of one duration bucket: truths by their duration, false positives by theirs.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct BucketScore {
    pub bucket: DurationBucket,
    pub counts: Counts,
}

/// Lower bounds of the amplitude bands of the report, inter-ocular distances.
pub const AMPLITUDE_BANDS_IOD: [f64; 3] = [0.0, 0.025, 0.035];

/// Recall on the truths of one amplitude band (`min_iod <= amplitude < max_iod`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct AmplitudeScore {
    pub min_iod: f64,
    /// `None`: no upper bound.
    pub max_iod: Option<f64>,
    pub truths: usize,
    pub matched: usize,
    pub recall: f64,
}

/// One matched pair.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Match {
    /// Index into the truth slice.
    pub truth: usize,
    /// Index into the detection slice.
    pub detection: usize,
    pub iou: f64,
    pub label_correct: bool,
    /// Whether the side agrees, for one-sided truths.
    pub side_correct: Option<bool>,
}

/// How often a truth cue was labelled as a detected cue, on matched pairs.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ConfusionCell {
    pub truth: CueId,
    pub detected: CueId,
    pub count: usize,
}

/// Everything [`evaluate`] measured.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct EvalReport {
    /// IoU threshold used.
    pub min_iou: f64,
    /// Detections scored.
    pub detections: usize,
    /// Overall spotting scores.
    pub overall: Counts,
    /// Unmatched detections that also appear in the clean run (not counted as false positives).
    pub excluded_natural: usize,
    /// Matched pairs with the right cue.
    pub labels_correct: usize,
    /// labels_correct / matched.
    pub label_accuracy: f64,
    /// Matched one-sided truths.
    pub sides_checked: usize,
    /// ... whose detection has the same side.
    pub sides_correct: usize,
    /// sides_correct / sides_checked (`None` without one-sided truths).
    pub side_accuracy: Option<f64>,
    /// Per cue, lexicon order, cues with truths or false positives only.
    pub per_cue: Vec<CueScore>,
    /// Per duration bucket, shortest first, non-empty buckets only.
    pub per_bucket: Vec<BucketScore>,
    /// Per amplitude band, smallest first, bands with truths of known size only.
    #[cfg_attr(feature = "serde", serde(default))]
    pub per_amplitude: Vec<AmplitudeScore>,
    /// Label confusion on matched pairs, sorted by truth cue then detected cue.
    pub confusion: Vec<ConfusionCell>,
    /// The matched pairs, by truth index.
    pub matches: Vec<Match>,
}

fn rate(numerator: usize, denominator: usize) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// Scores `detections` against `truth` (MEGC protocol, see the module docs). `clean` holds the
/// detections of the same clip without injection, when available.
pub fn evaluate(
    truth: &[TruthEvent],
    detections: &[Event],
    clean: Option<&[Event]>,
    config: &EvalConfig,
) -> EvalReport {
    // Greedy one-to-one matching by IoU, highest first (ties: earlier truth, earlier detection).
    let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
    for (ti, t) in truth.iter().enumerate() {
        for (di, d) in detections.iter().enumerate() {
            let iou = temporal_iou(t.onset_s, t.offset_s, d.onset_s, d.offset_s);
            if iou >= config.min_iou && iou > 0.0 {
                candidates.push((iou, ti, di));
            }
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut truth_match: Vec<Option<(usize, f64)>> = vec![None; truth.len()];
    let mut detection_matched = vec![false; detections.len()];
    for (iou, ti, di) in candidates {
        if truth_match[ti].is_none() && !detection_matched[di] {
            truth_match[ti] = Some((di, iou));
            detection_matched[di] = true;
        }
    }

    // Unmatched detections: natural (seen in the clean run) or false positives.
    let clean = clean.unwrap_or(&[]);
    let mut false_positive = vec![false; detections.len()];
    let mut excluded_natural = 0;
    for (di, d) in detections.iter().enumerate() {
        if detection_matched[di] {
            continue;
        }
        let natural = clean
            .iter()
            .any(|c| d.temporal_iou(c.onset_s, c.offset_s) >= config.min_iou);
        if natural {
            excluded_natural += 1;
        } else {
            false_positive[di] = true;
        }
    }

    let mut matches = Vec::new();
    for (ti, m) in truth_match.iter().enumerate() {
        if let Some((di, iou)) = *m {
            let (t, d) = (&truth[ti], &detections[di]);
            let side_correct = (t.side != Side::Both).then_some(d.side == t.side);
            matches.push(Match {
                truth: ti,
                detection: di,
                iou,
                label_correct: d.cue == t.cue,
                side_correct,
            });
        }
    }
    let matched = matches.len();
    let false_positives = false_positive.iter().filter(|&&fp| fp).count();
    let labels_correct = matches.iter().filter(|m| m.label_correct).count();
    let sides_checked = matches.iter().filter(|m| m.side_correct.is_some()).count();
    let sides_correct = matches
        .iter()
        .filter(|m| m.side_correct == Some(true))
        .count();

    let per_cue = CueId::ALL
        .iter()
        .filter_map(|&cue| {
            let truths = truth.iter().filter(|t| t.cue == cue).count();
            let cue_matches: Vec<&Match> = matches
                .iter()
                .filter(|m| truth[m.truth].cue == cue)
                .collect();
            let fps = detections
                .iter()
                .zip(&false_positive)
                .filter(|(d, fp)| **fp && d.cue == cue)
                .count();
            if truths == 0 && fps == 0 {
                return None;
            }
            let correct = cue_matches.iter().filter(|m| m.label_correct).count();
            Some(CueScore {
                cue,
                truths,
                matched: cue_matches.len(),
                recall: rate(cue_matches.len(), truths),
                labels_correct: correct,
                label_accuracy: rate(correct, cue_matches.len()),
                false_positives: fps,
            })
        })
        .collect();

    let per_bucket = DurationBucket::ALL
        .iter()
        .filter_map(|&bucket| {
            let in_bucket =
                |duration_ms: f64| DurationBucket::of_duration_ms(duration_ms) == bucket;
            let truths = truth.iter().filter(|t| in_bucket(t.duration_ms())).count();
            let bucket_matched = matches
                .iter()
                .filter(|m| in_bucket(truth[m.truth].duration_ms()))
                .count();
            let fps = detections
                .iter()
                .zip(&false_positive)
                .filter(|(d, fp)| **fp && in_bucket(d.duration_ms))
                .count();
            (truths > 0 || fps > 0).then(|| BucketScore {
                bucket,
                counts: Counts::new(truths, bucket_matched, fps),
            })
        })
        .collect();

    let per_amplitude = AMPLITUDE_BANDS_IOD
        .iter()
        .enumerate()
        .filter_map(|(band, &min_iod)| {
            let max_iod = AMPLITUDE_BANDS_IOD.get(band + 1).copied();
            let in_band = |t: &TruthEvent| {
                t.amplitude_iod
                    .is_some_and(|a| a >= min_iod && max_iod.is_none_or(|max| a < max))
            };
            let truths = truth.iter().filter(|t| in_band(t)).count();
            let band_matched = matches.iter().filter(|m| in_band(&truth[m.truth])).count();
            (truths > 0).then(|| AmplitudeScore {
                min_iod,
                max_iod,
                truths,
                matched: band_matched,
                recall: rate(band_matched, truths),
            })
        })
        .collect();

    let mut confusion: Vec<ConfusionCell> = Vec::new();
    for m in &matches {
        let (truth_cue, detected) = (truth[m.truth].cue, detections[m.detection].cue);
        match confusion
            .iter_mut()
            .find(|c| c.truth == truth_cue && c.detected == detected)
        {
            Some(cell) => cell.count += 1,
            None => confusion.push(ConfusionCell {
                truth: truth_cue,
                detected,
                count: 1,
            }),
        }
    }
    confusion.sort_by(|a, b| a.truth.cmp(&b.truth).then(a.detected.cmp(&b.detected)));

    EvalReport {
        min_iou: config.min_iou,
        detections: detections.len(),
        overall: Counts::new(truth.len(), matched, false_positives),
        excluded_natural,
        labels_correct,
        label_accuracy: rate(labels_correct, matched),
        sides_checked,
        sides_correct,
        side_accuracy: (sides_checked > 0).then(|| rate(sides_correct, sides_checked)),
        per_cue,
        per_bucket,
        per_amplitude,
        confusion,
        matches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cue::{Scale, Valence};
    use crate::signals::TrackId;

    fn truth(cue: CueId, side: Side, onset_s: f64, offset_s: f64) -> TruthEvent {
        TruthEvent {
            cue,
            side,
            onset_s,
            apex_s: 0.5 * (onset_s + offset_s),
            offset_s,
            amplitude_iod: None,
        }
    }

    fn detection(cue: CueId, side: Side, onset_s: f64, offset_s: f64) -> Event {
        Event {
            track: TrackId(0),
            onset_s,
            apex_s: 0.5 * (onset_s + offset_s),
            offset_s,
            duration_ms: (offset_s - onset_s) * 1000.0,
            scale: Scale::of_duration_ms((offset_s - onset_s) * 1000.0),
            cue,
            side,
            intensity: 0.3,
            confidence: 0.6,
            valence: Valence::Positive,
            evidence: Vec::new(),
        }
    }

    #[test]
    fn matching_is_one_to_one_and_needs_iou_one_half() {
        let truths = [
            truth(CueId::EyebrowFlash, Side::Both, 1.0, 1.2),
            truth(CueId::PoliteSmile, Side::Both, 3.0, 3.4),
        ];
        let detections = [
            detection(CueId::EyebrowFlash, Side::Both, 1.02, 1.2), // IoU 0.9
            detection(CueId::EyebrowFlash, Side::Both, 1.0, 1.18), // IoU 0.9 too, but truth 0 is taken
            detection(CueId::GenuineSmile, Side::Both, 3.2, 3.6),  // IoU 1/3: no match
        ];
        let report = evaluate(&truths, &detections, None, &EvalConfig::default());
        assert_eq!(report.overall.matched, 1);
        assert_eq!(report.overall.false_positives, 2);
        assert_eq!(report.overall.missed, 1);
        assert!((report.overall.recall - 0.5).abs() < 1e-12);
        assert!((report.overall.precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((report.overall.f1 - 0.4).abs() < 1e-12);
        assert_eq!(report.label_accuracy, 1.0);
    }

    #[test]
    fn greedy_prefers_the_best_overlap() {
        let truths = [truth(CueId::MicroFrown, Side::Both, 1.0, 1.4)];
        let detections = [
            detection(CueId::MicroFrown, Side::Both, 1.1, 1.4), // IoU 0.75
            detection(CueId::MicroFrown, Side::Both, 1.0, 1.38), // IoU 0.95
        ];
        let report = evaluate(&truths, &detections, None, &EvalConfig::default());
        assert_eq!(report.matches[0].detection, 1);
    }

    #[test]
    fn clean_run_detections_are_not_false_positives() {
        let truths = [truth(CueId::LipCompression, Side::Both, 5.0, 5.3)];
        let detections = [
            detection(CueId::LipCompression, Side::Both, 5.0, 5.3),
            detection(CueId::PoliteSmile, Side::Both, 8.0, 8.5),
            detection(CueId::NoseWrinkle, Side::Both, 12.0, 12.2),
        ];
        let clean = [detection(CueId::PoliteSmile, Side::Both, 8.05, 8.5)];
        let report = evaluate(&truths, &detections, Some(&clean), &EvalConfig::default());
        assert_eq!(report.excluded_natural, 1);
        assert_eq!(report.overall.false_positives, 1);
        assert!((report.overall.precision - 0.5).abs() < 1e-12);
        let nose = report
            .per_cue
            .iter()
            .find(|c| c.cue == CueId::NoseWrinkle)
            .unwrap();
        assert_eq!(nose.false_positives, 1);
    }

    #[test]
    fn labels_sides_buckets_and_confusion() {
        let truths = [
            truth(CueId::UnilateralLipCorner, Side::Left, 1.0, 1.08),
            truth(CueId::UnilateralLipCorner, Side::Right, 3.0, 3.15),
            truth(CueId::GenuineSmile, Side::Both, 5.0, 5.4),
            truth(CueId::GenuineSmile, Side::Both, 7.0, 7.8),
        ];
        let detections = [
            detection(CueId::UnilateralLipCorner, Side::Left, 1.0, 1.08),
            detection(CueId::UnilateralLipCorner, Side::Left, 3.0, 3.15),
            detection(CueId::PoliteSmile, Side::Both, 5.0, 5.4),
        ];
        let report = evaluate(&truths, &detections, None, &EvalConfig::default());
        assert_eq!(report.overall.matched, 3);
        assert_eq!(report.labels_correct, 2);
        assert_eq!((report.sides_checked, report.sides_correct), (2, 1));
        assert_eq!(report.side_accuracy, Some(0.5));
        let buckets: Vec<_> = report
            .per_bucket
            .iter()
            .map(|b| (b.bucket, b.counts.truths, b.counts.matched))
            .collect();
        assert_eq!(
            buckets,
            [
                (DurationBucket::From40To100, 1, 1),
                (DurationBucket::From100To200, 1, 1),
                (DurationBucket::From200To500, 1, 1),
                (DurationBucket::Over500, 1, 0),
            ]
        );
        assert!(report.confusion.contains(&ConfusionCell {
            truth: CueId::GenuineSmile,
            detected: CueId::PoliteSmile,
            count: 1
        }));
        let genuine = report
            .per_cue
            .iter()
            .find(|c| c.cue == CueId::GenuineSmile)
            .unwrap();
        assert_eq!(
            (genuine.truths, genuine.matched, genuine.labels_correct),
            (2, 1, 0)
        );
        // No sizes recorded: no amplitude bands.
        assert!(report.per_amplitude.is_empty());
    }

    #[test]
    fn recall_per_amplitude_band() {
        let sized = |onset_s: f64, amplitude_iod: f64| TruthEvent {
            amplitude_iod: Some(amplitude_iod),
            ..truth(CueId::EyebrowFlash, Side::Both, onset_s, onset_s + 0.2)
        };
        let truths = [
            sized(1.0, 0.015),
            sized(3.0, 0.024),
            sized(5.0, 0.025),
            sized(7.0, 0.05),
            truth(CueId::EyebrowFlash, Side::Both, 9.0, 9.2),
        ];
        let detections = [
            detection(CueId::EyebrowFlash, Side::Both, 1.0, 1.2),
            detection(CueId::EyebrowFlash, Side::Both, 7.0, 7.2),
            detection(CueId::EyebrowFlash, Side::Both, 9.0, 9.2),
        ];
        let report = evaluate(&truths, &detections, None, &EvalConfig::default());
        let bands: Vec<_> = report
            .per_amplitude
            .iter()
            .map(|b| (b.min_iod, b.max_iod, b.truths, b.matched))
            .collect();
        assert_eq!(
            bands,
            [
                (0.0, Some(0.025), 2, 1),
                (0.025, Some(0.035), 1, 0),
                (0.035, None, 1, 1),
            ]
        );
    }

    #[test]
    fn empty_inputs_give_zero_rates() {
        let report = evaluate(&[], &[], None, &EvalConfig::default());
        assert_eq!(report.overall, Counts::default());
        assert_eq!(report.side_accuracy, None);
    }

    #[test]
    fn buckets_have_inclusive_lower_bounds() {
        assert_eq!(
            DurationBucket::of_duration_ms(39.9),
            DurationBucket::Under40
        );
        assert_eq!(
            DurationBucket::of_duration_ms(40.0),
            DurationBucket::From40To100
        );
        assert_eq!(
            DurationBucket::of_duration_ms(500.0),
            DurationBucket::From200To500
        );
        assert_eq!(
            DurationBucket::of_duration_ms(500.5),
            DurationBucket::Over500
        );
        // One frame at 25 fps, computed from seconds.
        let one_frame_ms = (13.86 - 13.82) * 1000.0;
        assert!(one_frame_ms < 40.0);
        assert_eq!(
            DurationBucket::of_duration_ms(one_frame_ms),
            DurationBucket::From40To100
        );
    }
}
