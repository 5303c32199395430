//! `microcue batch` end to end: real clips in, Parquet/CSV tables out, compared with what
//! `microcue analyze` writes for each clip; resuming after a finished and a killed run.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{microcue, repo_root, stderr};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, UInt32Type};
use arrow_array::{Array, RecordBatch};
use microcue_core::{Event, Evidence};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// A real clip of the repository (tests/data/faces, or the demo clip in assets/).
fn clip(relative: &str) -> PathBuf {
    let path = repo_root().join(relative);
    assert!(
        path.is_file(),
        "{} is missing: it ships with the repository",
        path.display()
    );
    path
}

/// The run was refused before any file (exit 1) with `message` on stderr; returns stderr.
fn assert_refused(output: &Output, message: &str) -> String {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains(message), "{err}");
    err
}

/// `microcue analyze CLIP --consent self --format FORMAT`: its stdout.
fn analyze(clip: &Path, format: &str) -> String {
    let output = microcue(&[
        "analyze",
        clip.to_str().unwrap(),
        "--consent",
        "self",
        "--format",
        format,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// A corpus folder: three real clips (two faces, no face) in subfolders and an undecodable file.
fn corpus(dir: &Path) -> Vec<(String, PathBuf)> {
    let clips = [
        ("a/single_face.mp4", clip("assets/single_face.mp4")),
        (
            "b/c/pexels.mp4",
            clip("tests/data/faces/WolfgangLanger_Pexels_3s.mp4"),
        ),
        ("no_face.mp4", clip("tests/data/faces/no_face.mp4")),
    ];
    let mut files = Vec::new();
    for (name, source) in clips {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::copy(&source, &path).unwrap();
        files.push((path.display().to_string(), source));
    }
    let garbage = dir.join("z_garbage.mp4");
    std::fs::write(
        &garbage,
        (0..40_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    files.push((garbage.display().to_string(), garbage));
    files
}

fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("a CSV");
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            header
                .iter()
                .zip(record.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The events of events.parquet by path, each rebuilt as an [`Event`].
fn parquet_events(path: &Path) -> (Vec<String>, Vec<(String, Event)>) {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut columns = Vec::new();
    let mut events = Vec::new();
    for batch in reader {
        let batch: RecordBatch = batch.unwrap();
        columns = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let text = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_string::<i32>()
                .clone()
        };
        let float = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_primitive::<Float64Type>()
                .clone()
        };
        let single = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_primitive::<Float32Type>()
                .clone()
        };
        let (paths, scale, cue, side, valence) = (
            text("path"),
            text("scale"),
            text("cue"),
            text("side"),
            text("valence"),
        );
        let (onset, apex, offset, duration) = (
            float("onset_s"),
            float("apex_s"),
            float("offset_s"),
            float("duration_ms"),
        );
        let (intensity, confidence) = (single("intensity"), single("confidence"));
        let track = batch
            .column_by_name("track")
            .unwrap()
            .as_primitive::<UInt32Type>()
            .clone();
        let evidence = batch.column_by_name("evidence").unwrap().as_list::<i32>();
        for row in 0..batch.num_rows() {
            let items = evidence.value(row);
            let items = items.as_struct();
            let channels = items.column(0).as_string::<i32>();
            let deltas = items.column(1).as_primitive::<Float32Type>();
            let json = serde_json::json!({
                "track": track.value(row),
                "onset_s": onset.value(row),
                "apex_s": apex.value(row),
                "offset_s": offset.value(row),
                "duration_ms": duration.value(row),
                "scale": scale.value(row),
                "cue": cue.value(row),
                "side": side.value(row),
                "intensity": 0.0,
                "confidence": 0.0,
                "valence": valence.value(row),
            });
            let mut event: Event = serde_json::from_value(json).unwrap();
            event.intensity = intensity.value(row);
            event.confidence = confidence.value(row);
            event.evidence = (0..items.len())
                .map(|i| Evidence {
                    channel: channels.value(i).to_string(),
                    delta: deltas.value(i),
                })
                .collect();
            events.push((paths.value(row).to_string(), event));
        }
    }
    (columns, events)
}

#[test]
fn batch_tables_hold_the_events_of_analyze_and_a_rerun_skips_finished_files() {
    let dir = tempfile::tempdir().unwrap();
    let files = corpus(&dir.path().join("corpus"));
    let out = dir.path().join("out");
    let run = || {
        microcue(&[
            "batch",
            dir.path().join("corpus").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--jobs",
            "2",
            "--consent",
            "self",
        ])
    };
    let first = run();
    let err = stderr(&first);
    assert_eq!(first.status.code(), Some(2), "a failed file: exit 2\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("4 file(s): 2 ok, 1 without a face, 1 failed"),
        "{err}"
    );

    // Status: one row per file, in path order, with the failure's message naming the file.
    let status = read_csv(&out.join("status.csv"));
    let names: Vec<&str> = status.iter().map(|row| row["path"].as_str()).collect();
    let expected: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, expected);
    let statuses: Vec<&str> = status.iter().map(|row| row["status"].as_str()).collect();
    assert_eq!(statuses, ["ok", "ok", "no_face", "error"]);
    assert_eq!(status[0]["frames"], "72");
    assert_eq!(status[0]["fps"], "30.000");
    assert!(
        status[2]["message"].contains("no face found"),
        "{:?}",
        status[2]
    );
    assert!(
        status[3]["message"].contains("z_garbage.mp4"),
        "{:?}",
        status[3]
    );

    // Events: CSV rows end with the event cells of `microcue analyze --format csv`'s event
    // records; Parquet rows serialise to its JSON Lines event records (without the record's
    // `kind` and the reader's `state`, which batch does not write).
    let csv_text = std::fs::read_to_string(out.join("events.csv")).unwrap();
    let (columns, parquet) = parquet_events(&out.join("events.parquet"));
    assert_eq!(columns[0], "path");
    let mut total = 0;
    for (name, source) in &files[..3] {
        let cli_csv = analyze(source, "csv");
        let mut cli = csv::Reader::from_reader(cli_csv.as_bytes());
        let cli_header: Vec<String> = cli.headers().unwrap().iter().map(String::from).collect();
        let event_columns = cli_header.iter().position(|c| c == "kind").unwrap();
        assert_eq!(
            csv_text.lines().next().unwrap(),
            format!("path,{}", cli_header[..event_columns].join(","))
        );
        let cli_rows: Vec<String> = cli
            .records()
            .map(|record| record.unwrap())
            .filter(|record| &record[event_columns] == "event")
            .map(|record| {
                record
                    .iter()
                    .take(event_columns)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        let batch_rows: Vec<String> = csv_text
            .lines()
            .skip(1)
            .filter_map(|line| line.strip_prefix(&format!("{name},")).map(String::from))
            .collect();
        assert_eq!(batch_rows, cli_rows, "{name}");

        let cli_events: Vec<serde_json::Value> = analyze(source, "jsonl")
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .filter(|record| record["kind"] == "event")
            .map(|mut record| {
                let fields = record.as_object_mut().unwrap();
                fields.remove("kind");
                fields.remove("state");
                record
            })
            .collect();
        let batch_events: Vec<serde_json::Value> = parquet
            .iter()
            .filter(|(path, _)| path == name)
            .map(|(_, event)| serde_json::from_str(&serde_json::to_string(event).unwrap()).unwrap())
            .collect();
        assert_eq!(batch_events, cli_events, "{name}");
        total += batch_events.len();
    }
    assert!(total > 0, "the clips with a face have events");
    assert_eq!(parquet.len(), total);

    // A rerun skips the finished files, retries the failed one and writes the same tables.
    let second = run();
    let err = stderr(&second);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(
        err.contains("skipping 3 of 4 file(s): finished by an earlier run"),
        "{err}"
    );
    assert!(err.contains("analysing 1 file(s)"), "{err}");
    assert_eq!(
        std::fs::read_to_string(out.join("events.csv")).unwrap(),
        csv_text
    );

    // Other settings into the same folder are refused: their events would not compare.
    let other = microcue(&[
        "batch",
        dir.path().join("corpus").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--consent",
        "self",
        "--max-faces",
        "2",
    ]);
    assert_refused(&other, "other settings (`max_faces`)");
}

#[test]
fn a_killed_batch_keeps_its_finished_files_and_the_rerun_skips_them() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for index in 0..4 {
        std::fs::copy(
            clip("assets/single_face.mp4"),
            corpus.join(format!("clip{index}.mp4")),
        )
        .unwrap();
    }
    let out = dir.path().join("out");
    let args = |jobs: &str| {
        vec![
            "batch".to_string(),
            corpus.display().to_string(),
            "--out".into(),
            out.display().to_string(),
            "--jobs".into(),
            jobs.into(),
            "--consent".into(),
            "self".into(),
        ]
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_microcue"))
        .args(args("1"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let done = out.join(".microcue-batch/done");
    let started = Instant::now();
    let finished = || {
        std::fs::read_dir(&done).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
    };
    while finished() == 0 && started.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = finished();
    assert!(
        kept >= 1,
        "the first finished file was saved before the kill"
    );

    let rerun = microcue(&args("2").iter().map(String::as_str).collect::<Vec<_>>());
    let err = stderr(&rerun);
    assert!(rerun.status.success(), "{err}");
    assert!(
        err.contains(&format!("skipping {kept} of 4 file(s)")),
        "{err}"
    );
    let status = read_csv(&out.join("status.csv"));
    assert_eq!(status.len(), 4);
    assert!(status.iter().all(|row| row["status"] == "ok"), "{status:?}");
    let events = read_csv(&out.join("events.csv"));
    let per_file: Vec<usize> = status
        .iter()
        .map(|row| events.iter().filter(|e| e["path"] == row["path"]).count())
        .collect();
    assert!(
        per_file.windows(2).all(|w| w[0] == w[1]) && per_file[0] > 0,
        "the same clip gives the same events whether finished before or after the kill: {per_file:?}"
    );
}

#[test]
fn a_manifest_carries_its_columns_into_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let clips = dir.path().join("clips");
    std::fs::create_dir_all(&clips).unwrap();
    std::fs::copy(clip("assets/single_face.mp4"), clips.join("s1.mp4")).unwrap();
    let manifest = dir.path().join("corpus.csv");
    std::fs::write(
        &manifest,
        "subject,path,session\n\"Smith, J\",clips/s1.mp4,2\nS2,clips/missing.mp4,1\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = microcue(&[
        "batch",
        "--manifest",
        manifest.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--consent",
        "given",
        "--quiet",
    ]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    let status = read_csv(&out.join("status.csv"));
    assert_eq!(status[0]["subject"], "Smith, J");
    assert_eq!(status[0]["session"], "2");
    assert_eq!(status[0]["path"], "clips/s1.mp4");
    assert_eq!(status[0]["status"], "ok");
    assert_eq!(status[1]["status"], "error");
    assert!(
        status[1]["message"].contains("does not exist"),
        "{status:?}"
    );
    let events = read_csv(&out.join("events.csv"));
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| e["subject"] == "Smith, J" && e["session"] == "2")
    );
    let (columns, _) = parquet_events(&out.join("events.parquet"));
    assert_eq!(&columns[..4], ["path", "subject", "session", "track"]);

    std::fs::write(&manifest, "path,cue\nclips/s1.mp4,x\n").unwrap();
    let clash = microcue(&[
        "batch",
        "--manifest",
        manifest.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--consent",
        "given",
    ]);
    assert_refused(&clash, "column `cue` has the name of an output column");
}

#[test]
fn a_batch_asks_consent_once_and_refuses_without_a_terminal_to_ask_on() {
    let dir = tempfile::tempdir().unwrap();
    let output = microcue(&[
        "batch",
        clip("assets/single_face.mp4").to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    let err = assert_refused(&output, "whose recordings are the 1 file(s) of this batch?");
    assert!(err.contains("--consent self"), "{err}");
}
