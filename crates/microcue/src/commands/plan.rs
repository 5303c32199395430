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
    let today = args.location.today()?;
    let mut journal = args.location.open()?;
    let action = args.action.clone().unwrap_or(PlanAction::Today);
    if matches!(action, PlanAction::Show) && args.start.is_none() {
        let start = journal.plan_start()?;
        print_program(start);
        return Ok(ExitCode::SUCCESS);
    }
    let start = ensure_started(&mut journal, args.start.as_deref(), today)?;
    let done: Vec<_> = journal.tasks_done()?.into_iter().map(|d| d.record).collect();
    let log: Vec<LogEntry> = journal.log_entries()?.into_iter().map(|e| e.record).collect();
    match action {
        PlanAction::Today => {
            let progress = Progress::new(&done, &log);
            let day = plan::day_plan(start, today, &progress);
            if args.json {
                let streaks = plan::streaks(start, today, &progress);
                let value = serde_json::json!({ "plan_start": start, "today": day, "streaks": streaks });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print_today(&journal, start, today, &day, &progress, &log)?;
            }
        }
        PlanAction::Week => {
            let progress = Progress::new(&done, &log);
            print_week(start, today, &progress, args.json)?;
        }
        PlanAction::Show => print_program(Some(start)),
        PlanAction::Done { task } => {
            let spec = plan::task_for_day(start, today, task.trim())?;
            let added = journal.mark_done(today, spec.id, spec.repeatable())?;
            if added {
                println!("done: {} ({today})", spec.title);
            } else {
                println!("{} was already marked done on {today}", spec.title);
            }
            let done: Vec<_> = journal.tasks_done()?.into_iter().map(|d| d.record).collect();
            let progress = Progress::new(&done, &log);
            let day = plan::day_plan(start, today, &progress);
            if let Some(status) = day.tasks.iter().find(|t| t.task.id == spec.id)
                && let Some((count, quota)) = status.progress
            {
                println!("{count}/{quota} {}", quota_scope(spec));
            }
            if day.complete() {
                let streaks = plan::streaks(start, today, &progress);
                println!("all of today's tasks are done — streak: {} days", streaks.current_days);
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

fn minutes(spec: &TaskSpec) -> String {
    match spec.minutes {
        Some((from, to)) if from == to => format!(" ({from} min)"),
        Some((from, to)) => format!(" ({from}–{to} min)"),
        None => String::new(),
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
    journal: &Journal,
    start: Date,
    today: Date,
    day: &DayPlan,
    progress: &Progress,
    log: &[LogEntry],
) -> anyhow::Result<()> {
    if day.day < 1 {
        println!("The plan starts on {start} (in {} days).", 1 - day.day);
        return Ok(());
    }
    let week = day.week.unwrap_or(0);
    match day.phase {
        Some(phase) => println!(
            "Day {} of {} — week {week} — phase {}: {} (days {}–{})",
            day.day,
            plan::PLAN_DAYS,
            phase.number,
            phase.title,
            phase.first_day,
            phase.last_day
        ),
        None if day.day <= plan::LADDER_DAYS => {
            println!("Day {} — the 60-day plan is done; the drill ladder continues to day {}", day.day, plan::LADDER_DAYS)
        }
        None => println!("Day {} — plan and ladder complete. Keep the weekly review going.", day.day),
    }
    if let Some(rung) = day.rung {
        println!("Drill ladder: {:?} (days {}–{}) — {}", rung.tier, rung.first_day, rung.last_day, rung.title);
    }
    println!();
    println!("Today ({today}):");
    for status in &day.tasks {
        let mark = if status.done { "[x]" } else { "[ ]" };
        let quota = status
            .progress
            .map(|(count, quota)| format!(" — {count}/{quota} {}", quota_scope(status.task)))
            .unwrap_or_default();
        println!("  {mark} {:<22} {}{}{quota}", status.task.id, status.task.title, minutes(status.task));
        println!("        {}", status.task.how);
    }
    let streaks = plan::streaks(start, today, progress);
    println!();
    println!(
        "Streak: {} days (longest {}, {} complete days so far)",
        streaks.current_days, streaks.longest_days, streaks.complete_days
    );
    if day.tasks.iter().any(|t| t.task.id == "weekly_review") {
        let trials: Vec<_> = journal.trials()?.into_iter().map(|t| t.record).collect();
        let report = compute_kpis(start, today, &trials, log, &KpiTargets::default());
        if let Some(kpis) = report.week(week) {
            println!();
            println!("Weekly review:");
            for line in plan::weekly_review(kpis, log) {
                println!("  {line}");
            }
        }
    }
    println!();
    println!("Mark a task done: microcue plan done TASK    Log a detection: microcue log add --cue CUE --context \"...\"");
    Ok(())
}

fn print_week(start: Date, today: Date, progress: &Progress, json: bool) -> anyhow::Result<()> {
    let day = microcue_train::dates::plan_day(start, today);
    let Some(week) = microcue_train::dates::plan_week(day) else {
        println!("The plan starts on {start}.");
        return Ok(());
    };
    let (first, last) = week_days(week);
    let days: Vec<DayPlan> =
        (first..=last).map(|n| plan::day_plan(start, add_days(start, n - 1), progress)).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&days).context("cannot encode the week")?);
        return Ok(());
    }
    println!("Week {week} (days {first}–{last}, {} to {}):", days[0].date, days[6].date);
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
        println!("{marker} day {:>2} {}  {}{state}", plan_day.day, plan_day.date, tasks.join("  "));
    }
    Ok(())
}

