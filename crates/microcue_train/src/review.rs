//! Reviewed events: the user's verdict on what the spotter found in their own video.
//!
//! `microcue analyze` finds brief movements and labels them; each label is a hypothesis. In a
//! review the user watches each event (slowly) and says whether it happened as labelled
//! ([`ReviewVerdict::Confirmed`]), happened with another cue or side
//! ([`ReviewVerdict::Corrected`]), or was not a facial movement at all
//! ([`ReviewVerdict::Rejected`]). The journal keeps the verdicts — numbers and labels, never a
//! picture — and they serve three ways:
//!
//! - as **ground truth** of the user's own clips: [`write_truth_csv`] writes the confirmed and
//!   corrected events in the schema `microcue eval score` reads (`cue,side,onset_s,apex_s,
//!   offset_s,...`), so the spotter can be scored on the user's own footage;
//! - as **slow-motion quiz items** ([`ReviewedEvent::as_event`] feeds
//!   [`crate::slowmo::SlowMotionQuiz`]), whose "right" answer is now the user's checked label
//!   instead of the spotter's guess;
//! - as the **spotter's measured false positives** on the user's footage ([`ReviewTally`]).
//!   These are the machine's misreads, not the user's: the guide's false-positive KPI (§7, "you
//!   thought you saw a cue but it wasn't followed by the matching emotion") stays defined over
//!   the user's real-world log.
//!
//! A video is named by a label the user chooses (by default its file name), never by a path
//! that might hold a person's name.

use std::io::{Read, Write};
use std::path::Path;

use microcue_core::eval::TruthEvent;
use microcue_core::formats::{LineLimit, MAX_LINE_BYTES};
use microcue_core::{CueId, Event, Evidence, Scale, Side, TrackId};
use serde::{Deserialize, Serialize};

use crate::dates::Date;
use crate::error::{Result, TrainError};

/// What the user said about one detected event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewVerdict {
    /// The movement happened, with the cue and side the spotter read.
    Confirmed,
    /// The movement happened, but with another cue or side (given by the user).
    Corrected,
    /// Not a facial movement (a head turn, lighting, a tracking glitch): a false positive of
    /// the spotter.
    Rejected,
}

impl ReviewVerdict {
    /// All verdicts.
    pub const ALL: [ReviewVerdict; 3] = [
        ReviewVerdict::Confirmed,
        ReviewVerdict::Corrected,
        ReviewVerdict::Rejected,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewVerdict::Confirmed => "confirmed",
            ReviewVerdict::Corrected => "corrected",
            ReviewVerdict::Rejected => "rejected",
        }
    }

    /// Parses a name.
    pub fn parse(text: &str) -> Option<ReviewVerdict> {
        let text = text.trim().to_ascii_lowercase();
        ReviewVerdict::ALL.into_iter().find(|v| v.as_str() == text)
    }
}

/// Parses a side name (`left`, `right`, `both`).
pub fn parse_side(text: &str) -> Option<Side> {
    match text.trim().to_ascii_lowercase().as_str() {
        "left" | "l" => Some(Side::Left),
        "right" | "r" => Some(Side::Right),
        "both" | "b" => Some(Side::Both),
        _ => None,
    }
}

/// One detected event and the user's verdict on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewedEvent {
    /// Day of the review.
    pub date: Date,
    /// The video's label (by default its file name).
    pub video: String,
    /// The event's time span in the video, seconds.
    pub onset_s: f64,
    pub apex_s: f64,
    pub offset_s: f64,
    /// What the spotter read.
    pub detected_cue: CueId,
    pub detected_side: Side,
    /// The user's verdict.
    pub verdict: ReviewVerdict,
    /// The cue the user saw: the detected one when confirmed, the user's when corrected,
    /// `None` when rejected.
    pub cue: Option<CueId>,
    /// The side the user saw (`None` when rejected).
    pub side: Option<Side>,
}

