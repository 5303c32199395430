//! The Journal page: the guide's KPIs per plan week against the weekly targets (plain SVG
//! charts), the 60-day plan with today's tasks to tick, the real-world log form, export,
//! import and "forget everything".
//!
//! Everything is an HTML form posted to this server and answered with a redirect back to the
//! page (post/redirect/get): it works with the keyboard and without a script, and a reload never
//! posts twice. The records are the ones the CLI writes (`microcue log add`, `plan done`,
//! `journal export|import|forget`), through the same `microcue_train` calls.

use std::fmt::Write as _;
use std::path::PathBuf;

use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use microcue_core::CueId;
use microcue_core::lexicon::{self, RESPONSE_FAMILIES};
use microcue_train::dates::Date;
use microcue_train::journal::{CsvTable, JournalExport, read_export, write_csv};
use microcue_train::kpi::{KpiReport, KpiTargets, Rate, TargetStatus, WeekKpis, compute_kpis};
use microcue_train::plan::{self, DayPlan, Progress};
use microcue_train::{Journal, LogEntry, Outcome, Stored, TrainError};
use serde::Deserialize;

use crate::AppState;
use crate::charts::{Goal, Target, WeekChart};
use crate::pages::{escape, problem, shell};

/// Everything the page shows, read in one go.
struct Snapshot {
    plan_start: Option<Date>,
    report: Option<KpiReport>,
    day: Option<DayPlan>,
    log: Vec<Stored<LogEntry>>,
    trials: usize,
}

fn snapshot(journal: &Journal, today: Date) -> Result<Snapshot, TrainError> {
    let plan_start = journal.plan_start()?;
    let log = journal.log_entries()?;
    let trials: Vec<_> = journal.trials()?.into_iter().map(|t| t.record).collect();
    let records: Vec<LogEntry> = log.iter().map(|e| e.record.clone()).collect();
    let (report, day) = match plan_start {
        Some(start) => {
            let reviews: Vec<_> = journal
                .reviewed_events()?
                .into_iter()
                .map(|r| r.record)
                .collect();
            let mut report = compute_kpis(start, today, &trials, &records, &KpiTargets::default());
            report.add_reviews(&reviews);
            let done: Vec<_> = journal
                .tasks_done()?
                .into_iter()
                .map(|d| d.record)
                .collect();
            let progress = Progress::new(&done, &records);
            (Some(report), Some(plan::day_plan(start, today, &progress)))
        }
        None => (None, None),
    };
    Ok(Snapshot {
        plan_start,
        report,
        day,
        log,
        trials: trials.len(),
    })
}

/// Runs blocking journal work off the async thread.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, TrainError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The journal could not be read or written",
            &error,
            "nothing already saved was lost; check the file's permissions and free space",
            "/journal",
        )),
        Err(_) => Err(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The journal task stopped",
            &std::io::Error::other("a journal task panicked"),
            "reload the page",
            "/journal",
        )),
    }
}

/// The query of `GET /journal`: what the last form did.
#[derive(Debug, Default, Deserialize)]
pub struct JournalQuery {
    saved: Option<String>,
    imported: Option<usize>,
    skipped: Option<usize>,
    deleted: Option<usize>,
}

/// `GET /journal`.
pub async fn page(State(state): State<AppState>, Query(query): Query<JournalQuery>) -> Response {
    let store = state.journal.clone();
    let today = store.today();
    let snapshot = match blocking(move || store.read(|journal| snapshot(journal, today))).await {
        Ok(snapshot) => snapshot,
        Err(response) => return response,
    };
    let path = state.journal.path().display().to_string();
    let mut body = String::from("<h1>Journal</h1>");
    let _ = write!(
        body,
        "<p class=\"muted\">Your training journal on this computer: <code>{}</code> \
         (numbers and labels only; the same file as <code>microcue log</code>, <code>plan</code> \
         and <code>kpi</code>). Today is {today}.</p>",
        escape(&path)
    );
    body.push_str(&saved_note(&query));
    let log = match &snapshot {
        None => {
            body.push_str(&empty_dashboard(None, 0, 0));
            &[][..]
        }
        Some(snapshot) => {
            match (&snapshot.report, snapshot.plan_start) {
                (Some(report), Some(_)) => body.push_str(&dashboard(report, &snapshot.log)),
                _ => body.push_str(&empty_dashboard(
                    snapshot.plan_start,
                    snapshot.log.len(),
                    snapshot.trials,
                )),
            }
            if let Some(day) = &snapshot.day {
                body.push_str(&plan_today(day));
            }
            &snapshot.log[..]
        }
    };
    body.push_str(&log_form(today));
    body.push_str(&recent(log));
    body.push_str(&data_section());
    shell("/journal", "Journal", &body, None).into_response()
}