fn print_program(start: Option<Date>) {
    println!("The 60-day plan (the guide's §12) and the drill ladder to day 90 (§6).");
    if let Some(start) = start {
        println!("Started on {start}; day 60 is {}.", add_days(start, plan::PLAN_DAYS - 1));
    } else {
        println!("Not started yet: `microcue plan today` starts it.");
    }
    for phase in plan::PHASES {
        println!();
        println!("Phase {} — days {}–{}: {}", phase.number, phase.first_day, phase.last_day, phase.title);
        println!("  {}", phase.summary);
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
                    println!("  - {:<22} {}{} — {cadence}", spec.id, spec.title, minutes(spec));
                }
            }
        }
    }
    println!();
    println!("Drill ladder:");
    for rung in plan::LADDER {
        println!("  {:?}, days {}–{}: {}", rung.tier, rung.first_day, rung.last_day, rung.title);
        for drill in rung.drills {
            println!("    - {drill}");
        }
    }
    let targets = KpiTargets::default();
    println!();
    println!("Weekly targets (`microcue kpi`):");
    println!("  week 2:  slow-motion test accuracy >= {:.0}%", targets.week2_slow_motion_accuracy * 100.0);
    println!(
        "  week 6:  accuracy >= {:.0}% and approach success +{:.0} points over the baseline week",
        targets.week6_accuracy * 100.0,
        targets.week6_approach_gain_points
    );
    println!(
        "  week 12: >= {:.0} logged detections a day with false positives <= {:.0}%",
        targets.week12_detections_per_day,
        targets.week12_max_false_positive_rate * 100.0
    );
    println!("  {}", plan::WEEKLY_REVIEW_PROMPT);
    println!();
    println!("Cheat sheet:");
    for (number, step) in lexicon::CHEAT_SHEET.steps.iter().enumerate() {
        println!("  {}. {step}", number + 1);
    }
    println!("  Example: {}", lexicon::CHEAT_SHEET.example);
    println!("  {}", lexicon::TWO_CUE_RULE);
    println!();
    println!("Response playbook (details: microcue coach CUE):");
    for entry in lexicon::lexicon() {
        let family = entry.family.map_or("—", lexicon::family_name);
        let line = entry.lines.first().map(|l| format!(" “{l}”")).unwrap_or_default();
        println!("  {:<22} {:<8} {}{line}", entry.id.as_str(), family, entry.response);
    }
    println!("  Repair lines:");
    for line in lexicon::REPAIR_LINES {
        println!("    “{line}”");
    }
    println!();
    println!("Ethics (non-negotiable):");
    for rule in lexicon::ETHICS {
        println!("  {}. {}: {}", rule.number, rule.title, rule.text);
    }
}
