//! Confusion matrix of recognition answers: what was shown (rows) against what was answered
//! (columns), with "nothing" as a label of its own (catch trials, "saw nothing" answers).

use microcue_core::CueId;
use serde::Serialize;

use crate::records::TrialRecord;

/// Label of the "nothing shown / nothing seen" row and column.
pub const NOTHING: &str = "nothing";

/// Counts of (shown, answered) pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfusionMatrix {
    /// Row and column labels: `nothing` first, then the cues.
    pub labels: Vec<String>,
    /// `counts[shown][answered]`.
    pub counts: Vec<Vec<u32>>,
    #[serde(skip)]
    cues: Vec<CueId>,
}

/// Accuracy of one shown cue.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CueAccuracy {
    /// The cue shown (`None` = catch trials).
    pub cue: Option<CueId>,
    /// Trials where it was shown.
    pub shown: u32,
    /// Trials answered with it.
    pub correct: u32,
}

impl ConfusionMatrix {
    /// An empty matrix over `cues` (plus "nothing").
    pub fn new(cues: &[CueId]) -> ConfusionMatrix {
        let mut labels = vec![NOTHING.to_owned()];
        labels.extend(cues.iter().map(|c| c.as_str().to_owned()));
        let size = labels.len();
        ConfusionMatrix {
            labels,
            counts: vec![vec![0; size]; size],
            cues: cues.to_vec(),
        }
    }

    /// A matrix over trial records. Cues missing from `cues` are added in lexicon order.
    pub fn from_records<'a>(
        cues: &[CueId],
        records: impl IntoIterator<Item = &'a TrialRecord>,
    ) -> ConfusionMatrix {
        let records: Vec<&TrialRecord> = records.into_iter().collect();
        let mut all: Vec<CueId> = cues.to_vec();
        for record in &records {
            for cue in [record.target, record.response].into_iter().flatten() {
                if !all.contains(&cue) {
                    all.push(cue);
                }
            }
        }
        all.sort();
        let mut matrix = ConfusionMatrix::new(&all);
        for record in records {
            matrix.add(record.target, record.response);
        }
        matrix
    }

    fn index(&self, cue: Option<CueId>) -> Option<usize> {
        match cue {
            None => Some(0),
            Some(cue) => self.cues.iter().position(|c| *c == cue).map(|i| i + 1),
        }
    }

    /// Counts one answer. Cues outside the matrix are ignored (returns `false`).
    pub fn add(&mut self, shown: Option<CueId>, answered: Option<CueId>) -> bool {
        match (self.index(shown), self.index(answered)) {
            (Some(row), Some(column)) => {
                self.counts[row][column] += 1;
                true
            }
            _ => false,
        }
    }

    /// How often `shown` was answered as `answered`.
    pub fn count(&self, shown: Option<CueId>, answered: Option<CueId>) -> u32 {
        match (self.index(shown), self.index(answered)) {
            (Some(row), Some(column)) => self.counts[row][column],
            _ => 0,
        }
    }

    /// Per-row accuracy, rows with at least one trial only.
    pub fn per_cue(&self) -> Vec<CueAccuracy> {
        let mut rows = Vec::new();
        for (row, counts) in self.counts.iter().enumerate() {
            let shown: u32 = counts.iter().sum();
            if shown == 0 {
                continue;
            }
            let cue = if row == 0 {
                None
            } else {
                Some(self.cues[row - 1])
            };
            rows.push(CueAccuracy {
                cue,
                shown,
                correct: counts[row],
            });
        }
        rows
    }

    /// The most frequent mix-ups (shown, answered, count), largest first, off-diagonal only.
    pub fn top_confusions(&self, limit: usize) -> Vec<(String, String, u32)> {
        let mut pairs = Vec::new();
        for (row, counts) in self.counts.iter().enumerate() {
            for (column, &count) in counts.iter().enumerate() {
                if row != column && count > 0 {
                    pairs.push((self.labels[row].clone(), self.labels[column].clone(), count));
                }
            }
        }
        pairs.sort_by(|a, b| {
            b.2.cmp(&a.2)
                .then_with(|| a.0.cmp(&b.0))
                .then_with(|| a.1.cmp(&b.1))
        });
        pairs.truncate(limit);
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_per_cue_accuracy() {
        let mut matrix = ConfusionMatrix::new(&[CueId::GenuineSmile, CueId::PoliteSmile]);
        matrix.add(Some(CueId::GenuineSmile), Some(CueId::GenuineSmile));
        matrix.add(Some(CueId::GenuineSmile), Some(CueId::PoliteSmile));
        matrix.add(None, None);
        assert!(!matrix.add(Some(CueId::MicroAnger), None));
        assert_eq!(
            matrix.count(Some(CueId::GenuineSmile), Some(CueId::PoliteSmile)),
            1
        );
        let rows = matrix.per_cue();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1],
            CueAccuracy {
                cue: Some(CueId::GenuineSmile),
                shown: 2,
                correct: 1
            }
        );
        assert_eq!(
            matrix.top_confusions(3),
            vec![("genuine_smile".into(), "polite_smile".into(), 1)]
        );
    }
}
