//! `microcue`: the command-line front end. Thin glue; the work lives in the library crates.

mod cli;
mod commands;
mod output;
mod progress;
mod render;
mod terminal;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
