//! `microcue stimuli make`: renders a flash-drill stimulus (a brief cue between neutral frames)
//! to a Y4M clip, by warping a neutral face with the injection engine (through
//! [`microcue_app::render::WarpRenderer`], the renderer the terminal flash drill uses too).

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use microcue_core::{CueId, Side};
use microcue_train::{Stimulus, StimulusRenderer};
use microcue_vision::source::{FrameSource, Mp4Source, SourceSpec, Y4mWriter, open_source};
use microcue_vision::warp::{INJECTABLE_CUES, is_injectable};

use crate::commands::analyze::Consent;
use crate::commands::demo::DEMO_CLIP;
use microcue_app::render::{FlashShape, NeutralFace, RenderSettings, WarpRenderer};

/// Arguments of `microcue stimuli`.
#[derive(Debug, clap::Args)]
pub struct StimuliArgs {
    #[command(subcommand)]
    pub command: StimuliCommand,
}

/// Subcommands of `microcue stimuli`.
#[derive(Debug, clap::Subcommand)]
pub enum StimuliCommand {
    /// Render one flash: neutral face, the cue for `--exposure-ms`, neutral face again.
    Make(MakeArgs),
}

/// Arguments of `microcue stimuli make`.
#[derive(Debug, clap::Args)]
pub struct MakeArgs {
    /// The cue to flash (one that can be warped: eyebrow_flash, micro_frown, lip_compression,
    /// unilateral_lip_corner, genuine_smile, polite_smile, nose_wrinkle, micro_surprise).
    #[arg(long)]
    pub cue: String,
    /// Side of a one-sided cue (unilateral_lip_corner), subject's view: `left` (default) or
    /// `right`. Other cues move both sides and refuse it.
    #[arg(long)]
    pub side: Option<String>,
    /// How long the flash lasts, 40–500 ms.
    #[arg(long, default_value_t = 200.0)]
    pub exposure_ms: f64,
    /// Peak strength 0..1 (1 = 10% of the inter-ocular distance).
    #[arg(long, default_value_t = 0.5)]
    pub intensity: f32,
    /// Neutral time before and after the flash, ms.
    #[arg(long, default_value_t = 1000.0)]
    pub neutral_ms: f64,
    /// Frame rate of the output.
    #[arg(long, default_value_t = 60.0)]
    pub fps: f64,
    /// A video of a consenting person to take the neutral frame from (default: the bundled
    /// MIT-licensed clip).
    #[arg(long)]
    pub video: Option<PathBuf>,
    /// Time of the neutral frame in `--video`, seconds.
    #[arg(long, default_value_t = 0.0)]
    pub at: f64,
    /// Confirms the consent of the person in `--video`.
    #[arg(long, value_enum)]
    pub consent: Option<Consent>,
    /// Output Y4M file (frames are written only here, because you asked for them).
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Runs `microcue stimuli`.
pub fn run(args: StimuliArgs) -> anyhow::Result<ExitCode> {
    let StimuliCommand::Make(args) = args.command;
    let Some(cue) = CueId::parse(&args.cue).filter(|c| is_injectable(*c)) else {
        let names: Vec<&str> = INJECTABLE_CUES.iter().map(|c| c.as_str()).collect();
        bail!(
            "`{}` cannot be rendered as a flash; choose one of: {}",
            args.cue,
            names.join(", ")
        );
    };
    let side = match (cue.is_one_sided(), args.side.as_deref()) {
        (false, None) => Side::Both,
        (false, Some(_)) => bail!(
            "{cue} moves both sides of the face: --side applies only to unilateral_lip_corner\n\
             hint: leave out --side"
        ),
        (true, None | Some("left")) => Side::Left,
        (true, Some("right")) => Side::Right,
        (true, Some(other)) => bail!("--side must be `left` or `right`, not `{other}`"),
    };
    if !(40.0..=500.0).contains(&args.exposure_ms) {
        bail!(
            "--exposure-ms must be within 40–500 ms (a micro-expression), got {}",
            args.exposure_ms
        );
    }
    if !(0.0..=1.0).contains(&args.intensity)
        || !(1.0..=1000.0).contains(&args.fps)
        || args.neutral_ms < 0.0
    {
        bail!("--intensity must be in 0..1, --fps in 1..1000 and --neutral-ms >= 0");
    }
    let (mut source, name): (Box<dyn FrameSource>, String) = match &args.video {
        Some(path) => {
            if args.consent.is_none() {
                bail!(
                    "is the person in `{}` OK with being used for drills?\nhint: add `--consent self` or `--consent given`",
                    path.display()
                );
            }
            (
                open_source(&SourceSpec::new(path))?,
                path.display().to_string(),
            )
        }
        None => (
            Box::new(Mp4Source::from_bytes(
                "single_face.mp4 (bundled)",
                DEMO_CLIP.to_vec(),
            )?),
            "single_face.mp4 (bundled)".to_owned(),
        ),
    };
    let face = NeutralFace::find(source.as_mut(), args.at, &name)?;
    let (width, height) = (face.frame.width, face.frame.height);
    let mut renderer = WarpRenderer::full_frame(
        face,
        RenderSettings {
            shape: FlashShape::Envelope,
            fps: args.fps,
            neutral_before_ms: args.neutral_ms,
            neutral_after_ms: args.neutral_ms,
        },
    );
    let rendered = renderer.render(&Stimulus {
        cue: Some(cue),
        side,
        exposure_ms: args.exposure_ms,
        intensity: args.intensity,
        source: name,
        playback_speed: 1.0,
    })?;
    let file = File::create(&args.out)
        .with_context(|| format!("cannot create `{}`", args.out.display()))?;
    let mut writer = Y4mWriter::with_fps(BufWriter::new(file), width, height, args.fps)
        .with_context(|| format!("cannot write `{}`", args.out.display()))?;
    for shown in &rendered.timeline {
        writer
            .write_frame(&rendered.pictures[shown.picture])
            .with_context(|| format!("cannot write `{}`", args.out.display()))?;
    }
    writer
        .finish()
        .with_context(|| format!("cannot write `{}`", args.out.display()))?;
    let total_frames = rendered.timeline.len();
    let onset_s = args.neutral_ms / 1000.0;
    let offset_s = onset_s + args.exposure_ms / 1000.0;
    eprintln!(
        "wrote `{}`: {total_frames} frames at {} fps; {} ({}) from {onset_s:.3} s to {offset_s:.3} s at intensity {}",
        args.out.display(),
        args.fps,
        cue,
        side.as_str(),
        args.intensity
    );
    eprintln!("this file holds face images you asked for: keep it private and delete it when done");
    Ok(ExitCode::SUCCESS)
}
