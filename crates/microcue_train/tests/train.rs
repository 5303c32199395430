//! Integration tests of microcue_train: journal migrations and crash safety (with a real child
//! process killed by SIGKILL), export/import/forget, KPI arithmetic on a known journal, the
//! staircase on a simulated observer, the plan's days.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use microcue_core::CueId;
use microcue_train::dates::{Date, add_days, parse_date};
use microcue_train::flash::{FlashConfig, FlashDrill, FlashStep};
use microcue_train::journal::{self, CsvTable, SCHEMA_VERSION};
use microcue_train::kpi::{KpiTargets, TargetStatus, compute_kpis};
use microcue_train::plan::{self, Progress};
use microcue_train::{
    ChannelBaseline, DrillKind, Journal, LogEntry, Outcome, PersonBaseline, TrainError, TrialPhase,
    TrialRecord,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn date(text: &str) -> Date {
    parse_date(text).expect("test date")
}

fn trial(
    day: Date,
    kind: DrillKind,
    phase: TrialPhase,
    target: Option<CueId>,
    response: Option<CueId>,
) -> TrialRecord {
    TrialRecord {
        date: day,
        kind,
        phase,
        target,
        response,
        exposure_ms: Some(120.0),
        reaction_ms: Some(800.0),
        session: None,
    }
}

// ----- journal: migrations -----

#[test]
fn new_journal_has_the_current_schema_in_wal_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested/dir/journal.sqlite3");
    let journal = Journal::open(&path).expect("open");
    assert_eq!(journal.schema_version().expect("version"), SCHEMA_VERSION);
    assert!(path.exists());
    drop(journal);
    let connection = rusqlite::Connection::open(&path).expect("raw open");
    let mode: String = connection
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    let tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    assert_eq!(
        tables,
        [
            "baselines",
            "drill_trials",
            "log_entries",
            "plan_done",
            "plan_state",
            "reviewed_events"
        ]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "journal readable by its owner only");
    }
}

/// The first released schema, written by hand (not with the crate's migration list), with data.
fn write_v1_journal(path: &Path) {
    let connection = rusqlite::Connection::open(path).expect("create v1 file");
    connection
        .execute_batch(
            "CREATE TABLE drill_trials (id INTEGER PRIMARY KEY, date TEXT NOT NULL, kind TEXT NOT NULL,
                 target_cue TEXT, response_cue TEXT, correct INTEGER NOT NULL, exposure_ms REAL,
                 reaction_ms REAL);
             CREATE TABLE log_entries (id INTEGER PRIMARY KEY, date TEXT NOT NULL, cue TEXT NOT NULL,
                 context TEXT NOT NULL, hypothesis TEXT, response TEXT,
                 outcome TEXT CHECK (outcome IN ('improved', 'same', 'worse')), repair TEXT,
                 repair_worked INTEGER, note TEXT);
             CREATE TABLE plan_state (id INTEGER PRIMARY KEY CHECK (id = 1), start_date TEXT NOT NULL);
             CREATE TABLE plan_done (date TEXT NOT NULL, task TEXT NOT NULL, PRIMARY KEY (date, task));
             INSERT INTO drill_trials VALUES (1, '2025-01-02', 'flash', 'micro_frown', 'micro_frown', 1, 200.0, 640.0);
             INSERT INTO drill_trials VALUES (2, '2025-01-02', 'slow_motion', 'genuine_smile', 'polite_smile', 0, NULL, 900.0);
             INSERT INTO log_entries VALUES (1, '2025-01-03', 'eyebrow_flash', 'said hello in the hallway',
                 'positive', 'Oh — curious? Tell me more.', 'improved', NULL, NULL, 'first one');
             INSERT INTO plan_state VALUES (1, '2025-01-01');
             INSERT INTO plan_done VALUES ('2025-01-02', 'mirror_drill');
             PRAGMA user_version = 1;",
        )
        .expect("v1 schema");
}

