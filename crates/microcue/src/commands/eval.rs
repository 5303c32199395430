//! `microcue eval`: ground truth by injection (`inject`) and MEGC scoring (`score`).
//!
//! The chain (docs/evaluation.md):
//!
//! ```text
//! microcue eval inject clip.mp4 out --seed 1 --count 10 --consent self
//! microcue analyze out/injected.y4m --out inj.jsonl --consent self
//! microcue analyze out/clean.y4m --out clean.jsonl --consent self
//! microcue eval score out/truth.csv inj.jsonl clean.jsonl
//! ```
//!
//! `microcue eval run` does the four steps in one (and deletes the videos); `eval score --run
//! DIR --run DIR ...` pools several such runs into one score.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use microcue_core::eval::{EvalConfig, EvalReport, TruthEvent, evaluate};
use microcue_core::{CueId, Event};
use microcue_vision::Pipeline;
use microcue_vision::inject::InjectReport;
use microcue_vision::inject::{InjectConfig, InjectPass, InjectStyle, inject_video};
use microcue_vision::source::{SourceSpec, open_source};
use microcue_vision::warp::{INJECTABLE_CUES, MAX_AMPLITUDE_IOD};

use crate::commands::analyze::{Consent, VideoOptions, analyze_video, load_pipeline};
use crate::output::{EventFormat, EventWriter};
use crate::progress::Progress;
use crate::stdout::print;

/// Arguments of `microcue eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    pub command: EvalCommand,
}

/// The evaluation steps.
#[derive(Debug, clap::Subcommand)]
pub enum EvalCommand {
    /// Plant brief movements of known cue, side and timing into a face video by image warping.
    ///
    /// Writes OUT_DIR/injected.y4m, OUT_DIR/clean.y4m (the same frames without the movements,
    /// written with identical settings) and OUT_DIR/truth.csv. Analyse both videos with
    /// `microcue analyze`, then score with `microcue eval score`.
    Inject(InjectArgs),
    /// Score detected events against truth.csv (MEGC: temporal IoU >= 0.5, one-to-one).
    ///
    /// Detections that also appear in the clean run are natural movements and are not counted
    /// as false positives.
    Score(ScoreArgs),
    /// Inject, analyse both videos and score, in one go.
    ///
    /// Writes OUT_DIR/truth.csv, OUT_DIR/injected.jsonl, OUT_DIR/clean.jsonl and
    /// OUT_DIR/report.json, and deletes the two videos unless --keep-video. Pool several runs
    /// with `microcue eval score --run DIR --run DIR ...`.
    Run(RunArgs),
    /// Every candidate movement of the learned decision in one signals file, with its
    /// features and label, as CSV (the decision's training data; docs/evaluation.md).
    Candidates(crate::commands::decision::CandidatesArgs),
    /// Train the learned decision on candidates CSV (tuning rows only), or cross-validate it
    /// by person (--cv).
    TrainDecision(crate::commands::decision::TrainArgs),
}

/// Arguments of `microcue eval run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub inject: InjectArgs,
    /// Keep OUT_DIR/injected.y4m and OUT_DIR/clean.y4m (large) after the analysis.
    #[arg(long)]
    pub keep_video: bool,
}

