//! The app's one training journal: the SQLite file `microcue log` and the other training
//! commands use, opened per write (cheap) and written one entry at a time.

use std::path::PathBuf;
use std::sync::Mutex;

use microcue_train::dates::Date;
use microcue_train::{Journal, LogEntry, TrainError};

/// Where the journal is and what day it is.
#[derive(Debug)]
pub struct JournalStore {
    path: PathBuf,
    today: Option<Date>,
    /// Writes from several sessions go one at a time.
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

    /// Today: the date given at start-up, else the local date now.
    pub fn today(&self) -> Date {
        self.today.unwrap_or_else(|| jiff::Zoned::now().date())
    }

    /// Adds a real-world log entry (the record `microcue log add` writes); returns its uid.
    pub fn add_log_entry(&self, entry: &LogEntry) -> Result<String, TrainError> {
        let _one_at_a_time = self
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Journal::open(&self.path)?.add_log_entry(entry)
    }
}