#[test]
fn migration_from_a_v1_file_keeps_every_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("journal.sqlite3");
    write_v1_journal(&path);

    let mut journal = Journal::open(&path).expect("open and migrate");
    assert_eq!(journal.schema_version().expect("version"), SCHEMA_VERSION);

    let trials = journal.trials().expect("trials");
    assert_eq!(trials.len(), 2);
    assert_eq!(trials[0].record.target, Some(CueId::MicroFrown));
    assert_eq!(
        trials[0].record.phase,
        TrialPhase::Test,
        "old trials become test trials"
    );
    assert_eq!(trials[0].record.exposure_ms, Some(200.0));
    assert_eq!(trials[1].record.kind, DrillKind::SlowMotion);
    assert!(!trials[1].record.correct());
    assert!(
        trials
            .iter()
            .all(|t| microcue_train::records::is_valid_uid(&t.uid)),
        "uids assigned"
    );
    assert_ne!(trials[0].uid, trials[1].uid);

    let log = journal.log_entries().expect("log");
    assert_eq!(log.len(), 1);
    let entry = &log[0].record;
    assert_eq!(entry.cue, CueId::EyebrowFlash);
    assert_eq!(entry.outcome, Some(Outcome::Improved));
    assert_eq!(entry.note.as_deref(), Some("first one"));
    assert_eq!(entry.confirmed, None, "new column starts unknown");

    assert_eq!(
        journal.plan_start().expect("start"),
        Some(date("2025-01-01"))
    );
    let done = journal.tasks_done().expect("done");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].record.task, "mirror_drill");

    // The migrated file takes new rows and the new columns.
    let mut new_entry = LogEntry::new(date("2025-01-04"), CueId::MicroFrown, "explained the route");
    new_entry.confirmed = Some(false);
    journal
        .add_log_entry(&new_entry)
        .expect("write after migration");
    assert!(
        journal
            .mark_done(date("2025-01-04"), "roleplay", true)
            .expect("mark")
    );
    assert!(
        journal
            .mark_done(date("2025-01-04"), "roleplay", true)
            .expect("repeatable")
    );
    assert!(
        !journal
            .mark_done(date("2025-01-02"), "mirror_drill", false)
            .expect("mark"),
        "a daily task carried over from v1 is not marked twice"
    );
    assert_eq!(journal.tasks_done().expect("done").len(), 3);
    drop(journal);

    // Opening again is a no-op.
    let journal = Journal::open(&path).expect("reopen");
    assert_eq!(journal.log_entries().expect("log").len(), 2);
    assert_eq!(journal.integrity_check().expect("check"), ["ok"]);
}

