//! The 60-day plan (guide §12) and the drill ladder to day 90 (§6), as data; today's tasks,
//! progress, streaks and the weekly review.
//!
//! - Phase 1, days 1–14, sensory foundation: mirror drill 10 min/day, slow-motion study
//!   15–20 min/day, log one real interaction a day.
//! - Phase 2, days 15–35, live practice & roleplay: one real-world spotting session a day,
//!   3 roleplays a week, start simple responses.
//! - Phase 3, days 36–60, optimisation & measurement: timed tests, micro-expressions together
//!   with vocal cues, 10 focused conversation sequences, KPIs weekly.
//! - Days 61–90: the advanced rung of the ladder (timed tests, response optimisation,
//!   cross-cultural practice).
//!
//! A weekly review closes every plan week ("keep a log of misses + hits; review weekly").
//! Tasks are marked done with `microcue plan done TASK`; the logging tasks also count as done
//! when the day has a matching log entry. The ethics rules of the guide apply to every task.

use serde::Serialize;

use crate::dates::{Date, add_days, plan_day, plan_week, week_days};
use crate::error::{Result, TrainError};
use crate::kpi::WeekKpis;
use crate::records::{LogEntry, TaskDone};

/// Length of the plan, days.
pub const PLAN_DAYS: i64 = 60;
/// Length of the drill ladder, days.
pub const LADDER_DAYS: i64 = 90;

/// The guide's weekly review line (§11).
pub const WEEKLY_REVIEW_PROMPT: &str = "Keep a log of misses + hits; review weekly.";

/// A phase of the 60-day plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanPhase {
    pub number: u8,
    pub first_day: i64,
    pub last_day: i64,
    pub title: &'static str,
    pub summary: &'static str,
}

/// The three phases.
pub const PHASES: [PlanPhase; 3] = [
    PlanPhase {
        number: 1,
        first_day: 1,
        last_day: 14,
        title: "Sensory foundation",
        summary: "Mirror & slow-motion video drills daily. Log 1 real interaction/day.",
    },
    PlanPhase {
        number: 2,
        first_day: 15,
        last_day: 35,
        title: "Live practice & roleplay",
        summary: "3 roleplays/week with friend. 1 real-world spotting session/day. Start simple \
                  responses.",
    },
    PlanPhase {
        number: 3,
        first_day: 36,
        last_day: 60,
        title: "Optimisation & measurement",
        summary: "Timed tests, increase complexity (micro-expressions + vocal cues). Track KPIs \
                  weekly. Do 10 focused conversation sequences applying cues. At day 60: a \
                  reliable spot → respond pipeline in casual interactions.",
    },
];

/// A rung of the drill ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LadderTier {
    Beginner,
    Intermediate,
    Advanced,
}

/// One rung of the ladder with its drills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LadderRung {
    pub tier: LadderTier,
    pub first_day: i64,
    pub last_day: i64,
    pub title: &'static str,
    pub drills: &'static [&'static str],
}

/// The ladder (§6).
pub const LADDER: [LadderRung; 3] = [
    LadderRung {
        tier: LadderTier::Beginner,
        first_day: 1,
        last_day: 14,
        title: "Sensory calibration",
        drills: &[
            "Mirror drill (10 min/day): practice 10 micro-expressions yourself in small durations. \
             Say a word, flick expression <0.5s, record. Notice muscle.",
            "Video slow-motion study (15–20 min/day): watch short clips (stand-up comedy, \
             interviews) at 0.25–0.5x speed; pause at micro-flashes and label emotion.",
            "Baseline logging: in real life, note one unusual face per day and what likely caused \
             it.",
        ],
    },
    LadderRung {
        tier: LadderTier::Intermediate,
        first_day: 15,
        last_day: 45,
        title: "Live spotting & gentle response",
        drills: &[
            "1–2 spotting runs/day (10 min): in public (library/cafe) observe faces for 30s \
             windows, silently note micro-cues and practice which response you’d make.",
            "Roleplay with friend: have friend read lines and add a micro-expression; you must \
             spot and respond in real time. Swap roles.",
            "Camera practice: record yourself listening to someone (friend) and try to catch their \
             micro-expressions; compare with recorded clip (with their consent).",
        ],
    },
    LadderRung {
        tier: LadderTier::Advanced,
        first_day: 46,
        last_day: 90,
        title: "Calibration, accuracy & fast repair",
        drills: &[
            "Timed recognition tests: measure detection accuracy & false positives.",
            "Response optimization: run sequences in conversation: micro-detect → one-sentence \
             calibrated reply → measure outcome (smile, longer reply, warm body language).",
            "Cross-cultural practice: watch people from different cultural backgrounds and note \
             baseline differences.",
        ],
    },
];

