//! What the journal stores: drill trials, real-world log entries, plan progress and per-person
//! baselines. Numbers and labels only — never an image or a frame.
//!
//! Every stored row carries a `uid` (random, 128 bit, hex) so that an export can be imported
//! again without duplicating anything.

use microcue_core::CueId;
use serde::{Deserialize, Serialize};

use crate::dates::Date;
use crate::error::{Result, TrainError};

/// Which drill produced a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillKind {
    /// Timed flash recognition (METT-style).
    Flash,
    /// Slow-motion study of the user's own video.
    SlowMotion,
    /// The user flashes a cue at the webcam; the spotter checks it.
    Mirror,
    /// A partner performs a cue card; the spotter's answer is scored.
    Roleplay,
}

impl DrillKind {
    /// All kinds.
    pub const ALL: [DrillKind; 4] = [
        DrillKind::Flash,
        DrillKind::SlowMotion,
        DrillKind::Mirror,
        DrillKind::Roleplay,
    ];

    /// The snake_case name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            DrillKind::Flash => "flash",
            DrillKind::SlowMotion => "slow_motion",
            DrillKind::Mirror => "mirror",
            DrillKind::Roleplay => "roleplay",
        }
    }

    /// Parses a name (`-` accepted for `_`).
    pub fn parse(text: &str) -> Option<DrillKind> {
        let text = text.trim().replace('-', "_").to_ascii_lowercase();
        DrillKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the kind measures recognition accuracy (the KPI "accuracy rate": flash and
    /// video tests). Mirror measures the user's own expression, roleplay a live exercise.
    pub fn is_recognition_test(self) -> bool {
        matches!(self, DrillKind::Flash | DrillKind::SlowMotion)
    }
}

/// Where in a drill session a trial happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialPhase {
    /// Flash drill pre-test (no feedback).
    PreTest,
    /// Practice with feedback (not counted in accuracy KPIs).
    Practice,
    /// Flash drill post-test (no feedback).
    PostTest,
    /// A stand-alone test trial (slow-motion quiz item, a trial recorded by another front end).
    Test,
}

impl TrialPhase {
    /// All phases.
    pub const ALL: [TrialPhase; 4] = [
        TrialPhase::PreTest,
        TrialPhase::Practice,
        TrialPhase::PostTest,
        TrialPhase::Test,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrialPhase::PreTest => "pre_test",
            TrialPhase::Practice => "practice",
            TrialPhase::PostTest => "post_test",
            TrialPhase::Test => "test",
        }
    }

    /// Parses a name (`-` accepted for `_`).
    pub fn parse(text: &str) -> Option<TrialPhase> {
        let text = text.trim().replace('-', "_").to_ascii_lowercase();
        TrialPhase::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// Whether trials of this phase count as tests (everything but practice).
    pub fn is_test(self) -> bool {
        self != TrialPhase::Practice
    }
}

/// One answered drill trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// Day of the trial.
    pub date: Date,
    /// Which drill.
    pub kind: DrillKind,
    /// Where in the drill.
    pub phase: TrialPhase,
    /// The cue that was shown (or requested); `None` for a catch trial with no flash.
    pub target: Option<CueId>,
    /// The cue the observer answered; `None` for "saw nothing".
    pub response: Option<CueId>,
    /// How long the flash was shown, ms (flash drill).
    #[serde(default)]
    pub exposure_ms: Option<f64>,
    /// Time from the end of the flash to the answer, ms.
    #[serde(default)]
    pub reaction_ms: Option<f64>,
    /// Groups the trials of one drill run.
    #[serde(default)]
    pub session: Option<String>,
}

impl TrialRecord {
    /// Whether the answer matches the target (a catch trial is correct when nothing was
    /// answered).
    pub fn correct(&self) -> bool {
        self.target == self.response
    }

    /// Whether this was a catch trial (nothing shown).
    pub fn is_catch(&self) -> bool {
        self.target.is_none()
    }

    /// Checks the numbers: exposure and reaction time finite and non-negative.
    pub fn validate(&self) -> Result<()> {
        for (name, value) in [
            ("exposure_ms", self.exposure_ms),
            ("reaction_ms", self.reaction_ms),
        ] {
            if let Some(value) = value
                && !(value.is_finite() && value >= 0.0)
            {
                return Err(TrainError::Invalid {
                    what: "trial",
                    detail: format!("{name} must be a finite number >= 0, got {value}"),
                });
            }
        }
        Ok(())
    }
}

/// How an interaction went after the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Smile, longer reply, agreement, warmer body language.
    Improved,
    /// No visible change.
    Same,
    /// Withdrawal, shorter replies, tension.
    Worse,
}

impl Outcome {
    /// All outcomes.
    pub const ALL: [Outcome; 3] = [Outcome::Improved, Outcome::Same, Outcome::Worse];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Improved => "improved",
            Outcome::Same => "same",
            Outcome::Worse => "worse",
        }
    }

    /// Parses a name.
    pub fn parse(text: &str) -> Option<Outcome> {
        let text = text.trim().to_ascii_lowercase();
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

/// One real-world detection, as the guide's log (§7, §11: "keep a log of misses + hits").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Day of the interaction.
    pub date: Date,
    /// The cue the user spotted.
    pub cue: CueId,
    /// What was said or happened just before (a few words).
    pub context: String,
    /// The user's quick guess (positive / neutral / negative, or words).
    #[serde(default)]
    pub hypothesis: Option<String>,
    /// The micro-response used, if any.
    #[serde(default)]
    pub response: Option<String>,
    /// How the interaction went after the response.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// Whether the cue was followed by the matching emotion (`false` = a false positive).
    #[serde(default)]
    pub confirmed: Option<bool>,
    /// The repair line used after a misread, if any.
    #[serde(default)]
    pub repair: Option<String>,
    /// Whether the repair fixed the misread.
    #[serde(default)]
    pub repair_worked: Option<bool>,
    /// Free text.
    #[serde(default)]
    pub note: Option<String>,
}