/// Arguments of `microcue eval inject`.
#[derive(Debug, clap::Args)]
pub struct InjectArgs {
    /// Face video (MP4/MOV H.264 natively, others through ffmpeg), a .y4m file or an image
    /// folder (with --fps).
    #[arg(value_name = "VIDEO")]
    pub input: PathBuf,
    /// Folder for injected.y4m, clean.y4m and truth.csv (created; existing files replaced).
    #[arg(value_name = "OUT_DIR")]
    pub out_dir: PathBuf,
    /// Seed of the event plan: the same seed on the same clip gives the same events.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How the movements are made: `warp` (the style the spotter was tuned on) or `au`
    /// (an independent one: action-unit bases on the landmark mesh, varied time courses,
    /// placed during speech and head motion too; docs/evaluation.md).
    #[arg(long, value_enum, default_value_t = StyleArg::Warp)]
    pub style: StyleArg,
    /// Number of events to plant (fewer when the clip is too short; at least 1 s apart).
    #[arg(long, default_value_t = 10)]
    pub count: usize,
    /// Use only the first S seconds of the video.
    #[arg(long, value_name = "S")]
    pub max_seconds: Option<f64>,
    /// Cues to plant, comma-separated (default: all that can be warped).
    #[arg(long, value_delimiter = ',', value_name = "CUE,..")]
    pub cues: Vec<String>,
    /// Smallest and largest amplitude, in inter-ocular distances.
    #[arg(long, default_value_t = 0.015)]
    pub min_amplitude: f32,
    #[arg(long, default_value_t = 0.05)]
    pub max_amplitude: f32,
    /// Frame rate of an image folder (files carry their own timestamps).
    #[arg(long)]
    pub fps: Option<f64>,
    /// Never call the ffmpeg CLI.
    #[arg(long)]
    pub no_ffmpeg: bool,
    /// Whose recording this is: `self` (you) or `given` (everyone on it agreed). Required:
    /// injection tracks the face and writes its frames to OUT_DIR.
    #[arg(long, value_enum)]
    pub consent: Option<Consent>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// `--style` of `eval inject` / `eval run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StyleArg {
    Warp,
    Au,
}

impl From<StyleArg> for InjectStyle {
    fn from(style: StyleArg) -> Self {
        match style {
            StyleArg::Warp => InjectStyle::Warp,
            StyleArg::Au => InjectStyle::Au,
        }
    }
}

/// Arguments of `microcue eval score`.
#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// Ground truth: CSV with columns cue,side,onset_s,apex_s,offset_s (extra columns ignored).
    #[arg(
        value_name = "TRUTH.csv",
        required_unless_present = "run",
        conflicts_with = "run"
    )]
    pub truth: Option<PathBuf>,
    /// Events found on the injected video (JSON Lines of `microcue analyze`).
    #[arg(value_name = "INJECTED.jsonl", required_unless_present = "run")]
    pub injected: Option<PathBuf>,
    /// Events found on the clean video: detections seen there too are natural, not false
    /// positives. Without it every unmatched detection counts as a false positive.
    #[arg(value_name = "CLEAN.jsonl")]
    pub clean: Option<PathBuf>,
    /// Print the full report as JSON (matches, confusion table) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Smallest temporal IoU for a match.
    #[arg(long, default_value_t = 0.5)]
    pub min_iou: f64,
    /// Score these `microcue eval run` folders together (each has truth.csv, injected.jsonl and
    /// clean.jsonl) instead of one set of files. Repeat for several.
    #[arg(long, value_name = "DIR")]
    pub run: Vec<PathBuf>,
}

/// Runs `microcue eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        EvalCommand::Inject(args) => run_inject(args),
        EvalCommand::Score(args) => run_score(args),
        EvalCommand::Run(args) => run_run(args),
        EvalCommand::Candidates(args) => crate::commands::decision::run_candidates(args),
        EvalCommand::TrainDecision(args) => crate::commands::decision::run_train(args),
    }
}