fn saved_note(query: &JournalQuery) -> String {
    let text = match query.saved.as_deref() {
        Some("log") => "Saved to the journal.".to_owned(),
        Some("task") => "Task marked done.".to_owned(),
        Some("plan") => "The 60-day plan starts today.".to_owned(),
        Some("import") => format!(
            "Imported {} new rows; {} were already here.",
            query.imported.unwrap_or(0),
            query.skipped.unwrap_or(0)
        ),
        Some("forget") => format!(
            "Everything is forgotten: {} journal file(s) deleted.",
            query.deleted.unwrap_or(0)
        ),
        _ => return String::new(),
    };
    format!(
        "<p class=\"notice\" role=\"status\" id=\"notice\">{}</p>",
        escape(&text)
    )
}

/// The dashboard before the plan starts (KPI weeks count from the start) or with no journal.
fn empty_dashboard(start: Option<Date>, entries: usize, trials: usize) -> String {
    let mut html = format!(
        "<section id=\"dashboard\" data-entries=\"{entries}\" data-trials=\"{trials}\" data-week=\"0\">\
         <h2>KPIs</h2>"
    );
    match start {
        Some(start) => {
            let _ = write!(html, "<p>The plan starts on {start}; no KPIs yet.</p>");
        }
        None => {
            let _ = write!(
                html,
                "<p>{}</p><p class=\"muted\">The guide's KPIs are counted per week of the 60-day \
                 plan: start it to see them. The plan, like everything here, stays in your journal \
                 on this computer.</p>\
                 <form method=\"post\" action=\"/journal/plan/start\">\
                 <button type=\"submit\" id=\"start-plan\">Start the 60-day plan today</button></form>",
                if entries + trials == 0 {
                    "Nothing in your journal yet."
                } else {
                    "Your journal has entries, but the plan has not started."
                }
            );
        }
    }
    html.push_str("</section>");
    html
}

fn percent(value: f64) -> String {
    format!("{:.0}%", value * 100.0)
}

fn per_day(value: f64) -> String {
    format!("{value:.1}/day")
}

fn rate_text(rate: Rate) -> String {
    match rate.percent() {
        Some(p) => format!("{p:.0}% ({}/{})", rate.hits, rate.total),
        None => "–".to_owned(),
    }
}

