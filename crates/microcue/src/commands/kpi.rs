//! `microcue kpi`: the guide's KPIs per plan week, the trend, and the weekly targets.

use std::process::ExitCode;

use anyhow::bail;
use microcue_train::kpi::{KpiReport, KpiTargets, Rate, WeekKpis, compute_kpis};
use microcue_train::plan;

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

/// Arguments of `microcue kpi`.
#[derive(Debug, clap::Args)]
pub struct KpiArgs {
    /// Show this plan week in detail (default: the current week).
    #[arg(long, value_name = "N")]
    pub week: Option<u32>,
    /// Print the full report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub location: JournalLocation,
}

fn percent(rate: Rate) -> String {
    match rate.percent() {
        Some(p) => format!("{p:.0}% ({}/{})", rate.hits, rate.total),
        None => "–".to_owned(),
    }
}

fn points(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| format!(" [{v:+.0} pts]"))
}

/// Runs `microcue kpi`.
pub fn run(args: KpiArgs) -> anyhow::Result<ExitCode> {
    let mut out = String::new();
    let result = execute(args, &mut out);
    print(&out)?;
    result
}

fn execute(args: KpiArgs, out: &mut String) -> anyhow::Result<ExitCode> {
    let today = args.location.today()?;
    let journal = args.location.open()?;
    let Some(start) = journal.plan_start()? else {
        bail!(
            "the plan has not started, and KPI weeks count from its start\nhint: `microcue plan today` starts it"
        );
    };
    let trials: Vec<_> = journal.trials()?.into_iter().map(|t| t.record).collect();
    let log: Vec<_> = journal
        .log_entries()?
        .into_iter()
        .map(|e| e.record)
        .collect();
    let reviews: Vec<_> = journal
        .reviewed_events()?
        .into_iter()
        .map(|r| r.record)
        .collect();
    let mut report = compute_kpis(start, today, &trials, &log, &KpiTargets::default());
    report.add_reviews(&reviews);
    if args.json {
        say!(out, "{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    if report.current_week == 0 {
        say!(out, "The plan starts on {start}; no KPIs yet.");
        return Ok(ExitCode::SUCCESS);
    }
    let week = args.week.unwrap_or(report.current_week);
    if week == 0 {
        bail!("plan weeks count from 1 (week 1 = plan days 1–7)");
    }
    let Some(kpis) = report.week(week) else {
        bail!(
            "week {week} has not started (this is week {} of the plan)",
            report.current_week
        );
    };
    print_week(out, kpis, week == report.current_week);
    say!(out);
    print_table(out, &report);
    say!(out);
    say!(out, "Targets:");
    for check in &report.targets {
        say!(
            out,
            "  week {:>2}: {:<11} {} — {}",
            check.week,
            check.status.as_str(),
            check.target,
            check.detail
        );
    }
    say!(out);
    for line in plan::weekly_review(kpis, &log) {
        say!(out, "{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_week(out: &mut String, kpis: &WeekKpis, current: bool) {
    let trend = kpis.trend;
    say!(
        out,
        "Week {} ({} to {}{}):",
        kpis.week,
        kpis.first_date,
        kpis.last_date,
        if current {
            format!(
                ", {} so far",
                if kpis.days_counted == 1 {
                    "1 day".to_owned()
                } else {
                    format!("{} days", kpis.days_counted)
                }
            )
        } else {
            String::new()
        }
    );
    say!(
        out,
        "  detections per day    {:.1} ({} logged, {} confirmed){}",
        kpis.detections_per_day,
        kpis.detections,
        kpis.confirmed_detections,
        trend.map_or_else(String::new, |t| format!(
            " [{:+.1}/day]",
            t.detections_per_day
        ))
    );
    say!(
        out,
        "  accuracy rate         {}{}   flash {}, slow-motion {}",
        percent(kpis.accuracy),
        points(trend.and_then(|t| t.accuracy_points)),
        percent(kpis.flash_accuracy),
        percent(kpis.slow_motion_accuracy)
    );
    say!(
        out,
        "  approach success      {}{}",
        percent(kpis.approach_success),
        points(trend.and_then(|t| t.approach_success_points))
    );
    say!(
        out,
        "  false-positive rate   {}{}",
        percent(kpis.false_positive),
        points(trend.and_then(|t| t.false_positive_points))
    );
    say!(
        out,
        "  repair success        {}{}",
        percent(kpis.repair_success),
        points(trend.and_then(|t| t.repair_success_points))
    );
    say!(
        out,
        "  mirror drill seen     {}   roleplay spotted {}",
        percent(kpis.mirror_success),
        percent(kpis.roleplay_accuracy)
    );
    let review = kpis.spotter_review;
    if review.reviewed > 0 {
        say!(
            out,
            "  spotter on your clips {} reviewed: {} confirmed, {} corrected, {} not a movement \
             (the spotter's false positives, not yours)",
            review.reviewed,
            review.confirmed,
            review.corrected,
            review.rejected
        );
    }
}

fn print_table(out: &mut String, report: &KpiReport) {
    let short = |rate: Rate| {
        rate.percent()
            .map_or_else(|| "–".to_owned(), |p| format!("{p:.0}%"))
    };
    say!(
        out,
        "Trend      det/day  accuracy  approach  false+  repair"
    );
    for week in &report.weeks {
        say!(
            out,
            "  week {:>2}  {:>7.1}  {:>8}  {:>8}  {:>6}  {:>6}",
            week.week,
            week.detections_per_day,
            short(week.accuracy),
            short(week.approach_success),
            short(week.false_positive),
            short(week.repair_success)
        );
    }
}
