//! `microcue serve`: the local web app (the live coach in the browser).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

use anyhow::Context;
use microcue_app::{DEFAULT_PORT, ServeOptions, Server};
use microcue_vision::Pipeline;

use crate::commands::journal::JournalLocation;

/// Arguments of `microcue serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Address to listen on. Anything but 127.0.0.1 or ::1 (e.g. 0.0.0.0 for a phone on your
    /// network) requires the random token printed in the URL.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub listen: IpAddr,
    #[command(flatten)]
    pub location: JournalLocation,
}

/// Runs `microcue serve` until Ctrl-C.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let today = match &args.location.today {
        Some(_) => Some(args.location.today()?),
        None => None,
    };
    let journal_path = args.location.path()?;
    let pipeline = Pipeline::load().context("cannot load the embedded face models")?;
    let options = ServeOptions {
        today,
        ..ServeOptions::new(args.listen, args.port, journal_path)
    };
    let server = Server::bind(options, pipeline)?;
    // A closed stdout (the URL read, the pipe dropped) must not stop the server.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "microcue is serving the live coach at {}",
        server.url()
    );
    if !server.address().ip().is_loopback() {
        let _ = writeln!(
            out,
            "listening on {}: anyone who can reach it needs the token in that URL; \
             frames from a browser on another machine cross your network unencrypted",
            server.address()
        );
    }
    let _ = writeln!(
        out,
        "open it in a browser on this computer; Ctrl-C stops the server"
    );
    let _ = out.flush();
    drop(out);
    server.run()?;
    Ok(ExitCode::SUCCESS)
}