/// KPIs of the current week, the weekly charts against the targets, the targets' status.
fn dashboard(report: &KpiReport, log: &[Stored<LogEntry>]) -> String {
    let thresholds = &report.thresholds;
    let week = report.week(report.current_week);
    let detections = week.map_or(0, |w| w.detections);
    let mut html = format!(
        "<section id=\"dashboard\" data-entries=\"{entries}\" data-week=\"{week_number}\" \
         data-detections=\"{detections}\"><h2>KPIs: week {week_number} of the plan (day {day})</h2>",
        entries = log.len(),
        week_number = report.current_week,
        day = report.day,
    );
    if let Some(week) = week {
        html.push_str(&week_table(week));
    } else {
        let _ = write!(
            html,
            "<p>The plan starts on {}; no KPIs yet.</p>",
            report.plan_start
        );
    }
    let series = |value: fn(&WeekKpis) -> Option<f64>| -> Vec<Option<f64>> {
        report.weeks.iter().map(value).collect()
    };
    let approach_target = report
        .approach_baseline_week
        .and_then(|w| report.week(w))
        .and_then(|w| w.approach_success.value())
        .map(|baseline| (baseline + thresholds.week6_approach_gain_points / 100.0).min(1.0));
    let charts = [
        WeekChart {
            id: "chart-slow-motion",
            title: "Slow-motion test accuracy",
            format: percent,
            max: 1.0,
            values: series(|w| w.slow_motion_accuracy.value()),
            target: Some(Target {
                week: 2,
                value: thresholds.week2_slow_motion_accuracy,
                goal: Goal::AtLeast,
            }),
        },
        WeekChart {
            id: "chart-accuracy",
            title: "Recognition accuracy (flash + slow motion)",
            format: percent,
            max: 1.0,
            values: series(|w| w.accuracy.value()),
            target: Some(Target {
                week: 6,
                value: thresholds.week6_accuracy,
                goal: Goal::AtLeast,
            }),
        },
        WeekChart {
            id: "chart-approach",
            title: "Approach success (responses that improved things)",
            format: percent,
            max: 1.0,
            values: series(|w| w.approach_success.value()),
            target: approach_target.map(|value| Target {
                week: 6,
                value,
                goal: Goal::AtLeast,
            }),
        },
        WeekChart {
            id: "chart-detections",
            title: "Real-world detections per day",
            format: per_day,
            max: report
                .weeks
                .iter()
                .map(|w| w.detections_per_day)
                .fold(thresholds.week12_detections_per_day * 1.5, f64::max),
            values: series(|w| (w.days_counted > 0).then_some(w.detections_per_day)),
            target: Some(Target {
                week: 12,
                value: thresholds.week12_detections_per_day,
                goal: Goal::AtLeast,
            }),
        },
        WeekChart {
            id: "chart-false-positive",
            title: "False positives (cue not followed by the emotion)",
            format: percent,
            max: 1.0,
            values: series(|w| w.false_positive.value()),
            target: Some(Target {
                week: 12,
                value: thresholds.week12_max_false_positive_rate,
                goal: Goal::AtMost,
            }),
        },
    ];
    html.push_str("<div class=\"charts\">");
    for chart in &charts {
        html.push_str(&chart.svg());
    }
    html.push_str("</div>");
    if report.approach_baseline_week.is_none() {
        html.push_str(
            "<p class=\"muted\">The approach-success target (week 6: +15 points) is measured \
             against your first week with enough responses; it shows once there is one.</p>",
        );
    }
    html.push_str("<h3>The guide's weekly targets</h3><ul class=\"targets\">");
    for check in &report.targets {
        let class = match check.status {
            TargetStatus::Met => "met",
            TargetStatus::NotMet => "below",
            _ => "open",
        };
        let _ = write!(
            html,
            "<li class=\"{class}\"><b>week {}</b>: {} — <span class=\"status\">{}</span>. {}</li>",
            check.week,
            escape(&check.target),
            check.status.as_str(),
            escape(&check.detail)
        );
    }
    html.push_str("</ul>");
    if let Some(week) = week {
        html.push_str("<h3>Weekly review</h3><ul>");
        let records: Vec<LogEntry> = log.iter().map(|e| e.record.clone()).collect();
        for line in plan::weekly_review(week, &records) {
            let _ = write!(html, "<li>{}</li>", escape(&line));
        }
        html.push_str("</ul>");
    }
    html.push_str("</section>");
    html
}

fn week_table(week: &WeekKpis) -> String {
    let rows = [
        (
            "Detections per day",
            format!(
                "{:.1} ({} logged, {} confirmed)",
                week.detections_per_day, week.detections, week.confirmed_detections
            ),
        ),
        ("Accuracy (tests)", rate_text(week.accuracy)),
        ("  flash", rate_text(week.flash_accuracy)),
        ("  slow motion", rate_text(week.slow_motion_accuracy)),
        ("Approach success", rate_text(week.approach_success)),
        ("False positives", rate_text(week.false_positive)),
        ("Repair success", rate_text(week.repair_success)),
        ("Mirror drill: cue seen", rate_text(week.mirror_success)),
        ("Roleplay: card spotted", rate_text(week.roleplay_accuracy)),
    ];
    let mut html = format!(
        "<table class=\"kpis\" id=\"week-kpis\"><caption>Week {} ({} to {})</caption><tbody>",
        week.week, week.first_date, week.last_date
    );
    for (name, value) in rows {
        let _ = write!(
            html,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(name.trim()),
            escape(&value)
        );
    }
    html.push_str("</tbody></table>");
    html
}

