//! `microcue analyze`: video, face-signals JSON Lines or OpenFace CSV in; events out.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use microcue_core::formats::{read_openface, read_signals};
use microcue_core::hypothesis::read_context_csv;
use microcue_core::lexicon::LIMITS;
use microcue_core::spotter::{Decision, Spotter, SpotterConfig};
use microcue_core::{ContextTag, CueId, Event, FaceSignals};
use microcue_vision::pipeline::{Pipeline, Step};
use microcue_vision::recording::{RecordingError, RecordingSettings, analyze_recording};
use microcue_vision::source::{FrameSource, SourceSpec, open_source};

use crate::output::{EventFormat, EventWriter};
use crate::progress::Progress;

/// Arguments of `microcue analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Video file (MP4/MOV H.264 natively; other formats through ffmpeg), a folder of image
    /// frames (with --fps), a .y4m file, or `-` for Y4M on stdin.
    #[arg(value_name = "VIDEO", required_unless_present_any = ["signals", "openface"], conflicts_with_all = ["signals", "openface"])]
    pub input: Option<PathBuf>,
    /// Read per-frame face signals (JSON Lines, docs/formats.md) instead of a video.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with = "openface")]
    pub signals: Option<PathBuf>,
    /// Read OpenFace 2.x CSV output instead of a video.
    #[arg(long, value_name = "FILE.csv")]
    pub openface: Option<PathBuf>,
    /// Write events here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Event format.
    #[arg(long, value_enum, default_value_t = EventFormat::Jsonl)]
    pub format: EventFormat,
    /// Also write the per-frame face signals (JSON Lines, the schema `--signals` reads).
    #[arg(long, value_name = "FILE.jsonl")]
    pub signals_out: Option<PathBuf>,
    /// Frame rate of an image folder (files carry their own timestamps).
    #[arg(long)]
    pub fps: Option<f64>,
    /// Most faces to track at once.
    #[arg(long, default_value_t = 1)]
    pub max_faces: usize,
    /// Whose recording this is: `self` (you) or `given` (everyone on it agreed). Asked
    /// interactively when missing.
    #[arg(long, value_enum)]
    pub consent: Option<Consent>,
    /// Never call the ffmpeg CLI (only H.264 MP4/MOV, Y4M and image folders).
    #[arg(long)]
    pub no_ffmpeg: bool,
    /// Skip the region motion (optical flow) signals.
    #[arg(long)]
    pub no_region_motion: bool,
    /// Spotter settings (JSON, any subset of the fields of `microcue_core::SpotterConfig`;
    /// the rest keep their defaults). For tuning and evaluation.
    #[arg(long, value_name = "FILE.json")]
    pub spotter_config: Option<PathBuf>,
    /// Timed context tags for the two-signal rule: CSV with a header `time_s,tag` (tags: joke,
    /// question, compliment, touch, or a vocal cue such as laugh). A cue with a tag in the 2 s
    /// before it makes a hypothesis, as the live coach's context buttons do.
    #[arg(long, value_name = "FILE.csv")]
    pub context: Option<PathBuf>,
    /// How readily movements are reported, 0 (only the clearest) to 1 (the faintest);
    /// default 0.5 (or the settings file's). Higher finds more and reports more natural
    /// movements that are not cues (docs/evaluation.md, "Sensitivity").
    #[arg(long, value_name = "0..1")]
    pub sensitivity: Option<f32>,
    /// What decides which candidate movements are reported: `rules` (the hand-set gates,
    /// default) or `learned` (a model trained on planted and natural movements; not the
    /// default: it does not do better on held-out footage, docs/evaluation.md, "The learned
    /// decision"). With `learned` the sensitivity sets the probability a movement needs.
    #[arg(long, value_enum)]
    pub decision: Option<DecisionArg>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Reads `--context`.
fn load_context(path: &Path) -> anyhow::Result<Vec<ContextTag>> {
    read_context_csv(open(path)?)
        .with_context(|| format!("in the context file `{}`", path.display()))
}

/// Reads spotter settings from a JSON file (missing fields keep their defaults).
pub fn load_spotter_config(path: Option<&Path>) -> anyhow::Result<SpotterConfig> {
    let Some(path) = path else {
        return Ok(SpotterConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the spotter settings `{}`", path.display()))?;
    let config: SpotterConfig = serde_json::from_str(&text).with_context(|| {
        format!(
            "`{}` is not valid spotter settings (a JSON object with fields of SpotterConfig)",
            path.display()
        )
    })?;
    config
        .validate()
        .map_err(|message| anyhow::anyhow!("`{}`: {message}", path.display()))?;
    Ok(config)
}

/// `--decision` of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecisionArg {
    Rules,
    Learned,
}

/// Whose face a recording shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Consent {
    /// The recording shows only me.
    #[value(name = "self")]
    OnlyMe,
    /// Everyone on the recording agreed to this analysis.
    Given,
}

