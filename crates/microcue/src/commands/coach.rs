//! `microcue coach` (placeholder until implemented).

use std::process::ExitCode;

/// Arguments of `microcue coach`.
#[derive(Debug, clap::Args)]
pub struct CoachArgs {}

/// Runs `microcue coach`.
pub fn run(_args: CoachArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`microcue coach` is not implemented yet")
}
