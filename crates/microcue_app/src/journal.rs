//! The app's one training journal: the SQLite file `microcue log` and the other training
//! commands use, opened per request (cheap) and written one request at a time.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use microcue_train::dates::Date;
use microcue_train::journal::forget_journal;
use microcue_train::{Journal, LogEntry, TrainError};

/// Where the journal is and what day it is.
#[derive(Debug)]
pub struct JournalStore {
    path: PathBuf,
    today: Option<Date>,
    /// Writes from several sessions and pages go one at a time.
    writing: Mutex<()>,
}

impl JournalStore {
    pub fn new(path: PathBuf, today: Option<Date>) -> Self {
        JournalStore {
            path,
            today,
            writing: Mutex::new(()),
        }
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Today: the date given at start-up, else the local date now.
    pub fn today(&self) -> Date {
        self.today.unwrap_or_else(|| jiff::Zoned::now().date())
    }

    /// Adds a real-world log entry (the record `microcue log add` writes); returns its uid.
    pub fn add_log_entry(&self, entry: &LogEntry) -> Result<String, TrainError> {
        self.write(|journal| journal.add_log_entry(entry))
    }

    /// Reads the journal; `None` when there is none yet (reading never creates one, so a page
    /// viewed after "forget everything" leaves no file behind).
    pub fn read<T>(
        &self,
        read: impl FnOnce(&Journal) -> Result<T, TrainError>,
    ) -> Result<Option<T>, TrainError> {
        if !self.path.exists() {
            return Ok(None);
        }
        read(&Journal::open(&self.path)?).map(Some)
    }

    /// Writes to the journal (creating it on first use), one writer at a time.
    pub fn write<T>(
        &self,
        write: impl FnOnce(&mut Journal) -> Result<T, TrainError>,
    ) -> Result<T, TrainError> {
        let _one_at_a_time = self
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        write(&mut Journal::open(&self.path)?)
    }

    /// Deletes the journal for good (`microcue journal forget --all`); returns the files removed.
    pub fn forget(&self) -> Result<Vec<PathBuf>, TrainError> {
        let _one_at_a_time = self
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        forget_journal(&self.path)
    }
}
