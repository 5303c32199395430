//! Command-line structure (clap derive types only).

use clap::{Parser, Subcommand};

use crate::commands;

/// Local, privacy-first micro-expression spotting, coaching and training.
///
/// Results are hypotheses with a confidence, never verdicts: no lie detection, no diagnosis.
#[derive(Debug, Parser)]
#[command(name = "microcue", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The live coach in the browser: serve the local web app and print its URL.
    Serve(commands::serve::ServeArgs),
    /// Run the whole pipeline on the clip bundled in the binary.
    Demo(commands::demo::DemoArgs),
    /// Spot and label brief facial movements in a video, a signals file or an OpenFace CSV.
    Analyze(commands::analyze::AnalyzeArgs),
    /// Analyse a corpus of recordings with N workers into Parquet and CSV tables (resumable).
    Batch(commands::batch::BatchArgs),
    /// Print the lexicon of twelve cues.
    Lexicon(commands::lexicon::LexiconArgs),
    /// Print the response playbook entry for one cue.
    Coach(commands::coach::CoachArgs),
    /// The 60-day training plan: today's tasks, the week, the program; mark tasks done.
    Plan(commands::plan::PlanArgs),
    /// The real-world log of detections (the data behind the KPIs).
    Log(commands::log::LogArgs),
    /// Training KPIs per plan week, the trend and the weekly targets.
    Kpi(commands::kpi::KpiArgs),
    /// The training journal: where it is, export, import, forget.
    Journal(commands::journal::JournalArgs),
    /// Drills: the flash drill with faces in the terminal, review of your own events, slow
    /// motion, roleplay cards, recorded results.
    Drill(commands::drill::DrillArgs),
    /// Ground truth by injection: warp brief movements into a real video, then score the spotter.
    Eval(commands::eval::EvalArgs),
    /// Render flash-drill stimuli (a brief cue between neutral frames) to a Y4M clip.
    Stimuli(commands::stimuli::StimuliArgs),
    /// Measure per-stage time per frame, frames/s and peak memory on a video.
    Bench(commands::bench::BenchArgs),
    /// Write a synthetic signal trace with injected cue events (for tests and demos).
    Synth(commands::synth::SynthArgs),
}
