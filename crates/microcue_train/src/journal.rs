//! The journal: one SQLite file holding drill trials, real-world log entries, plan progress and
//! per-person baselines.
//!
//! # Where it lives
//! `$MICROCUE_HOME/journal.sqlite3` when `MICROCUE_HOME` is set (a directory), otherwise
//! `journal.sqlite3` in the user's data directory (`directories::ProjectDirs` for "microcue":
//! `~/.local/share/microcue` on Linux, `~/Library/Application Support/microcue` on macOS,
//! `%APPDATA%\microcue\data` on Windows). See [`default_journal_path`].
//!
//! # Durability
//! The journal runs in WAL mode with `synchronous=FULL`, and every write is one `IMMEDIATE`
//! transaction. WAL alone already keeps the file consistent when the process dies mid-write
//! (SIGKILL, crash): an uncommitted transaction is simply not in the log. `synchronous=NORMAL`
//! would keep it consistent after a *power loss* too, but could lose the last committed
//! transactions; `FULL` syncs the log at every commit, so what was reported as saved stays
//! saved. Writes here happen at human pace (one per trial or log entry), so the extra `fsync`
//! costs nothing noticeable. `secure_delete=ON` makes SQLite zero deleted content.
//!
//! # Schema
//! Versioned by `PRAGMA user_version` and upgraded by the numbered [`MIGRATIONS`] list, one
//! transaction per step. A file written by a newer microcue is refused, never downgraded.
//!
//! # Privacy
//! Numbers and labels only: no images, no frames, no audio. [`forget_journal`] deletes the
//! database and its `-wal`/`-shm` side files (VACUUM would leave the file and the WAL behind).

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use microcue_core::{CueId, Side};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::dates::{Date, parse_date};
use crate::error::{Result, TrainError};
use crate::records::{
    ChannelBaseline, DrillKind, LogEntry, Outcome, PersonBaseline, Stored, TaskDone, TrialPhase,
    TrialRecord, is_valid_uid,
};
use crate::review::{ReviewVerdict, ReviewedEvent, parse_side};

/// File name of the journal inside its directory.
pub const JOURNAL_FILE_NAME: &str = "journal.sqlite3";

/// The `format` tag of a JSON export.
pub const EXPORT_FORMAT: &str = "microcue-journal";

