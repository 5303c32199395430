//! `microcue plan`: the 60-day plan — today's tasks, the week, the whole program, marking
//! tasks done. The first use starts the plan today (or on `--start`).

use std::process::ExitCode;

use anyhow::Context;
use microcue_core::lexicon;
use microcue_train::dates::{Date, add_days, parse_date, week_days};
use microcue_train::kpi::{KpiTargets, compute_kpis};
use microcue_train::plan::{self, Cadence, DayPlan, Progress, TaskSpec};
use microcue_train::{Journal, LogEntry};

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

/// Arguments of `microcue plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub action: Option<PlanAction>,
    /// Start (or move) the plan on this date, YYYY-MM-DD. Without it the first use starts the
    /// plan today.
    #[arg(long, value_name = "YYYY-MM-DD", global = true)]
    pub start: Option<String>,
    /// Print JSON instead of text (`today` and `week`).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(flatten)]
    pub location: JournalLocation,
}

/// What to show.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PlanAction {
    /// Today's tasks, what is done, the streak (the default).
    Today,
    /// This plan week, day by day.
    Week,
    /// The whole program: phases, drill ladder, targets, cheat sheet and response playbook.
    Show,
    /// Mark one of today's tasks done (`--date` for another day).
    Done {
        /// Task id, as shown by `microcue plan today`.
        task: String,
    },
}

/// Runs `microcue plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let mut out = String::new();
    let result = execute(args, &mut out);
    print(&out)?;
    result
}