/// How often a task comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// Every day of its phase.
    Daily,
    /// This many times per plan week.
    PerWeek(u32),
    /// This many times over its phase.
    PerPhase(u32),
    /// On the last day of every plan week (days 7, 14, ...).
    WeekEnd,
    /// On one plan day.
    OnDay(i64),
}

/// What in the log marks a task done without `plan done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoDone {
    /// Only `microcue plan done TASK`.
    Never,
    /// Any real-world log entry of the day.
    AnyLogEntry,
    /// A log entry with a response (and its outcome).
    LogEntryWithResponse,
}

/// One task of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TaskSpec {
    /// Stable id, used by `microcue plan done`.
    pub id: &'static str,
    pub title: &'static str,
    /// Time to spend, minutes (from, to).
    pub minutes: Option<(u32, u32)>,
    pub cadence: Cadence,
    /// What to do.
    pub how: &'static str,
    pub auto_done: AutoDone,
}

impl TaskSpec {
    /// Whether the task can be marked more than once a day (quota tasks).
    pub fn repeatable(&self) -> bool {
        matches!(self.cadence, Cadence::PerWeek(_) | Cadence::PerPhase(_))
    }
}

const MIRROR_DRILL: TaskSpec = TaskSpec {
    id: "mirror_drill",
    title: "Mirror drill",
    minutes: Some((10, 10)),
    cadence: Cadence::Daily,
    how: "Practise 10 micro-expressions yourself in small durations: say a word, flick the \
          expression in under 0.5 s, record (webcam or phone). Notice the muscles. With the \
          spotter, each attempt is checked for cue, duration and moving units.",
    auto_done: AutoDone::Never,
};

const SLOW_MOTION_STUDY: TaskSpec = TaskSpec {
    id: "slow_motion_study",
    title: "Slow-motion study",
    minutes: Some((15, 20)),
    cadence: Cadence::Daily,
    how: "Watch short clips (stand-up comedy, interviews, your own recordings) at 0.25–0.5x \
          speed; pause at micro-flashes and label the cue. For your own video: `microcue analyze` \
          finds the events to quiz yourself on.",
    auto_done: AutoDone::Never,
};

const BASELINE_LOG: TaskSpec = TaskSpec {
    id: "baseline_log",
    title: "Log one real interaction",
    minutes: None,
    cadence: Cadence::Daily,
    how: "Note one unusual face per day and what likely caused it: `microcue log add --cue CUE \
          --context \"...\"`. Done automatically when the day has a log entry.",
    auto_done: AutoDone::AnyLogEntry,
};

const SPOTTING_SESSION: TaskSpec = TaskSpec {
    id: "spotting_session",
    title: "Real-world spotting session",
    minutes: Some((10, 10)),
    cadence: Cadence::Daily,
    how: "In public (library, cafe) observe faces for 30 s windows, silently note micro-cues \
          and which response you would make. Never film or photograph strangers.",
    auto_done: AutoDone::Never,
};

const SIMPLE_RESPONSE: TaskSpec = TaskSpec {
    id: "simple_response",
    title: "One simple response",
    minutes: None,
    cadence: Cadence::Daily,
    how: "When a cue and a second signal (words, tone) agree, answer with one small move — \
          mirror, lighten, invite, soften, clarify, amplify or repair — and log it with its \
          outcome (`microcue log add ... --response ... --outcome ...`). Done automatically by \
          such a log entry.",
    auto_done: AutoDone::LogEntryWithResponse,
};

const ROLEPLAY: TaskSpec = TaskSpec {
    id: "roleplay",
    title: "Roleplay with a friend",
    minutes: Some((15, 20)),
    cadence: Cadence::PerWeek(3),
    how: "Your friend draws a cue card, reads a line and adds the micro-expression; you spot \
          and respond in real time. Swap roles.",
    auto_done: AutoDone::Never,
};

const TIMED_TEST: TaskSpec = TaskSpec {
    id: "timed_test",
    title: "Timed recognition test",
    minutes: Some((10, 10)),
    cadence: Cadence::Daily,
    how: "A flash drill test: record each trial (`microcue drill record --kind flash ...`) so \
          accuracy, exposure threshold and false alarms are measured.",
    auto_done: AutoDone::Never,
};

const COMBINED_CUES: TaskSpec = TaskSpec {
    id: "combined_cues",
    title: "Micro-expressions + vocal cues",
    minutes: Some((10, 15)),
    cadence: Cadence::Daily,
    how: "In a spotting session or a clip, pair each micro-cue with a vocal cue (tone, pause, \
          pitch, pace). Two signals that agree before any hypothesis; one alone means: watch.",
    auto_done: AutoDone::Never,
};