/// Numbered schema migrations; entry `i` upgrades `user_version` `i` to `i + 1`.
///
/// Never edit a shipped entry: append a new one.
pub const MIGRATIONS: [&str; 3] = [
    // 1: first schema.
    "CREATE TABLE drill_trials (
         id INTEGER PRIMARY KEY,
         date TEXT NOT NULL,
         kind TEXT NOT NULL,
         target_cue TEXT,
         response_cue TEXT,
         correct INTEGER NOT NULL,
         exposure_ms REAL,
         reaction_ms REAL
     );
     CREATE TABLE log_entries (
         id INTEGER PRIMARY KEY,
         date TEXT NOT NULL,
         cue TEXT NOT NULL,
         context TEXT NOT NULL,
         hypothesis TEXT,
         response TEXT,
         outcome TEXT CHECK (outcome IN ('improved', 'same', 'worse')),
         repair TEXT,
         repair_worked INTEGER,
         note TEXT
     );
     CREATE TABLE plan_state (
         id INTEGER PRIMARY KEY CHECK (id = 1),
         start_date TEXT NOT NULL
     );
     CREATE TABLE plan_done (
         date TEXT NOT NULL,
         task TEXT NOT NULL,
         PRIMARY KEY (date, task)
     );",
    // 2: a uid on every row (idempotent import), trial phase and session, the `confirmed` flag
    // of log entries (false-positive KPI), repeatable plan tasks (3 roleplays a week), and
    // per-person baselines. SQLite cannot add a UNIQUE column with a computed default, so the
    // tables are rebuilt and their rows copied.
    "CREATE TABLE drill_trials_v2 (
         id INTEGER PRIMARY KEY,
         uid TEXT NOT NULL UNIQUE DEFAULT (lower(hex(randomblob(16)))),
         date TEXT NOT NULL,
         kind TEXT NOT NULL CHECK (kind IN ('flash', 'slow_motion', 'mirror', 'roleplay')),
         phase TEXT NOT NULL DEFAULT 'test'
             CHECK (phase IN ('pre_test', 'practice', 'post_test', 'test')),
         target_cue TEXT,
         response_cue TEXT,
         correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
         exposure_ms REAL,
         reaction_ms REAL,
         session TEXT
     );
     INSERT INTO drill_trials_v2
         (id, date, kind, phase, target_cue, response_cue, correct, exposure_ms, reaction_ms)
         SELECT id, date, kind, 'test', target_cue, response_cue, correct, exposure_ms,
                reaction_ms
         FROM drill_trials ORDER BY id;
     DROP TABLE drill_trials;
     ALTER TABLE drill_trials_v2 RENAME TO drill_trials;
     CREATE INDEX drill_trials_by_date ON drill_trials (date);

     CREATE TABLE log_entries_v2 (
         id INTEGER PRIMARY KEY,
         uid TEXT NOT NULL UNIQUE DEFAULT (lower(hex(randomblob(16)))),
         date TEXT NOT NULL,
         cue TEXT NOT NULL,
         context TEXT NOT NULL,
         hypothesis TEXT,
         response TEXT,
         outcome TEXT CHECK (outcome IN ('improved', 'same', 'worse')),
         confirmed INTEGER CHECK (confirmed IN (0, 1)),
         repair TEXT,
         repair_worked INTEGER CHECK (repair_worked IN (0, 1)),
         note TEXT
     );
     INSERT INTO log_entries_v2
         (id, date, cue, context, hypothesis, response, outcome, repair, repair_worked, note)
         SELECT id, date, cue, context, hypothesis, response, outcome, repair, repair_worked, note
         FROM log_entries ORDER BY id;
     DROP TABLE log_entries;
     ALTER TABLE log_entries_v2 RENAME TO log_entries;
     CREATE INDEX log_entries_by_date ON log_entries (date);

     CREATE TABLE plan_done_v2 (
         id INTEGER PRIMARY KEY,
         uid TEXT NOT NULL UNIQUE DEFAULT (lower(hex(randomblob(16)))),
         date TEXT NOT NULL,
         task TEXT NOT NULL
     );
     INSERT INTO plan_done_v2 (date, task) SELECT date, task FROM plan_done ORDER BY date, task;
     DROP TABLE plan_done;
     ALTER TABLE plan_done_v2 RENAME TO plan_done;
     CREATE INDEX plan_done_by_date ON plan_done (date, task);

     CREATE TABLE baselines (
         id INTEGER PRIMARY KEY,
         uid TEXT NOT NULL UNIQUE DEFAULT (lower(hex(randomblob(16)))),
         person TEXT NOT NULL,
         date TEXT NOT NULL,
         frames INTEGER NOT NULL CHECK (frames >= 0),
         channels_json TEXT NOT NULL
     );",
    // 3: the user's verdicts on events the spotter found in their own videos (ground truth of
    // their clips). Times and labels only. One row per event of a video: a second review of the
    // same event replaces the first.
    "CREATE TABLE reviewed_events (
         id INTEGER PRIMARY KEY,
         uid TEXT NOT NULL UNIQUE DEFAULT (lower(hex(randomblob(16)))),
         date TEXT NOT NULL,
         video TEXT NOT NULL,
         onset_s REAL NOT NULL,
         apex_s REAL NOT NULL,
         offset_s REAL NOT NULL,
         detected_cue TEXT NOT NULL,
         detected_side TEXT NOT NULL CHECK (detected_side IN ('left', 'right', 'both')),
         verdict TEXT NOT NULL CHECK (verdict IN ('confirmed', 'corrected', 'rejected')),
         cue TEXT,
         side TEXT CHECK (side IN ('left', 'right', 'both')),
         UNIQUE (video, onset_s, offset_s, detected_cue)
     );
     CREATE INDEX reviewed_events_by_video ON reviewed_events (video, onset_s);",
];

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The journal file for a `MICROCUE_HOME` directory, or in the user's data directory.
pub fn default_journal_path(microcue_home: Option<&Path>) -> Result<PathBuf> {
    if let Some(home) = microcue_home {
        return Ok(home.join(JOURNAL_FILE_NAME));
    }
    directories::ProjectDirs::from("", "", "microcue")
        .map(|dirs| dirs.data_dir().join(JOURNAL_FILE_NAME))
        .ok_or(TrainError::NoDataDirectory)
}

/// The files that make up a journal: the database and SQLite's side files.
pub fn journal_files(path: &Path) -> [PathBuf; 4] {
    let with_suffix = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [
        path.to_path_buf(),
        with_suffix("-wal"),
        with_suffix("-shm"),
        with_suffix("-journal"),
    ]
}

/// Deletes the journal for good: the database file and its `-wal`, `-shm` and `-journal` side
/// files. Returns the files that existed and were removed (empty when there was no journal).
///
/// Close every [`Journal`] on this path first: on Unix a process that still has the file open
/// keeps writing to the unlinked file, which disappears when it closes.
pub fn forget_journal(path: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for file in journal_files(path) {
        match fs::remove_file(&file) {
            Ok(()) => removed.push(file),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(TrainError::Io {
                    action: "delete the journal file",
                    path: file,
                    source,
                });
            }
        }
    }
    Ok(removed)
}

/// An open journal. One connection; cheap to open per command.
#[derive(Debug)]
pub struct Journal {
    connection: Connection,
    path: PathBuf,
}

/// Everything in a journal, as written by `microcue journal export --format json` and read by
/// `import`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalExport {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// Schema version of the journal that wrote it.
    pub schema_version: i64,
    /// Start date of the 60-day plan, if started.
    pub plan_start: Option<Date>,
    /// Drill trials, oldest first.
    pub trials: Vec<Stored<TrialRecord>>,
    /// Real-world log entries, oldest first.
    pub log_entries: Vec<Stored<LogEntry>>,
    /// Plan tasks marked done.
    pub tasks_done: Vec<Stored<TaskDone>>,
    /// Per-person baselines.
    pub baselines: Vec<Stored<PersonBaseline>>,
    /// The user's verdicts on detected events (schema 3; absent from older exports).
    #[serde(default)]
    pub reviewed_events: Vec<Stored<ReviewedEvent>>,
}

/// What an import did. Rows whose uid is already in the journal are skipped (the journal keeps
/// its own version), so importing the same file twice changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub trials_added: usize,
    pub log_entries_added: usize,
    pub tasks_done_added: usize,
    pub baselines_added: usize,
    pub reviewed_events_added: usize,
    /// Rows skipped because their uid was already present.
    pub duplicates_skipped: usize,
    /// Whether the export's plan start was taken (the journal had none).
    pub plan_start_set: bool,
    /// The export's plan start when it differed from the journal's (the journal's is kept).
    pub plan_start_conflict: Option<Date>,
}

