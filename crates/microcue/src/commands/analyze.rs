//! `microcue analyze` (placeholder until implemented).

use std::process::ExitCode;

/// Arguments of `microcue analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {}

/// Runs `microcue analyze`.
pub fn run(_args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`microcue analyze` is not implemented yet")
}
