//! `microcue synth`: writes a synthetic face-signal trace with injected cue events of known
//! type, side and timing, plus their truth — for tests, demos and `microcue analyze --signals`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use microcue_core::CueId;
use microcue_core::synth::{SUPPORTED_CUES, SynthConfig, generate, random_events};

use crate::stdout::Stdout;

/// Arguments of `microcue synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Frame rate, frames per second (1–1000).
    #[arg(long, default_value_t = 30.0)]
    pub fps: f64,
    /// Length of the trace, seconds.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Seed: the same seed gives the same trace.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of random cue events to inject (none in the first 3 s, at least 1 s apart).
    #[arg(long, default_value_t = 20)]
    pub events: usize,
    /// Write the face signals (JSON Lines, one FaceSignals per line) here instead of stdout.
    #[arg(long, short, value_name = "FILE.jsonl")]
    pub out: Option<PathBuf>,
    /// Write the injected events as CSV (cue,side,onset_s,apex_s,offset_s,amplitude).
    #[arg(long, value_name = "FILE.csv")]
    pub truth: Option<PathBuf>,
    /// The face does not talk (no speech movements).
    #[arg(long)]
    pub no_talking: bool,
    /// Variable frame timing: each frame interval varies by up to this fraction (0–0.9).
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    pub jitter: f64,
    /// Also write region motion signals (as the optical-flow stage reports them).
    #[arg(long)]
    pub region_motion: bool,
    /// Inject only these cues (comma-separated ids, e.g. `genuine_smile,eyebrow_flash`).
    #[arg(long, value_delimiter = ',', value_name = "CUE")]
    pub cues: Vec<String>,
}

/// Runs `microcue synth`.
pub fn run(args: SynthArgs) -> anyhow::Result<ExitCode> {
    let event_cues = parse_cues(&args.cues)?;
    let config = SynthConfig {
        fps: args.fps,
        duration_s: args.seconds,
        seed: args.seed,
        timing_jitter: args.jitter,
        talking: !args.no_talking,
        region_motion: args.region_motion,
        event_cues,
        ..SynthConfig::default()
    };
    let injected =
        random_events(&config, args.events, args.seed).context("cannot plan the events")?;
    let frames = generate(&config, &injected).context("cannot generate the trace")?;

    // Open both files before writing anything, so a bad path fails fast.
    let truth_file = match &args.truth {
        Some(path) => Some(File::create(path).map_err(|error| {
            anyhow!(
                "cannot create `{}`: {error}\nhint: check that the folder exists and is writable",
                path.display()
            )
        })?),
        None => None,
    };
    let destination = describe(args.out.as_deref());
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(File::create(path).map_err(|error| {
            anyhow!(
                "cannot create `{}`: {error}\nhint: check that the folder exists and is writable",
                path.display()
            )
        })?)),
        None => Box::new(Stdout::new()),
    };
    for frame in &frames {
        serde_json::to_writer(&mut out, frame)
            .with_context(|| format!("cannot write to {destination}"))?;
        out.write_all(b"\n")
            .with_context(|| format!("cannot write to {destination}"))?;
    }
    out.flush()
        .with_context(|| format!("cannot write to {destination}"))?;
    drop(out);

    if let (Some(path), Some(mut file)) = (&args.truth, truth_file) {
        let mut csv = String::from("cue,side,onset_s,apex_s,offset_s,amplitude\n");
        for event in &injected {
            csv.push_str(&format!(
                "{},{},{:.4},{:.4},{:.4},{:.4}\n",
                event.cue,
                event.side.as_str(),
                event.onset_s,
                event.apex_s,
                event.offset_s,
                event.amplitude
            ));
        }
        file.write_all(csv.as_bytes())
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }

    eprintln!(
        "wrote {} frames ({:.1} s at {} fps) to {destination}{}",
        frames.len(),
        args.seconds,
        args.fps,
        match &args.truth {
            Some(path) => format!(
                "; {} injected events to `{}`",
                injected.len(),
                path.display()
            ),
            None => format!(
                "; {} injected events (use --truth FILE.csv to save them)",
                injected.len()
            ),
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn parse_cues(names: &[String]) -> anyhow::Result<Vec<CueId>> {
    if names.is_empty() {
        return Ok(SUPPORTED_CUES.to_vec());
    }
    let mut cues = Vec::with_capacity(names.len());
    for name in names {
        let Some(cue) = CueId::parse(name) else {
            let valid: Vec<&str> = SUPPORTED_CUES.iter().map(|c| c.as_str()).collect();
            bail!(
                "unknown cue `{name}`\nhint: valid cues are {}",
                valid.join(", ")
            );
        };
        if !cue.is_supported() {
            bail!("`{cue}` cannot be synthesised: it is not measurable from ordinary video");
        }
        cues.push(cue);
    }
    Ok(cues)
}

fn describe(path: Option<&Path>) -> String {
    match path {
        Some(path) => format!("`{}`", path.display()),
        None => "stdout".to_string(),
    }
}
