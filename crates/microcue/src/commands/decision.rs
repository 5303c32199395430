//! `microcue eval candidates` and `microcue eval train-decision`: the learned decision's
//! training data and its trainer (docs/evaluation.md, "The learned decision").

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use microcue_core::formats::read_signals;
use microcue_core::spotter::decision::{
    DecisionModel, FEATURE_COUNT, FEATURE_NAMES, Features, train, weights_source,
};
use microcue_core::spotter::{Decision, candidates_all};
use microcue_core::{FaceSignals, temporal_iou};

use crate::commands::analyze::load_spotter_config;
use crate::commands::eval::read_truth_csv;
use crate::stdout::print;

/// Arguments of `microcue eval candidates`.
#[derive(Debug, clap::Args)]
pub struct CandidatesArgs {
    /// Per-frame face signals of one video (`analyze --signals-out`).
    #[arg(long, value_name = "FILE")]
    pub signals: PathBuf,
    /// Planted movements of that video (truth.csv of `eval inject`): each candidate is then
    /// labelled `truth` (IoU >= 0.5 with one), `mistimed` (overlapping one) or `other`.
    /// Without it every candidate is `natural` (a clean video).
    #[arg(long, value_name = "TRUTH.csv")]
    pub truth: Option<PathBuf>,
    /// Extra leading columns, `key=value` (e.g. side=tuning, person=..., style=au); the
    /// trainer needs `side` and `person`.
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Spotter settings (JSON) to start from; the decision is always the learned one.
    #[arg(long, value_name = "FILE")]
    pub spotter_config: Option<PathBuf>,
    /// CSV to write (default: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Append to --out without a header (it must have the same columns).
    #[arg(long, requires = "out")]
    pub append: bool,
}

/// Arguments of `microcue eval train-decision`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Candidates CSV (`eval candidates`); only rows with side=tuning and label truth,
    /// mistimed or natural are used (truth is the positive class).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// The runs of --data when its rows carry only a `run` column: CSV with columns run,
    /// side, person, style (and any others). Default: the data's `side`, `person` and
    /// `style` columns.
    #[arg(long, value_name = "FILE")]
    pub runs: Option<PathBuf>,
    /// L2 penalty on the standardised weights.
    #[arg(long, default_value_t = 1.0)]
    pub l2: f64,
    /// Probability a candidate needs at the default sensitivity.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// Write the model as the Rust source microcue_core includes (decision_weights.rs).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the model as JSON (for a spotter settings file's `decision_model`).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Leave out the rows of this person (for a cross-validation fold).
    #[arg(long, value_name = "PERSON")]
    pub exclude_person: Option<String>,
    /// Instead of training once: cross-validate by person (leave one person out) over these
    /// L2 penalties and print, per penalty and threshold, the pooled out-of-fold scores.
    #[arg(long, value_delimiter = ',', value_name = "L2,..")]
    pub cv: Vec<f64>,
}

