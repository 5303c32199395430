//! The learned decision's data and trainer through the `microcue` binary: the committed
//! weights are what the committed training data gives, and `eval candidates` labels what it
//! finds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use microcue_core::spotter::DecisionModel;
use microcue_core::spotter::decision::FEATURE_NAMES;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn microcue(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_microcue"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("MICROCUE_HOME")
        .output()
        .expect("the microcue binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The numbers of one `const NAME: ... = ...;` line of a weights source.
fn constant(source: &str, name: &str) -> Vec<f64> {
    let line = source
        .lines()
        .find(|line| line.contains(&format!("const {name}:")))
        .unwrap_or_else(|| panic!("no {name} in the weights source"));
    let value = line.split_once('=').expect("a value").1;
    value
        .trim_matches(|c: char| c == ' ' || c == ';' || c == '[' || c == ']')
        .split(',')
        .map(|v| v.trim().parse::<f64>().expect("a number"))
        .collect()
}

#[test]
fn retraining_from_the_committed_data_gives_the_committed_weights() {
    let root = repo_root();
    let committed_path = root.join("crates/microcue_core/src/spotter/decision_weights.rs");
    let committed = std::fs::read_to_string(&committed_path).expect("the weights source");
    let builtin = DecisionModel::builtin();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("weights.rs");
    let (l2, threshold) = (builtin.l2.to_string(), builtin.threshold.to_string());
    let output = microcue(&[
        "eval",
        "train-decision",
        "--data",
        root.join("eval/decision/candidates.csv").to_str().unwrap(),
        "--runs",
        root.join("eval/decision/runs.csv").to_str().unwrap(),
        "--l2",
        &l2,
        "--threshold",
        &threshold,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let retrained = std::fs::read_to_string(&out).expect("the retrained weights");
    // Equal up to rounding: matrix products may be summed in another order on another CPU.
    for name in ["MEAN", "SCALE", "WEIGHTS", "BIAS", "L2", "THRESHOLD"] {
        let (a, b) = (constant(&committed, name), constant(&retrained, name));
        assert_eq!(a.len(), b.len(), "{name}");
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x - y).abs() <= 1e-7 * (1.0 + x.abs()),
                "{name}: committed {x}, retrained {y}: run `microcue eval train-decision` \
                 (scripts/train-decision.sh) and commit crates/microcue_core/src/spotter/decision_weights.rs"
            );
        }
    }
}

#[test]
fn candidates_of_a_synthetic_trace_carry_features_and_truth_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let trace = dir.path().join("trace.jsonl");
    let truth = dir.path().join("truth.csv");
    let output = microcue(&[
        "synth",
        "--seconds",
        "30",
        "--events",
        "6",
        "--seed",
        "3",
        "--region-motion",
        "--out",
        trace.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let csv = dir.path().join("candidates.csv");
    let output = microcue(&[
        "eval",
        "candidates",
        "--signals",
        trace.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
        "--tag",
        "side=tuning",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&csv).expect("the candidates");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    assert_eq!(header[0], "side");
    assert_eq!(
        &header[header.len() - FEATURE_NAMES.len()..],
        &FEATURE_NAMES
    );
    let label = header.iter().position(|&h| h == "label").expect("a label");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == header.len()));
    assert!(
        rows.iter().any(|r| r[label] == "truth"),
        "no candidate matched a planted event:\n{text}"
    );

    let output = microcue(&[
        "eval",
        "candidates",
        "--signals",
        trace.to_str().unwrap(),
        "--tag",
        "side",
    ]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("KEY=VALUE"), "{}", stderr(&output));
}