fn plan_today(day: &DayPlan) -> String {
    let mut html = String::from("<section id=\"plan\"><h2>Today's plan</h2>");
    match day.phase {
        Some(phase) => {
            let _ = write!(
                html,
                "<p>Day {} of {} — phase {}: {} (days {}–{})</p>",
                day.day,
                plan::PLAN_DAYS,
                phase.number,
                escape(phase.title),
                phase.first_day,
                phase.last_day
            );
        }
        None if day.day < 1 => {
            let _ = write!(html, "<p>The plan starts in {} days.</p>", 1 - day.day);
        }
        None => html.push_str("<p>The 60-day plan is done; keep the weekly review going.</p>"),
    }
    html.push_str("<ul class=\"tasks\">");
    for status in &day.tasks {
        let quota = status
            .progress
            .map(|(count, quota)| format!(" — {count}/{quota}"))
            .unwrap_or_default();
        let action = if status.done {
            "<span class=\"done\" aria-label=\"done\">✓ done</span>".to_owned()
        } else {
            format!(
                "<form method=\"post\" action=\"/journal/plan/done\">\
                 <input type=\"hidden\" name=\"task\" value=\"{id}\">\
                 <button type=\"submit\" class=\"tick\" data-task=\"{id}\">Mark done</button></form>",
                id = escape(status.task.id)
            )
        };
        let _ = write!(
            html,
            "<li data-task=\"{id}\" data-done=\"{done}\">{action}<div><b>{title}</b>{quota}\
             <br><span class=\"muted\">{how}</span></div></li>",
            id = escape(status.task.id),
            done = status.done,
            title = escape(status.task.title),
            how = escape(status.task.how),
        );
    }
    html.push_str("</ul></section>");
    html
}

fn options<'a>(selected: Option<&str>, items: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut html = String::new();
    for (value, label) in items {
        let mark = if Some(value) == selected {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            html,
            "<option value=\"{}\"{mark}>{}</option>",
            escape(value),
            escape(label)
        );
    }
    html
}

/// The real-world log form: the fields of `microcue log add`.
fn log_form(today: Date) -> String {
    let cues = options(
        None,
        lexicon::lexicon()
            .iter()
            .map(|entry| (entry.id.as_str(), entry.name)),
    );
    let families = options(
        None,
        std::iter::once(("", "none: I did not respond")).chain(
            RESPONSE_FAMILIES
                .iter()
                .map(|f| (lexicon::family_name(f.family), f.action)),
        ),
    );
    let outcomes = options(
        None,
        std::iter::once(("", "—")).chain([
            ("improved", "improved: smile, longer reply, warmer"),
            ("same", "same: no visible change"),
            ("worse", "worse: withdrawal, shorter replies, tension"),
        ]),
    );
    let yes_no = options(
        None,
        [("", "not known yet"), ("yes", "yes"), ("no", "no")].into_iter(),
    );
    format!(
        "<section id=\"log-form\"><h2>Log a real-world detection</h2>\
         <p class=\"muted\">One entry per cue you noticed in a conversation today ({today}): the \
         same record as <code>microcue log add</code>.</p>\
         <form method=\"post\" action=\"/journal/log\" class=\"stack\">\
         <label>Cue you noticed <select name=\"cue\" id=\"log-cue\" required>{cues}</select></label>\
         <label>What happened just before <input name=\"context\" id=\"log-context\" required \
           maxlength=\"500\" placeholder=\"e.g. I asked about her trip\"></label>\
         <label>Your quick guess <input name=\"hypothesis\" id=\"log-hypothesis\" maxlength=\"200\" \
           placeholder=\"positive / neutral / negative, or words\"></label>\
         <label>Your response <select name=\"response\" id=\"log-response\">{families}</select></label>\
         <label>Outcome after it <select name=\"outcome\" id=\"log-outcome\">{outcomes}</select></label>\
         <label>Was the emotion confirmed? <select name=\"confirmed\" id=\"log-confirmed\">{yes_no}</select></label>\
         <label>Repair line used <input name=\"repair\" id=\"log-repair\" maxlength=\"300\"></label>\
         <label>Did the repair work? <select name=\"repair_worked\" id=\"log-repair-worked\">{yes_no}</select></label>\
         <label>Note <input name=\"note\" id=\"log-note\" maxlength=\"500\"></label>\
         <button type=\"submit\" id=\"log-save\">Save to the journal</button></form></section>"
    )
}