impl LogEntry {
    /// A detection with only the required fields.
    pub fn new(date: Date, cue: CueId, context: impl Into<String>) -> LogEntry {
        LogEntry {
            date,
            cue,
            context: context.into(),
            hypothesis: None,
            response: None,
            outcome: None,
            confirmed: None,
            repair: None,
            repair_worked: None,
            note: None,
        }
    }

    /// Checks the rules: a context is given; an outcome needs a response; `repair_worked`
    /// needs a repair; empty optional texts are not allowed (leave them out instead).
    pub fn validate(&self) -> Result<()> {
        let invalid = |detail: &str| {
            Err(TrainError::Invalid {
                what: "log entry",
                detail: detail.to_owned(),
            })
        };
        if self.context.trim().is_empty() {
            return invalid("context is empty; say in a few words what happened just before");
        }
        if self.outcome.is_some() && self.response.is_none() {
            return invalid("an outcome needs the response that was used (--response)");
        }
        if self.response.is_some() && self.outcome.is_none() {
            return invalid("a response needs its outcome (--outcome improved|same|worse)");
        }
        if self.repair_worked.is_some() && self.repair.is_none() {
            return invalid("repair_worked needs the repair line that was used (--repair)");
        }
        for (name, text) in [
            ("hypothesis", &self.hypothesis),
            ("response", &self.response),
            ("repair", &self.repair),
            ("note", &self.note),
        ] {
            if text.as_deref().is_some_and(|t| t.trim().is_empty()) {
                return Err(TrainError::Invalid {
                    what: "log entry",
                    detail: format!("{name} is empty; leave it out instead"),
                });
            }
        }
        Ok(())
    }
}

/// One plan task marked done on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDone {
    /// The day it was done.
    pub date: Date,
    /// The task id (see [`crate::plan`]).
    pub task: String,
}

/// Baseline of one signal channel of one person: robust centre and spread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelBaseline {
    /// Channel name (a blendshape name, an AU, or a derived signal).
    pub channel: String,
    /// Median of the channel at rest.
    pub median: f32,
    /// Median absolute deviation at rest.
    pub mad: f32,
}

/// A person's resting baseline: numbers per channel and a label, never an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonBaseline {
    /// A label the user chooses ("me", "partner"); not a name is required.
    pub person: String,
    /// Day it was measured.
    pub date: Date,
    /// How many frames it was measured over.
    pub frames: u32,
    /// Per-channel statistics.
    pub channels: Vec<ChannelBaseline>,
}

impl PersonBaseline {
    /// Checks the label and the numbers (finite; MAD >= 0).
    pub fn validate(&self) -> Result<()> {
        let invalid = |detail: String| {
            Err(TrainError::Invalid {
                what: "baseline",
                detail,
            })
        };
        if self.person.trim().is_empty() {
            return invalid("the person label is empty".to_owned());
        }
        for channel in &self.channels {
            if channel.channel.trim().is_empty() {
                return invalid("a channel name is empty".to_owned());
            }
            if !channel.median.is_finite() || !channel.mad.is_finite() || channel.mad < 0.0 {
                return invalid(format!(
                    "channel `{}` has median {} and MAD {}; both must be finite, MAD >= 0",
                    channel.channel, channel.median, channel.mad
                ));
            }
        }
        Ok(())
    }
}

/// A record with its journal uid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored<T> {
    /// Unique id of the row (hex), stable across export and import.
    pub uid: String,
    /// The record.
    #[serde(flatten)]
    pub record: T,
}

/// Whether a uid is 32 lowercase hex digits (what the journal makes).
pub fn is_valid_uid(uid: &str) -> bool {
    uid.len() == 32
        && uid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::parse_date;

    #[test]
    fn log_entry_rules() {
        let date = parse_date("2025-01-01").expect("valid");
        let mut entry = LogEntry::new(date, CueId::MicroFrown, "explained the route");
        assert!(entry.validate().is_ok());
        entry.outcome = Some(Outcome::Improved);
        assert!(entry.validate().is_err(), "outcome without response");
        entry.response = Some("What I meant was…".into());
        assert!(entry.validate().is_ok());
        entry.repair_worked = Some(true);
        assert!(entry.validate().is_err(), "repair_worked without repair");
        entry.context = "  ".into();
        assert!(entry.validate().is_err());
    }

    #[test]
    fn names_round_trip() {
        for kind in DrillKind::ALL {
            assert_eq!(DrillKind::parse(kind.as_str()), Some(kind));
        }
        for phase in TrialPhase::ALL {
            assert_eq!(TrialPhase::parse(phase.as_str()), Some(phase));
        }
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(DrillKind::parse("slow-motion"), Some(DrillKind::SlowMotion));
    }
}