#[test]
fn a_journal_from_a_newer_microcue_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("journal.sqlite3");
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch("PRAGMA user_version = 99;"))
        .expect("write version");
    match Journal::open(&path) {
        Err(TrainError::SchemaTooNew { found: 99, .. }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

// ----- journal: crash safety with a real child process -----

const CRASH_CHILD_ENV: &str = "MICROCUE_TRAIN_CRASH_CHILD_DB";

/// Not a test on its own: when the parent test re-executes this binary with
/// `MICROCUE_TRAIN_CRASH_CHILD_DB` set, this writes entries in a loop (single log entries and
/// 10-trial batches) and prints each committed uid, until it is killed (or 60 s pass).
#[test]
fn crash_child_writer() {
    let Some(path) = std::env::var_os(CRASH_CHILD_ENV) else {
        return;
    };
    let mut journal = Journal::open(&path).expect("child opens the journal");
    let start = Instant::now();
    let mut stdout = std::io::stdout().lock();
    let day = date("2025-02-01");
    for i in 0u64.. {
        if start.elapsed() > Duration::from_secs(60) {
            break;
        }
        if i % 3 == 2 {
            let batch: Vec<TrialRecord> = (0..10)
                .map(|_| {
                    trial(
                        day,
                        DrillKind::Flash,
                        TrialPhase::Practice,
                        Some(CueId::MicroSurprise),
                        None,
                    )
                })
                .collect();
            for uid in journal.add_trials(&batch).expect("child writes trials") {
                writeln!(stdout, "committed trial {uid}").expect("stdout");
            }
        } else {
            let entry = LogEntry::new(day, CueId::LipCompression, format!("entry {i}"));
            let uid = journal.add_log_entry(&entry).expect("child writes");
            writeln!(stdout, "committed log {uid}").expect("stdout");
        }
        stdout.flush().expect("flush");
    }
}

#[cfg(unix)]
#[test]
fn a_killed_writer_loses_nothing_that_was_committed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("journal.sqlite3");
    // Create the schema first so the child only writes entries.
    drop(Journal::open(&path).expect("create"));

    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "crash_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut committed: Vec<(String, String)> = Vec::new();
    let started = Instant::now();
    while committed.len() < 300 {
        let Some(line) = lines.next() else {
            let output = child.wait_with_output().expect("child output");
            panic!(
                "child stopped after {} commits: {}",
                committed.len(),
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let line = line.expect("utf-8 line");
        if let Some(rest) = line.strip_prefix("committed ") {
            let (table, uid) = rest.split_once(' ').expect("table and uid");
            committed.push((table.to_owned(), uid.to_owned()));
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "child too slow"
        );
    }
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("reap the child");
    assert!(
        !status.success(),
        "the child was killed, not finished: {status:?}"
    );
    // Lines printed before the kill are committed too.
    for line in lines.map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("committed ")
            && let Some((table, uid)) = rest.split_once(' ')
        {
            committed.push((table.to_owned(), uid.to_owned()));
        }
    }
    let wal = journal::journal_files(&path)[1].clone();
    assert!(
        wal.exists(),
        "a killed writer leaves its WAL behind for recovery"
    );

    let journal = Journal::open(&path).expect("reopen after the crash");
    assert_eq!(journal.integrity_check().expect("integrity"), ["ok"]);
    let log_uids: std::collections::HashSet<String> = journal
        .log_entries()
        .expect("log")
        .into_iter()
        .map(|e| e.uid)
        .collect();
    let trial_uids: std::collections::HashSet<String> = journal
        .trials()
        .expect("trials")
        .into_iter()
        .map(|t| t.uid)
        .collect();
    for (table, uid) in &committed {
        let present = if table == "log" {
            log_uids.contains(uid)
        } else {
            trial_uids.contains(uid)
        };
        assert!(
            present,
            "committed {table} {uid} is missing after the crash"
        );
    }
    // Batches are all or nothing.
    assert_eq!(
        trial_uids.len() % 10,
        0,
        "a half-written batch of trials survived"
    );
    eprintln!(
        "crash test: {} committed ids checked; journal has {} log entries and {} trials",
        committed.len(),
        log_uids.len(),
        trial_uids.len()
    );
    drop(journal);

    // And forget really deletes: the database and its side files are gone.
    let removed = journal::forget_journal(&path).expect("forget");
    assert!(removed.contains(&path));
    for file in journal::journal_files(&path) {
        assert!(!file.exists(), "`{}` still exists", file.display());
    }
}

// ----- journal: export, import, CSV, forget -----

fn sample_journal(path: &Path) -> Journal {
    let mut journal = Journal::open(path).expect("open");
    journal.set_plan_start(date("2025-03-01")).expect("start");
    let mut entry = LogEntry::new(
        date("2025-03-02"),
        CueId::MicroFrown,
        "gave directions, \"quickly\"",
    );
    entry.hypothesis = Some("confused".into());
    entry.response = Some("What I meant was…".into());
    entry.outcome = Some(Outcome::Improved);
    entry.confirmed = Some(true);
    entry.note = Some("line one\nline two".into());
    journal.add_log_entry(&entry).expect("log");
    journal
        .add_trials(&[
            trial(
                date("2025-03-02"),
                DrillKind::Flash,
                TrialPhase::PreTest,
                Some(CueId::MicroAnger),
                Some(CueId::MicroFrown),
            ),
            trial(
                date("2025-03-02"),
                DrillKind::Flash,
                TrialPhase::PreTest,
                None,
                None,
            ),
        ])
        .expect("trials");
    journal
        .mark_done(date("2025-03-02"), "mirror_drill", false)
        .expect("done");
    journal
        .save_baseline(&PersonBaseline {
            person: "me".into(),
            date: date("2025-03-02"),
            frames: 300,
            channels: vec![
                ChannelBaseline {
                    channel: "browInnerUp".into(),
                    median: 0.05,
                    mad: 0.01,
                },
                ChannelBaseline {
                    channel: "mouthSmileLeft".into(),
                    median: 0.1,
                    mad: 0.02,
                },
            ],
        })
        .expect("baseline");
    journal
}

#[test]
fn export_then_import_twice_is_idempotent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = sample_journal(&dir.path().join("a.sqlite3"));
    let export = source.export().expect("export");
    let json = serde_json::to_string_pretty(&export).expect("json");
    let export_path = dir.path().join("export.json");
    std::fs::write(&export_path, &json).expect("write export");

    let read_back = journal::read_export(&export_path).expect("read export");
    assert_eq!(read_back, export);

    let mut target = Journal::open(dir.path().join("b.sqlite3")).expect("open b");
    let first = target.import(&read_back, &export_path).expect("import");
    assert_eq!(
        (
            first.trials_added,
            first.log_entries_added,
            first.tasks_done_added,
            first.baselines_added
        ),
        (2, 1, 1, 1)
    );
    assert!(first.plan_start_set);
    let second = target
        .import(&read_back, &export_path)
        .expect("import again");
    assert_eq!(second.duplicates_skipped, 5);
    assert_eq!(
        second.trials_added
            + second.log_entries_added
            + second.tasks_done_added
            + second.baselines_added,
        0
    );
    assert_eq!(
        target.export().expect("export b"),
        export,
        "same rows, same uids"
    );
    assert_eq!(
        target
            .latest_baseline("me")
            .expect("baseline")
            .map(|b| b.frames),
        Some(300)
    );

    // A different plan start is reported, not overwritten.
    let mut other = Journal::open(dir.path().join("c.sqlite3")).expect("open c");
    other.set_plan_start(date("2025-04-01")).expect("start");
    let report = other.import(&read_back, &export_path).expect("import");
    assert_eq!(report.plan_start_conflict, Some(date("2025-03-01")));
    assert_eq!(other.plan_start().expect("start"), Some(date("2025-04-01")));
}

#[test]
fn a_bad_export_is_refused_whole_with_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = sample_journal(&dir.path().join("a.sqlite3"));
    let mut export = source.export().expect("export");
    export.log_entries[0].record.response = None; // outcome without a response
    let path = dir.path().join("bad.json");
    let mut target = Journal::open(dir.path().join("b.sqlite3")).expect("open");
    let error = target.import(&export, &path).expect_err("invalid entry");
    let message = error.to_string();
    assert!(
        message.contains("log_entries[0]") && message.contains("bad.json"),
        "{message}"
    );
    assert_eq!(
        target.trials().expect("trials").len(),
        0,
        "nothing imported"
    );

    std::fs::write(&path, "{\"format\": \"something else\"}").expect("write");
    let error = journal::read_export(&path).expect_err("not an export");
    assert!(error.to_string().contains("bad.json"), "{error}");
}