impl ReviewedEvent {
    /// A confirmation of `event` in `video`.
    pub fn confirm(date: Date, video: &str, event: &Event) -> ReviewedEvent {
        ReviewedEvent::of(
            date,
            video,
            event,
            ReviewVerdict::Confirmed,
            Some((event.cue, event.side)),
        )
    }

    /// A correction of `event`: the user saw `cue` on `side`. A "correction" to the detected
    /// cue and side is stored as a confirmation.
    pub fn correct(
        date: Date,
        video: &str,
        event: &Event,
        cue: CueId,
        side: Side,
    ) -> ReviewedEvent {
        let verdict = if cue == event.cue && side == event.side {
            ReviewVerdict::Confirmed
        } else {
            ReviewVerdict::Corrected
        };
        ReviewedEvent::of(date, video, event, verdict, Some((cue, side)))
    }

    /// A rejection of `event`: not a facial movement.
    pub fn reject(date: Date, video: &str, event: &Event) -> ReviewedEvent {
        ReviewedEvent::of(date, video, event, ReviewVerdict::Rejected, None)
    }

    fn of(
        date: Date,
        video: &str,
        event: &Event,
        verdict: ReviewVerdict,
        seen: Option<(CueId, Side)>,
    ) -> ReviewedEvent {
        ReviewedEvent {
            date,
            video: video.to_owned(),
            onset_s: event.onset_s,
            apex_s: event.apex_s,
            offset_s: event.offset_s,
            detected_cue: event.cue,
            detected_side: event.side,
            verdict,
            cue: seen.map(|(cue, _)| cue),
            side: seen.map(|(_, side)| side),
        }
    }

    /// Whether the event was a real movement (confirmed or corrected).
    pub fn is_movement(&self) -> bool {
        self.verdict != ReviewVerdict::Rejected
    }

    /// Checks the record: a label, ordered finite times, and a cue and side exactly when the
    /// event was not rejected (and a supported cue: pupil size cannot be seen on video).
    pub fn validate(&self) -> Result<()> {
        let invalid = |detail: String| {
            Err(TrainError::Invalid {
                what: "reviewed event",
                detail,
            })
        };
        if self.video.trim().is_empty() {
            return invalid("the video label is empty".to_owned());
        }
        let times = [self.onset_s, self.apex_s, self.offset_s];
        if times.iter().any(|t| !t.is_finite() || *t < 0.0)
            || !(self.onset_s <= self.apex_s && self.apex_s <= self.offset_s)
            || self.onset_s >= self.offset_s
        {
            return invalid(format!(
                "times must be finite, >= 0 and ordered onset <= apex <= offset (onset < \
                 offset), got {} / {} / {}",
                self.onset_s, self.apex_s, self.offset_s
            ));
        }
        match (self.verdict, self.cue, self.side) {
            (ReviewVerdict::Rejected, None, None) => Ok(()),
            (ReviewVerdict::Rejected, _, _) => {
                invalid("a rejected event has no cue or side".to_owned())
            }
            (_, Some(cue), Some(_)) if !cue.is_supported() => invalid(format!(
                "`{cue}` cannot be seen on ordinary video; choose another cue"
            )),
            (ReviewVerdict::Confirmed, Some(cue), Some(side))
                if cue != self.detected_cue || side != self.detected_side =>
            {
                invalid(format!(
                    "a confirmed event keeps the detected cue and side ({} {}), got {cue} {}",
                    self.detected_cue,
                    self.detected_side.as_str(),
                    side.as_str()
                ))
            }
            (_, Some(_), Some(_)) => Ok(()),
            _ => invalid(format!(
                "a {} event needs the cue and side that was seen",
                self.verdict.as_str()
            )),
        }
    }

    /// The event as ground truth (`None` when rejected).
    pub fn truth(&self) -> Option<TruthEvent> {
        Some(TruthEvent {
            cue: self.cue?,
            side: self.side?,
            onset_s: self.onset_s,
            apex_s: self.apex_s,
            offset_s: self.offset_s,
            amplitude_iod: None,
        })
    }