/// Runs `microcue analyze`.
pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let mut spotter_config = load_spotter_config(args.spotter_config.as_deref())?;
    if let Some(sensitivity) = args.sensitivity {
        spotter_config.sensitivity = sensitivity;
        spotter_config
            .validate()
            .map_err(|message| {
                anyhow::anyhow!("--sensitivity: {message}\nhint: 0 reports only the clearest movements, 1 the faintest; try 0.3 or 0.7")
            })?;
    }
    if let Some(decision) = args.decision {
        spotter_config.decision = match decision {
            DecisionArg::Rules => Decision::Rules,
            DecisionArg::Learned => Decision::Learned,
        };
    }
    let context = args.context.as_deref().map(load_context).transpose()?;
    let mut writer = EventWriter::create(args.format, args.out.as_deref())?;
    if let Some(context) = context {
        writer.set_context(context);
    }
    let code = run_with(&args, spotter_config, &mut writer)?;
    print_hypotheses(writer.hypotheses());
    Ok(code)
}

fn run_with(
    args: &AnalyzeArgs,
    spotter_config: SpotterConfig,
    writer: &mut EventWriter,
) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.signals {
        let file = open(path)?;
        let mut spotter = Spotter::new(spotter_config);
        let mut events = Vec::new();
        let mut frames = 0_u64;
        for signals in read_signals(BufReader::new(file)) {
            let signals = signals.with_context(|| format!("in `{}`", path.display()))?;
            frames += 1;
            spotter.push(&signals, &mut events);
            drain(&mut events, &mut |event| writer.write(event))?;
        }
        spotter.finish(&mut events);
        drain(&mut events, &mut |event| writer.write(event))?;
        print_summary(frames, writer.written(), &[]);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.openface {
        let import =
            read_openface(open(path)?).with_context(|| format!("in `{}`", path.display()))?;
        for note in &import.notes {
            eprintln!("note: {note}");
        }
        let config = SpotterConfig {
            unavailable_cues: import.unavailable_cues.clone(),
            ..spotter_config
        };
        let events = microcue_core::spotter::analyze_all(&import.signals, &config);
        for event in &events {
            writer.write(event)?;
        }
        print_summary(
            import.signals.len() as u64,
            writer.written(),
            &import.unavailable_cues,
        );
        return Ok(ExitCode::SUCCESS);
    }
    let Some(input) = &args.input else {
        bail!("give a VIDEO, --signals FILE or --openface FILE")
    };
    confirm_consent(args.consent, ConsentSubject::Recording(input))?;
    let mut spec = SourceSpec::new(input).with_ffmpeg(!args.no_ffmpeg);
    if let Some(fps) = args.fps {
        spec = spec.with_fps(fps);
    }
    let source = open_source(&spec)?;
    let options = VideoOptions {
        max_faces: args.max_faces,
        region_motion: !args.no_region_motion,
        progress: !args.quiet,
        signals_out: args.signals_out.clone(),
        spotter: spotter_config,
    };
    let pipeline = load_pipeline()?;
    analyze_video(
        &pipeline,
        source,
        &input.display().to_string(),
        &options,
        &mut |event| writer.write(event),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Loads the face models for this process (every command loads them once).
pub fn load_pipeline() -> anyhow::Result<Pipeline> {
    Pipeline::load().context("cannot load the embedded face models")
}

/// Settings of one video analysis.
pub struct VideoOptions {
    pub max_faces: usize,
    pub region_motion: bool,
    pub progress: bool,
    pub signals_out: Option<PathBuf>,
    pub spotter: SpotterConfig,
}

/// What one video analysis saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct VideoSummary {
    pub frames: u64,
    pub frames_with_face: u64,
    pub events: usize,
}

/// Runs the full pipeline on a frame source, handing each event to `on_event` as soon as it is
/// found. On a decoding error the events found before it have been handed over already and the
/// error names the file and the frame.
pub fn analyze_video(
    pipeline: &Pipeline,
    source: Box<dyn FrameSource>,
    name: &str,
    options: &VideoOptions,
    on_event: &mut dyn FnMut(&Event) -> anyhow::Result<()>,
) -> anyhow::Result<VideoSummary> {
    let settings = RecordingSettings {
        max_faces: options.max_faces,
        region_motion: options.region_motion,
        spotter: options.spotter.clone(),
    }
    .run_settings();
    let mut signals_out = match &options.signals_out {
        Some(path) => {
            Some(BufWriter::new(File::create(path).with_context(|| {
                format!("cannot create `{}`", path.display())
            })?))
        }
        None => None,
    };
    let mut progress = Progress::new(options.progress, source.info().frame_count, name);
    let run = analyze_recording(pipeline, source, name, &settings, &mut |step| {
        if let Step::Frame(report) = &step {
            if let Some(out) = &mut signals_out {
                write_signals(out, report.faces, options.signals_out.as_deref())?;
            }
            progress.tick(report.frame.pts_s);
        }
        step.events().iter().try_for_each(&mut *on_event)
    });
    progress.finish();
    let flushed = match &mut signals_out {
        Some(out) => out.flush().context("cannot write the signals file"),
        None => Ok(()),
    };
    let run = match run.map_err(RecordingError::into_caller) {
        Ok(run) => run,
        Err(Ok(own)) => return Err(own),
        Err(Err(error)) => {
            flushed?;
            if let Some(note) = error.kept_note() {
                eprintln!("{note}");
            }
            return Err(error.into());
        }
    };
    flushed?;
    let (frame_count, event_count) = (run.frames, run.events);
    let summary = VideoSummary {
        frames: frame_count,
        frames_with_face: run.frames_with_face,
        events: event_count,
    };
    if !run.found_face() {
        eprintln!("{}", run.no_face_message(name));
        return Ok(summary);
    }
    eprintln!(
        "faces in {} of {frame_count} frames ({:.0}%)",
        run.frames_with_face,
        100.0 * run.frames_with_face as f64 / frame_count as f64
    );
    print_summary(frame_count, event_count, &[]);
    Ok(summary)
}

fn write_signals(
    out: &mut BufWriter<File>,
    faces: &[FaceSignals],
    path: Option<&Path>,
) -> anyhow::Result<()> {
    for face in faces {
        serde_json::to_writer(&mut *out, face)?;
        out.write_all(b"\n").with_context(|| {
            format!(
                "cannot write `{}`",
                path.map(|p| p.display().to_string()).unwrap_or_default()
            )
        })?;
    }
    Ok(())
}

fn drain(
    events: &mut Vec<Event>,
    on_event: &mut dyn FnMut(&Event) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    let count = events.len();
    for event in events.drain(..) {
        on_event(&event)?;
    }
    Ok(count)
}

fn open(path: &Path) -> anyhow::Result<File> {
    File::open(path).with_context(|| format!("cannot open `{}`", path.display()))
}

/// What a consent question is about.
pub enum ConsentSubject<'a> {
    /// One recording (`-`: stdin, which then cannot also carry the answer).
    Recording(&'a Path),
    /// The recordings of a batch, confirmed once for all of them.
    Batch {
        /// How many recordings.
        files: usize,
    },
}

/// Asks for consent unless `--consent` was given; refuses without a terminal to ask on.
pub fn confirm_consent(
    consent: Option<Consent>,
    subject: ConsentSubject<'_>,
) -> anyhow::Result<()> {
    if consent.is_some() {
        return Ok(());
    }
    let (whose, question, stdin_is_input) = match subject {
        ConsentSubject::Recording(input) => (
            format!("whose recording is `{}`?", input.display()),
            format!(
                "Is `{}` a recording of you, or has everyone on it agreed to this analysis?",
                input.display()
            ),
            input.as_os_str() == "-",
        ),
        ConsentSubject::Batch { files } => (
            format!("whose recordings are the {files} file(s) of this batch?"),
            format!(
                "Are the {files} file(s) of this batch recordings of you, or has everyone on them agreed to this analysis?"
            ),
            false,
        ),
    };
    let stdin = std::io::stdin();
    if stdin_is_input || !stdin.is_terminal() {
        bail!(
            "{whose} microcue analyses other people only with their consent.\n\
             hint: add `--consent self` (only you are on it) or `--consent given` (everyone on it agreed)"
        );
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        bail!("not analysed: consent not confirmed")
    }
}

/// The two-signal rule's count, after the summary.
fn print_hypotheses(count: usize) {
    eprintln!(
        "{count} hypothesis record(s): two signals agreed (two cues, or a cue and a context tag). \
         Every other event stays `watch`: a single cue is never a verdict."
    );
}

/// The closing lines on stderr: what was found, and the limits of what it means.
pub fn print_summary(frames: u64, events: usize, unavailable: &[CueId]) {
    eprintln!(
        "{events} event(s) in {frames} frame(s): single cues, each read with a confidence and on watch until a second signal agrees — not a verdict."
    );
    if !unavailable.is_empty() {
        let names: Vec<&str> = unavailable.iter().map(|c| c.as_str()).collect();
        eprintln!(
            "unavailable from this input (not guessed): {}",
            names.join(", ")
        );
    }
    eprintln!("limits:");
    for limit in LIMITS {
        eprintln!("  - {}: {}", limit.topic, limit.text);
    }
}