#[test]
fn csv_export_quotes_text_and_has_one_row_per_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = sample_journal(&dir.path().join("a.sqlite3"));
    let export = source.export().expect("export");
    for (table, rows, columns) in [
        (CsvTable::Log, 1, 11),
        (CsvTable::Trials, 2, 10),
        (CsvTable::Tasks, 1, 3),
        (CsvTable::Baselines, 2, 7),
    ] {
        let mut bytes = Vec::new();
        journal::write_csv(&export, table, &mut bytes, Path::new("out.csv")).expect("csv");
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(
            reader.headers().expect("header").len(),
            columns,
            "{table:?}"
        );
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert_eq!(records.len(), rows, "{table:?}");
        if table == CsvTable::Log {
            assert_eq!(&records[0][3], "gave directions, \"quickly\"");
            assert_eq!(&records[0][10], "line one\nline two");
            assert_eq!(&records[0][7], "yes");
        }
    }
}

#[cfg(unix)]
#[test]
fn forget_deletes_the_database_and_its_wal_and_shm_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("journal.sqlite3");
    let journal = sample_journal(&path);
    let [db, wal, shm, _] = journal::journal_files(&path);
    assert!(
        db.exists() && wal.exists() && shm.exists(),
        "WAL mode keeps side files while open"
    );
    let removed = journal::forget_journal(&path).expect("forget");
    assert_eq!(removed, vec![db.clone(), wal.clone(), shm.clone()]);
    drop(journal);
    assert!(!db.exists() && !wal.exists() && !shm.exists());
    assert_eq!(
        journal::forget_journal(&path).expect("forget again"),
        Vec::<std::path::PathBuf>::new()
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "nothing left behind"
    );
}

#[test]
fn journal_path_follows_microcue_home() {
    let home = Path::new("/tmp/somewhere");
    assert_eq!(
        journal::default_journal_path(Some(home)).expect("path"),
        home.join("journal.sqlite3")
    );
}

// ----- KPIs on a known journal -----