    /// The event as a spotter-style [`Event`] labelled with the user's cue and side, for the
    /// slow-motion quiz (`None` when rejected). Confidence is 1: a person checked it. There is
    /// no evidence: the journal keeps no signals.
    pub fn as_event(&self) -> Option<Event> {
        let truth = self.truth()?;
        let duration_ms = truth.duration_ms();
        Some(Event {
            track: TrackId(0),
            onset_s: truth.onset_s,
            apex_s: truth.apex_s,
            offset_s: truth.offset_s,
            duration_ms,
            scale: Scale::of_duration_ms(duration_ms),
            cue: truth.cue,
            side: truth.side,
            intensity: 0.0,
            confidence: 1.0,
            valence: truth.cue.valence(),
            evidence: Vec::<Evidence>::new(),
        })
    }

    /// Whether `event` is the event this review is about (same label, times within 1 ms, same
    /// detected cue).
    pub fn is_about(&self, video: &str, event: &Event) -> bool {
        self.video == video
            && (self.onset_s - event.onset_s).abs() < 1e-3
            && (self.offset_s - event.offset_s).abs() < 1e-3
            && self.detected_cue == event.cue
    }
}

/// Counts of verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReviewTally {
    pub reviewed: u32,
    pub confirmed: u32,
    pub corrected: u32,
    /// The spotter's false positives on the user's footage.
    pub rejected: u32,
}

impl ReviewTally {
    /// Counts `reviews`.
    pub fn of<'a>(reviews: impl IntoIterator<Item = &'a ReviewedEvent>) -> ReviewTally {
        let mut tally = ReviewTally::default();
        for review in reviews {
            tally.reviewed += 1;
            match review.verdict {
                ReviewVerdict::Confirmed => tally.confirmed += 1,
                ReviewVerdict::Corrected => tally.corrected += 1,
                ReviewVerdict::Rejected => tally.rejected += 1,
            }
        }
        tally
    }

    /// Share of reviewed events that were not a movement (the spotter's false-positive rate
    /// on the user's footage); `None` when nothing was reviewed.
    pub fn false_positive_rate(&self) -> Option<f64> {
        (self.reviewed > 0).then(|| f64::from(self.rejected) / f64::from(self.reviewed))
    }

    /// Share of reviewed events whose cue and side the spotter got right.
    pub fn label_accuracy(&self) -> Option<f64> {
        (self.reviewed > 0).then(|| f64::from(self.confirmed) / f64::from(self.reviewed))
    }
}

/// The header of a truth CSV (the first five columns are what `microcue eval score` needs).
pub const TRUTH_CSV_HEADER: [&str; 7] = [
    "cue",
    "side",
    "onset_s",
    "apex_s",
    "offset_s",
    "duration_ms",
    "verdict",
];

/// Writes the confirmed and corrected events of `video` as a truth CSV, in time order.
/// Returns how many rows were written. `destination` names the output in error messages.
pub fn write_truth_csv(
    reviews: &[ReviewedEvent],
    video: &str,
    writer: impl Write,
    destination: &Path,
) -> Result<usize> {
    let mut rows: Vec<&ReviewedEvent> = reviews
        .iter()
        .filter(|r| r.video == video && r.is_movement())
        .collect();
    rows.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
    let mut csv = csv::Writer::from_writer(writer);
    let err = |source| TrainError::Csv {
        path: destination.to_path_buf(),
        source,
    };
    csv.write_record(TRUTH_CSV_HEADER).map_err(err)?;
    let mut written = 0;
    for review in rows {
        let Some(truth) = review.truth() else {
            continue;
        };
        csv.write_record([
            truth.cue.as_str().to_owned(),
            truth.side.as_str().to_owned(),
            format!("{:.4}", truth.onset_s),
            format!("{:.4}", truth.apex_s),
            format!("{:.4}", truth.offset_s),
            format!("{:.1}", truth.duration_ms()),
            review.verdict.as_str().to_owned(),
        ])
        .map_err(err)?;
        written += 1;
    }
    csv.flush().map_err(|source| TrainError::Io {
        action: "write the truth CSV to",
        path: destination.to_path_buf(),
        source,
    })?;
    Ok(written)
}