fn recent(log: &[Stored<LogEntry>]) -> String {
    let mut html = String::from("<section id=\"recent\"><h2>Recent detections</h2>");
    if log.is_empty() {
        html.push_str("<p class=\"muted\">None logged yet.</p></section>");
        return html;
    }
    html.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>date</th><th>cue</th><th>context</th>\
         <th>response</th><th>outcome</th><th>confirmed</th></tr></thead><tbody>",
    );
    let yes_no = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "–",
    };
    for stored in log.iter().rev().take(10) {
        let e = &stored.record;
        let _ = write!(
            html,
            "<tr data-uid=\"{uid}\"><td>{date}</td><td>{cue}</td><td>{context}</td><td>{response}</td>\
             <td>{outcome}</td><td>{confirmed}</td></tr>",
            uid = escape(&stored.uid),
            date = e.date,
            cue = escape(e.cue.as_str()),
            context = escape(&e.context),
            response = escape(e.response.as_deref().unwrap_or("–")),
            outcome = e.outcome.map_or("–", Outcome::as_str),
            confirmed = yes_no(e.confirmed),
        );
    }
    html.push_str("</tbody></table></div></section>");
    html
}

fn data_section() -> String {
    let tables: String = CsvTable::ALL
        .iter()
        .map(|table| {
            format!(
                "<a href=\"/journal/export.csv?table={t}\" download>{t} (CSV)</a> ",
                t = table.as_str()
            )
        })
        .collect();
    format!(
        "<section id=\"data\"><h2>Your data</h2>\
         <p><a href=\"/journal/export.json\" id=\"export-json\" download>Export everything (JSON)</a> \
         — the file <code>microcue journal import</code> reads; one table as CSV: {tables}</p>\
         <form method=\"post\" action=\"/journal/import\" class=\"stack\">\
         <label>Import a JSON export: its path on this computer \
         <input name=\"path\" id=\"import-path\" required placeholder=\"/home/me/microcue-journal.json\"></label>\
         <p class=\"muted\">Rows already in the journal are skipped, so importing twice is harmless.</p>\
         <button type=\"submit\" id=\"import\">Import</button></form>\
         <form method=\"post\" action=\"/journal/forget\" class=\"stack danger\">\
         <h3>Forget everything</h3>\
         <p>This deletes every drill trial, log entry, plan mark, baseline and review in the journal, \
         for good. Export first if you may want them back.</p>\
         <label>Type <b>forget</b> to confirm <input name=\"confirm\" id=\"forget-confirm\" \
           autocomplete=\"off\" required pattern=\"forget\"></label>\
         <button type=\"submit\" id=\"forget\" class=\"danger\">Delete my journal</button></form></section>"
    )
}

fn back_to_journal(saved: &str) -> Response {
    Redirect::to(&format!("/journal?saved={saved}#notice")).into_response()
}

fn bad_form(message: &str, error: &dyn std::error::Error, hint: &str) -> Response {
    problem(StatusCode::BAD_REQUEST, message, error, hint, "/journal")
}

/// `POST /journal/plan/start`: starts the plan today (what `microcue plan today` does first).
pub async fn start_plan(State(state): State<AppState>) -> Response {
    let store = state.journal.clone();
    let today = store.today();
    let started = blocking(move || {
        store.write(|journal| {
            if journal.plan_start()?.is_none() {
                journal.set_plan_start(today)?;
            }
            Ok(())
        })
    })
    .await;
    match started {
        Ok(()) => back_to_journal("plan"),
        Err(response) => response,
    }
}

/// The form of `POST /journal/plan/done`.
#[derive(Debug, Deserialize)]
pub struct TaskForm {
    task: String,
}