#[test]
fn kpi_arithmetic_on_a_known_journal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut journal = Journal::open(dir.path().join("journal.sqlite3")).expect("open");
    let start = date("2025-01-06");
    journal.set_plan_start(start).expect("start");
    let on_day = |day: i64| add_days(start, day - 1);
    let entry =
        |day: i64, response: Option<Outcome>, confirmed: Option<bool>, repair: Option<bool>| {
            let mut e = LogEntry::new(on_day(day), CueId::PoliteSmile, "small talk");
            if let Some(outcome) = response {
                e.response = Some("No pressure — we can keep it casual.".into());
                e.outcome = Some(outcome);
            }
            e.confirmed = confirmed;
            if let Some(worked) = repair {
                e.repair = Some("Oops — I think I read that wrong. My mistake.".into());
                e.repair_worked = Some(worked);
            }
            e
        };
    use Outcome::{Improved, Same, Worse};
    let entries = vec![
        // Before the plan: not counted.
        LogEntry::new(add_days(start, -3), CueId::MicroFrown, "before the plan"),
        // Week 1: 7 detections, 4 responses (1 improved), 5 confirmations (1 false), 2 repairs (1 worked).
        entry(1, Some(Improved), Some(true), None),
        entry(2, Some(Same), Some(true), Some(true)),
        entry(3, Some(Worse), Some(false), Some(false)),
        entry(4, Some(Same), Some(true), None),
        entry(5, None, Some(true), None),
        entry(6, None, None, None),
        entry(7, None, None, None),
        // Week 6 (days 36–42): 5 responses, 3 improved.
        entry(36, Some(Improved), Some(true), None),
        entry(37, Some(Improved), Some(true), None),
        entry(38, Some(Improved), Some(false), None),
        entry(39, Some(Same), None, None),
        entry(40, Some(Worse), None, None),
        // Week 7 (days 43–46 so far): 6 detections.
        entry(43, None, None, None),
        entry(43, None, None, None),
        entry(44, None, None, None),
        entry(45, None, None, None),
        entry(46, None, None, None),
        entry(46, None, None, None),
        // After today: not counted.
        entry(47, None, None, None),
    ];
    for e in &entries {
        journal.add_log_entry(e).expect("log");
    }
    let mut trials = Vec::new();
    // Week 2: 12 slow-motion items, 7 right; practice and catch trials do not count.
    for i in 0..12 {
        let response = if i < 7 {
            Some(CueId::MicroFrown)
        } else {
            Some(CueId::MicroAnger)
        };
        trials.push(trial(
            on_day(9),
            DrillKind::SlowMotion,
            TrialPhase::Test,
            Some(CueId::MicroFrown),
            response,
        ));
    }
    trials.push(trial(
        on_day(9),
        DrillKind::Flash,
        TrialPhase::Practice,
        Some(CueId::MicroFrown),
        None,
    ));
    trials.push(trial(
        on_day(9),
        DrillKind::Flash,
        TrialPhase::PreTest,
        None,
        Some(CueId::MicroFrown),
    ));
    // Week 6: 15 flash test trials (11 right) + 5 slow-motion items (4 right) = 15/20.
    for i in 0..15 {
        let phase = if i % 2 == 0 {
            TrialPhase::PreTest
        } else {
            TrialPhase::PostTest
        };
        let response = if i < 11 {
            Some(CueId::EyebrowFlash)
        } else {
            None
        };
        trials.push(trial(
            on_day(37),
            DrillKind::Flash,
            phase,
            Some(CueId::EyebrowFlash),
            response,
        ));
    }
    for i in 0..5 {
        let response = if i < 4 {
            Some(CueId::GenuineSmile)
        } else {
            Some(CueId::PoliteSmile)
        };
        trials.push(trial(
            on_day(38),
            DrillKind::SlowMotion,
            TrialPhase::Test,
            Some(CueId::GenuineSmile),
            response,
        ));
    }
    // Mirror and roleplay are reported but are not the accuracy KPI.
    trials.push(trial(
        on_day(38),
        DrillKind::Mirror,
        TrialPhase::Test,
        Some(CueId::EyebrowFlash),
        None,
    ));
    trials.push(trial(
        on_day(38),
        DrillKind::Roleplay,
        TrialPhase::Test,
        Some(CueId::MicroFrown),
        Some(CueId::MicroFrown),
    ));
    journal.add_trials(&trials).expect("trials");

    let log: Vec<LogEntry> = journal
        .log_entries()
        .expect("log")
        .into_iter()
        .map(|e| e.record)
        .collect();
    let stored_trials: Vec<TrialRecord> = journal
        .trials()
        .expect("trials")
        .into_iter()
        .map(|t| t.record)
        .collect();
    let today = on_day(46);
    let report = compute_kpis(start, today, &stored_trials, &log, &KpiTargets::default());

    assert_eq!(report.day, 46);
    assert_eq!(report.current_week, 7);
    assert_eq!(report.weeks.len(), 7);
    let w1 = report.week(1).expect("week 1");
    assert_eq!(w1.detections, 7);
    assert!((w1.detections_per_day - 1.0).abs() < 1e-12);
    assert_eq!(
        (w1.approach_success.hits, w1.approach_success.total),
        (1, 4)
    );
    assert_eq!((w1.false_positive.hits, w1.false_positive.total), (1, 5));
    assert_eq!((w1.repair_success.hits, w1.repair_success.total), (1, 2));
    assert_eq!(w1.confirmed_detections, 4);
    assert_eq!(w1.accuracy.total, 0);

    let w2 = report.week(2).expect("week 2");
    assert_eq!(
        (w2.slow_motion_accuracy.hits, w2.slow_motion_accuracy.total),
        (7, 12)
    );
    assert_eq!(
        (w2.accuracy.hits, w2.accuracy.total),
        (7, 12),
        "practice and catch trials excluded"
    );
    assert_eq!(w2.detections, 0);
    let trend = w2.trend.expect("trend");
    assert!((trend.detections_per_day + 1.0).abs() < 1e-12);
    assert_eq!(trend.accuracy_points, None, "week 1 had no tests");

    let w6 = report.week(6).expect("week 6");
    assert_eq!((w6.accuracy.hits, w6.accuracy.total), (15, 20));
    assert_eq!((w6.flash_accuracy.hits, w6.flash_accuracy.total), (11, 15));
    assert_eq!(
        (w6.approach_success.hits, w6.approach_success.total),
        (3, 5)
    );
    assert_eq!((w6.mirror_success.hits, w6.mirror_success.total), (0, 1));
    assert_eq!(
        (w6.roleplay_accuracy.hits, w6.roleplay_accuracy.total),
        (1, 1)
    );
    assert_eq!(report.approach_baseline_week, Some(1));

    let w7 = report.week(7).expect("week 7");
    assert_eq!(w7.days_counted, 4);
    assert_eq!(w7.detections, 6, "the entry after today is not counted");
    assert!((w7.detections_per_day - 1.5).abs() < 1e-12);

    let status = |week: u32| {
        report
            .targets
            .iter()
            .find(|t| t.week == week)
            .map(|t| t.status)
    };
    assert_eq!(
        status(2),
        Some(TargetStatus::Met),
        "58% >= 50% over 12 items"
    );
    assert_eq!(
        status(6),
        Some(TargetStatus::Met),
        "75% >= 70% and 60% - 25% = +35 points"
    );
    assert_eq!(status(12), Some(TargetStatus::Upcoming));
    let week6 = report
        .targets
        .iter()
        .find(|t| t.week == 6)
        .expect("week 6 target");
    assert!(week6.detail.contains("+35 points"), "{}", week6.detail);

    // With a stricter week-6 reading the same journal misses it.
    let strict = KpiTargets {
        week6_approach_gain_points: 40.0,
        ..KpiTargets::default()
    };
    let report = compute_kpis(start, today, &stored_trials, &log, &strict);
    assert_eq!(
        report
            .targets
            .iter()
            .find(|t| t.week == 6)
            .map(|t| t.status),
        Some(TargetStatus::NotMet)
    );
}

