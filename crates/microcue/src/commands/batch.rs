//! `microcue batch`: a corpus of recordings analysed by N workers into Parquet and CSV tables.
//!
//! The recordings come from folders, files and glob patterns ([`inputs::from_inputs`]) or a
//! manifest CSV ([`inputs::from_manifest`]). The models are loaded once and shared by the
//! workers (each file gets its own analysis session, as in `microcue analyze`). Each finished
//! file's result is saved at once ([`ledger`]); the tables are written from those results at the
//! end ([`tables`]), so a killed run loses no finished file and a rerun skips them.

mod inputs;
mod ledger;
mod tables;

use std::convert::Infallible;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::bail;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use microcue_vision::Pipeline;
use microcue_vision::pipeline::{RunSettings, Step};
use microcue_vision::recording::{RecordingError, RecordingSettings, analyze_recording};
use microcue_vision::source::{SourceSpec, open_source};

use self::inputs::Job;
use self::ledger::{FileRecord, FileStatus, Fingerprint, Ledger};
use super::analyze::{
    Consent, ConsentSubject, confirm_consent, load_pipeline, load_spotter_config, print_summary,
};

/// Exit status of a batch that ran to its end with some files failed.
const SOME_FILES_FAILED: u8 = 2;

/// Arguments of `microcue batch`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when every file was analysed (with or without a face), \
    2 when the batch ran to its end but some files failed (status.csv says why), 1 when the \
    batch could not run."
)]
pub struct BatchArgs {
    /// Videos, folders (searched recursively for .mp4, .mov, .y4m, .mkv, ...) or glob patterns
    /// in quotes (`'corpus/**/*.mp4'`).
    #[arg(
        value_name = "INPUT",
        required_unless_present = "manifest",
        conflicts_with = "manifest"
    )]
    pub inputs: Vec<PathBuf>,
    /// A CSV with a column of video paths (relative to the CSV's folder) and any other columns
    /// (subject, session, ...), which are carried into the outputs.
    #[arg(long, value_name = "FILE.csv")]
    pub manifest: Option<PathBuf>,
    /// The manifest's column of video paths.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "path",
        requires = "manifest"
    )]
    pub path_column: String,
    /// Output folder: events.parquet, events.csv, status.csv (and the finished files' records,
    /// which let a rerun skip them).
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    /// Files analysed at once (default: the number of cores).
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
    /// Whose recordings these are: `self` (only you) or `given` (everyone on them agreed).
    /// Asked once for the whole batch when missing.
    #[arg(long, value_enum)]
    pub consent: Option<Consent>,
    /// Most faces to track at once in each recording.
    #[arg(long, default_value_t = 1)]
    pub max_faces: usize,
    /// Never call the ffmpeg CLI (only H.264 MP4/MOV and Y4M are read).
    #[arg(long)]
    pub no_ffmpeg: bool,
    /// Skip the region motion (optical flow) signals.
    #[arg(long)]
    pub no_region_motion: bool,
    /// Spotter settings (JSON, any subset of the fields of `microcue_core::SpotterConfig`).
    #[arg(long, value_name = "FILE.json")]
    pub spotter_config: Option<PathBuf>,
    /// No progress bar and no line per file.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `microcue batch`.
pub fn run(args: BatchArgs) -> anyhow::Result<ExitCode> {
    let settings = RecordingSettings {
        max_faces: args.max_faces,
        region_motion: !args.no_region_motion,
        spotter: load_spotter_config(args.spotter_config.as_deref())?,
    };
    if args.out.is_file() {
        bail!(
            "--out `{}` is a file; hint: give a folder (it is created when missing)",
            args.out.display()
        );
    }
    let corpus = match &args.manifest {
        Some(manifest) => inputs::from_manifest(manifest, &args.path_column)?,
        None => inputs::from_inputs(&args.inputs, &args.out)?,
    };
    tables::check_columns(&corpus.columns)?;
    let ledger = Ledger::open(&args.out, &settings_record(&settings, !args.no_ffmpeg))?;

    let mut records: Vec<Option<FileRecord>> = corpus
        .jobs
        .iter()
        .map(|job| ledger.finished(job, Fingerprint::of(&job.path)))
        .collect();
    let mut todo: Vec<usize> = (0..records.len())
        .filter(|&index| records[index].is_none())
        .collect();
    // Largest files first: the last file to finish then is a short one, so workers finish
    // together (the tables keep the input order).
    let sizes: Vec<u64> = corpus
        .jobs
        .iter()
        .map(|job| Fingerprint::of(&job.path).map_or(0, |print| print.size))
        .collect();
    todo.sort_by_key(|&index| std::cmp::Reverse(sizes[index]));
    let skipped = records.len() - todo.len();
    if skipped > 0 {
        eprintln!(
            "skipping {skipped} of {} file(s): finished by an earlier run into `{}`",
            records.len(),
            args.out.display()
        );
    }
    let mut analysed = Analysed::default();
    if !todo.is_empty() {
        confirm_consent(args.consent, ConsentSubject::Batch { files: todo.len() })?;
        let pipeline = load_pipeline()?;
        let workers = args
            .jobs
            .map_or_else(available_cores, NonZeroUsize::get)
            .min(todo.len());
        eprintln!(
            "analysing {} file(s) with {workers} worker(s) into `{}`",
            todo.len(),
            args.out.display()
        );
        // `--jobs N` is the cores the batch takes: a file's analysis stays on its worker.
        let run_settings = settings.run_settings().on_one_thread();
        let work = Work {
            pipeline: &pipeline,
            run_settings,
            allow_ffmpeg: !args.no_ffmpeg,
            ledger: &ledger,
            jobs: &corpus.jobs,
            todo: &todo,
        };
        analysed = work.run(workers, !args.quiet, &mut records);
    }

    let rows: Vec<(&Job, &FileRecord)> = corpus
        .jobs
        .iter()
        .zip(&records)
        .filter_map(|(job, record)| record.as_ref().map(|record| (job, record)))
        .collect();
    tables::write_all(&args.out, &corpus.columns, &rows)?;
    Ok(report(&args.out, &rows, skipped, &analysed))
}