const CONVERSATION_SEQUENCE: TaskSpec = TaskSpec {
    id: "conversation_sequence",
    title: "Focused conversation sequences (10 in phase 3)",
    minutes: None,
    cadence: Cadence::PerPhase(10),
    how: "Micro-detect → one-sentence calibrated reply → observe the outcome (smile, longer \
          reply, warm body language); log each. Use it to make the other person more \
          comfortable, never to steer them against their interest; repair quickly when you \
          misread. Each log entry with a response counts.",
    auto_done: AutoDone::LogEntryWithResponse,
};

const CROSS_CULTURAL: TaskSpec = TaskSpec {
    id: "cross_cultural",
    title: "Cross-cultural practice",
    minutes: Some((15, 20)),
    cadence: Cadence::PerWeek(2),
    how: "Watch people from different cultural backgrounds (interviews, talks) and note baseline \
          differences: where the face shows more, where it masks.",
    auto_done: AutoDone::Never,
};

const RESPONSE_OPTIMISATION: TaskSpec = TaskSpec {
    id: "response_optimisation",
    title: "Response optimisation",
    minutes: None,
    cadence: Cadence::PerWeek(5),
    how: "Run sequences in conversation: micro-detect → one-sentence calibrated reply → measure \
          the outcome; log each and compare which replies improve interactions.",
    auto_done: AutoDone::LogEntryWithResponse,
};

const WEEKLY_REVIEW: TaskSpec = TaskSpec {
    id: "weekly_review",
    title: "Weekly review",
    minutes: Some((15, 20)),
    cadence: Cadence::WeekEnd,
    how: "Keep a log of misses + hits; review weekly: `microcue kpi` for the week's numbers, \
          then read this week's misses (false positives, worse outcomes) and decide one thing \
          to change.",
    auto_done: AutoDone::Never,
};

const FINAL_REVIEW: TaskSpec = TaskSpec {
    id: "final_review",
    title: "Day-60 check",
    minutes: Some((20, 30)),
    cadence: Cadence::OnDay(60),
    how: "Check the spot → respond pipeline in casual interactions; compare your KPIs with week \
          1 (`microcue kpi`) and choose what to keep practising on the ladder to day 90.",
    auto_done: AutoDone::Never,
};

/// Every task the plan knows, in display order.
pub const ALL_TASKS: [TaskSpec; 14] = [
    MIRROR_DRILL,
    SLOW_MOTION_STUDY,
    BASELINE_LOG,
    SPOTTING_SESSION,
    SIMPLE_RESPONSE,
    ROLEPLAY,
    TIMED_TEST,
    COMBINED_CUES,
    CONVERSATION_SEQUENCE,
    RESPONSE_OPTIMISATION,
    CROSS_CULTURAL,
    WEEKLY_REVIEW,
    FINAL_REVIEW,
    SPOTTING_SESSION_LADDER,
];

/// Days 61–90: spotting continues at the advanced rung as a daily run.
const SPOTTING_SESSION_LADDER: TaskSpec = TaskSpec {
    id: "spotting_run",
    title: "Spotting run",
    ..SPOTTING_SESSION
};

/// The task spec of an id.
pub fn task(id: &str) -> Option<&'static TaskSpec> {
    ALL_TASKS.iter().find(|t| t.id == id)
}

/// The plan phase of a plan day (`None` outside days 1–60).
pub fn phase_of_day(day: i64) -> Option<&'static PlanPhase> {
    PHASES
        .iter()
        .find(|p| (p.first_day..=p.last_day).contains(&day))
}

/// The ladder rung of a plan day (`None` outside days 1–90).
pub fn rung_of_day(day: i64) -> Option<&'static LadderRung> {
    LADDER
        .iter()
        .find(|r| (r.first_day..=r.last_day).contains(&day))
}

/// The first and last day over which a task's cadence counts on `day` (its week or phase).
fn quota_span(spec: &TaskSpec, day: i64) -> (i64, i64) {
    match spec.cadence {
        Cadence::PerWeek(_) => plan_week(day).map_or((day, day), week_days),
        Cadence::PerPhase(_) => {
            phase_of_day(day).map_or((61, LADDER_DAYS), |p| (p.first_day, p.last_day))
        }
        _ => (day, day),
    }
}

