//! `microcue drill`: the drills in the terminal.
//!
//! - `drill flash`: the METT flash drill with real pictures — a neutral face warped into each
//!   cue, drawn with 24-bit colour half-block characters, timed and measured ([`flash`]);
//!   `--demo` runs the engine with a simulated observer instead, to show the staircase.
//! - `drill review`: walk through the events `microcue analyze` found in your own video and
//!   confirm, correct or reject each — ground truth of your clips ([`review`]).
//! - `drill slowmo`: a slow-motion quiz over the events you confirmed ([`review`]).
//! - `drill record`: store a result produced elsewhere; `drill card`: roleplay cue cards.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use microcue_core::{CueId, lexicon};
use microcue_train::flash::{FlashConfig, FlashDrill, FlashStep, SimulatedObserver};
use microcue_train::roleplay::{ROLEPLAY_INSTRUCTION, RoleplayDeck};
use microcue_train::{DrillKind, TrialPhase, TrialRecord};

use super::analyze::Consent;
use super::journal::JournalLocation;
use super::log::parse_cue;
use crate::stdout::print;

pub use review::{ReviewArgs, SlowmoArgs};

pub(crate) use microcue_app::render::DRILL_INTENSITY;

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

mod flash;
mod review;

/// Arguments of `microcue drill`.
#[derive(Debug, clap::Args)]
pub struct DrillArgs {
    #[command(subcommand)]
    pub action: DrillAction,
    #[command(flatten)]
    pub location: JournalLocation,
}

/// Which drill action.
#[derive(Debug, clap::Subcommand)]
pub enum DrillAction {
    /// Record one trial result produced elsewhere (web UI, a partner, a video test).
    Record(RecordArgs),
    /// The flash recognition drill (METT) with faces in the terminal (`--demo`: simulated).
    ///
    /// Pre-test, learn, practice, post-test; every answer is saved at once (`q` quits, keeping
    /// them). With `--demo` a simulated observer answers instead, to show the staircase, and
    /// nothing is saved.
    Flash(FlashArgs),
    /// Confirm, correct or reject the events `microcue analyze` found in your own video.
    ///
    /// The answers become ground truth of your clips (`microcue journal export --truth LABEL`).
    Review(ReviewArgs),
    /// Slow-motion quiz over the events you confirmed in `drill review`.
    Slowmo(SlowmoArgs),
    /// Draw roleplay cue cards for a partner to perform (then `drill record --kind roleplay`).
    Card {
        /// How many cards.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Seed of the shuffle (default: from the clock).
        #[arg(long)]
        seed: Option<u64>,
    },
}

/// One trial result.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Which drill produced it.
    #[arg(long, value_parser = parse_kind)]
    pub kind: DrillKind,
    /// The cue shown or requested; `none` for a catch trial (nothing shown).
    #[arg(long, value_parser = parse_optional_cue)]
    pub cue: OptionalCue,
    /// The answer; `none` for "saw nothing".
    #[arg(long, value_parser = parse_optional_cue)]
    pub answered: OptionalCue,
    /// Exposure of the flash, ms (flash drill); duration of the movement (mirror).
    #[arg(long, value_name = "MS")]
    pub exposure_ms: Option<f64>,
    /// Reaction time, ms.
    #[arg(long, value_name = "MS")]
    pub rt_ms: Option<f64>,
    /// pre_test, practice, post_test or test (practice is not counted in accuracy KPIs).
    #[arg(long, value_parser = parse_phase, default_value = "test")]
    pub phase: TrialPhase,
    /// Groups the trials of one session.
    #[arg(long)]
    pub session: Option<String>,
}

/// Settings of the flash drill.
#[derive(Debug, clap::Args)]
pub struct FlashArgs {
    /// Run the engine with a simulated observer instead of you (nothing is saved).
    #[arg(long)]
    pub demo: bool,
    /// A short session (3 cues; 4 pre-test, 4 practice, 4 post-test trials; short pauses).
    #[arg(long, conflicts_with = "demo")]
    pub quick: bool,
    /// Trials per phase (default: 30 pre-test, 40 practice, 30 post-test; demo: 30 each).
    #[arg(long)]
    pub trials: Option<u32>,
    /// A video of a consenting person to take the neutral face from (default: the bundled
    /// MIT-licensed clip). Frames stay in memory.
    #[arg(long, conflicts_with = "demo")]
    pub video: Option<PathBuf>,
    /// Time of the neutral frame in `--video`, seconds.
    #[arg(long, default_value_t = 0.0)]
    pub at: f64,
    /// Confirms the consent of the person in `--video`.
    #[arg(long, value_enum)]
    pub consent: Option<Consent>,
    /// Width of the face picture in pixels = terminal columns (default: 80, less if the
    /// terminal is smaller).
    #[arg(long, value_name = "PX")]
    pub width: Option<u32>,
    /// Neutral face before the flash, ms (default 1000; --quick 400).
    #[arg(long, value_name = "MS")]
    pub neutral_ms: Option<f64>,
    /// Demo: the simulated observer's 75%-correct exposure before practice, ms.
    #[arg(long, default_value_t = 160.0)]
    pub threshold_ms: f64,
    /// Demo: how much practice lowers that threshold, as a factor (0.6 = 40 % shorter).
    #[arg(long, default_value_t = 0.6)]
    pub practice_gain: f64,
    /// Seed of the trial order (demo: also of the simulated answers; default 1 for the demo,
    /// the clock otherwise).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Demo: print every trial.
    #[arg(long)]
    pub verbose: bool,
}