/// What the results depend on besides the files: a rerun with other settings is refused.
fn settings_record(settings: &RecordingSettings, allow_ffmpeg: bool) -> serde_json::Value {
    serde_json::json!({
        "microcue": env!("CARGO_PKG_VERSION"),
        "max_faces": settings.max_faces.max(1),
        "region_motion": settings.region_motion,
        "ffmpeg": allow_ffmpeg,
        "spotter": settings.spotter,
    })
}

fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// The shared state of the workers.
struct Work<'a> {
    pipeline: &'a Pipeline,
    run_settings: RunSettings,
    allow_ffmpeg: bool,
    ledger: &'a Ledger,
    jobs: &'a [Job],
    todo: &'a [usize],
}

/// What this run analysed.
#[derive(Debug, Default)]
struct Analysed {
    files: usize,
    frames: u64,
    wall: Duration,
}

impl Work<'_> {
    /// Analyses the files of `todo` with `workers` threads, each taking the next file when it
    /// is free; fills `records` and shows progress.
    fn run(&self, workers: usize, show: bool, records: &mut [Option<FileRecord>]) -> Analysed {
        let next = AtomicUsize::new(0);
        let frames = AtomicU64::new(0);
        let mut progress = BatchProgress::new(show, self.todo.len());
        let (done, finished) = mpsc::channel::<(usize, FileRecord, Option<String>)>();
        std::thread::scope(|scope| {
            for worker in 0..workers {
                let done = done.clone();
                let (next, frames) = (&next, &frames);
                let spawned = std::thread::Builder::new()
                    .name(format!("microcue-batch-{worker}"))
                    .spawn_scoped(scope, move || {
                        while let Some(&index) = self.todo.get(next.fetch_add(1, Ordering::Relaxed))
                        {
                            let record = self.analyze_guarded(&self.jobs[index], frames);
                            let unsaved = self.ledger.save(&record).err().map(|e| format!("{e:#}"));
                            if done.send((index, record, unsaved)).is_err() {
                                break;
                            }
                        }
                    });
                if let Err(error) = spawned {
                    eprintln!("warning: cannot start worker {worker}: {error}");
                }
            }
            drop(done);
            loop {
                match finished.recv_timeout(Duration::from_millis(500)) {
                    Ok((index, record, unsaved)) => {
                        progress.file_done(&record);
                        if let Some(error) = unsaved {
                            progress.say(&format!(
                                "warning: {error}; a rerun will analyse `{}` again",
                                record.name
                            ));
                        }
                        records[index] = Some(record);
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
                progress.show_rate(frames.load(Ordering::Relaxed));
            }
        });
        let wall = progress.finish();
        Analysed {
            files: self.todo.len(),
            frames: frames.load(Ordering::Relaxed),
            wall,
        }
    }

    /// [`Work::analyze`], with a panic (a bug) turned into that file's error.
    fn analyze_guarded(&self, job: &Job, frames: &AtomicU64) -> FileRecord {
        let started = Instant::now();
        std::panic::catch_unwind(AssertUnwindSafe(|| self.analyze(job, frames))).unwrap_or_else(
            |panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let mut record = FileRecord::failed(job, started);
                record.message = format!(
                    "microcue crashed on this file ({what}); hint: this is a bug, please report it with the file"
                );
                record
            },
        )
    }

    /// Analyses one file to its end, as `microcue analyze` does.
    fn analyze(&self, job: &Job, frames: &AtomicU64) -> FileRecord {
        let started = Instant::now();
        let mut record = FileRecord::failed(job, started);
        let spec = SourceSpec::new(&job.path).with_ffmpeg(self.allow_ffmpeg);
        let source = match open_source(&spec) {
            Ok(source) => source,
            Err(error) => {
                record.message = format!("{:#}", anyhow::Error::new(error));
                record.seconds = started.elapsed().as_secs_f64();
                return record;
            }
        };
        record.fps = source.info().nominal_fps;
        record.duration_s = source.info().duration_s;
        let name = job.path.display().to_string();
        let mut events = Vec::new();
        let outcome = analyze_recording(
            self.pipeline,
            source,
            &name,
            &self.run_settings,
            &mut |step| {
                if let Step::Frame(_) = step {
                    frames.fetch_add(1, Ordering::Relaxed);
                }
                events.extend_from_slice(step.events());
                Ok::<(), Infallible>(())
            },
        );
        record.events = events;
        record.seconds = started.elapsed().as_secs_f64();
        match outcome.map_err(RecordingError::into_caller) {
            Ok(summary) => {
                record.frames = summary.frames;
                record.frames_with_face = summary.frames_with_face;
                record.duration_s = summary.duration_s();
                if summary.found_face() {
                    record.status = FileStatus::Ok;
                } else {
                    record.status = FileStatus::NoFace;
                    record.message = summary.no_face_message(&name);
                }
            }
            Err(Ok(never)) => match never {},
            Err(Err(error)) => {
                if let RecordingError::Decode(broken) = &error {
                    record.frames = broken.frames;
                    record.frames_with_face = broken.frames_with_face;
                }
                let note = error.kept_note();
                record.message = format!("{:#}", anyhow::Error::new(error));
                if let Some(note) = note {
                    record.message = format!("{}; {note}", record.message);
                }
            }
        }
        record
    }
}

