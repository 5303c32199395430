//! `microcue bench`: per-stage time per frame (medians), end-to-end frames/s, peak memory.
//!
//! Runs the pipeline on one thread (decode, then analysis, frame after frame:
//! [`Decoding::SameThread`]) so that the figures compare with a single-threaded peer;
//! `microcue analyze` itself decodes on a second thread.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use microcue_core::numeric::{EvenMedian, median};
use microcue_vision::analysis::AnalysisOptions;
use microcue_vision::models::Backend;
use microcue_vision::pipeline::{Decoding, Pipeline, RunError, RunSettings, Step};
use microcue_vision::source::{SourceSpec, open_source};
use microcue_vision::tracker::TrackerConfig;

/// Arguments of `microcue bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The video to measure on.
    pub video: PathBuf,
    /// Frame rate of an image folder.
    #[arg(long)]
    pub fps: Option<f64>,
    /// Also write the per-frame face signals (for the MediaPipe comparison).
    #[arg(long, value_name = "FILE.jsonl")]
    pub signals_out: Option<PathBuf>,
    /// Skip the region motion (optical flow) stage.
    #[arg(long)]
    pub no_region_motion: bool,
    /// Track like MediaPipe's Face Landmarker in VIDEO mode (raw landmark crops, output
    /// landmarks smoothed with its one-euro filter): for comparing with MediaPipe
    /// (benches/mediapipe_peer), not for spotting. Costs the same per frame.
    #[arg(long)]
    pub mediapipe_video_mode: bool,
    /// Analyse at most this many frames.
    #[arg(long)]
    pub max_frames: Option<u64>,
    /// Inference engine: `tract` (pure Rust, default) or `ort` (ONNX Runtime; needs a build
    /// with `--features ort` and `--ort-library`).
    #[arg(long, value_enum, default_value_t = BackendArg::Tract)]
    pub backend: BackendArg,
    /// `libonnxruntime.so` for `--backend ort` (`benches/ort/setup.sh` prints its path).
    #[arg(long, env = "ORT_DYLIB_PATH", value_name = "PATH")]
    pub ort_library: Option<PathBuf>,
}

/// `--backend` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// tract-onnx, compiled in.
    Tract,
    /// ONNX Runtime, loaded at run time.
    Ort,
}

