//! `microcue journal`: where the training journal lives, export (JSON, CSV), import, forget.
//!
//! Also holds what the training commands (`plan`, `log`, `kpi`, `drill`) share: the journal
//! location (`--home` / `MICROCUE_HOME`) and today's date (`--date` / `MICROCUE_TODAY`, else the
//! local clock — the only place the training code reads the clock).

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use microcue_train::Journal;
use microcue_train::dates::{Date, parse_date};
use microcue_train::journal::{self as store, CsvTable};

use crate::stdout::Stdout;

/// Where the journal is and what day it is; shared by the training commands.
#[derive(Debug, Clone, clap::Args)]
pub struct JournalLocation {
    /// Directory holding the journal (default: the user's data directory).
    #[arg(
        long = "home",
        env = "MICROCUE_HOME",
        value_name = "DIR",
        global = true
    )]
    pub home: Option<PathBuf>,
    /// Today's date as YYYY-MM-DD (default: the local date).
    #[arg(
        long = "date",
        env = "MICROCUE_TODAY",
        value_name = "YYYY-MM-DD",
        global = true
    )]
    pub today: Option<String>,
}

impl JournalLocation {
    /// The journal file.
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        Ok(store::default_journal_path(self.home.as_deref())?)
    }

    /// Opens (creating on first use) the journal.
    pub fn open(&self) -> anyhow::Result<Journal> {
        Ok(Journal::open(self.path()?)?)
    }

    /// Today's date: `--date`, `MICROCUE_TODAY`, or the local clock.
    pub fn today(&self) -> anyhow::Result<Date> {
        match &self.today {
            Some(text) => Ok(parse_date(text)?),
            None => Ok(jiff::Zoned::now().date()),
        }
    }
}

/// Arguments of `microcue journal`.
#[derive(Debug, clap::Args)]
pub struct JournalArgs {
    #[command(subcommand)]
    pub action: JournalAction,
    #[command(flatten)]
    pub location: JournalLocation,
}

/// What to do with the journal.
#[derive(Debug, clap::Subcommand)]
pub enum JournalAction {
    /// Print where the journal file is.
    Path,
    /// Write the journal as JSON (everything; what `import` reads) or CSV (one table).
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// Table to write as CSV.
        #[arg(long, value_enum, default_value_t = TableArg::Log)]
        table: TableArg,
        /// Output file (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Instead: the events you confirmed or corrected in `drill review` of the video with
        /// this label, as a truth CSV for `microcue eval score` (cue,side,onset_s,apex_s,
        /// offset_s,duration_ms,verdict).
        #[arg(long, value_name = "LABEL", conflicts_with_all = ["format", "table"])]
        truth: Option<String>,
    },
    /// Add the rows of a JSON export. Rows already present (same uid) are skipped, so
    /// importing the same file twice is harmless.
    Import {
        /// A file written by `microcue journal export --format json`.
        file: PathBuf,
    },
    /// Delete the journal for good: the database and its -wal and -shm files.
    Forget {
        /// Required: everything is deleted (trials, log, plan progress, baselines).
        #[arg(long, required = true)]
        all: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

/// Export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Json,
    Csv,
}

/// Journal table for CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableArg {
    /// Real-world log entries.
    Log,
    /// Drill trials.
    Trials,
    /// Plan tasks done.
    Tasks,
    /// Per-person baselines (one row per channel).
    Baselines,
    /// Your verdicts on detected events (`drill review`).
    Reviews,
}

impl From<TableArg> for CsvTable {
    fn from(table: TableArg) -> CsvTable {
        match table {
            TableArg::Log => CsvTable::Log,
            TableArg::Trials => CsvTable::Trials,
            TableArg::Tasks => CsvTable::Tasks,
            TableArg::Baselines => CsvTable::Baselines,
            TableArg::Reviews => CsvTable::Reviews,
        }
    }
}

/// Runs `microcue journal`.
pub fn run(args: JournalArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        JournalAction::Path => {
            println!("{}", args.location.path()?.display());
            Ok(ExitCode::SUCCESS)
        }
        JournalAction::Export {
            truth: Some(label),
            out,
            ..
        } => export_truth(&args.location, &label, out.as_deref()),
        JournalAction::Export {
            format, table, out, ..
        } => export(&args.location, format, table, out.as_deref()),
        JournalAction::Import { file } => import(&args.location, &file),
        JournalAction::Forget { all: _, yes } => forget(&args.location, yes),
    }
}