impl FileRecord {
    /// A failed record for `job`, to be filled in.
    fn failed(job: &Job, started: Instant) -> FileRecord {
        FileRecord {
            name: job.name.clone(),
            fingerprint: Fingerprint::of(&job.path).unwrap_or_default(),
            status: FileStatus::Error,
            message: String::new(),
            frames: 0,
            frames_with_face: 0,
            duration_s: None,
            fps: None,
            seconds: started.elapsed().as_secs_f64(),
            events: Vec::new(),
        }
    }
}

/// The progress bar (files, frames/s, ETA) and a line per finished file, on stderr.
struct BatchProgress {
    bar: Option<ProgressBar>,
    started: Instant,
    done: usize,
    total: usize,
}

impl BatchProgress {
    fn new(show: bool, total: usize) -> Self {
        let bar = show.then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("[{bar:30}] {pos}/{len} files · {msg} · ETA {eta}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        BatchProgress {
            bar,
            started: Instant::now(),
            done: 0,
            total,
        }
    }

    /// Prints a line above the bar (alone when stderr is not a terminal; nothing when quiet).
    fn say(&self, line: &str) {
        if let Some(bar) = &self.bar {
            bar.suspend(|| eprintln!("{line}"));
        }
    }

    fn file_done(&mut self, record: &FileRecord) {
        self.done += 1;
        let detail = match record.status {
            FileStatus::Ok => format!(
                "{} event(s) in {} frames{} ({:.1} s)",
                record.events.len(),
                record.frames,
                record
                    .duration_s
                    .map_or(String::new(), |d| format!(", {d:.1} s of video")),
                record.seconds
            ),
            FileStatus::NoFace => format!("no face in {} frames", record.frames),
            FileStatus::Error => record.message.clone(),
        };
        self.say(&format!(
            "{:<7} {}/{} {}: {detail}",
            record.status.as_str(),
            self.done,
            self.total,
            record.name
        ));
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn show_rate(&self, frames: u64) {
        if let Some(bar) = &self.bar {
            let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "{frames} frames, {:.1} frames/s",
                frames as f64 / seconds
            ));
        }
    }

    fn finish(&mut self) -> Duration {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.started.elapsed()
    }
}

/// The closing lines: counts, where the tables are, the limits; the exit status.
fn report(
    out: &Path,
    rows: &[(&Job, &FileRecord)],
    skipped: usize,
    analysed: &Analysed,
) -> ExitCode {
    let count = |status: FileStatus| rows.iter().filter(|(_, r)| r.status == status).count();
    let (ok, no_face, failed) = (
        count(FileStatus::Ok),
        count(FileStatus::NoFace),
        count(FileStatus::Error),
    );
    eprintln!(
        "{} file(s): {ok} ok, {no_face} without a face, {failed} failed{}",
        rows.len(),
        if skipped > 0 {
            format!(" ({skipped} from an earlier run)")
        } else {
            String::new()
        }
    );
    if analysed.files > 0 {
        let seconds = analysed.wall.as_secs_f64();
        eprintln!(
            "analysed {} file(s), {} frames in {seconds:.1} s ({:.1} frames/s)",
            analysed.files,
            analysed.frames,
            analysed.frames as f64 / seconds.max(1e-3)
        );
    }
    eprintln!(
        "tables in `{}`: {}, {} (one row per event), {} (one row per file)",
        out.display(),
        tables::EVENTS_PARQUET,
        tables::EVENTS_CSV,
        tables::STATUS_CSV
    );
    let frames = rows.iter().map(|(_, r)| r.frames).sum();
    let events = rows.iter().map(|(_, r)| r.events.len()).sum();
    print_summary(frames, events, &[]);
    if failed > 0 {
        eprintln!(
            "hint: {} gives each failure; a rerun with the same --out retries the failed files and skips the rest",
            out.join(tables::STATUS_CSV).display()
        );
        return ExitCode::from(SOME_FILES_FAILED);
    }
    ExitCode::SUCCESS
}