/// Runs `microcue bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let backend = match args.backend {
        BackendArg::Tract => Backend::Tract,
        BackendArg::Ort => Backend::Ort(args.ort_library.clone().context(
            "`--backend ort` needs the ONNX Runtime library\n\
             hint: run `benches/ort/setup.sh` and pass `--ort-library PATH` (or set ORT_DYLIB_PATH)",
        )?),
    };
    let load_start = Instant::now();
    let pipeline = Pipeline::load_with(&backend).context("cannot load the embedded face models")?;
    let load_time = load_start.elapsed();
    let options = AnalysisOptions {
        region_motion: !args.no_region_motion,
        tracker: if args.mediapipe_video_mode {
            TrackerConfig::mediapipe_video()
        } else {
            TrackerConfig::default()
        },
        ..AnalysisOptions::default()
    };
    let settings = RunSettings {
        analysis: options,
        decoding: Decoding::SameThread,
        max_frames: args.max_frames,
    };
    let mut spec = SourceSpec::new(&args.video);
    if let Some(fps) = args.fps {
        spec = spec.with_fps(fps);
    }
    let source = open_source(&spec)?;
    let info = source.info().clone();
    let mut signals_out = match &args.signals_out {
        Some(path) => {
            Some(BufWriter::new(File::create(path).with_context(|| {
                format!("cannot create `{}`", path.display())
            })?))
        }
        None => None,
    };
    let capacity = info.frame_count.unwrap_or(1024) as usize;
    let mut decode = Vec::with_capacity(capacity);
    let mut tracking = Vec::with_capacity(capacity);
    let mut detection = Vec::new();
    let mut crop = Vec::with_capacity(capacity);
    let mut landmarks = Vec::with_capacity(capacity);
    let mut blendshapes = Vec::with_capacity(capacity);
    let mut other = Vec::with_capacity(capacity);
    let mut motion = Vec::with_capacity(capacity);
    let mut spotting = Vec::with_capacity(capacity);
    let cpu_start = thread_cpu_time();
    let started = Instant::now();
    let run = pipeline.run(source, &settings, &mut |step| {
        let Step::Frame(report) = step else {
            return Ok::<(), anyhow::Error>(());
        };
        decode.push(report.decode.unwrap_or_default());
        if let Some(out) = &mut signals_out {
            for face in report.faces {
                serde_json::to_writer(&mut *out, face)?;
                out.write_all(b"\n")?;
            }
        }
        let timings = report.timings;
        tracking.push(timings.tracking);
        let stages = timings.tracker;
        if !stages.detection.is_zero() {
            detection.push(stages.detection);
        }
        if !stages.landmarks.is_zero() {
            crop.push(stages.crop);
            landmarks.push(stages.landmarks);
            blendshapes.push(stages.blendshapes);
        }
        other.push(stages.other);
        motion.push(timings.region_motion);
        spotting.push(timings.spotting);
        Ok(())
    });
    let run = match run {
        Ok(run) => run,
        Err(RunError::Setup(error)) | Err(RunError::Analysis { source: error, .. }) => {
            return Err(error.into());
        }
        Err(RunError::Caller(error)) => return Err(error),
    };
    if let Some(error) = run.decode_error {
        return Err(error.into());
    }
    let event_count = run.events;
    let wall = started.elapsed();
    let cpu = thread_cpu_time()
        .zip(cpu_start)
        .map(|(end, start)| end.saturating_sub(start));
    if let Some(out) = &mut signals_out {
        out.flush()?;
    }
    let frames = decode.len();
    anyhow::ensure!(frames > 0, "`{}` has no frames", args.video.display());
    println!(
        "video: {} ({}x{}, {frames} frames)",
        args.video.display(),
        info.width,
        info.height
    );
    println!("backend: {}", backend.name());
    println!(
        "tracking_mode: {}",
        if args.mediapipe_video_mode {
            "mediapipe-video (raw crops, smoothed output landmarks)"
        } else {
            "microcue (smoothed crops, raw landmarks)"
        }
    );
    println!("model_load_ms: {:.1}", load_time.as_secs_f64() * 1e3);
    println!("stage medians per frame (ms):");
    println!("  decode:        {:.3}", median_ms(&decode));
    println!(
        "  tracking:      {:.3}  (detector, landmarks, blendshapes, head pose)",
        median_ms(&tracking)
    );
    let runs = detection.len();
    println!(
        "    detect:      {:.3}  (median of its {runs} run{}: it runs to find faces, not on every frame)",
        median_ms(&detection),
        if runs == 1 { "" } else { "s" }
    );
    let tracked = landmarks.len();
    println!(
        "    crop:        {:.3}  (on the {tracked} frames the mesh ran)",
        median_ms(&crop)
    );
    println!("    landmarks:   {:.3}", median_ms(&landmarks));
    println!("    blendshapes: {:.3}", median_ms(&blendshapes));
    println!(
        "    other:       {:.3}  (head pose, bookkeeping)",
        median_ms(&other)
    );
    println!("  region_motion: {:.3}", median_ms(&motion));
    println!("  spotting:      {:.3}", median_ms(&spotting));
    println!("frames_with_face: {}", run.frames_with_face);
    println!("events: {event_count}");
    println!("end_to_end_fps: {:.1}", frames as f64 / wall.as_secs_f64());
    if let Some(cpu) = cpu {
        println!(
            "cpu_ms_per_frame: {:.2}   (this thread's CPU time over the loop; less sensitive than wall time to other load)",
            cpu.as_secs_f64() * 1e3 / frames as f64
        );
    }
    if let Some(peak_kib) = peak_resident_kib() {
        println!("peak_rss_mb: {:.1}", peak_kib as f64 / 1024.0);
    }
    Ok(ExitCode::SUCCESS)
}

fn median_ms(samples: &[Duration]) -> f64 {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    median(&mut ms, EvenMedian::Upper).unwrap_or(0.0)
}

/// CPU time this thread has run (Linux `/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Peak resident set size (VmHWM) of this process, on Linux.
fn peak_resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