/// `POST /journal/plan/done`: ticks one of today's tasks (`microcue plan done TASK`).
pub async fn mark_done(State(state): State<AppState>, Form(form): Form<TaskForm>) -> Response {
    let store = state.journal.clone();
    let today = store.today();
    let result = tokio::task::spawn_blocking(move || {
        store.write(|journal| {
            let Some(start) = journal.plan_start()? else {
                return Ok(Err("the plan has not started"));
            };
            let spec = match plan::task_for_day(start, today, form.task.trim()) {
                Ok(spec) => spec,
                Err(error) => return Err(error),
            };
            journal.mark_done(today, spec.id, spec.repeatable())?;
            Ok(Ok(()))
        })
    })
    .await;
    match result {
        Ok(Ok(Ok(()))) => back_to_journal("task"),
        Ok(Ok(Err(message))) => bad_form(
            "That task cannot be marked",
            &std::io::Error::other(message),
            "start the plan on this page first",
        ),
        Ok(Err(error)) => bad_form(
            "That task cannot be marked",
            &error,
            "tick one of today's tasks as listed on this page",
        ),
        Err(_) => bad_form(
            "The journal task stopped",
            &std::io::Error::other("a journal task panicked"),
            "reload the page",
        ),
    }
}

/// The form of `POST /journal/log`: the fields of `microcue log add`, empty meaning absent.
#[derive(Debug, Deserialize)]
pub struct LogForm {
    cue: String,
    context: String,
    #[serde(default)]
    hypothesis: String,
    #[serde(default)]
    response: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    confirmed: String,
    #[serde(default)]
    repair: String,
    #[serde(default)]
    repair_worked: String,
    #[serde(default)]
    note: String,
}

fn non_empty(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

fn yes_no(text: &str) -> Result<Option<bool>, String> {
    match text {
        "" => Ok(None),
        "yes" => Ok(Some(true)),
        "no" => Ok(Some(false)),
        other => Err(format!("expected yes or no, got `{other}`")),
    }
}

impl LogForm {
    /// The entry `microcue log add` would write for the same answers.
    fn entry(&self, date: Date) -> Result<LogEntry, String> {
        let cue =
            CueId::parse(self.cue.trim()).ok_or_else(|| format!("unknown cue `{}`", self.cue))?;
        let outcome = match self.outcome.as_str() {
            "" => None,
            text => Some(Outcome::parse(text).ok_or_else(|| format!("unknown outcome `{text}`"))?),
        };
        let entry = LogEntry {
            date,
            cue,
            context: self.context.trim().to_owned(),
            hypothesis: non_empty(&self.hypothesis),
            response: non_empty(&self.response),
            outcome,
            confirmed: yes_no(&self.confirmed)?,
            repair: non_empty(&self.repair),
            repair_worked: yes_no(&self.repair_worked)?,
            note: non_empty(&self.note),
        };
        entry.validate().map_err(|error| error.to_string())?;
        Ok(entry)
    }
}

/// `POST /journal/log`: one real-world detection.
pub async fn add_log(State(state): State<AppState>, Form(form): Form<LogForm>) -> Response {
    let store = state.journal.clone();
    let entry = match form.entry(store.today()) {
        Ok(entry) => entry,
        Err(message) => {
            return bad_form(
                "The entry was not saved",
                &std::io::Error::other(message),
                "go back, fix the field and save again (a response needs its outcome, and an \
                 outcome its response)",
            );
        }
    };
    match blocking(move || store.add_log_entry(&entry)).await {
        Ok(_) => back_to_journal("log"),
        Err(response) => response,
    }
}

/// `GET /journal/export.json`: the whole journal, the bytes `microcue journal export` writes.
pub async fn export_json(State(state): State<AppState>) -> Response {
    let store = state.journal.clone();
    let today = store.today();
    let export = blocking(move || store.write(|journal| journal.export())).await;
    let export: JournalExport = match export {
        Ok(export) => export,
        Err(response) => return response,
    };
    match serde_json::to_string_pretty(&export) {
        Ok(mut text) => {
            text.push('\n');
            download(
                "application/json",
                &format!("microcue-journal-{today}.json"),
                text.into_bytes(),
            )
        }
        Err(error) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The export could not be written",
            &error,
            "report this as a bug",
            "/journal",
        ),
    }
}

/// The query of `GET /journal/export.csv`.
#[derive(Debug, Deserialize)]
pub struct CsvQuery {
    table: String,
}

