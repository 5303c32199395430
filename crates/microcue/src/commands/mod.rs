//! One module per subcommand; each receives its parsed arguments and does the work.

pub mod analyze;
pub mod coach;
pub mod lexicon;
pub mod synth;

use std::process::ExitCode;

use crate::cli::Command;

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Analyze(args) => analyze::run(args),
        Command::Lexicon(args) => lexicon::run(args),
        Command::Coach(args) => coach::run(args),
        Command::Synth(args) => synth::run(args),
    }
}