/// The tasks of a plan day, in display order. Days 1–60 follow the plan's phases, days 61–90
/// the advanced rung of the ladder; other days have none.
pub fn tasks_for_day(day: i64) -> Vec<&'static TaskSpec> {
    let mut tasks: Vec<&'static TaskSpec> = match phase_of_day(day).map(|p| p.number) {
        Some(1) => vec![&MIRROR_DRILL, &SLOW_MOTION_STUDY, &BASELINE_LOG],
        Some(2) => vec![&SPOTTING_SESSION, &SIMPLE_RESPONSE, &ROLEPLAY],
        Some(3) => vec![&TIMED_TEST, &COMBINED_CUES, &CONVERSATION_SEQUENCE],
        _ if (61..=LADDER_DAYS).contains(&day) => {
            vec![
                &TIMED_TEST,
                &SPOTTING_SESSION_LADDER,
                &RESPONSE_OPTIMISATION,
                &CROSS_CULTURAL,
            ]
        }
        _ => Vec::new(),
    };
    if (1..=LADDER_DAYS).contains(&day) && day % 7 == 0 {
        tasks.push(&WEEKLY_REVIEW);
    }
    if day == PLAN_DAYS {
        tasks.push(&FINAL_REVIEW);
    }
    tasks
}

/// Progress of one task on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskStatus {
    pub task: &'static TaskSpec,
    /// Done (for quota tasks: the quota of the week/phase is reached).
    pub done: bool,
    /// Quota tasks: done so far in the week/phase, and the quota.
    pub progress: Option<(u32, u32)>,
}

/// Everything about one plan day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayPlan {
    pub date: Date,
    /// Plan day (1 = start day; <= 0 before the start).
    pub day: i64,
    pub week: Option<u32>,
    pub phase: Option<&'static PlanPhase>,
    pub rung: Option<&'static LadderRung>,
    pub tasks: Vec<TaskStatus>,
}

impl DayPlan {
    /// Whether every task of the day is done (false for a day without tasks).
    pub fn complete(&self) -> bool {
        !self.tasks.is_empty() && self.tasks.iter().all(|t| t.done)
    }
}

/// Done marks and log entries, indexed for the plan.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    done: Vec<(Date, String)>,
    log: Vec<(Date, bool)>,
}

impl Progress {
    /// From the journal's done marks and log entries.
    pub fn new<'a>(
        done: impl IntoIterator<Item = &'a TaskDone>,
        log: impl IntoIterator<Item = &'a LogEntry>,
    ) -> Progress {
        Progress {
            done: done.into_iter().map(|d| (d.date, d.task.clone())).collect(),
            log: log
                .into_iter()
                .map(|e| (e.date, e.response.is_some()))
                .collect(),
        }
    }

    /// How many times `spec` counts as done between two dates (inclusive).
    fn count(&self, spec: &TaskSpec, from: Date, to: Date) -> u32 {
        let marks = self
            .done
            .iter()
            .filter(|(date, task)| *date >= from && *date <= to && task == spec.id)
            .count();
        let logged = match spec.auto_done {
            AutoDone::Never => 0,
            AutoDone::AnyLogEntry => self
                .log
                .iter()
                .filter(|(date, _)| *date >= from && *date <= to)
                .count(),
            AutoDone::LogEntryWithResponse => self
                .log
                .iter()
                .filter(|(date, responded)| *date >= from && *date <= to && *responded)
                .count(),
        };
        u32::try_from(marks + logged).unwrap_or(u32::MAX)
    }
}

/// The plan of `date` for a plan started on `start`, with what is done.
pub fn day_plan(start: Date, date: Date, progress: &Progress) -> DayPlan {
    let day = plan_day(start, date);
    let tasks = tasks_for_day(day)
        .into_iter()
        .map(|spec| {
            let (from_day, to_day) = quota_span(spec, day);
            let from = add_days(start, from_day - 1);
            let to = add_days(start, to_day - 1);
            match spec.cadence {
                Cadence::PerWeek(quota) | Cadence::PerPhase(quota) => {
                    let count = progress.count(spec, from, to.min(date));
                    TaskStatus {
                        task: spec,
                        done: count >= quota,
                        progress: Some((count.min(quota), quota)),
                    }
                }
                _ => TaskStatus {
                    task: spec,
                    done: progress.count(spec, date, date) > 0,
                    progress: None,
                },
            }
        })
        .collect();
    DayPlan {
        date,
        day,
        week: plan_week(day),
        phase: phase_of_day(day),
        rung: rung_of_day(day),
        tasks,
    }
}

