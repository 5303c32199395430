//! `microcue log`: the real-world log — one entry per detection (cue, context, hypothesis,
//! response, outcome, confirmation, repair), the data behind the KPIs.

use std::process::ExitCode;

use microcue_core::CueId;
use microcue_core::lexicon;
use microcue_train::{LogEntry, Outcome};

use super::journal::JournalLocation;
use crate::stdout::print;

/// Appends one line to the output buffer (printed at the end, tolerating a closed pipe).
macro_rules! say {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = writeln!($out, $($arg)*);
    }};
}

/// Arguments of `microcue log`.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    #[command(subcommand)]
    pub action: LogAction,
    #[command(flatten)]
    pub location: JournalLocation,
}

/// Add or list entries.
#[derive(Debug, clap::Subcommand)]
pub enum LogAction {
    /// Log one real-world detection (`--date` for another day than today).
    Add(LogAddArgs),
    /// List logged detections, oldest first.
    List {
        /// Only the last N entries.
        #[arg(long, value_name = "N")]
        last: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// One detection.
#[derive(Debug, clap::Args)]
pub struct LogAddArgs {
    /// The cue you spotted (see `microcue lexicon`).
    #[arg(long, value_parser = parse_cue)]
    pub cue: CueId,
    /// What was said or happened just before, in a few words.
    #[arg(long)]
    pub context: String,
    /// Your quick guess: positive / neutral / negative, or words.
    #[arg(long)]
    pub hypothesis: Option<String>,
    /// The micro-response you used, if any (then --outcome is required).
    #[arg(long, requires = "outcome")]
    pub response: Option<String>,
    /// How the interaction went after your response.
    #[arg(long, value_enum, requires = "response")]
    pub outcome: Option<OutcomeArg>,
    /// Whether the cue was followed by the matching emotion (no = a false positive).
    #[arg(long, value_parser = parse_yes_no, value_name = "yes|no")]
    pub confirmed: Option<bool>,
    /// The repair line you used after a misread.
    #[arg(long)]
    pub repair: Option<String>,
    /// Whether the repair fixed the misread.
    #[arg(long, value_parser = parse_yes_no, value_name = "yes|no", requires = "repair")]
    pub repair_worked: Option<bool>,
    /// Free text.
    #[arg(long)]
    pub note: Option<String>,
}

/// Outcome after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutcomeArg {
    /// Smile, longer reply, agreement, warmer body language.
    Improved,
    /// No visible change.
    Same,
    /// Withdrawal, shorter replies, tension.
    Worse,
}

impl From<OutcomeArg> for Outcome {
    fn from(outcome: OutcomeArg) -> Outcome {
        match outcome {
            OutcomeArg::Improved => Outcome::Improved,
            OutcomeArg::Same => Outcome::Same,
            OutcomeArg::Worse => Outcome::Worse,
        }
    }
}

/// Parses a cue id, listing the valid ones on error.
pub fn parse_cue(text: &str) -> Result<CueId, String> {
    CueId::parse(text).ok_or_else(|| {
        let ids: Vec<&str> = CueId::ALL.iter().map(|c| c.as_str()).collect();
        format!("unknown cue `{text}`; one of: {}", ids.join(", "))
    })
}

/// Parses yes/no (also true/false, y/n, 1/0).
pub fn parse_yes_no(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err(format!("expected yes or no, got `{text}`")),
    }
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Runs `microcue log`.
pub fn run(args: LogArgs) -> anyhow::Result<ExitCode> {
    let mut out = String::new();
    let result = execute(args, &mut out);
    print(&out)?;
    result
}

fn execute(args: LogArgs, out: &mut String) -> anyhow::Result<ExitCode> {
    match args.action {
        LogAction::Add(add) => {
            let date = args.location.today()?;
            let entry = LogEntry {
                date,
                cue: add.cue,
                context: add.context.trim().to_owned(),
                hypothesis: non_empty(add.hypothesis),
                response: non_empty(add.response),
                outcome: add.outcome.map(Outcome::from),
                confirmed: add.confirmed,
                repair: non_empty(add.repair),
                repair_worked: add.repair_worked,
                note: non_empty(add.note),
            };
            let mut journal = args.location.open()?;
            journal.add_log_entry(&entry)?;
            let count = journal
                .log_entries()?
                .iter()
                .filter(|e| e.record.date == date)
                .count();
            say!(out, "logged {} on {date} ({count} today)", entry.cue);
            if entry.response.is_none() {
                let entry_lexicon = lexicon::entry(entry.cue);
                if let Some(family) = entry_lexicon.family {
                    say!(
                        out,
                        "playbook: {} — {} (a single cue is a hypothesis: look for a second signal)",
                        lexicon::family_name(family),
                        entry_lexicon.response
                    );
                }
            }
            if entry.confirmed.is_none() {
                say!(
                    out,
                    "tip: add --confirmed yes|no when you know whether the emotion followed (false-positive KPI)"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        LogAction::List { last, json } => {
            let journal = args.location.open()?;
            let mut entries = journal.log_entries()?;
            if let Some(last) = last {
                let skip = entries.len().saturating_sub(last);
                entries.drain(..skip);
            }
            if json {
                say!(out, "{}", serde_json::to_string_pretty(&entries)?);
                return Ok(ExitCode::SUCCESS);
            }
            if entries.is_empty() {
                say!(
                    out,
                    "no entries yet; add one with: microcue log add --cue CUE --context \"...\""
                );
                return Ok(ExitCode::SUCCESS);
            }
            say!(
                out,
                "{:<10}  {:<21}  {:<8}  {:<9}  {:<6}  context",
                "date",
                "cue",
                "outcome",
                "confirmed",
                "repair"
            );
            for stored in &entries {
                let e = &stored.record;
                let yes_no = |v: Option<bool>| match v {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "–",
                };
                let repair = match (&e.repair, e.repair_worked) {
                    (None, _) => "–",
                    (Some(_), Some(true)) => "worked",
                    (Some(_), Some(false)) => "failed",
                    (Some(_), None) => "used",
                };
                let mut context = e.context.replace('\n', " ");
                if context.chars().count() > 48 {
                    context = context.chars().take(47).collect::<String>() + "…";
                }
                say!(
                    out,
                    "{:<10}  {:<21}  {:<8}  {:<9}  {:<6}  {context}",
                    e.date.to_string(),
                    e.cue.as_str(),
                    e.outcome.map_or("–", Outcome::as_str),
                    yes_no(e.confirmed),
                    repair
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
