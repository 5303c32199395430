//! The one error type of the crate: [`TrainError`].

use std::path::PathBuf;

/// Everything that can go wrong in the journal, the drills or the plan.
///
/// Messages say what failed and end with the path of the file involved; where the user can do
/// something about it, a `hint:` follows.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A SQLite call failed.
    #[error("journal: cannot {action}: `{}`", path.display())]
    Sqlite {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// The journal was written by a newer microcue.
    #[error(
        "journal schema version {found} is newer than this microcue understands ({supported}); \
         hint: upgrade microcue or point MICROCUE_HOME at another directory: `{}`",
        path.display()
    )]
    SchemaTooNew {
        found: i64,
        supported: i64,
        path: PathBuf,
    },

    /// A stored row does not decode (hand-edited or damaged file).
    #[error("journal row {table}#{row_id} is invalid ({detail}): `{}`", path.display())]
    CorruptRow {
        table: &'static str,
        row_id: i64,
        detail: String,
        path: PathBuf,
    },

    /// File system error.
    #[error("cannot {action}: `{}`", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// JSON (de)serialisation of an export failed.
    #[error("cannot {action} journal JSON: `{}`", path.display())]
    Json {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// CSV writing failed.
    #[error("cannot write CSV: `{}`", path.display())]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },

    /// A CSV file cannot be read (I/O error, or text that is not UTF-8).
    #[error("cannot read CSV: `{}`", path.display())]
    CsvRead {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },

    /// A truth CSV lacks what its header must name.
    #[error("`{}` {detail}", path.display())]
    TruthCsvHeader { path: PathBuf, detail: String },

    /// A row of a truth CSV is not a valid event.
    #[error("`{}` line {line}: {detail}", path.display())]
    TruthCsvRow {
        path: PathBuf,
        line: u64,
        detail: String,
    },

    /// An export file is not a microcue journal export or holds invalid records.
    #[error("not a valid microcue journal export ({detail}): `{}`", path.display())]
    BadExport { detail: String, path: PathBuf },

    /// No per-user data directory could be found.
    #[error("cannot find a data directory for the journal; hint: set MICROCUE_HOME to a directory")]
    NoDataDirectory,

    /// A date string is not `YYYY-MM-DD`.
    #[error("invalid date `{text}`; hint: write dates as YYYY-MM-DD")]
    InvalidDate {
        text: String,
        #[source]
        source: jiff::Error,
    },

    /// A record or argument breaks a rule (e.g. an outcome without a response).
    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },

    /// A drill was driven out of order (e.g. an answer to a trial that was not shown).
    #[error("drill: {detail}")]
    DrillState { detail: String },

    /// A task id that the plan does not know.
    #[error("unknown plan task `{task}`; hint: one of {known}")]
    UnknownTask { task: String, known: String },
}

/// Result alias of the crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