// ----- staircase on a simulated observer -----

/// P(correct) of a test observer: logistic in log2 exposure, with guessing among `choices`
/// cues plus "nothing". Written independently of the crate's demo observer.
fn p_correct(exposure_ms: f64, midpoint_ms: f64, slope: f64, choices: usize) -> f64 {
    let guess = 1.0 / (choices as f64 + 1.0);
    let seen = 1.0 / (1.0 + (-slope * (exposure_ms.log2() - midpoint_ms.log2())).exp());
    seen + (1.0 - seen) * guess
}

/// The exposure at which `p_correct` equals `accuracy`, by bisection.
fn exposure_for(accuracy: f64, midpoint_ms: f64, slope: f64, choices: usize) -> f64 {
    let (mut low, mut high) = (1.0f64, 5000.0f64);
    for _ in 0..100 {
        let middle = (low * high).sqrt();
        if p_correct(middle, midpoint_ms, slope, choices) < accuracy {
            low = middle
        } else {
            high = middle
        }
    }
    (low * high).sqrt()
}

#[test]
fn staircase_converges_on_the_observers_75_percent_threshold() {
    let choices = 11;
    for (midpoint_ms, slope) in [(80.0, 3.0), (150.0, 4.0), (45.0, 2.5)] {
        let truth_ms = exposure_for(0.75, midpoint_ms, slope, choices);
        let mut errors_log2 = Vec::new();
        let mut late_correct = 0u32;
        let mut late_total = 0u32;
        for seed in 0..20u64 {
            let config = FlashConfig {
                pre_test_trials: 80,
                learn: false,
                practice_trials: 0,
                post_test_trials: 0,
                catch_fraction: 0.1,
                ..FlashConfig::default()
            };
            let mut drill = FlashDrill::new(config, seed).expect("config");
            let mut rng = ChaCha8Rng::seed_from_u64(10_000 + seed);
            loop {
                match drill.next_step() {
                    FlashStep::Trial(trial) => {
                        let response = match trial.stimulus.cue {
                            None => None,
                            Some(cue)
                                if rng.random_bool(p_correct(
                                    trial.stimulus.exposure_ms,
                                    midpoint_ms,
                                    slope,
                                    choices,
                                )) =>
                            {
                                Some(cue)
                            }
                            Some(cue) => trial.choices.iter().copied().find(|c| *c != cue),
                        };
                        if trial.number_in_phase > 40 && trial.stimulus.cue.is_some() {
                            late_total += 1;
                            late_correct += u32::from(response == trial.stimulus.cue);
                        }
                        drill.answer(trial.id, response, 600.0).expect("answer");
                    }
                    FlashStep::Learn(_) => drill.finish_learning().expect("learn"),
                    FlashStep::Finished => break,
                }
            }
            let summary = drill.summary();
            let threshold_ms = summary.phases[0]
                .threshold_ms
                .expect("enough reversals in 80 trials");
            errors_log2.push((threshold_ms / truth_ms).log2());
        }
        let mean_error = errors_log2.iter().sum::<f64>() / errors_log2.len() as f64;
        let worst = errors_log2.iter().fold(0.0f64, |w, e| w.max(e.abs()));
        let late_accuracy = f64::from(late_correct) / f64::from(late_total);
        eprintln!(
            "observer threshold {truth_ms:.0} ms: mean error {mean_error:+.3} log2, worst {worst:.2}, \
             accuracy once converged {late_accuracy:.3}"
        );
        // A 1-up/1-down staircase (50 % point) would sit ~0.4 log2 lower; the tolerance is tighter.
        assert!(
            mean_error.abs() < 0.15,
            "mean error {mean_error} log2 for threshold {truth_ms}"
        );
        assert!(
            worst < 0.6,
            "one session off by {worst} log2 for threshold {truth_ms}"
        );
        assert!(
            (0.68..=0.82).contains(&late_accuracy),
            "accuracy {late_accuracy} at convergence"
        );
    }
}

// ----- the plan -----

