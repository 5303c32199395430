//! `microcue lexicon` (placeholder until implemented).

use std::process::ExitCode;

/// Arguments of `microcue lexicon`.
#[derive(Debug, clap::Args)]
pub struct LexiconArgs {}

/// Runs `microcue lexicon`.
pub fn run(_args: LexiconArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`microcue lexicon` is not implemented yet")
}