/// Runs `microcue eval candidates`.
pub fn run_candidates(args: CandidatesArgs) -> anyhow::Result<ExitCode> {
    let mut tags = Vec::new();
    for tag in &args.tags {
        let Some((key, value)) = tag.split_once('=') else {
            bail!("--tag `{tag}`: expected KEY=VALUE\nhint: e.g. --tag side=tuning");
        };
        if key.is_empty() || key.contains(',') || value.contains(',') {
            bail!("--tag `{tag}`: KEY must not be empty and neither may contain a comma");
        }
        tags.push((key.to_string(), value.to_string()));
    }
    let mut config = load_spotter_config(args.spotter_config.as_deref())?;
    config.decision = Decision::Learned;
    let file = File::open(&args.signals)
        .with_context(|| format!("cannot open `{}`", args.signals.display()))?;
    let signals = read_signals(BufReader::new(file))
        .collect::<Result<Vec<FaceSignals>, _>>()
        .with_context(|| format!("in `{}`", args.signals.display()))?;
    let truth = args.truth.as_deref().map(read_truth_csv).transpose()?;
    let run_s = match (signals.first(), signals.last()) {
        (Some(first), Some(last)) => last.pts_s - first.pts_s,
        _ => 0.0,
    };
    let candidates = candidates_all(&signals, &config);

    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(
            OpenOptions::new()
                .create(true)
                .write(true)
                .append(args.append)
                .truncate(!args.append)
                .open(path)
                .with_context(|| format!("cannot write `{}`", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    if !args.append {
        let mut header: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
        header.extend([
            "run_s", "truths", "label", "channel", "cue", "onset_s", "offset_s",
        ]);
        header.extend(FEATURE_NAMES);
        writeln!(out, "{}", header.join(","))?;
    }
    for candidate in &candidates {
        let event = &candidate.event;
        let label = match &truth {
            None => "natural",
            Some(truth) => {
                let best = truth
                    .iter()
                    .map(|t| temporal_iou(t.onset_s, t.offset_s, event.onset_s, event.offset_s))
                    .fold(0.0, f64::max);
                if best >= 0.5 {
                    "truth"
                } else if best > 0.0 {
                    "mistimed"
                } else {
                    "other"
                }
            }
        };
        let mut row: Vec<String> = tags.iter().map(|(_, v)| v.clone()).collect();
        row.extend([
            format!("{run_s:.3}"),
            truth.as_ref().map_or(0, Vec::len).to_string(),
            label.to_string(),
            candidate.channel.trim_start_matches("motion:").to_string(),
            event.cue.as_str().to_string(),
            format!("{:.3}", event.onset_s),
            format!("{:.3}", event.offset_s),
        ]);
        row.extend(
            candidate
                .features
                .iter()
                .zip(FEATURE_NAMES)
                .map(|(&x, name)| short(x, if name.ends_with("_s") { 3 } else { 2 })),
        );
        writeln!(out, "{}", row.join(","))?;
    }
    out.flush()?;
    eprintln!(
        "{} candidate(s) from {} frames",
        candidates.len(),
        signals.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// A feature value with `decimals` decimals, trailing zeros dropped (keeps the training CSV
/// small).
fn short(x: f32, decimals: usize) -> String {
    let text = format!("{x:.decimals$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// One usable row of the training CSV.
struct Row {
    person: String,
    style: String,
    /// The run the candidate came from (all tag columns).
    run: String,
    run_s: f64,
    truths: usize,
    label: Label,
    onset_s: f64,
    offset_s: f64,
    features: Features,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Truth,
    Mistimed,
    Natural,
}

/// side, person and style of each run, by run id.
type Runs = BTreeMap<String, [String; 3]>;

fn read_runs(path: &Path) -> anyhow::Result<Runs> {
    let mut reader = csv::Reader::from_path(path)
        .with_context(|| format!("cannot read the runs `{}`", path.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("`{}` has no `{name}` column", path.display()))
    };
    let (run, side, person, style) = (
        column("run")?,
        column("side")?,
        column("person")?,
        column("style")?,
    );
    let mut runs = Runs::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("in `{}`", path.display()))?;
        runs.insert(
            record[run].to_string(),
            [&record[side], &record[person], &record[style]].map(str::to_string),
        );
    }
    Ok(runs)
}

fn read_rows(
    path: &Path,
    runs: Option<&Runs>,
    exclude_person: Option<&str>,
) -> anyhow::Result<Vec<Row>> {
    let mut reader = csv::Reader::from_path(path)
        .with_context(|| format!("cannot read the candidates `{}`", path.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers.iter().position(|h| h == name).with_context(|| {
            format!(
                "`{}` has no `{name}` column\nhint: write it with `microcue eval candidates --tag side=... --tag person=...`",
                path.display()
            )
        })
    };
    let [run_s, truths, label, onset, offset] =
        ["run_s", "truths", "label", "onset_s", "offset_s"].map(column);
    let (run_s, truths, label, onset, offset) = (run_s?, truths?, label?, onset?, offset?);
    // side, person and style: the run's (from --runs) or the row's own columns.
    let source = match runs {
        Some(runs) => Err((runs, column("run")?)),
        None => Ok([column("side")?, column("person")?, column("style")?]),
    };
    let features = FEATURE_NAMES
        .iter()
        .map(|name| column(name))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut rows = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("in `{}`", path.display()))?;
        let [side, person, style] = match &source {
            Ok(columns) => columns.map(|c| record[c].to_string()),
            Err((runs, c)) => runs.get(&record[*c]).cloned().with_context(|| {
                format!(
                    "`{}` row {}: run `{}` is not in the runs file",
                    path.display(),
                    line + 2,
                    &record[*c]
                )
            })?,
        };
        if side != "tuning" || Some(person.as_str()) == exclude_person {
            continue;
        }
        let label = match &record[label] {
            "truth" => Label::Truth,
            "mistimed" => Label::Mistimed,
            "natural" => Label::Natural,
            _ => continue,
        };
        let number = |index: usize| -> anyhow::Result<f64> {
            record[index].parse::<f64>().with_context(|| {
                format!(
                    "`{}` row {}: `{}` is not a number",
                    path.display(),
                    line + 2,
                    &record[index]
                )
            })
        };
        let mut values = [0.0f32; FEATURE_COUNT];
        for (value, &index) in values.iter_mut().zip(&features) {
            *value = number(index)? as f32;
        }
        rows.push(Row {
            person,
            style,
            run: record.iter().take(run_s).collect::<Vec<_>>().join("/"),
            run_s: number(run_s)?,
            truths: number(truths)? as usize,
            label,
            onset_s: number(onset)?,
            offset_s: number(offset)?,
            features: values,
        });
    }
    if !rows.iter().any(|r| r.label == Label::Truth)
        || !rows.iter().any(|r| r.label != Label::Truth)
    {
        bail!(
            "`{}`: the tuning rows need both classes (label truth, and mistimed or natural)",
            path.display()
        );
    }
    Ok(rows)
}

fn fit(rows: &[&Row], l2: f64, threshold: f64) -> DecisionModel {
    let features: Vec<Features> = rows.iter().map(|r| r.features).collect();
    let labels: Vec<bool> = rows.iter().map(|r| r.label == Label::Truth).collect();
    train(&features, &labels, l2, threshold)
}

/// Runs `microcue eval train-decision`.
pub fn run_train(args: TrainArgs) -> anyhow::Result<ExitCode> {
    if !(args.l2.is_finite() && args.l2 > 0.0) {
        bail!("--l2 must be a positive number, got {}", args.l2);
    }
    if !(args.threshold > 0.0 && args.threshold < 1.0) {
        bail!("--threshold must be in (0, 1), got {}", args.threshold);
    }
    let runs = args.runs.as_deref().map(read_runs).transpose()?;
    let rows = read_rows(&args.data, runs.as_ref(), args.exclude_person.as_deref())?;
    if !args.cv.is_empty() {
        return cross_validate(&rows, &args.cv);
    }
    let all: Vec<&Row> = rows.iter().collect();
    let model = fit(&all, args.l2, args.threshold);
    if let Some(path) = &args.out {
        std::fs::write(path, weights_source(&model))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    if let Some(path) = &args.json {
        std::fs::write(path, format!("{}\n", serde_json::to_string_pretty(&model)?))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    let mut text = format!(
        "trained on {} candidates ({} positive), l2 {}, threshold {}\n",
        rows.len(),
        rows.iter().filter(|r| r.label == Label::Truth).count(),
        args.l2,
        args.threshold
    );
    let mut order: Vec<usize> = (0..FEATURE_COUNT).collect();
    order.sort_by(|&a, &b| model.weights[b].abs().total_cmp(&model.weights[a].abs()));
    for &i in order.iter().take(12) {
        text.push_str(&format!(
            "  {:>22} {:+.3}\n",
            FEATURE_NAMES[i], model.weights[i]
        ));
    }
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Leave-one-person-out: out-of-fold probabilities per L2, then per threshold the pooled
/// scores of what the spotter would keep (the more probable of overlapping candidates):
/// F1 per style (truth rows kept = matches, mistimed rows kept = false positives) and natural
/// candidates kept per minute of the clean runs.
fn cross_validate(rows: &[Row], penalties: &[f64]) -> anyhow::Result<ExitCode> {
    let mut people: Vec<&str> = rows.iter().map(|r| r.person.as_str()).collect();
    people.sort_unstable();
    people.dedup();
    let mut text = format!(
        "leave-one-person-out over {} people, {} candidates\n\n| l2 | threshold | log loss | F1 warp | F1 au | natural/min |\n|---|---|---|---|---|---|\n",
        people.len(),
        rows.len()
    );
    for &l2 in penalties {
        let mut probability = vec![0.0f64; rows.len()];
        for person in &people {
            let train_rows: Vec<&Row> = rows.iter().filter(|r| r.person != *person).collect();
            let model = fit(&train_rows, l2, 0.5);
            for (p, row) in probability.iter_mut().zip(rows) {
                if row.person == *person {
                    *p = model.probability(&row.features);
                }
            }
        }
        let log_loss = rows
            .iter()
            .zip(&probability)
            .map(|(r, &p)| {
                let p = p.clamp(1e-9, 1.0 - 1e-9);
                if r.label == Label::Truth {
                    -p.ln()
                } else {
                    -(1.0 - p).ln()
                }
            })
            .sum::<f64>()
            / rows.len() as f64;
        for step in 1..20 {
            let threshold = f64::from(step) * 0.05;
            let kept = keep(rows, &probability, threshold);
            let f1 = |style: &str| {
                let mut truths = 0;
                let mut seen = std::collections::BTreeSet::new();
                let (mut matched, mut false_positives) = (0usize, 0usize);
                for (row, &kept) in rows.iter().zip(&kept) {
                    if row.style != style {
                        continue;
                    }
                    if seen.insert(row.run.as_str()) {
                        truths += row.truths;
                    }
                    if kept {
                        match row.label {
                            Label::Truth => matched += 1,
                            Label::Mistimed => false_positives += 1,
                            Label::Natural => {}
                        }
                    }
                }
                let matched = matched.min(truths);
                if truths == 0 {
                    f64::NAN
                } else {
                    2.0 * matched as f64 / (truths + matched + false_positives) as f64
                }
            };
            let mut seconds = BTreeMap::new();
            let mut natural = 0usize;
            for (row, &kept) in rows.iter().zip(&kept) {
                if row.label == Label::Natural {
                    seconds.insert(row.run.as_str(), row.run_s);
                    natural += usize::from(kept);
                }
            }
            let minutes = seconds.values().sum::<f64>() / 60.0;
            text.push_str(&format!(
                "| {l2} | {threshold:.2} | {log_loss:.4} | {:.3} | {:.3} | {:.1} |\n",
                f1("warp"),
                f1("au"),
                natural as f64 / minutes.max(1e-9)
            ));
        }
    }
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Which rows the spotter would keep at `threshold`: probable enough, and the most probable
/// of the candidates of its run that overlap it (greedy, most probable first).
fn keep(rows: &[Row], probability: &[f64], threshold: f64) -> Vec<bool> {
    let mut by_run: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        if probability[i] >= threshold {
            by_run.entry(row.run.as_str()).or_default().push(i);
        }
    }
    let mut kept = vec![false; rows.len()];
    for mut indices in by_run.into_values() {
        indices.sort_by(|&a, &b| probability[b].total_cmp(&probability[a]).then(a.cmp(&b)));
        let mut chosen: Vec<usize> = Vec::new();
        for i in indices {
            let overlaps = chosen
                .iter()
                .any(|&j| rows[j].onset_s < rows[i].offset_s && rows[i].onset_s < rows[j].offset_s);
            if !overlaps {
                chosen.push(i);
                kept[i] = true;
            }
        }
    }
    kept
}