fn run_inject(args: InjectArgs) -> anyhow::Result<ExitCode> {
    let report = inject(&args, &mut None)?;
    for path in [
        &report.injected_path,
        &report.clean_path,
        &report.truth_path,
    ] {
        print(&format!("{}\n", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Files of one `eval run` folder.
const RUN_TRUTH: &str = "truth.csv";
const RUN_INJECTED: &str = "injected.jsonl";
const RUN_CLEAN: &str = "clean.jsonl";
const RUN_REPORT: &str = "report.json";

fn run_run(args: RunArgs) -> anyhow::Result<ExitCode> {
    // One pipeline for the injection and both analyses: the models load once.
    let mut pipeline = None;
    let report = inject(&args.inject, &mut pipeline)?;
    let pipeline = match pipeline {
        Some(pipeline) => pipeline,
        None => load_pipeline()?,
    };
    let out_dir = &args.inject.out_dir;
    for (video, events_name) in [
        (&report.injected_path, RUN_INJECTED),
        (&report.clean_path, RUN_CLEAN),
    ] {
        let events_path = out_dir.join(events_name);
        let mut writer = EventWriter::create(EventFormat::Jsonl, Some(&events_path))?;
        let source = open_source(&SourceSpec::new(video).with_ffmpeg(false))?;
        let options = VideoOptions {
            max_faces: 1,
            region_motion: true,
            progress: !args.inject.quiet,
            signals_out: None,
            spotter: microcue_core::SpotterConfig::default(),
        };
        analyze_video(
            &pipeline,
            source,
            &video.display().to_string(),
            &options,
            &mut |event| writer.write(event),
        )?;
    }
    if !args.keep_video {
        for video in [&report.injected_path, &report.clean_path] {
            std::fs::remove_file(video)
                .with_context(|| format!("cannot delete `{}`", video.display()))?;
        }
    }
    let score = score_runs(std::slice::from_ref(out_dir), &EvalConfig::default())?;
    std::fs::write(
        out_dir.join(RUN_REPORT),
        format!("{}\n", serde_json::to_string_pretty(&score)?),
    )
    .with_context(|| format!("cannot write `{}`", out_dir.join(RUN_REPORT).display()))?;
    print(&format_report(&score, true))?;
    Ok(ExitCode::SUCCESS)
}

/// Scores several `eval run` folders as one set: each run's times are shifted far apart so
/// that matches never cross runs.
fn score_runs(dirs: &[PathBuf], config: &EvalConfig) -> anyhow::Result<EvalReport> {
    const RUN_SPACING_S: f64 = 1.0e6;
    let mut truth = Vec::new();
    let mut detections = Vec::new();
    let mut clean = Vec::new();
    for (index, dir) in dirs.iter().enumerate() {
        let shift = index as f64 * RUN_SPACING_S;
        for path in [RUN_TRUTH, RUN_INJECTED, RUN_CLEAN].map(|name| dir.join(name)) {
            if !path.is_file() {
                bail!(
                    "`{}` is missing: `{}` is not a finished `microcue eval run` folder",
                    path.display(),
                    dir.display()
                );
            }
        }
        truth.extend(
            read_truth_csv(&dir.join(RUN_TRUTH))?
                .into_iter()
                .map(|mut t| {
                    t.onset_s += shift;
                    t.apex_s += shift;
                    t.offset_s += shift;
                    t
                }),
        );
        let shifted = |mut event: Event| {
            event.onset_s += shift;
            event.apex_s += shift;
            event.offset_s += shift;
            event
        };
        detections.extend(
            read_events(&dir.join(RUN_INJECTED))?
                .into_iter()
                .map(shifted),
        );
        clean.extend(read_events(&dir.join(RUN_CLEAN))?.into_iter().map(shifted));
    }
    Ok(evaluate(&truth, &detections, Some(&clean), config))
}

/// Plants the events (the `inject` step), with its messages on stderr. Loads the pipeline into
/// `pipeline` once the arguments are checked, unless it is there already.
fn inject(args: &InjectArgs, pipeline: &mut Option<Pipeline>) -> anyhow::Result<InjectReport> {
    if args.consent.is_none() {
        bail!(
            "whose recording is `{}`? injection tracks the face and writes its frames to `{}`.\n\
             hint: add `--consent self` (only you are on it) or `--consent given` (everyone on it agreed)",
            args.input.display(),
            args.out_dir.display()
        );
    }
    let cues = if args.cues.is_empty() {
        INJECTABLE_CUES.to_vec()
    } else {
        args.cues
            .iter()
            .map(|name| parse_injectable_cue(name))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    if !(args.min_amplitude > 0.0
        && args.min_amplitude <= args.max_amplitude
        && args.max_amplitude <= MAX_AMPLITUDE_IOD)
    {
        bail!(
            "amplitudes must satisfy 0 < --min-amplitude <= --max-amplitude <= {MAX_AMPLITUDE_IOD} (inter-ocular \
             distances; larger warps fold the image), got {} and {}",
            args.min_amplitude,
            args.max_amplitude
        );
    }
    if let Some(max_seconds) = args.max_seconds
        && (max_seconds.is_nan() || max_seconds <= 0.0)
    {
        bail!("--max-seconds must be a positive number of seconds, got {max_seconds}");
    }
    let config = InjectConfig {
        style: args.style.into(),
        seed: args.seed,
        count: args.count,
        max_seconds: args.max_seconds,
        cues,
        min_amplitude_iod: args.min_amplitude,
        max_amplitude_iod: args.max_amplitude,
        ..InjectConfig::default()
    };
    let mut spec = SourceSpec::new(&args.input).with_ffmpeg(!args.no_ffmpeg);
    if let Some(fps) = args.fps {
        spec = spec.with_fps(fps);
    }
    let pipeline = match pipeline {
        Some(pipeline) => pipeline,
        None => pipeline.insert(load_pipeline()?),
    };
    let models = pipeline.models();
    let name = args
        .input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut bar: Option<(InjectPass, Progress)> = None;
    let report = inject_video(&spec, &args.out_dir, &config, models, &mut |progress| {
        if args.quiet {
            return;
        }
        if bar.as_ref().map(|(pass, _)| *pass) != Some(progress.pass) {
            if let Some((_, mut old)) = bar.take() {
                old.finish();
            }
            let label = match progress.pass {
                InjectPass::Track => format!("tracking {name}"),
                InjectPass::Write => format!("writing {name}"),
            };
            bar = Some((
                progress.pass,
                Progress::new(true, progress.frames_total, &label),
            ));
        }
        if let Some((_, bar)) = &mut bar {
            bar.tick(0.0);
        }
    });
    if let Some((_, mut old)) = bar.take() {
        old.finish();
    }
    let report = report?;
    eprintln!(
        "planted {} of {} event(s), style {}, in {} frames ({:.3} fps; face tracked in {} frames)",
        report.events.len(),
        report.requested,
        InjectStyle::from(args.style).as_str(),
        report.frames,
        report.fps(),
        report.frames_with_face
    );
    if report.events.len() < report.requested {
        eprintln!(
            "note: the clip had room for only {} event(s) (face tracked throughout, 1 s apart, none in the first 2 s)",
            report.events.len()
        );
    }
    Ok(report)
}

fn parse_injectable_cue(name: &str) -> anyhow::Result<CueId> {
    let supported = || INJECTABLE_CUES.map(|c| c.as_str()).join(", ");
    match CueId::parse(name) {
        Some(cue) if INJECTABLE_CUES.contains(&cue) => Ok(cue),
        Some(cue) => bail!(
            "`{cue}` cannot be planted by warping\nhint: choose from {}",
            supported()
        ),
        None => bail!("unknown cue `{name}`\nhint: choose from {}", supported()),
    }
}

fn run_score(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    if !(args.min_iou > 0.0 && args.min_iou <= 1.0) {
        bail!("--min-iou must be in (0, 1], got {}", args.min_iou);
    }
    let config = EvalConfig {
        min_iou: args.min_iou,
    };
    let (report, with_clean) = if !args.run.is_empty() {
        (score_runs(&args.run, &config)?, true)
    } else {
        let (Some(truth), Some(injected)) = (&args.truth, &args.injected) else {
            bail!("give TRUTH.csv INJECTED.jsonl [CLEAN.jsonl], or --run DIR")
        };
        let truth = read_truth_csv(truth)?;
        let detections = read_events(injected)?;
        let clean = args.clean.as_deref().map(read_events).transpose()?;
        (
            evaluate(&truth, &detections, clean.as_deref(), &config),
            clean.is_some(),
        )
    };
    if args.json {
        print(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        print(&format_report(&report, with_clean))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a truth CSV (see [`microcue_train::review::read_truth_csv`]).
pub fn read_truth_csv(path: &Path) -> anyhow::Result<Vec<TruthEvent>> {
    let file = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    Ok(microcue_train::review::read_truth_csv(
        BufReader::new(file),
        path,
    )?)
}

/// Reads the events written by `microcue analyze` (JSON Lines); other records (hypotheses) and
/// the `kind`/`state` fields are passed over, so files from before they existed read the same.
pub fn read_events(path: &Path) -> anyhow::Result<Vec<Event>> {
    #[derive(serde::Deserialize)]
    struct Kind {
        kind: Option<String>,
    }
    let file = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let mut events = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read `{}`", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        if let Ok(Kind { kind: Some(kind) }) = serde_json::from_str::<Kind>(&line)
            && kind != "event"
        {
            continue;
        }
        let event: Event = serde_json::from_str(&line).with_context(|| {
            format!(
                "`{}` line {}: not an event\nhint: give the JSON Lines output of `microcue analyze` (`--format jsonl`, the default)",
                path.display(),
                index + 1
            )
        })?;
        events.push(event);
    }
    Ok(events)
}

/// The human-readable report.
fn format_report(report: &EvalReport, with_clean: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let o = &report.overall;
    let _ = writeln!(
        out,
        "MEGC spotting score (temporal IoU >= {}, one-to-one)",
        report.min_iou
    );
    let _ = writeln!(
        out,
        "truths {}   detections {}   matched {}   missed {}   false positives {}",
        o.truths, report.detections, o.matched, o.missed, o.false_positives
    );
    if with_clean {
        let _ = writeln!(
            out,
            "natural movements excluded (also found on the clean run): {}",
            report.excluded_natural
        );
    } else {
        let _ = writeln!(
            out,
            "no clean run given: every unmatched detection counts as a false positive"
        );
    }
    let _ = writeln!(
        out,
        "recall {:.3}   precision {:.3}   F1 {:.3}",
        o.recall, o.precision, o.f1
    );
    let _ = writeln!(
        out,
        "cue-label accuracy on matches: {}",
        fraction(report.labels_correct, o.matched, report.label_accuracy)
    );
    let _ = match report.side_accuracy {
        Some(accuracy) => writeln!(
            out,
            "side accuracy on one-sided truths: {}",
            fraction(report.sides_correct, report.sides_checked, accuracy)
        ),
        None => writeln!(
            out,
            "side accuracy on one-sided truths: - (no one-sided truth matched)"
        ),
    };

    let _ = writeln!(
        out,
        "\nper cue                  truths  matched  recall  label acc  false pos"
    );
    for cue in &report.per_cue {
        let label = if cue.matched > 0 {
            format!("{:.3}", cue.label_accuracy)
        } else {
            "-".to_owned()
        };
        let _ = writeln!(
            out,
            "  {:<22} {:>6}  {:>7}  {:>6.3}  {:>9}  {:>9}",
            cue.cue.as_str(),
            cue.truths,
            cue.matched,
            cue.recall,
            label,
            cue.false_positives
        );
    }
    let _ = writeln!(
        out,
        "\nper duration             truths  matched  recall  precision     F1  false pos"
    );
    for bucket in &report.per_bucket {
        let c = &bucket.counts;
        let _ = writeln!(
            out,
            "  {:<22} {:>6}  {:>7}  {:>6.3}  {:>9.3}  {:>5.3}  {:>9}",
            bucket.bucket.label(),
            c.truths,
            c.matched,
            c.recall,
            c.precision,
            c.f1,
            c.false_positives
        );
    }
    if !report.per_amplitude.is_empty() {
        let _ = writeln!(
            out,
            "\nper size (% of the inter-ocular distance)  truths  matched  recall"
        );
        for band in &report.per_amplitude {
            let (min, max) = (100.0 * band.min_iod, band.max_iod.map(|max| 100.0 * max));
            let label = match max {
                Some(max) if min > 0.0 => format!("{min:.1}-{max:.1} %"),
                Some(max) => format!("under {max:.1} %"),
                None => format!("{min:.1} % and over"),
            };
            let _ = writeln!(
                out,
                "  {label:<40} {:>6}  {:>7}  {:>6.3}",
                band.truths, band.matched, band.recall
            );
        }
    }
    if !report.confusion.is_empty() {
        let _ = writeln!(out, "\nlabels on matches (truth -> detected: count)");
        for cell in &report.confusion {
            let _ = writeln!(out, "  {} -> {}: {}", cell.truth, cell.detected, cell.count);
        }
    }
    out
}

fn fraction(numerator: usize, denominator: usize, rate: f64) -> String {
    if denominator == 0 {
        "- (no matches)".to_owned()
    } else {
        format!("{rate:.3} ({numerator}/{denominator})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use microcue_core::{Scale, Side, TrackId};

    fn event(cue: CueId, side: Side, onset_s: f64, offset_s: f64) -> Event {
        Event {
            track: TrackId(0),
            onset_s,
            apex_s: 0.5 * (onset_s + offset_s),
            offset_s,
            duration_ms: (offset_s - onset_s) * 1000.0,
            scale: Scale::of_duration_ms((offset_s - onset_s) * 1000.0),
            cue,
            side,
            intensity: 0.3,
            confidence: 0.6,
            valence: cue.valence(),
            evidence: Vec::new(),
        }
    }

    #[test]
    fn report_shows_scores_per_cue_and_bucket() {
        let truth = vec![
            TruthEvent {
                cue: CueId::EyebrowFlash,
                side: Side::Both,
                onset_s: 2.0,
                apex_s: 2.05,
                offset_s: 2.12,
                amplitude_iod: Some(0.02),
            },
            TruthEvent {
                cue: CueId::UnilateralLipCorner,
                side: Side::Left,
                onset_s: 5.0,
                apex_s: 5.1,
                offset_s: 5.3,
                amplitude_iod: Some(0.04),
            },
            TruthEvent {
                cue: CueId::LipCompression,
                side: Side::Both,
                onset_s: 8.0,
                apex_s: 8.1,
                offset_s: 8.4,
                amplitude_iod: Some(0.045),
            },
        ];
        let detections = vec![
            event(CueId::EyebrowFlash, Side::Both, 2.0, 2.11),
            event(CueId::UnilateralLipCorner, Side::Right, 5.02, 5.3),
            event(CueId::MicroFrown, Side::Both, 11.0, 11.2),
            event(CueId::GazeAversion, Side::Both, 14.0, 14.5),
        ];
        let clean = vec![event(CueId::GazeAversion, Side::Both, 14.05, 14.5)];
        let report = evaluate(&truth, &detections, Some(&clean), &EvalConfig::default());
        let text = format_report(&report, true);
        assert!(text.contains("matched 2"), "{text}");
        assert!(
            text.contains("natural movements excluded (also found on the clean run): 1"),
            "{text}"
        );
        assert!(
            text.contains("side accuracy on one-sided truths: 0.000 (0/1)"),
            "{text}"
        );
        assert!(
            text.contains("100-200 ms") && text.contains("200-500 ms"),
            "{text}"
        );
        assert!(text.contains("lip_compression"), "{text}");
        // Sizes: the flash (2 %) matched, the corner (4 %) matched, the press (4.5 %) missed.
        assert!(text.contains("under 2.5 %"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.contains("3.5 % and over") && l.contains("0.500")),
            "{text}"
        );
    }
}