#[test]
fn plan_tasks_for_days_1_14_15_36_60() {
    let ids = |day: i64| {
        plan::tasks_for_day(day)
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(1),
        ["mirror_drill", "slow_motion_study", "baseline_log"]
    );
    assert_eq!(
        ids(14),
        [
            "mirror_drill",
            "slow_motion_study",
            "baseline_log",
            "weekly_review"
        ]
    );
    assert_eq!(ids(15), ["spotting_session", "simple_response", "roleplay"]);
    assert_eq!(
        ids(36),
        ["timed_test", "combined_cues", "conversation_sequence"]
    );
    assert_eq!(
        ids(60),
        [
            "timed_test",
            "combined_cues",
            "conversation_sequence",
            "final_review"
        ]
    );
    assert_eq!(plan::phase_of_day(14).map(|p| p.number), Some(1));
    assert_eq!(plan::phase_of_day(15).map(|p| p.number), Some(2));
    assert_eq!(plan::phase_of_day(36).map(|p| p.number), Some(3));
    assert_eq!(plan::tasks_for_day(1)[0].minutes, Some((10, 10)));
    assert_eq!(plan::tasks_for_day(1)[1].minutes, Some((15, 20)));
    assert_eq!(
        plan::tasks_for_day(15)[2].cadence,
        plan::Cadence::PerWeek(3)
    );
    assert_eq!(
        plan::tasks_for_day(36)[2].cadence,
        plan::Cadence::PerPhase(10)
    );
}

#[test]
fn plan_progress_quotas_and_streaks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut journal = Journal::open(dir.path().join("journal.sqlite3")).expect("open");
    let start = date("2025-05-01");
    journal.set_plan_start(start).expect("start");
    let day = |n: i64| add_days(start, n - 1);
    // Days 1–3 complete (the log entry completes baseline_log), day 4 missing the mirror drill.
    for n in 1..=4 {
        if n != 4 {
            journal
                .mark_done(day(n), "mirror_drill", false)
                .expect("mark");
        }
        journal
            .mark_done(day(n), "slow_motion_study", false)
            .expect("mark");
        journal
            .add_log_entry(&LogEntry::new(
                day(n),
                CueId::GazeAversion,
                "asked about work",
            ))
            .expect("log");
    }
    // Week 3: two roleplays on day 15, one on day 16.
    for n in [15, 15, 16] {
        let spec =
            plan::task_for_day(start, day(n), "roleplay").expect("roleplay is a day-15 task");
        journal
            .mark_done(day(n), spec.id, spec.repeatable())
            .expect("mark");
    }
    assert!(
        plan::task_for_day(start, day(15), "mirror_drill").is_err(),
        "not a phase-2 task"
    );

    let done: Vec<_> = journal
        .tasks_done()
        .expect("done")
        .into_iter()
        .map(|d| d.record)
        .collect();
    let log: Vec<_> = journal
        .log_entries()
        .expect("log")
        .into_iter()
        .map(|e| e.record)
        .collect();
    let progress = Progress::new(&done, &log);
    assert!(plan::day_plan(start, day(3), &progress).complete());
    assert!(!plan::day_plan(start, day(4), &progress).complete());
    let streaks = plan::streaks(start, day(4), &progress);
    assert_eq!(
        (
            streaks.current_days,
            streaks.longest_days,
            streaks.complete_days
        ),
        (3, 3, 3)
    );
    let streaks = plan::streaks(start, day(5), &progress);
    assert_eq!(streaks.current_days, 0, "day 4 broke the streak");

    let day15 = plan::day_plan(start, day(15), &progress);
    let roleplay = day15
        .tasks
        .iter()
        .find(|t| t.task.id == "roleplay")
        .expect("roleplay");
    assert_eq!(roleplay.progress, Some((2, 3)));
    let day16 = plan::day_plan(start, day(16), &progress);
    let roleplay = day16
        .tasks
        .iter()
        .find(|t| t.task.id == "roleplay")
        .expect("roleplay");
    assert_eq!((roleplay.progress, roleplay.done), (Some((3, 3)), true));
    let day22 = plan::day_plan(start, day(22), &progress);
    let roleplay = day22
        .tasks
        .iter()
        .find(|t| t.task.id == "roleplay")
        .expect("roleplay");
    assert_eq!(roleplay.progress, Some((0, 3)), "a new week, a new quota");
}

// ----- reviewed events (schema 3) -----

/// A schema-2 file: the v1 file upgraded by the shipped migration 2 (frozen text), plus rows
/// that only schema 2 can hold.
fn write_v2_journal(path: &Path) {
    write_v1_journal(path);
    let connection = rusqlite::Connection::open(path).expect("open v1 file");
    connection
        .execute_batch(journal::MIGRATIONS[1])
        .expect("migration 2");
    connection
        .execute_batch(
            "INSERT INTO drill_trials (date, kind, phase, target_cue, response_cue, correct,
                 exposure_ms, reaction_ms, session)
                 VALUES ('2025-01-05', 'flash', 'post_test', 'eyebrow_flash', 'eyebrow_flash', 1,
                 83.5, 512.0, 'abc');
             INSERT INTO baselines (person, date, frames, channels_json)
                 VALUES ('me', '2025-01-05', 300, '[{\"channel\":\"browInnerUp\",\"median\":0.1,\"mad\":0.02}]');
             PRAGMA user_version = 2;",
        )
        .expect("v2 rows");
}