fn export(
    location: &JournalLocation,
    format: ExportFormat,
    table: TableArg,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let journal = location.open()?;
    let export = journal.export()?;
    let destination = out.map_or_else(|| PathBuf::from("<stdout>"), Path::to_path_buf);
    let mut writer: Box<dyn Write> = match out {
        Some(path) => {
            Box::new(BufWriter::new(File::create(path).with_context(|| {
                format!("cannot create `{}`", path.display())
            })?))
        }
        None => Box::new(Stdout::new()),
    };
    match format {
        ExportFormat::Json => {
            serde_json::to_writer_pretty(&mut writer, &export)
                .with_context(|| format!("cannot write `{}`", destination.display()))?;
            writeln!(writer)
                .with_context(|| format!("cannot write `{}`", destination.display()))?;
        }
        ExportFormat::Csv => store::write_csv(&export, table.into(), &mut writer, &destination)?,
    }
    writer
        .flush()
        .with_context(|| format!("cannot write `{}`", destination.display()))?;
    if let Some(path) = out {
        eprintln!(
            "exported {} trials, {} log entries, {} done tasks, {} baselines, {} reviewed events to `{}`{}",
            export.trials.len(),
            export.log_entries.len(),
            export.tasks_done.len(),
            export.baselines.len(),
            export.reviewed_events.len(),
            path.display(),
            if format == ExportFormat::Csv {
                " (CSV: one table; use --format json for a full backup)"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn export_truth(
    location: &JournalLocation,
    label: &str,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let journal = location.open()?;
    let reviews: Vec<_> = journal
        .reviewed_events()?
        .into_iter()
        .map(|r| r.record)
        .collect();
    if !reviews.iter().any(|r| r.video == label && r.is_movement()) {
        let mut labels: Vec<&str> = reviews.iter().map(|r| r.video.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        bail!(
            "no confirmed or corrected events for `{label}` in the journal\nhint: {}",
            if labels.is_empty() {
                "review a video's events first: `microcue drill review EVENTS.jsonl --label LABEL`"
                    .to_owned()
            } else {
                format!("labels with reviews: {}", labels.join(", "))
            }
        );
    }
    let destination = out.map_or_else(|| PathBuf::from("<stdout>"), Path::to_path_buf);
    let mut writer: Box<dyn Write> = match out {
        Some(path) => {
            Box::new(BufWriter::new(File::create(path).with_context(|| {
                format!("cannot create `{}`", path.display())
            })?))
        }
        None => Box::new(Stdout::new()),
    };
    let rows = microcue_train::review::write_truth_csv(&reviews, label, &mut writer, &destination)?;
    writer
        .flush()
        .with_context(|| format!("cannot write `{}`", destination.display()))?;
    eprintln!(
        "wrote {rows} truth event(s) of `{label}` to `{}` (the events you confirmed or corrected; \
         rejected ones are left out)",
        destination.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn import(location: &JournalLocation, file: &Path) -> anyhow::Result<ExitCode> {
    let export = store::read_export(file)?;
    let mut journal = location.open()?;
    let report = journal.import(&export, file)?;
    println!(
        "imported {} trials, {} log entries, {} done tasks, {} baselines, {} reviewed events; {} already present",
        report.trials_added,
        report.log_entries_added,
        report.tasks_done_added,
        report.baselines_added,
        report.reviewed_events_added,
        report.duplicates_skipped
    );
    if report.plan_start_set
        && let Some(start) = export.plan_start
    {
        println!("plan start set to {start}");
    }
    if let Some(other) = report.plan_start_conflict {
        println!(
            "kept this journal's plan start; the export's was {other} (hint: `microcue plan --start {other}` to use it)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn forget(location: &JournalLocation, yes: bool) -> anyhow::Result<ExitCode> {
    let path = location.path()?;
    let existing: Vec<PathBuf> = store::journal_files(&path)
        .into_iter()
        .filter(|f| f.exists())
        .collect();
    if existing.is_empty() {
        println!("no journal at `{}`: nothing to forget", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "refusing to delete `{}` without confirmation\nhint: add --yes to delete it from a script",
                path.display()
            );
        }
        eprint!(
            "This deletes every trial, log entry, plan mark and baseline in `{}`.\nType `forget` to confirm: ",
            path.display()
        );
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .context("cannot read the confirmation")?;
        if answer.trim() != "forget" {
            eprintln!("not confirmed; nothing deleted");
            return Ok(ExitCode::FAILURE);
        }
    }
    let removed = store::forget_journal(&path)?;
    for file in &removed {
        println!("deleted `{}`", file.display());
    }
    Ok(ExitCode::SUCCESS)
}