/// Checks that `task` is one of the tasks of `date`'s plan day; returns its spec.
pub fn task_for_day(start: Date, date: Date, task: &str) -> Result<&'static TaskSpec> {
    let day = plan_day(start, date);
    let tasks = tasks_for_day(day);
    tasks
        .iter()
        .copied()
        .find(|t| t.id == task)
        .ok_or_else(|| TrainError::UnknownTask {
            task: task.to_owned(),
            known: if tasks.is_empty() {
                format!("none: day {day} has no plan tasks")
            } else {
                format!(
                    "{} (day {day})",
                    tasks.iter().map(|t| t.id).collect::<Vec<_>>().join(", ")
                )
            },
        })
}

/// Streaks of complete days (every task of the day done).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Streaks {
    /// Complete days in a row ending today, or yesterday when today is not complete yet.
    pub current_days: u32,
    /// Longest run of complete days so far.
    pub longest_days: u32,
    /// Complete days so far.
    pub complete_days: u32,
}

/// Streaks from the start up to `today`.
pub fn streaks(start: Date, today: Date, progress: &Progress) -> Streaks {
    let last_day = plan_day(start, today).min(LADDER_DAYS);
    let mut run = 0;
    let mut longest = 0;
    let mut complete_days = 0;
    let mut runs_ending: Vec<u32> = Vec::new();
    for day in 1..=last_day {
        let complete = day_plan(start, add_days(start, day - 1), progress).complete();
        if complete {
            run += 1;
            complete_days += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
        runs_ending.push(run);
    }
    let today_run = runs_ending.last().copied().unwrap_or(0);
    let yesterday_run = runs_ending.iter().rev().nth(1).copied().unwrap_or(0);
    Streaks {
        current_days: if today_run > 0 {
            today_run
        } else {
            yesterday_run
        },
        longest_days: longest,
        complete_days,
    }
}

/// The weekly review: the guide's line and questions built from the week's numbers and log.
pub fn weekly_review(week: &WeekKpis, log: &[LogEntry]) -> Vec<String> {
    let in_week: Vec<&LogEntry> = log
        .iter()
        .filter(|e| e.date >= week.first_date && e.date <= week.last_date)
        .collect();
    let hits = in_week.iter().filter(|e| e.confirmed == Some(true)).count();
    let misses = in_week
        .iter()
        .filter(|e| e.confirmed == Some(false))
        .count();
    let unchecked = in_week.iter().filter(|e| e.confirmed.is_none()).count();
    let mut lines = vec![
        WEEKLY_REVIEW_PROMPT.to_owned(),
        format!(
            "Week {}: {} detections — {hits} hits (confirmed), {misses} misses (not confirmed), \
             {unchecked} unchecked.",
            week.week, week.detections
        ),
    ];
    let mut missed: Vec<(microcue_core::CueId, usize)> = Vec::new();
    for entry in in_week.iter().filter(|e| e.confirmed == Some(false)) {
        match missed.iter_mut().find(|(cue, _)| *cue == entry.cue) {
            Some((_, count)) => *count += 1,
            None => missed.push((entry.cue, 1)),
        }
    }
    missed.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if let Some((cue, count)) = missed.first() {
        lines.push(format!(
            "Most misread: {cue} ({count}×). What else could it have been? Did a second signal \
             agree before you acted?"
        ));
    }
    let worse = in_week
        .iter()
        .filter(|e| e.outcome == Some(crate::records::Outcome::Worse))
        .count();
    if worse > 0 {
        lines.push(format!(
            "{worse} responses made things worse: which repair line would have fitted?"
        ));
    }
    if unchecked > 0 {
        lines.push("Mark whether each detection was confirmed (`--confirmed yes|no`): the false-positive rate needs it.".to_owned());
    }
    lines.push("One thing to change next week:".to_owned());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(day: i64) -> Vec<&'static str> {
        tasks_for_day(day).iter().map(|t| t.id).collect()
    }

    #[test]
    fn phases_cover_days_1_to_60_without_gaps() {
        for day in 1..=60 {
            assert!(phase_of_day(day).is_some(), "day {day}");
            assert!(!tasks_for_day(day).is_empty(), "day {day}");
        }
        assert!(phase_of_day(61).is_none());
        assert_eq!(
            ids(61),
            vec![
                "timed_test",
                "spotting_run",
                "response_optimisation",
                "cross_cultural"
            ]
        );
        assert_eq!(ids(91), Vec::<&str>::new());
        assert_eq!(
            rung_of_day(45).map(|r| r.tier),
            Some(LadderTier::Intermediate)
        );
        assert_eq!(rung_of_day(46).map(|r| r.tier), Some(LadderTier::Advanced));
    }

    #[test]
    fn every_task_id_is_unique_and_findable() {
        for spec in ALL_TASKS {
            assert_eq!(task(spec.id), Some(&spec));
        }
    }
}