fn spotted(
    cue: CueId,
    side: microcue_core::Side,
    onset_s: f64,
    offset_s: f64,
) -> microcue_core::Event {
    let duration_ms = (offset_s - onset_s) * 1000.0;
    microcue_core::Event {
        track: microcue_core::TrackId(0),
        onset_s,
        apex_s: onset_s + 0.4 * (offset_s - onset_s),
        offset_s,
        duration_ms,
        scale: microcue_core::Scale::of_duration_ms(duration_ms),
        cue,
        side,
        intensity: 0.2,
        confidence: 0.6,
        valence: cue.valence(),
        evidence: Vec::new(),
    }
}

#[test]
fn migration_from_a_v2_file_keeps_every_row_and_takes_reviews() {
    use microcue_core::Side;
    use microcue_train::{ReviewVerdict, ReviewedEvent};
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("journal.sqlite3");
    write_v2_journal(&path);
    let before = rusqlite::Connection::open(&path)
        .and_then(|c| {
            c.query_row("SELECT count(*) FROM drill_trials", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .expect("count");
    assert_eq!(before, 3);

    let mut journal = Journal::open(&path).expect("open and migrate");
    assert_eq!(journal.schema_version().expect("version"), SCHEMA_VERSION);
    let trials = journal.trials().expect("trials");
    assert_eq!(trials.len(), 3);
    let post = trials
        .iter()
        .find(|t| t.record.phase == TrialPhase::PostTest)
        .expect("the v2 trial");
    assert_eq!(post.record.exposure_ms, Some(83.5));
    assert_eq!(post.record.session.as_deref(), Some("abc"));
    assert_eq!(journal.log_entries().expect("log").len(), 1);
    assert_eq!(journal.tasks_done().expect("done").len(), 1);
    let baselines = journal.baselines().expect("baselines");
    assert_eq!(baselines.len(), 1);
    assert_eq!(baselines[0].record.channels[0].channel, "browInnerUp");
    assert!(journal.reviewed_events().expect("reviews").is_empty());

    // New rows: three verdicts, then a second look at one event replaces the first.
    let day = date("2025-01-06");
    let flash = spotted(CueId::EyebrowFlash, Side::Both, 1.0, 1.2);
    let corner = spotted(CueId::UnilateralLipCorner, Side::Left, 3.0, 3.3);
    let glitch = spotted(CueId::NoseWrinkle, Side::Both, 5.0, 5.1);
    journal
        .save_review(&ReviewedEvent::confirm(day, "me.mp4", &flash))
        .expect("save");
    journal
        .save_review(&ReviewedEvent::correct(
            day,
            "me.mp4",
            &corner,
            CueId::UnilateralLipCorner,
            Side::Right,
        ))
        .expect("save");
    let first = journal
        .save_review(&ReviewedEvent::confirm(day, "me.mp4", &glitch))
        .expect("save");
    let second = journal
        .save_review(&ReviewedEvent::reject(day, "me.mp4", &glitch))
        .expect("replace");
    assert_eq!(first, second, "same event, same row");
    let reviews = journal.reviewed_events().expect("reviews");
    assert_eq!(reviews.len(), 3);
    assert_eq!(reviews[2].record.verdict, ReviewVerdict::Rejected);
    assert_eq!(reviews[1].record.side, Some(Side::Right));
    let mut bad = ReviewedEvent::confirm(day, "me.mp4", &flash);
    bad.cue = Some(CueId::MicroFrown);
    assert!(journal.save_review(&bad).is_err(), "refused before writing");

    // Export and import into a fresh journal; a second import adds nothing.
    let export = journal.export().expect("export");
    assert_eq!(export.reviewed_events.len(), 3);
    let mut other = Journal::open(dir.path().join("other.sqlite3")).expect("other");
    let report = other.import(&export, Path::new("x.json")).expect("import");
    assert_eq!(report.reviewed_events_added, 3);
    let again = other.import(&export, Path::new("x.json")).expect("import");
    assert_eq!(again.reviewed_events_added, 0);
    assert_eq!(other.reviewed_events().expect("reviews").len(), 3);
    // An export from before schema 3 (no `reviewed_events` key) still imports.
    let mut json = serde_json::to_value(&export).expect("json");
    json.as_object_mut()
        .expect("object")
        .remove("reviewed_events");
    let old: microcue_train::JournalExport = serde_json::from_value(json).expect("old export");
    assert!(old.reviewed_events.is_empty());

    let mut csv = Vec::new();
    journal::write_csv(&export, CsvTable::Reviews, &mut csv, Path::new("r.csv")).expect("csv");
    assert_eq!(String::from_utf8(csv).expect("utf8").lines().count(), 4);
    drop(journal);
    let journal = Journal::open(&path).expect("reopen");
    assert_eq!(journal.integrity_check().expect("check"), ["ok"]);
}
