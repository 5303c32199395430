//! `microcue synth` (placeholder until implemented).

use std::process::ExitCode;

/// Arguments of `microcue synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {}

/// Runs `microcue synth`.
pub fn run(_args: SynthArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`microcue synth` is not implemented yet")
}