/// `GET /journal/export.csv?table=log|trials|...`: one table, as `microcue journal export
/// --format csv --table T` writes it.
pub async fn export_csv(State(state): State<AppState>, Query(query): Query<CsvQuery>) -> Response {
    let Some(table) = CsvTable::ALL
        .into_iter()
        .find(|t| t.as_str() == query.table)
    else {
        return bad_form(
            "No such table",
            &std::io::Error::other(format!("unknown table `{}`", query.table)),
            "one of: log, trials, tasks, baselines, reviews",
        );
    };
    let store = state.journal.clone();
    let bytes = blocking(move || {
        let export = store.write(|journal| journal.export())?;
        let mut bytes = Vec::new();
        write_csv(&export, table, &mut bytes, &PathBuf::from("<download>"))?;
        Ok(bytes)
    })
    .await;
    match bytes {
        Ok(bytes) => download(
            "text/csv; charset=utf-8",
            &format!("microcue-{}.csv", table.as_str()),
            bytes,
        ),
        Err(response) => response,
    }
}

pub(crate) fn download(content_type: &str, file_name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The form of `POST /journal/import`.
#[derive(Debug, Deserialize)]
pub struct ImportForm {
    path: String,
}

/// `POST /journal/import`: adds the rows of a JSON export read from a path on this computer
/// (`microcue journal import FILE`).
pub async fn import(State(state): State<AppState>, Form(form): Form<ImportForm>) -> Response {
    let path = PathBuf::from(form.path.trim());
    let store = state.journal.clone();
    let result = tokio::task::spawn_blocking(move || {
        let export = read_export(&path)?;
        store.write(|journal| journal.import(&export, &path))
    })
    .await;
    match result {
        Ok(Ok(report)) => {
            let added = report.trials_added
                + report.log_entries_added
                + report.tasks_done_added
                + report.baselines_added
                + report.reviewed_events_added;
            Redirect::to(&format!(
                "/journal?saved=import&imported={added}&skipped={}#notice",
                report.duplicates_skipped
            ))
            .into_response()
        }
        Ok(Err(error)) => bad_form(
            "Nothing was imported",
            &error,
            "give the path of a file written by Export (or `microcue journal export --format json`)",
        ),
        Err(_) => bad_form(
            "The import stopped",
            &std::io::Error::other("an import task panicked"),
            "nothing was imported; try again",
        ),
    }
}

/// The form of `POST /journal/forget`.
#[derive(Debug, Deserialize)]
pub struct ForgetForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /journal/forget`: deletes the journal for good once the word `forget` is typed (the
/// confirmation `microcue journal forget --all` asks for).
pub async fn forget(State(state): State<AppState>, Form(form): Form<ForgetForm>) -> Response {
    if form.confirm.trim() != "forget" {
        return bad_form(
            "Nothing was deleted",
            &std::io::Error::other("the confirmation was not typed"),
            "type the word forget in the box to confirm",
        );
    }
    let store = state.journal.clone();
    match blocking(move || store.forget()).await {
        Ok(removed) => Redirect::to(&format!(
            "/journal?saved=forget&deleted={}#notice",
            removed.len()
        ))
        .into_response(),
        Err(response) => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(response: &str, outcome: &str) -> LogForm {
        LogForm {
            cue: "eyebrow_flash".into(),
            context: " asked about the trip ".into(),
            hypothesis: String::new(),
            response: response.into(),
            outcome: outcome.into(),
            confirmed: "yes".into(),
            repair: String::new(),
            repair_worked: String::new(),
            note: "  ".into(),
        }
    }

    #[test]
    fn the_form_makes_the_entry_log_add_makes() {
        let date = microcue_train::dates::parse_date("2026-03-02").unwrap();
        let entry = form("invite", "improved").entry(date).unwrap();
        let mut expected = LogEntry::new(date, CueId::EyebrowFlash, "asked about the trip");
        expected.response = Some("invite".into());
        expected.outcome = Some(Outcome::Improved);
        expected.confirmed = Some(true);
        assert_eq!(entry, expected);
    }

    #[test]
    fn an_outcome_without_a_response_is_refused() {
        let date = microcue_train::dates::parse_date("2026-03-02").unwrap();
        let error = form("", "improved").entry(date).unwrap_err();
        assert!(error.contains("response"), "{error}");
    }
}