/// A cue or "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalCue(pub Option<CueId>);

fn parse_optional_cue(text: &str) -> Result<OptionalCue, String> {
    if text.trim().eq_ignore_ascii_case("none") {
        Ok(OptionalCue(None))
    } else {
        parse_cue(text).map(|c| OptionalCue(Some(c)))
    }
}

fn parse_kind(text: &str) -> Result<DrillKind, String> {
    DrillKind::parse(text).ok_or_else(|| {
        format!("unknown drill `{text}`; one of: flash, slow_motion, mirror, roleplay")
    })
}

fn parse_phase(text: &str) -> Result<TrialPhase, String> {
    TrialPhase::parse(text).ok_or_else(|| {
        format!("unknown phase `{text}`; one of: pre_test, practice, post_test, test")
    })
}

/// Runs `microcue drill`.
pub fn run(args: DrillArgs) -> anyhow::Result<ExitCode> {
    let mut out = String::new();
    let result = execute(args, &mut out);
    print(&out)?;
    result
}

fn execute(args: DrillArgs, out: &mut String) -> anyhow::Result<ExitCode> {
    match args.action {
        DrillAction::Record(record) => {
            let date = args.location.today()?;
            let trial = TrialRecord {
                date,
                kind: record.kind,
                phase: record.phase,
                target: record.cue.0,
                response: record.answered.0,
                exposure_ms: record.exposure_ms,
                reaction_ms: record.rt_ms,
                session: record.session,
            };
            let mut journal = args.location.open()?;
            journal.add_trial(&trial)?;
            let same_day: Vec<TrialRecord> = journal
                .trials()?
                .into_iter()
                .map(|t| t.record)
                .filter(|t| {
                    t.date == date && t.kind == trial.kind && t.phase.is_test() && !t.is_catch()
                })
                .collect();
            let correct = same_day.iter().filter(|t| t.correct()).count();
            say!(
                out,
                "recorded {} trial ({}) on {date}: {}",
                trial.kind.as_str(),
                trial.phase.as_str(),
                if trial.correct() { "correct" } else { "wrong" }
            );
            if !same_day.is_empty() {
                say!(
                    out,
                    "{} test accuracy today: {correct}/{}",
                    trial.kind.as_str(),
                    same_day.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        DrillAction::Flash(flash) if flash.demo => demo(out, &flash),
        DrillAction::Flash(flash) => flash::run(&flash, &args.location, out),
        DrillAction::Review(review) => review::run_review(&review, &args.location, out),
        DrillAction::Slowmo(slowmo) => review::run_slowmo(&slowmo, &args.location, out),
        DrillAction::Card { count, seed } => {
            let seed = seed.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64)
            });
            let mut deck = RoleplayDeck::new(&[], seed);
            for _ in 0..count {
                let card = deck.draw();
                let entry = lexicon::entry(card.cue);
                let side = match card.side {
                    microcue_core::Side::Both => String::new(),
                    side => format!(" on your {} side", side.as_str()),
                };
                say!(
                    out,
                    "Card {}: {} — {}{side}",
                    card.id,
                    entry.name,
                    entry.looks_like
                );
                say!(out, "  {ROLEPLAY_INSTRUCTION}");
                if let Some(family) = card.expected_response {
                    say!(
                        out,
                        "  Expected response: {} — {}",
                        lexicon::family_name(family),
                        entry.response
                    );
                }
                say!(
                    out,
                    "  Record: microcue drill record --kind roleplay --cue {} --answered CUE|none",
                    card.cue
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn demo(out: &mut String, args: &FlashArgs) -> anyhow::Result<ExitCode> {
    if !(args.threshold_ms > 0.0 && args.threshold_ms.is_finite()) {
        bail!(
            "--threshold-ms must be a positive number, got {}",
            args.threshold_ms
        );
    }
    if !(args.practice_gain > 0.0 && args.practice_gain <= 1.0) {
        bail!(
            "--practice-gain must be in (0, 1], got {}",
            args.practice_gain
        );
    }
    let trials = args.trials.unwrap_or(30);
    let seed = args.seed.unwrap_or(1);
    let config = FlashConfig {
        pre_test_trials: trials,
        practice_trials: trials,
        post_test_trials: trials,
        ..FlashConfig::default()
    };
    let choices = config.cues.len();
    let mut drill = FlashDrill::new(config, seed)?;
    let mut before = SimulatedObserver::with_threshold(args.threshold_ms, 0.75, choices, 3.0, seed);
    let mut after = SimulatedObserver::with_threshold(
        args.threshold_ms * args.practice_gain,
        0.75,
        choices,
        3.0,
        seed ^ 0x5EED,
    );
    say!(
        out,
        "SIMULATION — a simulated observer answers, not a person; nothing is saved to the journal."
    );
    say!(
        out,
        "Observer: 75% correct at {:.0} ms before practice, {:.0} ms after (--practice-gain {}); {} cues + \"nothing\".",
        args.threshold_ms,
        args.threshold_ms * args.practice_gain,
        args.practice_gain,
        choices
    );
    say!(out);
    let mut learned = false;
    let mut phase_trace: Vec<String> = Vec::new();
    loop {
        match drill.next_step() {
            FlashStep::Trial(trial) => {
                let observer = if learned { &mut after } else { &mut before };
                let (response, reaction_ms) = observer.respond(&trial);
                let feedback = drill.answer(trial.id, response, reaction_ms)?;
                let ok = trial.stimulus.cue == response;
                if args.verbose {
                    say!(
                        out,
                        "{:<9} #{:<3} {:>4.0} ms  shown {:<21} answered {:<21} {}",
                        trial.phase.as_str(),
                        trial.number_in_phase,
                        trial.stimulus.exposure_ms,
                        trial.stimulus.cue.map_or("nothing", CueId::as_str),
                        response.map_or("nothing", CueId::as_str),
                        if ok { "✓" } else { "✗" }
                    );
                } else if trial.stimulus.cue.is_some() {
                    phase_trace.push(format!(
                        "{:.0}{}",
                        trial.stimulus.exposure_ms,
                        if ok { "" } else { "✗" }
                    ));
                }
                if feedback.phase_finished && !args.verbose {
                    say!(out, "{} exposures (ms, ✗ = wrong):", trial.phase.as_str());
                    for chunk in phase_trace.chunks(15) {
                        say!(out, "  {}", chunk.join(" "));
                    }
                    phase_trace.clear();
                }
            }
            FlashStep::Learn(cards) => {
                say!(
                    out,
                    "learn: {} cards (components, apex still, 0.25x slow motion) — {}",
                    cards.len(),
                    cards
                        .iter()
                        .map(|c| c.entry.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                drill.finish_learning()?;
                learned = true;
            }
            FlashStep::Finished => break,
        }
    }
    say!(out);
    summary_table(out, &drill.summary());
    say!(out);
    say!(
        out,
        "The staircase aims at 75% correct: after a right answer the flash gets shorter, after a wrong one \
         three times as much longer (log scale). The threshold is the mean exposure at the reversals."
    );
    say!(
        out,
        "Run it yourself with pictures: microcue drill flash (add --quick for a short session)"
    );
    Ok(ExitCode::SUCCESS)
}

/// The per-phase table and the most frequent mix-ups of a flash drill.
pub(crate) fn summary_table(out: &mut String, summary: &microcue_train::flash::FlashSummary) {
    say!(
        out,
        "phase      accuracy         threshold   false alarms   median RT"
    );
    for phase in &summary.phases {
        let accuracy = phase.accuracy.map_or_else(
            || "–".to_owned(),
            |a| {
                format!(
                    "{:.0}% ({}/{})",
                    a * 100.0,
                    phase.flash_correct,
                    phase.flash_trials
                )
            },
        );
        let threshold = match (phase.threshold_ms, phase.at_floor) {
            (Some(t), _) => format!("{t:.0} ms"),
            (None, true) => "<= 40 ms".to_owned(),
            (None, false) => "–".to_owned(),
        };
        say!(
            out,
            "{:<10} {:<16} {:<11} {:<14} {}",
            phase.phase.as_str(),
            accuracy,
            threshold,
            format!("{}/{}", phase.false_alarms, phase.catch_trials),
            phase
                .median_reaction_ms
                .map_or_else(|| "–".to_owned(), |r| format!("{r:.0} ms"))
        );
    }
    let confusions = summary.confusion.top_confusions(5);
    if !confusions.is_empty() {
        say!(out);
        say!(out, "most frequent mix-ups (shown → answered):");
        for (shown, answered, count) in confusions {
            say!(out, "  {shown} → {answered}: {count}");
        }
    }
}
