//! # microcue_train
//!
//! The training program of microcue: drills that build the human skill, the guide's KPIs, the
//! 60-day plan, and the SQLite journal that keeps it all.
//!
//! - [`journal`]: one SQLite file (WAL, `synchronous=FULL`, numbered migrations), export to
//!   JSON/CSV, idempotent import, [`journal::forget_journal`] that really deletes.
//! - [`flash`]: METT-style flash recognition (pre-test, learn, practice, post-test) with an
//!   adaptive exposure [`staircase`], catch trials, confusion matrix and reaction times.
//! - [`slowmo`], [`mirror`], [`roleplay`]: the other drills, scored from the spotter's
//!   [`microcue_core::Event`]s.
//! - [`review`]: the user's verdicts on the events the spotter found in their own video —
//!   ground truth of their clips (a truth CSV for `microcue eval score`) and slow-motion quiz
//!   items.
//! - [`kpi`]: detections per day, accuracy, approach success, false positives, repair success,
//!   per plan week, with the weekly targets.
//! - [`plan`]: the 60-day plan and the drill ladder to day 90 as data.
//!
//! Key design choice: drills are pure state machines. Time (reaction times, "today") and
//! randomness (a seed) come from the caller, so the same inputs give the same session — in the
//! CLI, the web UI and the tests alike. Stimuli are descriptions ([`stimulus::Stimulus`]); the
//! renderer that turns them into pictures plugs in later.
//!
//! ```
//! use microcue_train::{Journal, LogEntry, dates::parse_date};
//! use microcue_core::CueId;
//! let dir = tempfile::tempdir().unwrap();
//! let mut journal = Journal::open(dir.path().join("journal.sqlite3")).unwrap();
//! let today = parse_date("2025-03-01").unwrap();
//! journal.add_log_entry(&LogEntry::new(today, CueId::EyebrowFlash, "said hello")).unwrap();
//! assert_eq!(journal.log_entries().unwrap().len(), 1);
//! ```

pub mod confusion;
pub mod dates;
mod deck;
pub mod error;
pub mod flash;
pub mod journal;
pub mod kpi;
pub mod mirror;
pub mod plan;
pub mod records;
pub mod review;
pub mod roleplay;
pub mod slowmo;
pub mod staircase;
pub mod stimulus;

pub use error::{Result, TrainError};
pub use journal::{Journal, JournalExport};
pub use records::{
    ChannelBaseline, DrillKind, LogEntry, Outcome, PersonBaseline, Stored, TaskDone, TrialPhase,
    TrialRecord,
};
pub use review::{ReviewVerdict, ReviewedEvent};
pub use stimulus::{Stimulus, StimulusRenderer};