/// Reads a truth CSV: a header naming at least `cue`, `side`, `onset_s`, `apex_s` and
/// `offset_s` (any order and case; other columns, such as [`TRUTH_CSV_HEADER`]'s `verdict` or
/// injected truth's `amplitude_iod`, ignored), then one event per row. Blank lines are skipped;
/// an empty side means `both`. `source` names the file in error messages, with the line.
pub fn read_truth_csv(reader: impl Read, source: &Path) -> Result<Vec<TruthEvent>> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(LineLimit::new(reader));
    // A line holding only blanks is one empty field.
    let blank = |record: &csv::StringRecord| record.len() == 1 && record[0].is_empty();
    let mut record = csv::StringRecord::new();
    let columns: Vec<String> = loop {
        if !next_truth_record(&mut csv, &mut record, source)? {
            return Err(TrainError::TruthCsvHeader {
                path: source.to_path_buf(),
                detail: "is empty: expected a header `cue,side,onset_s,apex_s,offset_s`".into(),
            });
        }
        if !blank(&record) {
            break record.iter().map(str::to_ascii_lowercase).collect();
        }
    };
    let column = |name: &str| {
        columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| TrainError::TruthCsvHeader {
                path: source.to_path_buf(),
                detail: format!(
                    "has no `{name}` column (header: `{}`)\nhint: the truth CSV needs \
                 cue,side,onset_s,apex_s,offset_s",
                    columns.join(",")
                ),
            })
    };
    let (cue_col, side_col, onset_col, apex_col, offset_col) = (
        column("cue")?,
        column("side")?,
        column("onset_s")?,
        column("apex_s")?,
        column("offset_s")?,
    );
    // Injected truth records each movement's size (inter-ocular distances); other truth may not.
    let amplitude_col = columns.iter().position(|c| c == "amplitude_iod");
    let mut truth = Vec::new();
    while next_truth_record(&mut csv, &mut record, source)? {
        if blank(&record) {
            continue;
        }
        let line = record.position().map_or(0, csv::Position::line);
        if truth.len() == MAX_TRUTH_EVENTS {
            return Err(TrainError::TruthCsvRow {
                path: source.to_path_buf(),
                line,
                detail: format!(
                    "more than {MAX_TRUTH_EVENTS} events\nhint: split the truth into one file \
                     per video"
                ),
            });
        }
        let row_error = |detail: String| TrainError::TruthCsvRow {
            path: source.to_path_buf(),
            line,
            detail,
        };
        let field = |col: usize| {
            record.get(col).ok_or_else(|| {
                row_error(format!(
                    "expected {} fields, got {}",
                    columns.len(),
                    record.len()
                ))
            })
        };
        let number = |col: usize| -> Result<f64> {
            let text = field(col)?;
            text.parse::<f64>().map_err(|_| {
                row_error(format!(
                    "`{text}` in column `{}` is not a number",
                    columns[col]
                ))
            })
        };
        let cue_text = field(cue_col)?;
        let cue =
            CueId::parse(cue_text).ok_or_else(|| row_error(format!("unknown cue `{cue_text}`")))?;
        let side = match field(side_col)?.to_ascii_lowercase().as_str() {
            "left" => Side::Left,
            "right" => Side::Right,
            "both" | "" => Side::Both,
            other => {
                return Err(row_error(format!(
                    "side must be left, right or both, got `{other}`"
                )));
            }
        };
        let event = TruthEvent {
            cue,
            side,
            onset_s: number(onset_col)?,
            apex_s: number(apex_col)?,
            offset_s: number(offset_col)?,
            amplitude_iod: match amplitude_col {
                Some(col) if !field(col)?.is_empty() => Some(number(col)?),
                _ => None,
            },
        };
        event.validate().map_err(row_error)?;
        truth.push(event);
    }
    Ok(truth)
}

/// Most events a truth CSV may hold: a day of video with an event every tenth of a second.
pub const MAX_TRUTH_EVENTS: usize = 1_000_000;

