//! `microcue`: the command-line front end. Thin glue; the work lives in the library crates.

mod cli;
mod commands;
mod output;
mod progress;
mod stdout;
mod terminal;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli.command) {
        Ok(code) => code,
        // The reader of stdout went away (`| head`): it has what it wanted.
        Err(_) if stdout::was_closed() => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