/// Which table a CSV export holds (CSV has one table per file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvTable {
    /// Real-world log entries.
    Log,
    /// Drill trials.
    Trials,
    /// Plan tasks done.
    Tasks,
    /// Baselines, one row per person and channel.
    Baselines,
    /// Reviewed events (the user's verdicts on detections).
    Reviews,
}

impl CsvTable {
    /// All tables.
    pub const ALL: [CsvTable; 5] = [
        CsvTable::Log,
        CsvTable::Trials,
        CsvTable::Tasks,
        CsvTable::Baselines,
        CsvTable::Reviews,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            CsvTable::Log => "log",
            CsvTable::Trials => "trials",
            CsvTable::Tasks => "tasks",
            CsvTable::Baselines => "baselines",
            CsvTable::Reviews => "reviews",
        }
    }
}

/// Raw text columns of a trial row, decoded after the query.
struct TrialRow {
    id: i64,
    uid: String,
    date: String,
    kind: String,
    phase: String,
    target: Option<String>,
    response: Option<String>,
    exposure_ms: Option<f64>,
    reaction_ms: Option<f64>,
    session: Option<String>,
}

/// Raw columns of a log row.
struct LogRow {
    id: i64,
    uid: String,
    date: String,
    cue: String,
    context: String,
    hypothesis: Option<String>,
    response: Option<String>,
    outcome: Option<String>,
    confirmed: Option<bool>,
    repair: Option<String>,
    repair_worked: Option<bool>,
    note: Option<String>,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` and upgrades its schema.
    ///
    /// A new file (and its directory) is made readable by its owner only.
    pub fn open(path: impl AsRef<Path>) -> Result<Journal> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.exists()
        {
            fs::create_dir_all(parent).map_err(|source| TrainError::Io {
                action: "create the journal directory",
                path: parent.to_path_buf(),
                source,
            })?;
            restrict_permissions(parent, 0o700)?;
        }
        let is_new = !path.exists();
        let connection = Connection::open(&path).map_err(|source| TrainError::Sqlite {
            action: "open the journal",
            path: path.clone(),
            source,
        })?;
        let mut journal = Journal { connection, path };
        journal.configure()?;
        if is_new {
            restrict_permissions(&journal.path, 0o600)?;
        }
        journal.migrate()?;
        Ok(journal)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sqlite_error(
        &self,
        action: &'static str,
    ) -> impl FnOnce(rusqlite::Error) -> TrainError + use<> {
        sql_err(action, &self.path)
    }

    fn corrupt(&self, table: &'static str, row_id: i64, detail: String) -> TrainError {
        TrainError::CorruptRow {
            table,
            row_id,
            detail,
            path: self.path.clone(),
        }
    }

    fn configure(&mut self) -> Result<()> {
        let err = |action| sql_err(action, &self.path);
        self.connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(err("set the busy timeout"))?;
        let mode: String = self
            .connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(err("switch to WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(TrainError::Invalid {
                what: "journal",
                detail: format!(
                    "SQLite refused WAL mode (got `{mode}`) for `{}`; hint: keep the journal on a \
                     local disk, not a network share",
                    self.path.display()
                ),
            });
        }
        self.connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(err("set synchronous=FULL"))?;
        self.connection
            .pragma_update(None, "secure_delete", true)
            .map_err(err("set secure_delete"))?;
        Ok(())
    }

    /// Schema version of the open file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        self.connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(self.sqlite_error("read the schema version"))
    }

    fn migrate(&mut self) -> Result<()> {
        loop {
            let path = self.path.clone();
            let err = |action| sql_err(action, &path);
            let transaction = self
                .connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err("start a migration"))?;
            // Read inside the write lock: another process may have migrated meanwhile.
            let version: i64 = transaction
                .pragma_query_value(None, "user_version", |row| row.get(0))
                .map_err(err("read the schema version"))?;
            if version > SCHEMA_VERSION {
                return Err(TrainError::SchemaTooNew {
                    found: version,
                    supported: SCHEMA_VERSION,
                    path: self.path.clone(),
                });
            }
            let Some(step) = usize::try_from(version)
                .ok()
                .and_then(|v| MIGRATIONS.get(v))
            else {
                return Ok(());
            };
            transaction
                .execute_batch(step)
                .map_err(err("apply a schema migration"))?;
            transaction
                .pragma_update(None, "user_version", version + 1)
                .map_err(err("record the schema version"))?;
            transaction
                .commit()
                .map_err(err("commit a schema migration"))?;
        }
    }

    /// Runs `write` in one IMMEDIATE transaction and commits it.
    fn write<T>(
        &mut self,
        action: &'static str,
        write: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        let err = move |source| TrainError::Sqlite {
            action,
            path: path.clone(),
            source,
        };
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err.clone())?;
        let value = write(&transaction).map_err(err.clone())?;
        transaction.commit().map_err(err)?;
        Ok(value)
    }

    // ----- drill trials -----

    /// Stores one trial; returns its uid.
    pub fn add_trial(&mut self, trial: &TrialRecord) -> Result<String> {
        trial.validate()?;
        self.write("store a drill trial", |tx| {
            insert_trial(tx, None, trial).map(|uid| uid.unwrap_or_default())
        })
    }

    /// Stores several trials in one transaction (all or nothing); returns their uids.
    pub fn add_trials(&mut self, trials: &[TrialRecord]) -> Result<Vec<String>> {
        for trial in trials {
            trial.validate()?;
        }
        self.write("store drill trials", |tx| {
            trials
                .iter()
                .map(|trial| insert_trial(tx, None, trial).map(|uid| uid.unwrap_or_default()))
                .collect()
        })
    }

    /// All trials, oldest first.
    pub fn trials(&self) -> Result<Vec<Stored<TrialRecord>>> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT id, uid, date, kind, phase, target_cue, response_cue, exposure_ms,
                        reaction_ms, session
                 FROM drill_trials ORDER BY date, id",
            )
            .map_err(self.sqlite_error("read drill trials"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(TrialRow {
                    id: row.get(0)?,
                    uid: row.get(1)?,
                    date: row.get(2)?,
                    kind: row.get(3)?,
                    phase: row.get(4)?,
                    target: row.get(5)?,
                    response: row.get(6)?,
                    exposure_ms: row.get(7)?,
                    reaction_ms: row.get(8)?,
                    session: row.get(9)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(self.sqlite_error("read drill trials"))?;
        rows.into_iter().map(|row| self.decode_trial(row)).collect()
    }

    fn decode_trial(&self, row: TrialRow) -> Result<Stored<TrialRecord>> {
        let bad = |detail: String| self.corrupt("drill_trials", row.id, detail);
        let date = parse_date(&row.date).map_err(|_| bad(format!("date `{}`", row.date)))?;
        let kind =
            DrillKind::parse(&row.kind).ok_or_else(|| bad(format!("kind `{}`", row.kind)))?;
        let phase =
            TrialPhase::parse(&row.phase).ok_or_else(|| bad(format!("phase `{}`", row.phase)))?;
        let cue = |text: &Option<String>| -> Result<Option<CueId>> {
            text.as_deref()
                .map(|t| CueId::parse(t).ok_or_else(|| bad(format!("cue `{t}`"))))
                .transpose()
        };
        Ok(Stored {
            uid: row.uid,
            record: TrialRecord {
                date,
                kind,
                phase,
                target: cue(&row.target)?,
                response: cue(&row.response)?,
                exposure_ms: row.exposure_ms,
                reaction_ms: row.reaction_ms,
                session: row.session,
            },
        })
    }

    // ----- real-world log -----

    /// Stores one real-world log entry; returns its uid.
    pub fn add_log_entry(&mut self, entry: &LogEntry) -> Result<String> {
        entry.validate()?;
        self.write("store a log entry", |tx| {
            insert_log(tx, None, entry).map(|uid| uid.unwrap_or_default())
        })
    }

    /// All log entries, oldest first.
    pub fn log_entries(&self) -> Result<Vec<Stored<LogEntry>>> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT id, uid, date, cue, context, hypothesis, response, outcome, confirmed,
                        repair, repair_worked, note
                 FROM log_entries ORDER BY date, id",
            )
            .map_err(self.sqlite_error("read log entries"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(LogRow {
                    id: row.get(0)?,
                    uid: row.get(1)?,
                    date: row.get(2)?,
                    cue: row.get(3)?,
                    context: row.get(4)?,
                    hypothesis: row.get(5)?,
                    response: row.get(6)?,
                    outcome: row.get(7)?,
                    confirmed: row.get(8)?,
                    repair: row.get(9)?,
                    repair_worked: row.get(10)?,
                    note: row.get(11)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(self.sqlite_error("read log entries"))?;
        rows.into_iter().map(|row| self.decode_log(row)).collect()
    }

    fn decode_log(&self, row: LogRow) -> Result<Stored<LogEntry>> {
        let bad = |detail: String| self.corrupt("log_entries", row.id, detail);
        let date = parse_date(&row.date).map_err(|_| bad(format!("date `{}`", row.date)))?;
        let cue = CueId::parse(&row.cue).ok_or_else(|| bad(format!("cue `{}`", row.cue)))?;
        let outcome = row
            .outcome
            .as_deref()
            .map(|t| Outcome::parse(t).ok_or_else(|| bad(format!("outcome `{t}`"))))
            .transpose()?;
        Ok(Stored {
            uid: row.uid,
            record: LogEntry {
                date,
                cue,
                context: row.context,
                hypothesis: row.hypothesis,
                response: row.response,
                outcome,
                confirmed: row.confirmed,
                repair: row.repair,
                repair_worked: row.repair_worked,
                note: row.note,
            },
        })
    }

    /// Whether a log entry with this uid exists.
    pub fn has_log_entry(&self, uid: &str) -> Result<bool> {
        self.connection
            .query_row(
                "SELECT 1 FROM log_entries WHERE uid = ?1",
                [uid],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(self.sqlite_error("look up a log entry"))
    }

    // ----- plan progress -----

    /// The start date of the 60-day plan, if it was started.
    pub fn plan_start(&self) -> Result<Option<Date>> {
        let text: Option<String> = self
            .connection
            .query_row(
                "SELECT start_date FROM plan_state WHERE id = 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.sqlite_error("read the plan start"))?;
        text.map(|t| {
            parse_date(&t).map_err(|_| self.corrupt("plan_state", 1, format!("date `{t}`")))
        })
        .transpose()
    }

    /// Sets (or moves) the start date of the plan.
    pub fn set_plan_start(&mut self, start: Date) -> Result<()> {
        self.write("store the plan start", |tx| {
            tx.execute(
                "INSERT INTO plan_state (id, start_date) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET start_date = excluded.start_date",
                [start.to_string()],
            )
            .map(drop)
        })
    }

    /// Records that `task` was done on `date`. With `repeatable == false` a second mark on the
    /// same day is ignored. Returns whether a row was added.
    pub fn mark_done(&mut self, date: Date, task: &str, repeatable: bool) -> Result<bool> {
        let date_text = date.to_string();
        self.write("store a done task", |tx| {
            if !repeatable {
                let exists = tx
                    .query_row(
                        "SELECT 1 FROM plan_done WHERE date = ?1 AND task = ?2",
                        params![date_text, task],
                        |_| Ok(()),
                    )
                    .optional()?
                    .is_some();
                if exists {
                    return Ok(false);
                }
            }
            tx.execute(
                "INSERT INTO plan_done (date, task) VALUES (?1, ?2)",
                params![date_text, task],
            )?;
            Ok(true)
        })
    }

    /// All done marks, oldest first.
    pub fn tasks_done(&self) -> Result<Vec<Stored<TaskDone>>> {
        let mut statement = self
            .connection
            .prepare("SELECT id, uid, date, task FROM plan_done ORDER BY date, id")
            .map_err(self.sqlite_error("read done tasks"))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(self.sqlite_error("read done tasks"))?;
        rows.into_iter()
            .map(|(id, uid, date, task)| {
                let date = parse_date(&date)
                    .map_err(|_| self.corrupt("plan_done", id, format!("date `{date}`")))?;
                Ok(Stored {
                    uid,
                    record: TaskDone { date, task },
                })
            })
            .collect()
    }

    // ----- baselines -----

    /// Stores a person's baseline (numbers and a label only); returns its uid.
    pub fn save_baseline(&mut self, baseline: &PersonBaseline) -> Result<String> {
        baseline.validate()?;
        let channels_json =
            serde_json::to_string(&baseline.channels).map_err(|source| TrainError::Json {
                action: "encode baseline",
                path: self.path.clone(),
                source,
            })?;
        self.write("store a baseline", |tx| {
            insert_baseline(tx, None, baseline, &channels_json).map(|uid| uid.unwrap_or_default())
        })
    }

    /// All baselines, oldest first.
    pub fn baselines(&self) -> Result<Vec<Stored<PersonBaseline>>> {
        let mut statement = self
            .connection
            .prepare("SELECT id, uid, person, date, frames, channels_json FROM baselines ORDER BY date, id")
            .map_err(self.sqlite_error("read baselines"))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, u32>(4)?,
                    row.get::<_, String>(5)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(self.sqlite_error("read baselines"))?;
        rows.into_iter()
            .map(|(id, uid, person, date, frames, channels_json)| {
                let date = parse_date(&date)
                    .map_err(|_| self.corrupt("baselines", id, format!("date `{date}`")))?;
                let channels: Vec<ChannelBaseline> = serde_json::from_str(&channels_json)
                    .map_err(|e| self.corrupt("baselines", id, format!("channels: {e}")))?;
                Ok(Stored {
                    uid,
                    record: PersonBaseline {
                        person,
                        date,
                        frames,
                        channels,
                    },
                })
            })
            .collect()
    }

    /// The most recent baseline of `person`.
    pub fn latest_baseline(&self, person: &str) -> Result<Option<PersonBaseline>> {
        Ok(self
            .baselines()?
            .into_iter()
            .rev()
            .find(|b| b.record.person == person)
            .map(|b| b.record))
    }

    // ----- reviewed events -----

    /// Stores the user's verdict on a detected event; a verdict on the same event (same video
    /// label, times and detected cue) replaces the earlier one. Returns the row's uid.
    pub fn save_review(&mut self, review: &ReviewedEvent) -> Result<String> {
        review.validate()?;
        self.write("store a reviewed event", |tx| {
            tx.query_row(
                "INSERT INTO reviewed_events
                     (date, video, onset_s, apex_s, offset_s, detected_cue, detected_side,
                      verdict, cue, side)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (video, onset_s, offset_s, detected_cue) DO UPDATE SET
                     date = excluded.date, apex_s = excluded.apex_s,
                     detected_side = excluded.detected_side, verdict = excluded.verdict,
                     cue = excluded.cue, side = excluded.side
                 RETURNING uid",
                params![
                    review.date.to_string(),
                    review.video,
                    review.onset_s,
                    review.apex_s,
                    review.offset_s,
                    review.detected_cue.as_str(),
                    review.detected_side.as_str(),
                    review.verdict.as_str(),
                    review.cue.map(CueId::as_str),
                    review.side.map(Side::as_str),
                ],
                |row| row.get(0),
            )
        })
    }

    /// All reviewed events, by video label and time.
    pub fn reviewed_events(&self) -> Result<Vec<Stored<ReviewedEvent>>> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT id, uid, date, video, onset_s, apex_s, offset_s, detected_cue,
                        detected_side, verdict, cue, side
                 FROM reviewed_events ORDER BY video, onset_s, id",
            )
            .map_err(self.sqlite_error("read reviewed events"))?;
        #[expect(
            clippy::type_complexity,
            reason = "one row of raw columns, decoded below"
        )]
        let rows: Vec<(
            i64,
            String,
            String,
            String,
            [f64; 3],
            [String; 3],
            [Option<String>; 2],
        )> = statement
            .query_map([], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    [row.get(4)?, row.get(5)?, row.get(6)?],
                    [row.get(7)?, row.get(8)?, row.get(9)?],
                    [row.get(10)?, row.get(11)?],
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(self.sqlite_error("read reviewed events"))?;
        rows.into_iter()
            .map(
                |(
                    id,
                    uid,
                    date,
                    video,
                    times,
                    [detected_cue, detected_side, verdict],
                    [cue, side],
                )| {
                    let bad = |detail: String| self.corrupt("reviewed_events", id, detail);
                    let date = parse_date(&date).map_err(|_| bad(format!("date `{date}`")))?;
                    let parse_cue =
                        |text: &str| CueId::parse(text).ok_or_else(|| bad(format!("cue `{text}`")));
                    let parse_side =
                        |text: &str| parse_side(text).ok_or_else(|| bad(format!("side `{text}`")));
                    let record = ReviewedEvent {
                        date,
                        video,
                        onset_s: times[0],
                        apex_s: times[1],
                        offset_s: times[2],
                        detected_cue: parse_cue(&detected_cue)?,
                        detected_side: parse_side(&detected_side)?,
                        verdict: ReviewVerdict::parse(&verdict)
                            .ok_or_else(|| bad(format!("verdict `{verdict}`")))?,
                        cue: cue.as_deref().map(parse_cue).transpose()?,
                        side: side.as_deref().map(parse_side).transpose()?,
                    };
                    record.validate().map_err(|e| bad(e.to_string()))?;
                    Ok(Stored { uid, record })
                },
            )
            .collect()
    }

    // ----- export / import -----

    /// Everything in the journal.
    pub fn export(&self) -> Result<JournalExport> {
        Ok(JournalExport {
            format: EXPORT_FORMAT.to_owned(),
            schema_version: SCHEMA_VERSION,
            plan_start: self.plan_start()?,
            trials: self.trials()?,
            log_entries: self.log_entries()?,
            tasks_done: self.tasks_done()?,
            baselines: self.baselines()?,
            reviewed_events: self.reviewed_events()?,
        })
    }

    /// Imports an export in one transaction (all or nothing). Rows are keyed by uid: a uid
    /// already in the journal is skipped, so importing twice is harmless. `source` names the
    /// file in error messages.
    pub fn import(&mut self, export: &JournalExport, source: &Path) -> Result<ImportReport> {
        validate_export(export, source)?;
        let current_start = self.plan_start()?;
        let mut encoded_baselines = Vec::with_capacity(export.baselines.len());
        for baseline in &export.baselines {
            let json =
                serde_json::to_string(&baseline.record.channels).map_err(|e| TrainError::Json {
                    action: "encode baseline",
                    path: source.to_path_buf(),
                    source: e,
                })?;
            encoded_baselines.push(json);
        }
        self.write("import a journal export", |tx| {
            let mut report = ImportReport::default();
            let count = |added: Option<String>, counter: &mut usize, skipped: &mut usize| {
                if added.is_some() {
                    *counter += 1
                } else {
                    *skipped += 1
                }
            };
            let mut skipped = 0;
            for trial in &export.trials {
                let added = insert_trial(tx, Some(&trial.uid), &trial.record)?;
                count(added, &mut report.trials_added, &mut skipped);
            }
            for entry in &export.log_entries {
                let added = insert_log(tx, Some(&entry.uid), &entry.record)?;
                count(added, &mut report.log_entries_added, &mut skipped);
            }
            for done in &export.tasks_done {
                let added = tx
                    .query_row(
                        "INSERT INTO plan_done (uid, date, task) VALUES (?1, ?2, ?3)
                         ON CONFLICT (uid) DO NOTHING RETURNING uid",
                        params![done.uid, done.record.date.to_string(), done.record.task],
                        |row| row.get::<_, String>(0),
                    )
                    .optional()?;
                count(added, &mut report.tasks_done_added, &mut skipped);
            }
            for (baseline, json) in export.baselines.iter().zip(&encoded_baselines) {
                let added = insert_baseline(tx, Some(&baseline.uid), &baseline.record, json)?;
                count(added, &mut report.baselines_added, &mut skipped);
            }
            for review in &export.reviewed_events {
                let added = insert_review(tx, Some(&review.uid), &review.record)?;
                count(added, &mut report.reviewed_events_added, &mut skipped);
            }
            report.duplicates_skipped = skipped;
            match (current_start, export.plan_start) {
                (None, Some(start)) => {
                    tx.execute(
                        "INSERT INTO plan_state (id, start_date) VALUES (1, ?1)",
                        [start.to_string()],
                    )?;
                    report.plan_start_set = true;
                }
                (Some(current), Some(start)) if current != start => {
                    report.plan_start_conflict = Some(start);
                }
                _ => {}
            }
            Ok(report)
        })
    }

    /// `PRAGMA integrity_check`: `["ok"]` for a sound file, otherwise the problems found.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut statement = self
            .connection
            .prepare("PRAGMA integrity_check")
            .map_err(self.sqlite_error("check integrity"))?;
        statement
            .query_map([], |row| row.get::<_, String>(0))
            .and_then(|rows| rows.collect())
            .map_err(self.sqlite_error("check integrity"))
    }
}

/// Maps a SQLite error to [`TrainError::Sqlite`] naming the action and the file.
fn sql_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(rusqlite::Error) -> TrainError + use<> {
    let path = path.to_path_buf();
    move |source| TrainError::Sqlite {
        action,
        path,
        source,
    }
}

fn restrict_permissions(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| {
            TrainError::Io {
                action: "restrict permissions of",
                path: path.to_path_buf(),
                source,
            }
        })?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Inserts a trial; with `uid == None` SQLite makes one. Returns the uid, or `None` when a row
/// with that uid already exists.
fn insert_trial(
    tx: &rusqlite::Transaction<'_>,
    uid: Option<&str>,
    trial: &TrialRecord,
) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        "INSERT INTO drill_trials
             (uid, date, kind, phase, target_cue, response_cue, correct, exposure_ms, reaction_ms,
              session)
         VALUES (coalesce(?1, lower(hex(randomblob(16)))), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (uid) DO NOTHING RETURNING uid",
        params![
            uid,
            trial.date.to_string(),
            trial.kind.as_str(),
            trial.phase.as_str(),
            trial.target.map(CueId::as_str),
            trial.response.map(CueId::as_str),
            trial.correct(),
            trial.exposure_ms,
            trial.reaction_ms,
            trial.session,
        ],
        |row| row.get(0),
    )
    .optional()
}

fn insert_log(
    tx: &rusqlite::Transaction<'_>,
    uid: Option<&str>,
    entry: &LogEntry,
) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        "INSERT INTO log_entries
             (uid, date, cue, context, hypothesis, response, outcome, confirmed, repair,
              repair_worked, note)
         VALUES (coalesce(?1, lower(hex(randomblob(16)))), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (uid) DO NOTHING RETURNING uid",
        params![
            uid,
            entry.date.to_string(),
            entry.cue.as_str(),
            entry.context,
            entry.hypothesis,
            entry.response,
            entry.outcome.map(Outcome::as_str),
            entry.confirmed,
            entry.repair,
            entry.repair_worked,
            entry.note,
        ],
        |row| row.get(0),
    )
    .optional()
}

/// Inserts a reviewed event from an export; `None` when its uid, or a review of the same event,
/// is already there (the journal keeps its own).
fn insert_review(
    tx: &rusqlite::Transaction<'_>,
    uid: Option<&str>,
    review: &ReviewedEvent,
) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        "INSERT INTO reviewed_events
             (uid, date, video, onset_s, apex_s, offset_s, detected_cue, detected_side, verdict,
              cue, side)
         VALUES (coalesce(?1, lower(hex(randomblob(16)))), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT DO NOTHING RETURNING uid",
        params![
            uid,
            review.date.to_string(),
            review.video,
            review.onset_s,
            review.apex_s,
            review.offset_s,
            review.detected_cue.as_str(),
            review.detected_side.as_str(),
            review.verdict.as_str(),
            review.cue.map(CueId::as_str),
            review.side.map(Side::as_str),
        ],
        |row| row.get(0),
    )
    .optional()
}

fn insert_baseline(
    tx: &rusqlite::Transaction<'_>,
    uid: Option<&str>,
    baseline: &PersonBaseline,
    channels_json: &str,
) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        "INSERT INTO baselines (uid, person, date, frames, channels_json)
         VALUES (coalesce(?1, lower(hex(randomblob(16)))), ?2, ?3, ?4, ?5)
         ON CONFLICT (uid) DO NOTHING RETURNING uid",
        params![
            uid,
            baseline.person,
            baseline.date.to_string(),
            baseline.frames,
            channels_json
        ],
        |row| row.get(0),
    )
    .optional()
}

/// Checks an export before anything is written.
fn validate_export(export: &JournalExport, source: &Path) -> Result<()> {
    let bad = |detail: String| TrainError::BadExport {
        detail,
        path: source.to_path_buf(),
    };
    if export.format != EXPORT_FORMAT {
        return Err(bad(format!(
            "format is `{}`, expected `{EXPORT_FORMAT}`",
            export.format
        )));
    }
    if export.schema_version > SCHEMA_VERSION {
        return Err(bad(format!(
            "written by schema version {}, this microcue reads up to {SCHEMA_VERSION}; hint: \
             upgrade microcue",
            export.schema_version
        )));
    }
    let check_uid = |table: &str, index: usize, uid: &str| {
        if is_valid_uid(uid) {
            Ok(())
        } else {
            Err(bad(format!(
                "{table}[{index}] has uid `{uid}`, expected 32 hex digits"
            )))
        }
    };
    let wrap =
        |table: &str, index: usize, error: TrainError| bad(format!("{table}[{index}]: {error}"));
    for (index, trial) in export.trials.iter().enumerate() {
        check_uid("trials", index, &trial.uid)?;
        trial
            .record
            .validate()
            .map_err(|e| wrap("trials", index, e))?;
    }
    for (index, entry) in export.log_entries.iter().enumerate() {
        check_uid("log_entries", index, &entry.uid)?;
        entry
            .record
            .validate()
            .map_err(|e| wrap("log_entries", index, e))?;
    }
    for (index, done) in export.tasks_done.iter().enumerate() {
        check_uid("tasks_done", index, &done.uid)?;
        if done.record.task.trim().is_empty() {
            return Err(bad(format!("tasks_done[{index}] has an empty task")));
        }
    }
    for (index, baseline) in export.baselines.iter().enumerate() {
        check_uid("baselines", index, &baseline.uid)?;
        baseline
            .record
            .validate()
            .map_err(|e| wrap("baselines", index, e))?;
    }
    for (index, review) in export.reviewed_events.iter().enumerate() {
        check_uid("reviewed_events", index, &review.uid)?;
        review
            .record
            .validate()
            .map_err(|e| wrap("reviewed_events", index, e))?;
    }
    Ok(())
}

/// Largest export file read: years of daily drills are a few megabytes.
pub const MAX_EXPORT_BYTES: u64 = 256 << 20;

/// Reads a JSON export file (at most [`MAX_EXPORT_BYTES`]).
pub fn read_export(path: &Path) -> Result<JournalExport> {
    let io_error = |source| TrainError::Io {
        action: "read the export",
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(io_error)?;
    let len_bytes = file.metadata().map_err(io_error)?.len();
    let mut text = String::new();
    // `take` also bounds a file that grows while it is read.
    file.take(MAX_EXPORT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io_error)?;
    if len_bytes.max(text.len() as u64) > MAX_EXPORT_BYTES {
        return Err(TrainError::BadExport {
            detail: format!(
                "{} bytes, more than an export holds ({MAX_EXPORT_BYTES})",
                len_bytes.max(text.len() as u64)
            ),
            path: path.to_path_buf(),
        });
    }
    serde_json::from_str(&text).map_err(|source| TrainError::Json {
        action: "parse",
        path: path.to_path_buf(),
        source,
    })
}

/// Writes one table of an export as CSV (header first). `destination` names the output in error
/// messages.
pub fn write_csv(
    export: &JournalExport,
    table: CsvTable,
    writer: impl Write,
    destination: &Path,
) -> Result<()> {
    let mut csv = csv::Writer::from_writer(writer);
    let err = |source| TrainError::Csv {
        path: destination.to_path_buf(),
        source,
    };
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let flag = |value: Option<bool>| match value {
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
        None => String::new(),
    };
    let number = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
    let cue = |value: Option<CueId>| value.map(|c| c.as_str().to_owned()).unwrap_or_default();
    match table {
        CsvTable::Log => {
            csv.write_record([
                "uid",
                "date",
                "cue",
                "context",
                "hypothesis",
                "response",
                "outcome",
                "confirmed",
                "repair",
                "repair_worked",
                "note",
            ])
            .map_err(err)?;
            for entry in &export.log_entries {
                let e = &entry.record;
                csv.write_record([
                    entry.uid.clone(),
                    e.date.to_string(),
                    e.cue.as_str().to_owned(),
                    e.context.clone(),
                    text(&e.hypothesis),
                    text(&e.response),
                    e.outcome.map(|o| o.as_str().to_owned()).unwrap_or_default(),
                    flag(e.confirmed),
                    text(&e.repair),
                    flag(e.repair_worked),
                    text(&e.note),
                ])
                .map_err(err)?;
            }
        }
        CsvTable::Trials => {
            csv.write_record([
                "uid",
                "date",
                "kind",
                "phase",
                "target",
                "response",
                "correct",
                "exposure_ms",
                "reaction_ms",
                "session",
            ])
            .map_err(err)?;
            for trial in &export.trials {
                let t = &trial.record;
                csv.write_record([
                    trial.uid.clone(),
                    t.date.to_string(),
                    t.kind.as_str().to_owned(),
                    t.phase.as_str().to_owned(),
                    cue(t.target),
                    cue(t.response),
                    flag(Some(t.correct())),
                    number(t.exposure_ms),
                    number(t.reaction_ms),
                    text(&t.session),
                ])
                .map_err(err)?;
            }
        }
        CsvTable::Tasks => {
            csv.write_record(["uid", "date", "task"]).map_err(err)?;
            for done in &export.tasks_done {
                csv.write_record([
                    done.uid.clone(),
                    done.record.date.to_string(),
                    done.record.task.clone(),
                ])
                .map_err(err)?;
            }
        }
        CsvTable::Baselines => {
            csv.write_record([
                "uid", "person", "date", "frames", "channel", "median", "mad",
            ])
            .map_err(err)?;
            for baseline in &export.baselines {
                let b = &baseline.record;
                for channel in &b.channels {
                    csv.write_record([
                        baseline.uid.clone(),
                        b.person.clone(),
                        b.date.to_string(),
                        b.frames.to_string(),
                        channel.channel.clone(),
                        channel.median.to_string(),
                        channel.mad.to_string(),
                    ])
                    .map_err(err)?;
                }
            }
        }
        CsvTable::Reviews => {
            csv.write_record([
                "uid",
                "date",
                "video",
                "onset_s",
                "apex_s",
                "offset_s",
                "detected_cue",
                "detected_side",
                "verdict",
                "cue",
                "side",
            ])
            .map_err(err)?;
            for review in &export.reviewed_events {
                let r = &review.record;
                csv.write_record([
                    review.uid.clone(),
                    r.date.to_string(),
                    r.video.clone(),
                    r.onset_s.to_string(),
                    r.apex_s.to_string(),
                    r.offset_s.to_string(),
                    r.detected_cue.as_str().to_owned(),
                    r.detected_side.as_str().to_owned(),
                    r.verdict.as_str().to_owned(),
                    cue(r.cue),
                    r.side.map(|s| s.as_str().to_owned()).unwrap_or_default(),
                ])
                .map_err(err)?;
            }
        }
    }
    csv.flush().map_err(|source| TrainError::Io {
        action: "write CSV to",
        path: destination.to_path_buf(),
        source,
    })
}
