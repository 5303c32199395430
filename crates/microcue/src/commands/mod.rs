//! One module per subcommand; each receives its parsed arguments and does the work.

pub mod analyze;
pub mod batch;
pub mod bench;
pub mod coach;
pub mod decision;
pub mod demo;
pub mod drill;
pub mod eval;
pub mod journal;
pub mod kpi;
pub mod lexicon;
pub mod log;
pub mod plan;
pub mod serve;
pub mod stimuli;
pub mod synth;

use std::process::ExitCode;

use crate::cli::Command;

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Analyze(args) => analyze::run(args),
        Command::Batch(args) => batch::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Stimuli(args) => stimuli::run(args),
        Command::Lexicon(args) => lexicon::run(args),
        Command::Coach(args) => coach::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Log(args) => log::run(args),
        Command::Kpi(args) => kpi::run(args),
        Command::Journal(args) => journal::run(args),
        Command::Drill(args) => drill::run(args),
    }
}