/// Reads the next record of a truth CSV; an over-long line is named as such, not as bad CSV.
fn next_truth_record<R: Read>(
    csv: &mut csv::Reader<LineLimit<R>>,
    record: &mut csv::StringRecord,
    source: &Path,
) -> Result<bool> {
    csv.read_record(record)
        .map_err(|error| match csv.get_ref().overlong_line() {
            Some(line) => TrainError::TruthCsvRow {
                path: source.to_path_buf(),
                line: line as u64,
                detail: format!(
                    "longer than {MAX_LINE_BYTES} bytes\nhint: a truth CSV has one short \
                     row per event (cue,side,onset_s,apex_s,offset_s)"
                ),
            },
            None => TrainError::CsvRead {
                path: source.to_path_buf(),
                source: error,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::parse_date;

    fn event(cue: CueId, side: Side, onset_s: f64, offset_s: f64) -> Event {
        let duration_ms = (offset_s - onset_s) * 1000.0;
        Event {
            track: TrackId(0),
            onset_s,
            apex_s: (onset_s + offset_s) / 2.0,
            offset_s,
            duration_ms,
            scale: Scale::of_duration_ms(duration_ms),
            cue,
            side,
            intensity: 0.2,
            confidence: 0.7,
            valence: cue.valence(),
            evidence: Vec::new(),
        }
    }

    #[test]
    fn verdicts_validate_and_become_truth() {
        let date = parse_date("2026-01-05").expect("date");
        let flash = event(CueId::EyebrowFlash, Side::Both, 1.0, 1.2);
        let confirmed = ReviewedEvent::confirm(date, "me.mp4", &flash);
        assert!(confirmed.validate().is_ok());
        assert_eq!(confirmed.truth().map(|t| t.cue), Some(CueId::EyebrowFlash));
        let same = ReviewedEvent::correct(date, "me.mp4", &flash, CueId::EyebrowFlash, Side::Both);
        assert_eq!(same.verdict, ReviewVerdict::Confirmed);
        let corrected =
            ReviewedEvent::correct(date, "me.mp4", &flash, CueId::MicroSurprise, Side::Both);
        assert_eq!(corrected.verdict, ReviewVerdict::Corrected);
        assert_eq!(
            corrected.as_event().map(|e| e.cue),
            Some(CueId::MicroSurprise)
        );
        let rejected = ReviewedEvent::reject(date, "me.mp4", &flash);
        assert!(rejected.validate().is_ok());
        assert!(rejected.truth().is_none());
        let mut broken = confirmed.clone();
        broken.cue = Some(CueId::MicroFrown);
        assert!(broken.validate().is_err(), "confirmed with another cue");
        let mut pupil = corrected.clone();
        pupil.cue = Some(CueId::PupilDilation);
        assert!(pupil.validate().is_err(), "unsupported cue");
        let mut backwards = rejected;
        backwards.offset_s = 0.5;
        assert!(backwards.validate().is_err());
        let tally = ReviewTally::of([&confirmed, &corrected]);
        assert_eq!(
            (tally.reviewed, tally.confirmed, tally.corrected),
            (2, 1, 1)
        );
    }

    #[test]
    fn truth_csv_holds_movements_of_one_video_in_time_order() {
        let date = parse_date("2026-01-05").expect("date");
        let late = event(CueId::MicroFrown, Side::Both, 4.0, 4.3);
        let early = event(CueId::UnilateralLipCorner, Side::Left, 1.0, 1.25);
        let reviews = vec![
            ReviewedEvent::confirm(date, "a", &late),
            ReviewedEvent::correct(date, "a", &early, CueId::UnilateralLipCorner, Side::Right),
            ReviewedEvent::reject(date, "a", &event(CueId::NoseWrinkle, Side::Both, 2.0, 2.2)),
            ReviewedEvent::confirm(date, "b", &early),
        ];
        let mut out = Vec::new();
        let rows = write_truth_csv(&reviews, "a", &mut out, Path::new("t.csv")).expect("csv");
        assert_eq!(rows, 2);
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "cue,side,onset_s,apex_s,offset_s,duration_ms,verdict"
        );
        assert!(
            lines[1].starts_with("unilateral_lip_corner,right,1.0000,"),
            "{text}"
        );
        assert!(lines[2].starts_with("micro_frown,both,4.0000,"), "{text}");
    }

    #[test]
    fn truth_csv_parses_the_inject_output_and_reports_bad_rows() {
        let text = "cue,side,onset_s,apex_s,offset_s,duration_ms,amplitude_iod\n\
                    eyebrow_flash,both,2.02,2.08,2.18,160.000,0.03\n\
                    \n\
                    unilateral_lip_corner,left,4.5,4.6,4.7,200,0.02\n";
        let truth = read_truth_csv(text.as_bytes(), Path::new("truth.csv")).expect("parses");
        assert_eq!(truth.len(), 2);
        assert_eq!(truth[1].cue, CueId::UnilateralLipCorner);
        assert_eq!(truth[1].side, Side::Left);
        assert_eq!(truth[0].amplitude_iod, Some(0.03));
        // Column order does not matter; H1's synth CSV (amplitude column) reads too.
        let text =
            "onset_s,offset_s,apex_s,side,cue,amplitude\n1.0,1.2,1.1,right,micro_frown,0.4\n";
        let truth = read_truth_csv(text.as_bytes(), Path::new("t.csv")).expect("parses");
        assert_eq!(truth[0].cue, CueId::MicroFrown);
        assert_eq!(truth[0].offset_s, 1.2);
        assert_eq!(truth[0].amplitude_iod, None);

        let bad_cue = "cue,side,onset_s,apex_s,offset_s\nwink,both,1,1.1,1.2\n";
        let error = read_truth_csv(bad_cue.as_bytes(), Path::new("t.csv"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`t.csv` line 2") && error.contains("wink"),
            "{error}"
        );
        let bad_order = "cue,side,onset_s,apex_s,offset_s\neyebrow_flash,both,2,1,3\n";
        let error = read_truth_csv(bad_order.as_bytes(), Path::new("t.csv"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 2"), "{error}");
        let missing = "cue,onset_s,apex_s,offset_s\n";
        let error = read_truth_csv(missing.as_bytes(), Path::new("t.csv"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("`side`"), "{error}");
    }

    #[test]
    fn a_truth_line_longer_than_the_limit_is_refused_with_its_number() {
        let mut text =
            String::from("cue,side,onset_s,apex_s,offset_s\neyebrow_flash,both,1,1.1,1.2\n");
        text.push_str(&"9".repeat(MAX_LINE_BYTES + 1));
        let error = read_truth_csv(text.as_bytes(), Path::new("t.csv"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`t.csv` line 3") && error.contains("longer than"),
            "{error}"
        );
    }

    #[test]
    fn the_truth_csv_written_reads_back_with_blank_and_quoted_lines() {
        let reviews = [ReviewedEvent::confirm(
            parse_date("2025-01-02").unwrap(),
            "clip",
            &event(CueId::EyebrowFlash, Side::Both, 1.0, 1.2),
        )];
        let mut bytes = Vec::new();
        write_truth_csv(&reviews, "clip", &mut bytes, Path::new("t.csv")).unwrap();
        let mut text = String::from_utf8(bytes).unwrap();
        text.insert_str(0, "\n  \n");
        text.push_str("\n\"micro_frown\", left ,2,2.1,2.2,200,confirmed\n");
        let truth = read_truth_csv(text.as_bytes(), Path::new("t.csv")).unwrap();
        assert_eq!(truth.len(), 2, "{text}");
        assert_eq!(truth[0], reviews[0].truth().unwrap());
        assert_eq!(
            (truth[1].cue, truth[1].side),
            (CueId::MicroFrown, Side::Left)
        );
        let error = read_truth_csv(
            b"cue,side,onset_s,apex_s,offset_s\n\xff,both,1,2,3\n".as_slice(),
            Path::new("t.csv"),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("`t.csv`"), "{error}");
    }
}