fn execute(args: PlanArgs, out: &mut String) -> anyhow::Result<ExitCode> {
    let today = args.location.today()?;
    let mut journal = args.location.open()?;
    let action = args.action.clone().unwrap_or(PlanAction::Today);
    if matches!(action, PlanAction::Show) && args.start.is_none() {
        let start = journal.plan_start()?;
        print_program(out, start);
        return Ok(ExitCode::SUCCESS);
    }
    let start = ensure_started(&mut journal, args.start.as_deref(), today)?;
    let done: Vec<_> = journal
        .tasks_done()?
        .into_iter()
        .map(|d| d.record)
        .collect();
    let log: Vec<LogEntry> = journal
        .log_entries()?
        .into_iter()
        .map(|e| e.record)
        .collect();
    match action {
        PlanAction::Today => {
            let progress = Progress::new(&done, &log);
            let day = plan::day_plan(start, today, &progress);
            if args.json {
                let streaks = plan::streaks(start, today, &progress);
                let value =
                    serde_json::json!({ "plan_start": start, "today": day, "streaks": streaks });
                say!(out, "{}", serde_json::to_string_pretty(&value)?);
            } else {
                print_today(out, &journal, start, today, &day, &progress, &log)?;
            }
        }
        PlanAction::Week => {
            let progress = Progress::new(&done, &log);
            print_week(out, start, today, &progress, args.json)?;
        }
        PlanAction::Show => print_program(out, Some(start)),
        PlanAction::Done { task } => {
            let spec = plan::task_for_day(start, today, task.trim())?;
            let added = journal.mark_done(today, spec.id, spec.repeatable())?;
            if added {
                say!(out, "done: {} ({today})", spec.title);
            } else {
                say!(out, "{} was already marked done on {today}", spec.title);
            }
            let done: Vec<_> = journal
                .tasks_done()?
                .into_iter()
                .map(|d| d.record)
                .collect();
            let progress = Progress::new(&done, &log);
            let day = plan::day_plan(start, today, &progress);
            if let Some(status) = day.tasks.iter().find(|t| t.task.id == spec.id)
                && let Some((count, quota)) = status.progress
            {
                say!(out, "{count}/{quota} {}", quota_scope(spec));
            }
            if day.complete() {
                let streaks = plan::streaks(start, today, &progress);
                say!(
                    out,
                    "all of today's tasks are done — streak: {}",
                    days(streaks.current_days)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The plan start: `--start` sets or moves it; otherwise the stored one, or today on first use.
fn ensure_started(journal: &mut Journal, start: Option<&str>, today: Date) -> anyhow::Result<Date> {
    let stored = journal.plan_start()?;
    match (start, stored) {
        (Some(text), stored) => {
            let start = parse_date(text)?;
            if stored != Some(start) {
                journal.set_plan_start(start)?;
                match stored {
                    Some(old) => eprintln!("plan start moved from {old} to {start}"),
                    None => eprintln!("plan started on {start}"),
                }
            }
            Ok(start)
        }
        (None, Some(stored)) => Ok(stored),
        (None, None) => {
            journal.set_plan_start(today)?;
            eprintln!(
                "plan started today ({today}); journal: `{}` (numbers and labels only)",
                journal.path().display()
            );
            Ok(today)
        }
    }
}

fn days(count: u32) -> String {
    if count == 1 {
        "1 day".to_owned()
    } else {
        format!("{count} days")
    }
}

fn minutes(spec: &TaskSpec) -> String {
    match spec.minutes {
        Some((from, to)) if from == to => format!(" ({from} min)"),
        Some((from, to)) => format!(" ({from}–{to} min)"),
        None => String::new(),
    }
}

fn tier_name(tier: plan::LadderTier) -> &'static str {
    match tier {
        plan::LadderTier::Beginner => "beginner",
        plan::LadderTier::Intermediate => "intermediate",
        plan::LadderTier::Advanced => "advanced",
    }
}

fn quota_scope(spec: &TaskSpec) -> &'static str {
    match spec.cadence {
        Cadence::PerWeek(_) => "this week",
        Cadence::PerPhase(_) => "this phase",
        _ => "",
    }
}

fn print_today(
    out: &mut String,
    journal: &Journal,
    start: Date,
    today: Date,
    day: &DayPlan,
    progress: &Progress,
    log: &[LogEntry],
) -> anyhow::Result<()> {
    if day.day < 1 {
        say!(out, "The plan starts on {start} (in {} days).", 1 - day.day);
        return Ok(());
    }
    let week = day.week.unwrap_or(0);
    match day.phase {
        Some(phase) => say!(
            out,
            "Day {} of {} — week {week} — phase {}: {} (days {}–{})",
            day.day,
            plan::PLAN_DAYS,
            phase.number,
            phase.title,
            phase.first_day,
            phase.last_day
        ),
        None if day.day <= plan::LADDER_DAYS => {
            say!(
                out,
                "Day {} — the 60-day plan is done; the drill ladder continues to day {}",
                day.day,
                plan::LADDER_DAYS
            )
        }
        None => say!(
            out,
            "Day {} — plan and ladder complete. Keep the weekly review going.",
            day.day
        ),
    }
    if let Some(rung) = day.rung {
        say!(
            out,
            "Drill ladder: {} (days {}–{}) — {}",
            tier_name(rung.tier),
            rung.first_day,
            rung.last_day,
            rung.title
        );
    }
    say!(out);
    say!(out, "Today ({today}):");
    for status in &day.tasks {
        let mark = if status.done { "[x]" } else { "[ ]" };
        let quota = status
            .progress
            .map(|(count, quota)| format!(" — {count}/{quota} {}", quota_scope(status.task)))
            .unwrap_or_default();
        say!(
            out,
            "  {mark} {:<22} {}{}{quota}",
            status.task.id,
            status.task.title,
            minutes(status.task)
        );
        say!(out, "        {}", status.task.how);
    }
    let streaks = plan::streaks(start, today, progress);
    say!(out);
    say!(
        out,
        "Streak: {} (longest {}; {} complete so far)",
        days(streaks.current_days),
        days(streaks.longest_days),
        days(streaks.complete_days)
    );
    if day.tasks.iter().any(|t| t.task.id == "weekly_review") {
        let trials: Vec<_> = journal.trials()?.into_iter().map(|t| t.record).collect();
        let report = compute_kpis(start, today, &trials, log, &KpiTargets::default());
        if let Some(kpis) = report.week(week) {
            say!(out);
            say!(out, "Weekly review:");
            for line in plan::weekly_review(kpis, log) {
                say!(out, "  {line}");
            }
        }
    }
    say!(out);
    say!(
        out,
        "Mark a task done: microcue plan done TASK    Log a detection: microcue log add --cue CUE --context \"...\""
    );
    Ok(())
}

fn print_week(
    out: &mut String,
    start: Date,
    today: Date,
    progress: &Progress,
    json: bool,
) -> anyhow::Result<()> {
    let day = microcue_train::dates::plan_day(start, today);
    let Some(week) = microcue_train::dates::plan_week(day) else {
        say!(out, "The plan starts on {start}.");
        return Ok(());
    };
    let (first, last) = week_days(week);
    let days: Vec<DayPlan> = (first..=last)
        .map(|n| plan::day_plan(start, add_days(start, n - 1), progress))
        .collect();
    if json {
        say!(
            out,
            "{}",
            serde_json::to_string_pretty(&days).context("cannot encode the week")?
        );
        return Ok(());
    }
    say!(
        out,
        "Week {week} (days {first}–{last}, {} to {}):",
        days[0].date,
        days[6].date
    );
    for plan_day in &days {
        let marker = if plan_day.date == today { ">" } else { " " };
        let tasks: Vec<String> = plan_day
            .tasks
            .iter()
            .map(|t| format!("{}{}", if t.done { "✓" } else { "·" }, t.task.id))
            .collect();
        let state = if plan_day.date > today {
            ""
        } else if plan_day.complete() {
            "  complete"
        } else {
            ""
        };
        say!(
            out,
            "{marker} day {:>2} {}  {}{state}",
            plan_day.day,
            plan_day.date,
            tasks.join("  ")
        );
    }
    Ok(())
}

fn print_program(out: &mut String, start: Option<Date>) {
    say!(
        out,
        "The 60-day plan (the guide's §12) and the drill ladder to day 90 (§6)."
    );
    if let Some(start) = start {
        say!(
            out,
            "Started on {start}; day 60 is {}.",
            add_days(start, plan::PLAN_DAYS - 1)
        );
    } else {
        say!(out, "Not started yet: `microcue plan today` starts it.");
    }
    for phase in plan::PHASES {
        say!(out);
        say!(
            out,
            "Phase {} — days {}–{}: {}",
            phase.number,
            phase.first_day,
            phase.last_day,
            phase.title
        );
        say!(out, "  {}", phase.summary);
        let mut seen: Vec<&str> = Vec::new();
        for day in phase.first_day..=phase.last_day {
            for spec in plan::tasks_for_day(day) {
                if !seen.contains(&spec.id) {
                    seen.push(spec.id);
                    let cadence = match spec.cadence {
                        Cadence::Daily => "daily".to_owned(),
                        Cadence::PerWeek(n) => format!("{n}× a week"),
                        Cadence::PerPhase(n) => format!("{n}× in the phase"),
                        Cadence::WeekEnd => "end of each week".to_owned(),
                        Cadence::OnDay(d) => format!("day {d}"),
                    };
                    say!(
                        out,
                        "  - {:<22} {}{} — {cadence}",
                        spec.id,
                        spec.title,
                        minutes(spec)
                    );
                }
            }
        }
    }
    say!(out);
    say!(out, "Drill ladder:");
    for rung in plan::LADDER {
        say!(
            out,
            "  {}, days {}–{}: {}",
            tier_name(rung.tier),
            rung.first_day,
            rung.last_day,
            rung.title
        );
        for drill in rung.drills {
            say!(out, "    - {drill}");
        }
    }
    let targets = KpiTargets::default();
    say!(out);
    say!(out, "Weekly targets (`microcue kpi`):");
    say!(
        out,
        "  week 2:  slow-motion test accuracy >= {:.0}%",
        targets.week2_slow_motion_accuracy * 100.0
    );
    say!(
        out,
        "  week 6:  accuracy >= {:.0}% and approach success +{:.0} points over the baseline week",
        targets.week6_accuracy * 100.0,
        targets.week6_approach_gain_points
    );
    say!(
        out,
        "  week 12: >= {:.0} logged detections a day with false positives <= {:.0}%",
        targets.week12_detections_per_day,
        targets.week12_max_false_positive_rate * 100.0
    );
    say!(out, "  {}", plan::WEEKLY_REVIEW_PROMPT);
    say!(out);
    say!(out, "Cheat sheet:");
    for (number, step) in lexicon::CHEAT_SHEET.steps.iter().enumerate() {
        say!(out, "  {}. {step}", number + 1);
    }
    say!(out, "  Example: {}", lexicon::CHEAT_SHEET.example);
    say!(out, "  {}", lexicon::TWO_CUE_RULE);
    say!(out);
    say!(out, "Response playbook (details: microcue coach CUE):");
    for entry in lexicon::lexicon() {
        let family = entry.family.map_or("—", lexicon::family_name);
        let line = entry
            .lines
            .first()
            .map(|l| format!(" “{l}”"))
            .unwrap_or_default();
        say!(
            out,
            "  {:<22} {:<8} {}{line}",
            entry.id.as_str(),
            family,
            entry.response
        );
    }
    say!(out, "  Repair lines:");
    for line in lexicon::REPAIR_LINES {
        say!(out, "    “{line}”");
    }
    say!(out);
    say!(out, "Ethics (non-negotiable):");
    for rule in lexicon::ETHICS {
        say!(out, "  {}. {}: {}", rule.number, rule.title, rule.text);
    }
}
